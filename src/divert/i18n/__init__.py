"""Languages: the supported locales, their message catalogues (gettext, read with Babel) and
locale-aware numbers, dates and currencies. The bottom layer: anything may import it."""

from divert.i18n.catalog import DOMAINS, MESSAGES, Translator, translator
from divert.i18n.current import current_locale, set_locale, using
from divert.i18n.locale import (
    DEFAULT,
    LOCALES,
    RTL,
    direction,
    negotiate,
    parse_locale,
)


def N_(message: str) -> str:
    """Marks `message` for extraction only (Babel's keyword N_); it is translated where it is
    shown, with the catalogue of the module that shows it."""
    return message


__all__ = [
    "N_",
    "DEFAULT",
    "DOMAINS",
    "LOCALES",
    "MESSAGES",
    "RTL",
    "Translator",
    "current_locale",
    "direction",
    "negotiate",
    "parse_locale",
    "set_locale",
    "translator",
    "using",
]
