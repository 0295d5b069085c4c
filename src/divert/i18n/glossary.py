"""The translators' glossaries of legal terms (docs/glossary/<lang>.md): one Markdown table per
language, English term | the term in that language | note. A translation cell may list accepted
alternative or inflected forms after the preferred one, separated by " / ".

Read from the source tree only (like `extraction.POLICIES`): the glossaries are documentation for
translators and the data of tests/i18n/test_glossary.py; nothing at run time depends on them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

GLOSSARIES = Path(__file__).resolve().parents[3] / "docs" / "glossary"
SEPARATOR = " / "
#: a message's placeholders and markup, which are not words of the message
_NOT_WORDS = re.compile(r"%\([a-z_0-9]+\)[sdfr]|%%|\{[a-z_0-9]*\}|<[^>]+>|&[a-z]+;")


class GlossaryError(ValueError):
    """A glossary file that is not a table of three columns with a term in the first two."""


@dataclass(frozen=True)
class Entry:
    """One row: the English term and the accepted forms in the other language (preferred first)."""

    english: str
    forms: tuple[str, ...]
    note: str

    def used_in(self, english: str) -> bool:
        """Whether the English message uses the term (whole words, any case), its last word also
        in the plural ("s" or "es": "courts", "offences", "Corporal punishments"), so that plural
        messages are checked too."""
        words = list(map(re.escape, self.english.split()))
        pattern = r"(?<![\w-])" + r"\s+".join(words) + r"(?:e?s)?(?![\w-])"
        return re.search(pattern, _NOT_WORDS.sub(" ", english), re.IGNORECASE) is not None

    def kept_in(self, translation: str) -> bool:
        """Whether the translation contains one of the accepted forms (any case)."""
        text = normalise(translation)
        return any(normalise(form) in text for form in self.forms)


def normalise(text: str) -> str:
    """Casefolded, NFC, without zero-width non-joiners and with spaces collapsed, so that the
    Persian half-space and line wrapping do not decide a match."""
    text = unicodedata.normalize("NFC", text).replace("\u200c", "").casefold()
    return " ".join(text.split())


def parse(text: str, source: str = "glossary") -> list[Entry]:
    """The entries of a glossary's table; the header row and the |---| row are skipped."""
    entries: list[Entry] = []
    rows = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    for number, row in enumerate(rows[2:], start=3):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != 3 or not cells[0] or not cells[1]:
            raise GlossaryError(f"{source}: table row {number}: expected 'English | term | note', "
                                f"got {row!r}")
        forms = tuple(form.strip() for form in cells[1].split(SEPARATOR) if form.strip())
        entries.append(Entry(cells[0], forms, cells[2]))
    if not entries:
        raise GlossaryError(f"{source}: no table rows (English | term | note)")
    return entries


def load(locale: str, folder: Path = GLOSSARIES) -> list[Entry] | None:
    """The language's glossary, or None where the source tree's docs are absent."""
    path = folder / f"{locale}.md"
    if not path.is_file():
        return None
    return parse(path.read_text(encoding="utf-8"), str(path))
