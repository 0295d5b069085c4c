"""The advice's words as messages: a sentence of the law catalogue with named placeholders, kept
structured until it is read, then written in one language (English by default, exactly as the
advice has always read). Values that are themselves words (a measure's label, "unknown") are
messages too, so each language writes the whole sentence its own way rather than word by word."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from divert.i18n import DEFAULT, N_, Translator, translator

DOMAIN = "law"



def pgettext(context: str, message: str) -> str:
    """Mark a message with a context for extraction (translated when read)."""
    return message


def ngettext(singular: str, plural: str, n: int, **params: Any) -> Message:
    """A message with a plural (extracted as gettext's ngettext), its form chosen by `n`."""
    return Message(singular, params, plural=plural, n=n)


@dataclass(frozen=True)
class Message:
    """A sentence of the law catalogue (`msgid`, English) and the values of its placeholders."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    context: str | None = None
    plural: str | None = None  # the English plural (`ngettext`), chosen by `n`
    n: int = 1

    def render(self, locale: str = DEFAULT) -> str:
        return render(self, translator(locale, DOMAIN))


@dataclass(frozen=True)
class Label:
    """A label from the law's data (a measure, condition or bar label): looked up in the law
    catalogue, shown as written when the catalogue has no translation of it."""

    text: str


@dataclass(frozen=True)
class Value:
    """A fact's value as the advice shows it: a number in the language's digits, a missing value
    or an empty list in words, anything else (a category code) as it is."""

    value: Any


@dataclass(frozen=True)
class Day:
    """A date: ISO in English (as the advice has always written it), the language's long form
    otherwise (1 de outubro de 2023, ۱ اکتبر ۲۰۲۳)."""

    day: date


@dataclass(frozen=True)
class Figure:
    """A measured number: in English as the Python format `spec` writes it (`.1%`, `,.0f`,
    `.3g`, "" for a whole number; "d" a year, "s" a code, neither grouped), as the studies have
    always written it; otherwise rounded the same way, in the language's digits, separators and
    percent sign."""

    value: Any
    spec: str = ""


@dataclass(frozen=True)
class Joined:
    """Values written one after another with the language's list separator."""

    items: Sequence[Any]
    separator: str = ", "


def render(value: Any, t: Translator) -> str:
    """`value` written in the translator's language."""
    if isinstance(value, Message):
        template = (t.ngettext(value.msgid, value.plural, value.n) if value.plural is not None
                    else t.pgettext(value.context, value.msgid) if value.context
                    else t.gettext(value.msgid))
        if not value.params:
            return template
        return template % {k: render(v, t) for k, v in value.params.items()}
    if isinstance(value, Label):
        return t.gettext(value.text)
    if isinstance(value, Day):
        return value.day.isoformat() if t.locale == DEFAULT else t.date(value.day, "long")
    if isinstance(value, Value):
        return _value(value.value, t)
    if isinstance(value, Figure):
        return _figure(value, t)
    if isinstance(value, Joined):
        sep = t.pgettext("separator", value.separator)
        return sep.join(render(v, t) for v in value.items)
    return str(value)


def _value(value: Any, t: Translator) -> str:
    if value is None:
        return t.gettext(N_("unknown"))
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]" if value else t.gettext(N_("none"))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if t.locale == DEFAULT:  # as English advice has always shown it: 2, 2.5, 1000
            return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return t.number(value)
    return str(value)


def _figure(f: Figure, t: Translator) -> str:
    english = format(f.value, f.spec)
    if t.locale == DEFAULT:
        return english
    if isinstance(f.value, str) or f.spec == "d" or not math.isfinite(f.value):
        return t.digits(english)  # a year, a code: its digits only, not grouped
    if f.spec == "":  # as it is: a score, a cut-off (2, 2.5)
        return t.number(f.value)
    kind = f.spec[-1:] if f.spec[-1:] in ("%", "f", "g") else ""
    if kind == "g":
        if "e+" in english:  # a large figure: as a whole number (1.08e+03: 1 080)
            return t.number(float(english), 0)
        if "e" in english:  # a very small one: the exponent as Python writes it
            return t.digits(english)
        decimals = len(english.split(".")[1]) if "." in english else 0
        return t.number(float(english.replace(",", "")), decimals)
    decimals = int(f.spec.split(".")[1][:-1]) if "." in f.spec else 0
    signed = f.spec.startswith("+")
    if kind == "%":
        return t.percent(float(f"{f.value:.{decimals + 2}f}"), decimals, signed=signed)
    return t.number(float(f"{f.value:.{decimals}f}"), decimals, signed=signed)


def text(value: Any, locale: str = DEFAULT) -> str:
    """`value` (a message, label, list or plain value) written in `locale`."""
    return render(value, translator(locale, DOMAIN))


# the list separators, one per use, so a language may write each its own way (Persian: "، ")
_SEPARATORS = (pgettext("separator", ", "), pgettext("separator", "; "))
