"""The page's language (divert.web.lang): the account's setting, else the switcher's cookie, else
the best of Accept-Language, else English; the switcher keeps the choice in a cookie and, signed
in, on the account (migration 0006's user_settings)."""

from __future__ import annotations

import re
from collections.abc import Callable

from divert.registry.store import Registry
from divert.web import accounts
from divert.web.lang import COOKIE

from .conftest import Client, sign_in

HTML = re.compile(r'<html lang="([a-z]+)" dir="(ltr|rtl)">')


def shown(client: Client, url: str = "/", **headers: str) -> tuple[str, str]:
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text[:300]
    found = HTML.search(r.text)
    assert found, r.text[:300]
    return found.group(1), found.group(2)


def _user_id(url: str, username: str) -> int:
    reg = Registry(url)
    try:
        with reg.read() as conn:
            return int(next(u["id"] for u in accounts.list_users(conn) if u["username"] == username))
    finally:
        reg.dispose()


def _setting(url: str, username: str) -> str | None:
    uid = _user_id(url, username)
    reg = Registry(url)
    try:
        with reg.read() as conn:
            return accounts.locale_of(conn, uid)
    finally:
        reg.dispose()


def test_english_when_nothing_asks_otherwise(client_for: Callable[[str | None], Client]) -> None:
    anon = client_for(None)
    assert shown(anon, "/login") == ("en", "ltr")
    assert shown(anon, "/login", **{"accept-language": "de-DE,de;q=0.9"}) == ("en", "ltr")


def test_accept_language_picks_the_best_supported(client_for: Callable[[str | None], Client]
                                                  ) -> None:
    anon = client_for(None)
    assert shown(anon, "/login", **{"accept-language": "fa-IR,fa;q=0.9,en;q=0.5"}) == ("fa", "rtl")
    assert shown(anon, "/login", **{"accept-language": "de;q=0.9,nl-BE;q=0.8,fr;q=0.7"}) == \
        ("nl", "ltr")
    page = anon.get("/login", headers={"accept-language": "pt-PT"}).text
    assert 'lang="pt"' in page and "Iniciar sessão" in page


def test_cookie_beats_accept_language(client_for: Callable[[str | None], Client]) -> None:
    anon = client_for(None)
    anon.cookies.set(COOKIE, "ms")
    assert shown(anon, "/login", **{"accept-language": "fr-BE"}) == ("ms", "ltr")
    anon.cookies.set(COOKIE, "xx")  # not a supported language: ignored
    assert shown(anon, "/login", **{"accept-language": "fr-BE"}) == ("fr", "ltr")


def test_switcher_signed_out_sets_the_cookie_only(client_for: Callable[[str | None], Client]
                                                  ) -> None:
    anon = client_for(None)
    r = anon.form("/language", {"locale": "fa", "next": "/login"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert anon.cookies.get(COOKIE) == "fa"
    assert shown(anon, "/login", **{"accept-language": "en"}) == ("fa", "rtl")


def test_switcher_signed_in_keeps_the_choice_on_the_account(
        app: object, registry_url: str, client_for: Callable[[str | None], Client]) -> None:
    judge = client_for("judge")
    assert _setting(registry_url, "judge") is None
    r = judge.form("/language", {"locale": "pt", "next": "/"})
    assert r.status_code == 303
    assert judge.cookies.get(COOKIE) == "pt"
    assert _setting(registry_url, "judge") == "pt"
    assert shown(judge, "/") == ("pt", "ltr")
    # the account's setting beats the cookie and Accept-Language, on a new browser too
    fresh = sign_in(app, "judge")
    try:
        fresh.cookies.set(COOKIE, "nl")
        assert shown(fresh, "/", **{"accept-language": "fa"}) == ("pt", "ltr")
    finally:
        fresh.close()
    # another account is not affected
    analyst = client_for("analyst")
    assert shown(analyst, "/", **{"accept-language": "fr"}) == ("fr", "ltr")
    assert _setting(registry_url, "analyst") is None


def test_switcher_refuses_an_unknown_language(client_for: Callable[[str | None], Client]) -> None:
    anon = client_for(None)
    r = anon.form("/language", {"locale": "xx", "next": "/login"})
    assert r.status_code in (400, 422), r.status_code
    assert anon.cookies.get(COOKIE) is None


def test_form_choices_and_figures_headings_in_the_language(
        client_for: Callable[[str | None], Client]) -> None:
    """The assessment form names a vocabulary value in the page's language but submits the code;
    the registry figures' headings are translated, the columns' own names stay English."""
    clinician = client_for("clinician")
    clinician.cookies.set(COOKIE, "fr")
    form = clinician.get("/assess").text
    assert re.search(r'<option value="possession_for_supply"[^>]*>détention en vue de la fourniture<', form)
    assert re.search(r'value="female"[^>]*>féminin<', form)
    clinician.cookies.set(COOKIE, "en")
    assert re.search(r'<option value="possession_for_supply"[^>]*>possession for supply<',
                     clinician.get("/assess").text)
    judge = client_for("judge")
    judge.cookies.set(COOKIE, "pt")
    figures = judge.get("/registry/aggregates").text
    assert '<th scope="col" class="num">pessoas testadas</th>' in figures
    assert "Taxa de testes de droga positivos por fase" in figures
    assert "people tested" not in figures and 'id="test_positivity"' in figures
