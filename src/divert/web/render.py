"""Server-rendered pages: one Jinja2 environment, with the session's user and CSRF token in reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from divert import __version__
from divert.web.accounts import ROLES
from divert.web.security import csrf_token, optional_user

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals.update(divert_version=__version__, roles=ROLES)

#: the navigation: (path, label, capability needed)
NAV: tuple[tuple[str, str, str], ...] = (
    ("/assess", "Assessment", "assess"),
    ("/book", "Policy book", "book"),
    ("/brief", "Country briefs", "book"),
    ("/compare", "Country comparison", "simulate"),
    ("/registry", "Registry", "registry.read"),
    ("/registry/aggregates", "Registry figures", "registry.aggregates"),
    ("/admin/users", "Accounts", "users.manage"),
)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with `user`, `csrf`, `nav` (what this role may open) and `path`."""
    user = optional_user(request)
    nav = [(p, label) for p, label, cap in NAV if user is not None and user.can(cap)]
    context.update(user=user, csrf=csrf_token(request), nav=nav, path=request.url.path)
    return templates.TemplateResponse(request, name, context, status_code=status_code)
