"""The reports' languages: an Environment with Jinja2's i18n extension whose messages come, per
render, from the language asked for (the reports catalogue, then the web's for the pages a report
shares with the web), with the language's numbers and dates and the law's labels."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from divert.i18n import DEFAULT, direction, parse_locale, translator
from divert.law import words

DOMAIN = "reports"


def report_locale(value: str | None = None) -> str:
    """The report's language: `value` if given, else $DIVERT_LANG, else English (a bad value is
    a one-line error naming it, exit 2 on the command line)."""
    chosen = value or os.environ.get("DIVERT_LANG")
    return parse_locale(chosen, "--lang") if chosen else DEFAULT


def _lookup(locale: str, domains: Sequence[str]) -> tuple[Callable[[str], str],
                                                          Callable[[str, str], str],
                                                          Callable[[str, str, int], str]]:
    ts = [translator(locale, d) for d in domains]

    def gettext(message: str) -> str:
        for t in ts:
            out = t.gettext(message)
            if out != message:
                return out
        return message

    def pgettext(context: str, message: str) -> str:
        for t in ts:
            out = t.pgettext(context, message)
            if out != message:
                return out
        return message

    def ngettext(singular: str, plural: str, n: int) -> str:
        for t in ts:
            out = t.ngettext(singular, plural, n)
            if out not in (singular, plural):
                return out
        return singular if n == 1 else plural

    return gettext, pgettext, ngettext


def messages(locale: str, domains: Sequence[str] = (DOMAIN,)) -> dict[str, Any]:
    """What a template rendered in `locale` needs: Jinja2's new-style gettext callables (values
    escaped, then formatted), the Translator `t`, and `lang`/`dir` for the <html> element. As in
    Jinja2's own newstyle gettext (the web's), a message is always formatted, variables or not:
    a literal % is %% in every message, as extraction reads it."""
    gettext, pgettext, ngettext = _lookup(locale, domains)

    def _gettext(message: str, **variables: Any) -> str:
        return Markup(gettext(message)) % variables

    def _pgettext(context: str, message: str, **variables: Any) -> str:
        return Markup(pgettext(context, message)) % variables

    def _ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        return Markup(ngettext(singular, plural, num)) % variables

    return {"gettext": _gettext, "_": _gettext, "pgettext": _pgettext, "ngettext": _ngettext,
            "t": translator(locale, DOMAIN), "lang": locale, "dir": direction(locale),
            "direction": direction}


def _locale(context: Context) -> str:
    return str(context.get("lang") or DEFAULT)


@pass_context
def law_label(context: Context, text: str | None) -> str:
    """A label of the law's data (measure, condition, bar) in the page's language."""
    return words.label(text, _locale(context)) if text else ""


@pass_context
def stage_name(context: Context, stage: str) -> str:
    return words.stage_name(stage, _locale(context))


@pass_context
def stage_word(context: Context, key: str) -> str:
    """A stage (or another part of a pack: parameters, practice) in running text: its code in
    English, as the reports have always written it, its name in another language."""
    locale = _locale(context)
    if locale == DEFAULT:
        return key
    if key in words.STAGE_LABELS:
        return words.stage_name(key, locale)
    return _lookup(locale, (DOMAIN,))[0](key)


@pass_context
def kind_name(context: Context, kind: str) -> str:
    return words.word(words.KIND_LABELS, kind, _locale(context))


@pass_context
def provenance_name(context: Context, provenance: str) -> str:
    return words.word(words.PROVENANCE_LABELS, provenance, _locale(context))


@pass_context
def localized_number(context: Context, value: Any) -> Any:
    """A number in the page's digits and separators; other values as they are (yes/no in words)."""
    locale = _locale(context)
    if locale == DEFAULT:  # English as the reports have always shown it
        return value
    t = translator(locale, DOMAIN)
    if isinstance(value, bool):
        return escape(t.gettext("yes") if value else t.gettext("no"))
    if isinstance(value, int | float):
        return t.number(value)
    return value


@pass_context
def localized_date(context: Context, value: date | None, form: str = "medium") -> str:
    """A date in the page's language (ISO in English, as the reports have always shown it)."""
    if value is None:
        return ""
    locale = _locale(context)
    return value.isoformat() if locale == DEFAULT else translator(locale, DOMAIN).date(value, form)


_ENGLISH = Markup('<span lang="en" dir="ltr">%s</span>')


@pass_context
def english(context: Context, text: Any) -> Any:
    """Words the packs (or divert's defaults) write only in English, marked as English on a page
    in another language (a reader's browser and screen reader say them as English)."""
    if text is None or text == "" or _locale(context) == DEFAULT:
        return "" if text is None else text
    return _ENGLISH % text


@pass_context
def law_label_marked(context: Context, text: str | None) -> Any:
    """A law label in the page's language; marked as English where the law catalogue has none."""
    if not text:
        return ""
    locale = _locale(context)
    out = words.label(text, locale)
    return _ENGLISH % out if locale != DEFAULT and out == text else out


@pass_context
def unit_name(context: Context, unit: str | None) -> str:
    """A unit (or an uncertainty's kind) in the page's language; a currency code as it is."""
    if not unit:
        return ""
    locale = _locale(context)
    return unit if locale == DEFAULT else _lookup(locale, (DOMAIN,))[0](unit)


FILTERS: dict[str, Callable[..., Any]] = {
    "law": law_label, "stagename": stage_name, "stageword": stage_word, "kindname": kind_name,
    "provname": provenance_name, "num": localized_number, "day": localized_date,
    "en": english, "lawen": law_label_marked, "unit": unit_name,
}


# Marked here for the reports catalogue: words the filters above use.
def _(message: str) -> str:
    return message


_WORDS = (_("yes"), _("no"), _("parameters"), _("practice"), _("bars"))
#: the units of the packs' parameters and divert's practice values, and the kinds of uncertainty
UNITS = (_("months"), _("years"), _("year"), _("g"), _("log g"), _("plants"), _("lashes"),
         _("strokes"), _("points"), _("arrests"), _("persons"), _("places"), _("route"),
         _("weight"), _("fraction of sentence"), _("ratio"), _("share"), _("per year"),
         _("share per year"), _("probability"), _("currency"), _("currency per month"),
         _("currency per year"), _("currency (2008 USD)"), _("factor"), _("triangular"))
