"""Finding English left on a page rendered in another language: the approach of
tests/web/test_every_page_language.py for any domains' catalogues (the reports, law and web).

"English left" is an English message of the catalogues whose translation differs from it: a message
of several words found anywhere in the page's visible text, a one-word message found as the whole
text of an element (a heading, a cell). Text a page marks as another language (`lang`: the law's
own words, a pack's English data), code and command lines are not the interface and are not read."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from html.parser import HTMLParser

from babel.messages.pofile import read_po

from divert.i18n.catalog import po_path

PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdfr]|%%|\{[a-z_0-9]*\}|<[^>]+>|&[a-z]+;")
SKIP = {"script", "style", "code", "pre", "kbd", "samp", "template", "noscript"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
WORD = re.compile(r"[A-Za-z]{3,}")


def _fragments(text: str) -> list[str]:
    """The literal pieces of an English message between its placeholders and markup."""
    return [" ".join(p.split()) for p in PLACEHOLDER.split(text) if WORD.search(p)]


def english_left(locale: str, domains: Sequence[str]) -> tuple[set[str], set[str]]:
    """(phrases, words): the catalogues' English messages whose `locale` translation differs."""
    phrases: set[str] = set()
    words: set[str] = set()
    same: set[str] = set()  # messages the language writes as English does ("Note" in French)
    for domain in domains:
        with po_path(locale, domain).open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=domain)
        for m in catalog:
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            same.update(i.strip(" .,:;()[]") for i, s in zip(ids, strings, strict=False)
                        if " ".join(i.split()) == " ".join(s.split()))
            for source in ids:
                for piece in _fragments(source):
                    trimmed = piece.strip(" .,:;()[]")
                    alone = re.compile(r"(?<![A-Za-z_])" + re.escape(trimmed) + r"(?![A-Za-z_])")
                    if any(piece in " ".join(s.split()) or alone.search(s) for s in strings):
                        continue  # the same in both languages (a name, "Source : " in French)
                    piece = trimmed
                    target = phrases if len(piece.split()) > 1 else words
                    target.add(piece)
    return ({p for p in phrases if len(p) >= 8 and p not in same},
            {w for w in words if len(w) >= 3 and w not in same})


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
                for key in ("alt", "aria-label", "title", "placeholder"):
                    if a.get(key):
                        self.wholes.append(a[key] or "")
            return
        skip = tag in SKIP or ("lang" in a and tag != "html") or "hidden" in a
        if not skip and not self._hidden():
            for key in ("aria-label", "title", "placeholder"):
                if a.get(key):
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


def leftovers(html: str, phrases: set[str], words: set[str],
              data: Collection[str] = ()) -> tuple[dict[str, str], list[str]]:
    """(the <html> element's attributes, the English found on the page). `data`: names the page
    shows as stored (the test accounts' names, "Test case manager"), not read as interface."""
    page = Visible()
    page.feed(html)
    text = " ".join(" ".join(page.text).split())
    for name in sorted(data, key=len, reverse=True):  # the longest first: "Test case manager"
        text = re.sub(r"(?<![A-Za-z_])" + re.escape(name) + r"(?![A-Za-z_])", " ", text)
    page.wholes = [w for w in page.wholes if w not in data]
    found = sorted(p for p in phrases  # an identifier (treatment_not_conviction) is not English
                   if re.search(r"(?<![A-Za-z_])" + re.escape(p) + r"(?![A-Za-z_])", text))
    found += sorted({w.strip(" .,:;()") for w in page.wholes} & words)
    return page.html, found
