"""Country briefs on the web: one printable page per pack, rendered from a stored brief.

A brief runs the simulation, so it is built once per pack and stored as JSON in the app's work
folder (`briefs/<code>.json`, written by the first request or by `store`); later requests read it.
The sizes come from `app.state.brief_sizes` (default `divert.reports.brief.Sizes` with modest sizes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from divert.i18n import current_locale
from divert.law.policy import load
from divert.reports import brief as briefs
from divert.web.accounts import User
from divert.web.book import pack_codes, pack_or_error
from divert.web.render import render, templates
from divert.web.security import require

templates.env.filters["figure"] = lambda value: briefs.number(value, current_locale())
"""A brief's figure in the page's language (the brief's own rounding; `number` stays the pages')."""
router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["policy"])


def stored_path(work_dir: Path, code: str) -> Path:
    """Where the brief of `code` is stored."""
    return work_dir / "briefs" / f"{code}.json"


def store(work_dir: Path, data: dict[str, Any]) -> Path:
    """Store a brief (for its pack) in the work folder."""
    path = stored_path(work_dir, data["jurisdiction"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    return path


def brief_of(request: Request, code: str) -> dict[str, Any]:
    """The stored brief of `code`, built and stored first if there is none."""
    pack_or_error(code, "code")
    work_dir = Path(request.app.state.work_dir)
    path = stored_path(work_dir, code)
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    sizes = getattr(request.app.state, "brief_sizes", None) or briefs.Sizes()
    data = json.loads(json.dumps(briefs.build(code, sizes), default=str))
    store(work_dir, data)
    return dict(data)


@router.get("/brief", response_class=HTMLResponse)
def index_page(request: Request, user: User = Depends(require("book"))) -> Response:
    packs = [{"code": c, "name": load(c).meta.name} for c in pack_codes()]
    return render(request, "brief/index.html", packs=packs)


@router.get("/brief/{code}", response_class=HTMLResponse)
def brief_page(request: Request, code: str, user: User = Depends(require("book"))) -> Response:
    return render(request, "brief/page.html",
                  **briefs.context(brief_of(request, code), current_locale()))


@api.get("/briefs/{code}")
def brief_api(request: Request, code: str,
              user: User = Depends(require("book"))) -> dict[str, Any]:
    """The country brief as data: every figure with its source or stamped run."""
    return brief_of(request, code)
