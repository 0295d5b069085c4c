"""The language of a page: chosen per request (the account's setting, else the switcher's cookie,
else Accept-Language), kept in `divert.i18n.current` while the request runs, and the web domain's
messages for Python code (`_`, `ngettext`; `N_` marks a message translated later, at display)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from divert.i18n import LOCALES, current_locale, negotiate, translator, using
from divert.i18n import N_ as N_  # the marker, re-exported for the web modules
from divert.registry.database import RegistryError

#: the cookie the language switcher sets (signed-out pages, and accounts without a setting)
COOKIE = "divert_lang"
COOKIE_DAYS = 365
DOMAIN = "web"
#: each language named in itself, as the switcher offers it
NAMES: dict[str, str] = {"en": "English", "pt": "Português", "fr": "Français", "nl": "Nederlands",
                         "fa": "فارسی", "ms": "Bahasa Melayu"}


def _(message: str) -> str:
    """`message` in the request's language (the web domain)."""
    return translator(current_locale(), DOMAIN).gettext(message)


gettext = _


def ngettext(singular: str, plural: str, n: int) -> str:
    return translator(current_locale(), DOMAIN).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translator(current_locale(), DOMAIN).pgettext(context, message)



def request_locale(request: Request) -> str:
    """The account's own language, else the switcher's cookie, else the best of Accept-Language."""
    from divert.web.security import optional_user

    chosen: str | None = None
    try:
        user = optional_user(request)
    except RegistryError:  # no registry yet: its error page still needs a language
        user = None
    if user is not None and user.locale in LOCALES:
        chosen = user.locale
    elif request.cookies.get(COOKIE) in LOCALES:
        chosen = request.cookies[COOKIE]
    return negotiate(request.headers.get("accept-language"), chosen)


class Language:
    """ASGI middleware (inside the session's): the request runs in its page language."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static"):
            await self.app(scope, receive, send)
            return
        locale = request_locale(Request(scope))
        with using(locale):
            await self.app(scope, receive, send)
