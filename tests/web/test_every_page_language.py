"""Every page in each of the six languages (issue 19): `<html lang dir>` names the page's language
(right to left for Persian) and no English interface text is left on it.

The pages are those tests/web/test_every_page.py walks (every GET route answering HTML, filled from
its seeded registry), opened by the same roles with the switcher's cookie. "English left" is an
English message of the web catalogue whose translation differs from it: a message of several words
found anywhere in the page's visible text, a one-word message found as the whole text of an element
(a heading, a cell, a button). Text a page marks as another language (`lang`, the law's own words),
code and command lines are not the interface and are not read. What the check cannot see: a value
stored in English and shown as is (a programme's name, a note), which is data, not interface."""

from __future__ import annotations

from typing import Any

from divert.i18n import DEFAULT, LOCALES, direction
from divert.web.accounts import ROLES
from divert.web.lang import COOKIE
from tests.i18n.english import english_left, leftovers

from .conftest import Client, sign_in
from .test_every_page import AUTO, PREFERRED, Seeded, seeded, visits  # noqa: F401  (fixture)

#: the test accounts' usernames and display names (conftest.make_users): data, not interface
ACCOUNTS = frozenset(n for role in ROLES for n in (f"Test {role.replace('_', ' ')}", role))


#: English the walk may still find, and why; none now (a word the language writes as English
#: does, French's label "Note", is not English left). The walk fails on any English not listed.
KNOWN_LEFT: frozenset[str] = frozenset()


def walk(app: Any, seeded: Seeded, locale: str) -> tuple[list[str], dict[str, set[str]]]:  # noqa: F811
    """(problems, English found per page beyond KNOWN_LEFT) for every page in `locale`."""
    phrases, words = english_left(locale, ("web",))
    assert len(phrases) > 200 and len(words) > 50  # the check has something to look for
    clients: dict[str | None, Client] = {}

    def client(role: str | None) -> Client:
        if role not in clients:
            clients[role] = sign_in(app, role)
            clients[role].cookies.set(COOKIE, locale)
        return clients[role]

    problems: list[str] = []
    left: dict[str, set[str]] = {}
    pages = [v for _, v in visits(app, seeded)]
    assert len(pages) > 30
    try:
        for v in pages:
            for role in (PREFERRED if v.role == AUTO else (v.role,)):
                r = client(role).get(v.url)
                if r.status_code != 403:
                    break
            where = f"{v.url} as {role or 'anonymous'} in {locale}"
            if r.status_code != 200:
                problems.append(f"{where}: status {r.status_code}")
                continue
            html, found = leftovers(r.text, phrases, words, ACCOUNTS)
            if (html.get("lang"), html.get("dir")) != (locale, direction(locale)):
                problems.append(f"{where}: <html lang={html.get('lang')} dir={html.get('dir')}>")
            extra = set(found) - KNOWN_LEFT
            if extra:
                left[where] = extra
    finally:
        for c in clients.values():
            c.close()
    return problems, left


def test_every_page_in_each_language(app: Any, seeded: Seeded) -> None:  # noqa: F811
    problems: list[str] = []
    for locale in (loc for loc in LOCALES if loc != DEFAULT):
        found, left = walk(app, seeded, locale)
        problems += found + [f"{where}: English left: {sorted(words)}" for where, words in left.items()]
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_check_finds_english() -> None:
    """The walk's own check: an English page fails it, the same page translated passes."""
    phrases, words = english_left("fr", ("web",))
    english = '<html lang="fr" dir="ltr"><body><h2>Participants</h2><p>No hearings on this day.</p>' \
              '<blockquote lang="en">Possession of a controlled substance</blockquote></body></html>'
    _, found = leftovers(english, phrases, words)
    assert "No hearings on this day" in found
    french = '<html lang="fr" dir="ltr"><body><h2>Participants</h2><p>Aucune audience ce jour-là.</p>' \
             '<h3>Source</h3><p>Test case manager</p>' \
             '<code>divert registry init --db x</code></body></html>'
    assert leftovers(french, phrases, words, ACCOUNTS)[1] == []  # French's "Source", an account
    assert "case manager" in leftovers(french, phrases, words)[1]
    # French writes the label "Note" as English does (though "Note: %(value)s" is "Remarque"),
    # Portuguese does not: "Note" is English left on a Portuguese page only
    note = '<html lang="{0}" dir="ltr"><body><label>Note</label></body></html>'
    assert leftovers(note.format("fr"), phrases, words)[1] == []
    assert leftovers(note.format("pt"), *english_left("pt", ("web",)))[1] == ["Note"]

