"""Message catalogues: one gettext .po file per language and domain under i18n/messages, read with
Babel when first asked for (no compile step, nothing binary in the repository)."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from divert.i18n.locale import DEFAULT, LOCALES, babel_locale, direction

MESSAGES = Path(__file__).parent / "messages"
#: web: pages and their messages; reports: policy book, brief, comparison report; cli: the command
#: line's messages; law: measure, condition and stage labels and the advice's legal reasons.
DOMAINS: tuple[str, ...] = ("web", "reports", "cli", "law")


def po_path(locale: str, domain: str) -> Path:
    """Where a language's catalogue for a domain lives."""
    return MESSAGES / locale / "LC_MESSAGES" / f"{domain}.po"


@cache
def _translations(locale: str, domain: str) -> gettext.NullTranslations:
    path = po_path(locale, domain)
    if locale == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_DIGITS = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩"}


class Translator:
    """A language's messages and formats for one domain: what templates and reports call."""

    def __init__(self, locale: str, domain: str) -> None:
        if locale not in LOCALES:
            raise ValueError(f"unsupported locale {locale!r}")
        self.locale = locale
        self.domain = domain
        self.dir = direction(locale)
        self._babel = babel_locale(locale)
        self._t = _translations(locale, domain)
        self._fmt: dict[str, Any] = {"locale": self._babel, "numbering_system": "default"}
        # Babel gives the locale's separators but Latin digits; Persian writes its own (CLDR arabext)
        native = self._babel.default_numbering_system
        self._digits = str.maketrans("0123456789", _DIGITS[native]) if native in _DIGITS else None

    def _native(self, text: str) -> str:
        return text.translate(self._digits) if self._digits else text

    def digits(self, text: str) -> str:
        """Text with its digits written the locale's way (Persian digits in fa): a date, a code."""
        return self._native(text)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._t.pgettext(context, message)

    def number(self, value: float | int, digits: int | None = None, signed: bool = False) -> str:
        """A number in the locale's digits and separators (Persian digits in fa); `signed`: a
        plus sign before a positive number, as a difference is written."""
        if digits is None and not signed:
            return self._native(numbers.format_decimal(value, **self._fmt))
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        if signed:
            pattern = f"+{pattern};-{pattern}"
        return self._native(numbers.format_decimal(value, format=pattern, **self._fmt))

    def compact(self, value: float) -> str:
        """A number in short form for an axis (12,3 M; 1,2 mM), in the locale's words."""
        return self._native(numbers.format_compact_decimal(value, fraction_digits=1, **self._fmt))

    def percent(self, value: float, digits: int = 0, signed: bool = False) -> str:
        """A share as a percentage; `signed`: a plus sign before a positive one (a change)."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        if signed:
            pattern = f"+{pattern};-{pattern}"
        text = self._native(numbers.format_percent(value, format=pattern, **self._fmt))
        return text.replace("%", "٪") if self._digits else text  # Persian writes its own sign

    def currency(self, value: float, code: str) -> str:
        return self._native(numbers.format_currency(value, code, **self._fmt))

    def month(self, value: date) -> str:
        """A month and its year as the locale writes them (janeiro de 2026, ژانویه ۲۰۲۶)."""
        return self._native(dates.format_skeleton("yMMMM", value, locale=self._babel))

    def date(self, value: date | datetime, form: str = "medium") -> str:
        return self._native(dates.format_date(value, format=form, locale=self._babel))

    def list_separator(self) -> str:
        """What stands between two items of a list (", "; in Persian its own comma and a
        right-to-left mark, "،\u200f "): CLDR's list pattern, from Babel."""
        return str(self._babel.list_patterns["standard"]["middle"].format("", ""))

    def datetime(self, value: datetime, form: str = "medium") -> str:
        return self._native(dates.format_datetime(value, format=form, locale=self._babel))


@cache
def translator(locale: str, domain: str) -> Translator:
    """The (cached) translator for a language and domain."""
    return Translator(locale, domain)
