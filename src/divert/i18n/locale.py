"""The locales divert speaks, how one is chosen for a request, and which way it is written."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from divert.errors import DivertError

#: English (USA, Kenya, Malaysia), Portuguese (Portugal), French (Belgium, Côte d'Ivoire),
#: Dutch (Belgium), Persian (Iran) and Malay (Malaysia): the practitioners' languages of the packs.
LOCALES: tuple[str, ...] = ("en", "pt", "fr", "nl", "fa", "ms")
DEFAULT = "en"
#: written right to left
RTL: frozenset[str] = frozenset({"fa"})


def parse_locale(value: str, field: str = "language") -> str:
    """A supported locale code from `value` ("pt", "pt-PT", "pt_PT" all give "pt"), or a one-line error."""
    code = value.strip().replace("-", "_").split("_")[0].lower()
    if code not in LOCALES:
        raise DivertError(f"{field}: {value!r} is not a supported language; use one of {', '.join(LOCALES)}")
    return code


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The locale for a request: the user's own setting first, else the best of Accept-Language."""
    if preferred in LOCALES:
        return str(preferred)
    if not accept_language:
        return DEFAULT
    weighted: list[tuple[float, int, str]] = []
    for order, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        code = tag.strip().replace("-", "_").split("_")[0].lower()
        if code in LOCALES and q > 0:
            weighted.append((-q, order, code))
    return sorted(weighted)[0][2] if weighted else DEFAULT


def direction(locale: str) -> str:
    """"rtl" or "ltr", for the page's dir attribute."""
    return "rtl" if locale in RTL else "ltr"


def babel_locale(locale: str) -> Locale:
    """Babel's Locale for a supported code (Persian of Iran, Portuguese of Portugal, ...)."""
    regional = {"pt": "pt_PT", "fa": "fa_IR", "ms": "ms_MY", "fr": "fr_FR", "nl": "nl_BE", "en": "en_US"}
    try:
        return Locale.parse(regional.get(locale, locale))
    except (UnknownLocaleError, ValueError) as exc:  # pragma: no cover - LOCALES are all known to Babel
        raise DivertError(f"language: {locale!r} is not known to Babel") from exc
