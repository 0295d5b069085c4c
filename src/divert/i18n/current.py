"""The language of the work in hand (a web request, a command): a context variable, so that code
deep in a call can translate without the locale passed down to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from divert.i18n.locale import DEFAULT, LOCALES

_LOCALE: ContextVar[str] = ContextVar("divert_locale", default=DEFAULT)


def current_locale() -> str:
    """The locale set for the work in hand (English when none was set)."""
    return _LOCALE.get()


def set_locale(locale: str) -> None:
    """Set the locale for the rest of the work in hand (a request's task and what it calls)."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    _LOCALE.set(locale)


@contextmanager
def using(locale: str) -> Iterator[str]:
    """The locale for the body of a `with` block, restored after it."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    token = _LOCALE.set(locale)
    try:
        yield locale
    finally:
        _LOCALE.reset(token)
