"""The advice's words as messages: a sentence of the law catalogue with named placeholders, kept
structured until it is read, then written in one language (English by default, exactly as the
advice has always read). Values that are themselves words (a measure's label, "unknown") are
messages too, so each language writes the whole sentence its own way rather than word by word."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from divert.i18n import DEFAULT, N_, Translator, translator

DOMAIN = "law"



def pgettext(context: str, message: str) -> str:
    """Mark a message with a context for extraction (translated when read)."""
    return message


@dataclass(frozen=True)
class Message:
    """A sentence of the law catalogue (`msgid`, English) and the values of its placeholders."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    context: str | None = None

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
class Joined:
    """Values written one after another with the language's list separator."""

    items: Sequence[Any]
    separator: str = ", "


def render(value: Any, t: Translator) -> str:
    """`value` written in the translator's language."""
    if isinstance(value, Message):
        template = (t.pgettext(value.context, value.msgid) if value.context
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


def text(value: Any, locale: str = DEFAULT) -> str:
    """`value` (a message, label, list or plain value) written in `locale`."""
    return render(value, translator(locale, DOMAIN))


# the list separators, one per use, so a language may write each its own way (Persian: "، ")
_SEPARATORS = (pgettext("separator", ", "), pgettext("separator", "; "))
