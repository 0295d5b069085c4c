"""A literal % in a template's message: extraction and rendering read it alike (newstyle gettext:
%% in the message, % on the page), in the web's templates and the reports', in every language."""

from __future__ import annotations

import io
from typing import Any

import pytest
from jinja2.ext import babel_extract

from divert.i18n import LOCALES, using
from divert.i18n.extraction import KEYWORDS, _options

#: a {% trans %} block without variables and a _() call, each with a literal %
SOURCE = ("<p>{% trans %}Coverage rose by 5% a year{% endtrans %}</p>"
          "<p>{{ _('Up to 95%% of cases') }}</p>")
FRENCH = {"Coverage rose by 5%% a year": "La couverture a augmenté de 5 %% par an",
          "Up to 95%% of cases": "Au plus 95 %% des cas"}


def extracted(folder: str) -> list[str]:
    """The messages of SOURCE as `make messages` extracts them from `folder`/templates."""
    options = _options()[f"{folder}/templates/**.html"]
    return [str(message) for _, _, message, _ in
            babel_extract(io.BytesIO(SOURCE.encode()), list(KEYWORDS), [], options)]


class French:
    """A catalogue holding FRENCH under the keys extraction gave (so a lookup by another key,
    as when extraction and rendering disagree, finds nothing and the page stays English)."""

    def __init__(self, keys: list[str]) -> None:
        self.table = {k: FRENCH.get(k, "") for k in keys}

    def gettext(self, message: str) -> str:
        return self.table.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def pgettext(self, context: str, message: str) -> str:
        return message


def test_extraction_gives_the_message_with_a_doubled_percent() -> None:
    for folder in ("web", "reports"):
        assert extracted(folder) == list(FRENCH)


def test_a_web_page_finds_and_shows_a_literal_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.web import lang
    from divert.web.render import templates

    keys = extracted("web")
    monkeypatch.setattr(lang, "translator", lambda locale, domain: French(keys))
    with using("fr"):
        html = templates.env.from_string(SOURCE).render()
    assert html == ("<p>La couverture a augmenté de 5 % par an</p>"
                    "<p>Au plus 95 % des cas</p>")


def test_a_report_finds_and_shows_a_literal_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.reports import brief
    from divert.reports import i18n as reports_i18n

    keys = extracted("reports")
    monkeypatch.setattr(reports_i18n, "translator", lambda locale, domain: French(keys))
    html = brief._ENV.from_string(SOURCE).render(**reports_i18n.messages("fr"))
    assert html == ("<p>La couverture a augmenté de 5 % par an</p>"
                    "<p>Au plus 95 % des cas</p>")


@pytest.fixture(scope="module")
def literal_percent() -> list[str]:
    """The shipped templates' messages with a literal %% and no placeholder."""
    from divert.i18n.extraction import extract

    found = [m.id for folder in ("reports", "web") for m in extract(folder)
             if isinstance(m.id, str) and "%%" in m.id and "%(" not in m.id]
    assert len(found) >= 3
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogues_messages_with_a_literal_percent_render_one(
        literal_percent: list[str], locale: str) -> None:
    """Each shows a single % (or Persian's own sign) in every language, through the reports'
    gettext and the web's."""
    from divert.reports.i18n import messages
    from divert.web.render import templates

    gettext: Any = messages(locale, ("reports", "web"))["_"]
    for message in literal_percent:
        with using(locale):
            web = templates.env.from_string("{{ _(m) }}").render(m=message)
        for shown in (str(gettext(message)), web):
            assert "%%" not in shown and ("%" in shown or "٪" in shown), (message, shown)
