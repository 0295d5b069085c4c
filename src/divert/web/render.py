"""Server-rendered pages: one Jinja2 environment, with the session's user and CSRF token in reach."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from divert import __version__
from divert.i18n import LOCALES, current_locale, direction, translator
from divert.web.accounts import ROLES
from divert.web.lang import N_, NAMES, _, ngettext, pgettext
from divert.web.security import csrf_token, optional_user
from divert.web.terms import TERMS, column, term, unit

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals.update(divert_version=__version__, roles=ROLES, languages=NAMES,
                             locales=LOCALES)
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=_, ngettext=ngettext, pgettext=pgettext, newstyle=True)


def _localised(variables: dict[str, Any]) -> dict[str, Any]:
    """A message's numbers and dates in the page's digits (Persian digits in fa), written as they
    are otherwise (no separators, ISO dates), so an id or a count reads the same in every language."""
    return {key: _digits(value) if not isinstance(value, bool)
            and isinstance(value, int | float | dt.date) else value
            for key, value in variables.items()}


def _with_digits(make: Any, counted: bool = False) -> Any:
    """Jinja's newstyle gettext callable, its %(name)s values first written in the page's digits
    (`counted`: ngettext, whose count is also its %(num)s)."""
    @pass_context
    def call(context: Any, *args: Any, **variables: Any) -> Any:
        if counted and "num" not in variables and len(args) >= 3:
            variables["num"] = args[2]
        return make(context, *args, **_localised(variables))
    return call


templates.env.globals.update(gettext=_with_digits(templates.env.globals["gettext"]),
                             ngettext=_with_digits(templates.env.globals["ngettext"], counted=True),
                             pgettext=_with_digits(templates.env.globals["pgettext"]))


def _web() -> Any:
    return translator(current_locale(), "web")


def _law(text: Any) -> Any:
    """A label or reason from the law (measure, stage, condition): its translation in the law
    domain, which the law's own catalogue fills."""
    if not isinstance(text, str) or not text:
        return text
    return translator(current_locale(), "law").gettext(text)


def _vocab(value: Any) -> Any:
    """A vocabulary value a form offers (a sex, an offence type, a substance) in words in the
    page's language: the web catalogue's name where the registry names it too (`TERMS`), else the
    law's; the value submitted stays the code."""
    if not isinstance(value, str) or not value:
        return value
    return term(value) if value in TERMS else _law(value.replace("_", " "))


def _number(value: Any, digits: int | None = None) -> Any:
    """A number in the page's language (separators; Persian digits in fa); anything else as is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return _web().number(value, digits)


def _percent(value: Any, digits: int = 0) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return _web().percent(value, digits)


def _currency(value: Any, code: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return _web().currency(value, code)


def _date(value: Any, form: str = "medium") -> Any:
    if not isinstance(value, dt.date):
        return value
    return _web().date(value, form)


def _digits(value: Any) -> Any:
    """Digits written the page's way (Persian digits in fa), in text such as a date or a code."""
    return _web().digits(str(value)) if value is not None else value


#: the roles as a page names them (the code is the key)
ROLE_NAMES: dict[str, str] = {"judge": N_("judge"), "prosecutor": N_("prosecutor"),
                              "defence": N_("defence"), "clinician": N_("clinician"),
                              "case_manager": N_("case manager"), "analyst": N_("analyst"),
                              "admin": N_("admin")}


def _role(code: Any) -> Any:
    """A role's name in the page's language ("case manager" for case_manager)."""
    if not isinstance(code, str):
        return code
    return _(ROLE_NAMES.get(code, code.replace("_", " ")))


templates.env.filters.update(role=_role, law=_law, number=_number, percent=_percent, currency=_currency,
                             date=_date, digits=_digits, term=term, column=column, unit=unit,
                             vocab=_vocab)

#: the navigation: (path, label, capability needed)
NAV: tuple[tuple[str, str, str], ...] = (
    ("/assess", N_("Assessment"), "assess"),
    ("/book", N_("Policy book"), "book"),
    ("/brief", N_("Country briefs"), "book"),
    ("/compare", N_("Country comparison"), "simulate"),
    ("/registry", N_("Registry"), "registry.read"),
    ("/registry/aggregates", N_("Registry figures"), "registry.aggregates"),
    ("/admin/users", N_("Accounts"), "users.manage"),
)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with `user`, `csrf`, `nav` (what this role may open), `path`, and the
    page's language: `locale` and `dir` (rtl for Persian)."""
    user = optional_user(request)
    nav = [(p, _(label)) for p, label, cap in NAV if user is not None and user.can(cap)]
    locale = current_locale()
    context.update(user=user, csrf=csrf_token(request), nav=nav, path=request.url.path,
                   locale=locale, dir=direction(locale))
    return templates.TemplateResponse(request, name, context, status_code=status_code)
