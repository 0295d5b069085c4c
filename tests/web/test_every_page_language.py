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

import re
from html.parser import HTMLParser
from typing import Any

from babel.messages.pofile import read_po

from divert.i18n import DEFAULT, LOCALES, direction
from divert.i18n.catalog import po_path
from divert.web.accounts import ROLES
from divert.web.lang import COOKIE

from .conftest import Client, sign_in
from .test_every_page import AUTO, PREFERRED, Seeded, seeded, visits  # noqa: F401  (fixture)

PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdfr]|%%")
SKIP = {"script", "style", "code", "pre", "kbd", "samp", "template", "noscript"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
WORD = re.compile(r"[A-Za-z]{3,}")


def _fragments(text: str) -> list[str]:
    """The literal pieces of an English message between its placeholders, whitespace folded."""
    return [" ".join(p.split()) for p in PLACEHOLDER.split(text) if WORD.search(p)]


def english_left(locale: str) -> tuple[set[str], set[str]]:
    """(phrases, words): the catalogue's English messages whose `locale` translation differs."""
    with po_path(locale, "web").open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain="web")
    phrases: set[str] = set()
    words: set[str] = set()
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for source in ids:
            for piece in _fragments(source):
                if any(piece in " ".join(s.split()) for s in strings):
                    continue  # the same in both languages (a name, an abbreviation)
                target = phrases if len(piece.split()) > 1 else words
                target.add(piece.strip(" .,:;()"))
    return {p for p in phrases if len(p) >= 8}, {w for w in words if len(w) >= 3}


class Visible(HTMLParser):
    """The page's visible text: all of it, and each element's own whole text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, list[str]]] = []
        self.text: list[str] = []
        self.wholes: list[str] = []
        self.html: dict[str, str] = {}

    def _hidden(self) -> bool:
        return any(skip for _, skip, _ in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html = {k: v or "" for k, v in a.items()}
            return
        if tag in VOID:
            if not self._hidden():
                for key in ("placeholder", "alt", "aria-label", "title"):
                    if a.get(key):
                        self.wholes.append(a[key] or "")
            return
        skip = tag in SKIP or ("lang" in a and tag != "html") or "hidden" in a
        if not skip:
            for key in ("aria-label", "title", "placeholder"):
                if a.get(key) and not self._hidden():
                    self.wholes.append(a[key] or "")
        self.stack.append((tag, skip, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or tag == "html":
            return
        while self.stack:
            name, skip, parts = self.stack.pop()
            whole = " ".join(" ".join(parts).split())
            if whole and not skip and not self._hidden():
                self.wholes.append(whole)
                if self.stack:
                    self.stack[-1][2].append(whole)
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._hidden() or not data.strip():
            return
        self.text.append(data)
        if self.stack:
            self.stack[-1][2].append(data)


#: the test accounts' usernames and display names (conftest.make_users): data, not interface
ACCOUNTS = sorted({n for role in ROLES for n in (f"Test {role.replace('_', ' ')}", role)},
                  key=len, reverse=True)


def leftovers(html: str, phrases: set[str], words: set[str]) -> tuple[dict[str, str], list[str]]:
    page = Visible()
    page.feed(html)
    text = " ".join(" ".join(page.text).split())
    for name in ACCOUNTS:
        text = re.sub(r"(?<![A-Za-z_])" + re.escape(name) + r"(?![A-Za-z_])", " ", text)
    page.wholes = [w for w in page.wholes if w not in ACCOUNTS]
    found = sorted(p for p in phrases if re.search(r"(?<![A-Za-z])" + re.escape(p) + r"(?![A-Za-z])",
                                                   text))
    found += sorted({w.strip(" .,:;()") for w in page.wholes} & words)
    return page.html, found


#: English the walk still finds, and where it comes from: labels made below the web layer (the
#: assessment form's fields and choices from divert.web.assess_fields; the law's, simulation's and
#: registry timeline's own words in the book, briefs, comparisons, advice and timeline), not yet in
#: the web catalogue. Issue 19 stays open for these; the walk fails on any English not listed here.
KNOWN_LEFT: frozenset[str] = frozenset({
    "Incentive", "Informed consent", "Note", "Notes", "Parameters of the law", "People in prison",
    "Practice the simulation uses", "Sanction", "Sex", "The offence", "The person",
    "Therapeutic adjustment", "Therapeutic adjustment (not a sanction", "Yes", "active",
    "as recorded", "attendance", "case management", "case manager", "central parameter values",
    "clinical reassessment", "coercive", "community service", "completion", "confidence interval",
    "confirmed by", "cultivation", "divert default", "drug use disorder", "failure to appear",
    "female", "for cause", "graduated", "in phase", "injecting", "male", "million, discounted",
    "missed", "months", "negative test", "new criminal activity", "not required", "other",
    "paired replications", "people", "positive", "positive test", "possession",
    "possession for supply", "price year", "property",
    "review of treatment intensity or medication", "scenario", "supply", "terminated", "tests",
    "therapeutic adjustment", "today's law", "trafficking", "treatment", "unknown", "use",
    "verified", "violence flag", "violent", "withdrawn", "year", "years",
})


def walk(app: Any, seeded: Seeded, locale: str) -> tuple[list[str], dict[str, set[str]]]:  # noqa: F811
    """(problems, English found per page beyond KNOWN_LEFT) for every page in `locale`."""
    phrases, words = english_left(locale)
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
            html, found = leftovers(r.text, phrases, words)
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
    phrases, words = english_left("fr")
    english = '<html lang="fr" dir="ltr"><body><h2>Participants</h2><p>No hearings on this day.</p>' \
              '<blockquote lang="en">Possession of a controlled substance</blockquote></body></html>'
    _, found = leftovers(english, phrases, words)
    assert "No hearings on this day" in found
    french = '<html lang="fr" dir="ltr"><body><h2>Participants</h2><p>Aucune audience ce jour-là.</p>' \
             '<code>divert registry init --db x</code></body></html>'
    assert leftovers(french, phrases, words)[1] == []

