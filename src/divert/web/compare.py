"""Country comparison: choose a pack and reforms, run it as a background job, read the results.

Pages: `/compare` (the form and the list of comparisons), `/compare/jobs/{id}` (progress, then
charts with 95% bands, the summary table, economics, the stamp and downloads). API under
/api/v1/comparisons (tag "comparisons"). Jobs run in their own processes (`divert.web.jobs`);
the numbers are `divert compare`'s own: `summary.json`, `series.parquet` and `report.html`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from divert.errors import InputError
from divert.i18n import current_locale
from divert.web import compare_view as view
from divert.web.accounts import User
from divert.web.jobs import (
    COUNTRY_FILES,
    FILES,
    LIMITS,
    MAX_PACKS,
    MAX_SCENARIOS,
    CountriesSpec,
    Job,
    JobManager,
    JobNotFound,
    Spec,
    TooManyJobs,
    files_of,
    make_countries_spec,
    make_spec,
)
from divert.web.render import render
from divert.web.security import require

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["comparisons"])

_LOCK = threading.Lock()
DEFAULTS = {"persons": 10_000, "years": 10, "replications": 5, "seed": 1, "start": "2025-01"}
COUNTRY_DEFAULTS = {"persons": 10_000, "years": 11, "replications": 20, "seed": 1,
                    "start": "2025-01"}
"""Side by side: a year before the reforms take effect (2026-01), then ten years under them."""


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def manager(request: Request) -> JobManager:
    """The app's job manager, made on first use (`DIVERT_WEB_JOBS` jobs at a time, each with
    `DIVERT_WEB_JOB_WORKERS` processes; `app.state.jobs_paused` keeps jobs queued)."""
    app = request.app
    found = getattr(app.state, "jobs", None)
    if isinstance(found, JobManager):
        return found
    with _LOCK:
        found = getattr(app.state, "jobs", None)
        if not isinstance(found, JobManager):
            found = JobManager(app.state.work_dir, concurrency=_env_int("DIVERT_WEB_JOBS", 1),
                               workers=_env_int("DIVERT_WEB_JOB_WORKERS", 1),
                               paused=lambda: bool(getattr(app.state, "jobs_paused", False)))
            app.state.jobs = found
        return found


def _job(request: Request, job_id: str) -> Job:
    try:
        return manager(request).get(job_id)
    except JobNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _may_cancel(user: User, job: Job) -> bool:
    return user.username == job.owner or user.role == "admin"


def _submit(request: Request, user: User, scenarios: list[str], values: dict[str, Any]) -> Job:
    return _queue(request, user, make_spec(scenarios, **values))


def _queue(request: Request, user: User, spec: Spec | CountriesSpec) -> Job:
    """Queue `spec` in the submitter's page language (its report is written in it)."""
    try:
        return manager(request).submit(user.username, replace(spec, lang=current_locale()))
    except TooManyJobs as exc:
        raise HTTPException(429, str(exc)) from None


def _cancel(request: Request, user: User, job_id: str) -> Job:
    job = _job(request, job_id)
    if not _may_cancel(user, job):
        raise HTTPException(403, f"only its owner ({job.owner}) or an admin may cancel this comparison")
    try:
        return manager(request).cancel(job_id)
    except JobNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _download(request: Request, job_id: str, name: str, inline: bool = False) -> FileResponse:
    try:
        path = manager(request).path(job_id, name)
    except JobNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    job = manager(request).get(job_id)
    media, suffix = files_of(job.spec)[name]
    code = job.spec["scenarios"][0].split("+")[0]
    filename = f"divert-{code}-{job.created[:10]}-{job.id[:8]}-{suffix}"
    from divert.web.app import REPORT_CSP

    headers = {"Content-Security-Policy": REPORT_CSP} if inline else None
    return FileResponse(path, media_type=media, filename=filename, headers=headers,
                        content_disposition_type="inline" if inline else "attachment")


# --- pages ---------------------------------------------------------------------------------------


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, pack: str | None = None, mine: bool = False,
                 user: User = Depends(require("simulate"))) -> Response:
    return _form_page(request, user, pack, mine, DEFAULTS, [], False, None)


def _form_page(request: Request, user: User, pack: str | None, mine: bool, values: dict[str, Any],
               chosen: list[str], together: bool, error: str | None, status: int = 200) -> Response:
    options = view.pack_options()
    codes = [o["code"] for o in options]
    selected = pack if pack in codes else ("usa" if "usa" in codes else (codes[0] if codes else ""))
    jobs = manager(request).jobs(user.username if mine else None)
    return render(request, "compare/index.html", status_code=status, packs=options,
                  selected=selected, overlays=view.overlay_options(selected) if selected else [],
                  chosen=chosen, together=together, values=values, limits=LIMITS, error=error,
                  jobs=jobs, mine=mine, any_active=any(j.active for j in jobs),
                  invalid=error.split(":")[0] if error else None)


@router.get("/compare/overlays", response_class=HTMLResponse)
def overlays_fragment(request: Request, pack: str = "",
                      user: User = Depends(require("simulate"))) -> Response:
    """The reforms of a pack, for the form (swapped in by htmx when the pack changes)."""
    if pack not in [o["code"] for o in view.pack_options()]:
        raise InputError(f"pack: unknown {pack[:40]!r}")
    return render(request, "compare/_overlays.html", overlays=view.overlay_options(pack),
                  chosen=[], together=False)


@router.get("/compare/jobs-table", response_class=HTMLResponse)
def jobs_fragment(request: Request, mine: bool = False,
                  user: User = Depends(require("simulate"))) -> Response:
    jobs = manager(request).jobs(user.username if mine else None)
    return render(request, "compare/_jobs.html", jobs=jobs, mine=mine,
                  any_active=any(j.active for j in jobs))


@router.post("/compare", response_class=HTMLResponse)
def compare_submit(request: Request, pack: Annotated[str, Form()] = "",
                   overlays: Annotated[list[str] | None, Form()] = None,
                   together: Annotated[bool, Form()] = False,
                   persons: Annotated[str, Form()] = "", years: Annotated[str, Form()] = "",
                   replications: Annotated[str, Form()] = "", seed: Annotated[str, Form()] = "",
                   start: Annotated[str, Form()] = "",
                   user: User = Depends(require("simulate"))) -> Response:
    values = {"persons": persons, "years": years, "replications": replications, "seed": seed,
              "start": start}
    chosen = list(dict.fromkeys(overlays or []))
    try:
        scenarios = view.scenarios_of(pack, chosen, together)
        job = _submit(request, user, scenarios, values)
    except (InputError, HTTPException) as exc:
        message = str(exc.detail) if isinstance(exc, HTTPException) else str(exc)
        return _form_page(request, user, pack, False, values, chosen, together, message,
                          status=exc.status_code if isinstance(exc, HTTPException) else 400)
    return RedirectResponse(f"/compare/jobs/{job.id}", status_code=303)


@router.get("/compare/countries", response_class=HTMLResponse)
def countries_page(request: Request, user: User = Depends(require("simulate"))) -> Response:
    return _countries_form(request, COUNTRY_DEFAULTS, ["usa", "portugal"],
                           "treatment_not_conviction", None)


def _countries_form(request: Request, values: dict[str, Any], chosen: list[str], reform: str,
                    error: str | None, status: int = 200) -> Response:
    field = error.split(":")[0] if error else None
    return render(request, "compare/countries_form.html", status_code=status,
                  packs=view.pack_options(), chosen=chosen, reforms=view.reform_options(),
                  reform=reform, values=values, limits=LIMITS, max_packs=MAX_PACKS, error=error,
                  invalid=field)


@router.post("/compare/countries", response_class=HTMLResponse)
def countries_submit(request: Request, packs: Annotated[list[str] | None, Form()] = None,
                     reform: Annotated[str, Form()] = "", persons: Annotated[str, Form()] = "",
                     years: Annotated[str, Form()] = "", replications: Annotated[str, Form()] = "",
                     seed: Annotated[str, Form()] = "", start: Annotated[str, Form()] = "",
                     user: User = Depends(require("simulate"))) -> Response:
    values = {"persons": persons, "years": years, "replications": replications, "seed": seed,
              "start": start}
    chosen = list(dict.fromkeys(packs or []))
    try:
        job = _queue(request, user, make_countries_spec(chosen, reform, **values))
    except (InputError, HTTPException) as exc:
        message = str(exc.detail) if isinstance(exc, HTTPException) else str(exc)
        return _countries_form(request, values, chosen, reform, message,
                               status=exc.status_code if isinstance(exc, HTTPException) else 400)
    return RedirectResponse(f"/compare/jobs/{job.id}", status_code=303)


@router.get("/compare/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, user: User = Depends(require("simulate"))) -> Response:
    job = _job(request, job_id)
    context: dict[str, Any] = {"job": job, "may_cancel": _may_cancel(user, job),
                               "ahead": manager(request).queue_position(job)}
    if job.spec.get("kind") == "countries":
        if job.status == "done":
            context.update(view.countries_results(manager(request), job))
        return render(request, "compare/countries.html", **context)
    if job.status == "done":
        context.update(view.results(manager(request), job))
    return render(request, "compare/job.html", **context)


@router.get("/compare/jobs/{job_id}/status", response_class=HTMLResponse)
def job_status_fragment(request: Request, job_id: str,
                        user: User = Depends(require("simulate"))) -> Response:
    """The progress block; once the job has ended, htmx reloads the page to show the results."""
    job = _job(request, job_id)
    response = render(request, "compare/_status.html", job=job,
                      ahead=manager(request).queue_position(job))
    if not job.active and request.headers.get("hx-request"):
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/compare/jobs/{job_id}/cancel")
def job_cancel(request: Request, job_id: str, user: User = Depends(require("simulate"))) -> Response:
    _cancel(request, user, job_id)
    return RedirectResponse(f"/compare/jobs/{job_id}", status_code=303)


@router.get("/compare/jobs/{job_id}/files/{name}")
def job_file(request: Request, job_id: str, name: str, view_inline: bool = Query(False, alias="view"),
             user: User = Depends(require("simulate"))) -> Response:
    return _download(request, job_id, name, inline=view_inline and name == "report.html")


# --- API -----------------------------------------------------------------------------------------


JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="the comparison's id (16 hex digits)")]
FileName = Literal[tuple(FILES | COUNTRY_FILES)]  # type: ignore[valid-type]


class ComparisonIn(BaseModel):
    """A comparison to run: the first scenario is the baseline (a pack code), the others add
    the pack's shipped overlays (`CODE+OVERLAY[+OVERLAY]`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "scenarios": ["usa", "usa+treatment_not_conviction"], "persons": 10_000, "years": 10,
        "replications": 5, "seed": 1, "start": "2025-01"}]})

    scenarios: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=MAX_SCENARIOS)
    persons: int = Field(DEFAULTS["persons"], ge=LIMITS["persons"][0], le=LIMITS["persons"][1],
                         description="people simulated per run (a sample, scaled to the population)")
    years: int = Field(DEFAULTS["years"], ge=LIMITS["years"][0], le=LIMITS["years"][1])
    replications: int = Field(DEFAULTS["replications"], ge=LIMITS["replications"][0],
                              le=LIMITS["replications"][1])
    seed: int = Field(DEFAULTS["seed"], ge=LIMITS["seed"][0], le=LIMITS["seed"][1])
    start: str = Field(DEFAULTS["start"], pattern=r"^\d{4}-\d{2}$", description="first month, YYYY-MM")


class CountriesIn(BaseModel):
    """Several packs side by side under one reform (a shipped overlay every pack has)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "packs": ["usa", "portugal"], "reform": "treatment_not_conviction", "persons": 10_000,
        "years": 11, "replications": 20, "seed": 1, "start": "2025-01"}]})

    packs: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        min_length=2, max_length=MAX_PACKS)
    reform: str = Field(min_length=1, max_length=60, description="a shipped overlay's name")
    persons: int = Field(COUNTRY_DEFAULTS["persons"], ge=LIMITS["persons"][0],
                         le=LIMITS["persons"][1])
    years: int = Field(COUNTRY_DEFAULTS["years"], ge=LIMITS["years"][0], le=LIMITS["years"][1])
    replications: int = Field(COUNTRY_DEFAULTS["replications"], ge=LIMITS["replications"][0],
                              le=LIMITS["replications"][1])
    seed: int = Field(COUNTRY_DEFAULTS["seed"], ge=LIMITS["seed"][0], le=LIMITS["seed"][1])
    start: str = Field(COUNTRY_DEFAULTS["start"], pattern=r"^\d{4}-\d{2}$")


class Progress(BaseModel):
    done: int
    total: int


class ComparisonOut(BaseModel):
    id: str
    owner: str
    title: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    stage: str
    progress: Progress
    spec: dict[str, Any]
    created: str
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    links: dict[str, str]
    summary: dict[str, Any] | None = Field(None, description="summary.json, once done: per scenario "
                                           "totals, final stocks, differences and economics, stamped")


class Failure(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Failure, "description": text} for code, text in (
        (400, "bad input"), (403, "the role may not run comparisons"), (404, "no such comparison"),
        (409, "not possible in the comparison's state"), (422, "malformed request"),
        (429, "too many comparisons waiting"))}


def _out(job: Job, summary: dict[str, Any] | None = None) -> ComparisonOut:
    base = f"/api/v1/comparisons/{job.id}"
    links = {"self": base, "page": f"/compare/jobs/{job.id}"}
    if job.status == "done" and job.spec.get("kind") == "countries":
        links |= {n: f"{base}/files/{n}" for n in COUNTRY_FILES}
    elif job.status == "done":
        links |= {"series": f"{base}/series"} | {n: f"{base}/files/{n}" for n in FILES}
    return ComparisonOut(**job.public(), links=links, summary=summary)


@api.post("/comparisons", status_code=202, response_model=ComparisonOut, responses=ERRORS)
def create_comparison(request: Request, body: ComparisonIn,
                      user: User = Depends(require("simulate"))) -> Response:
    """Queue a comparison; poll the returned Location until `status` is done (or failed)."""
    job = _submit(request, user, body.scenarios, body.model_dump(exclude={"scenarios"}))
    return JSONResponse(_out(job).model_dump(), status_code=202,
                        headers={"Location": f"/api/v1/comparisons/{job.id}"})


@api.post("/comparisons/countries", status_code=202, response_model=ComparisonOut,
          responses=ERRORS)
def create_countries(request: Request, body: CountriesIn,
                     user: User = Depends(require("simulate"))) -> Response:
    """Queue packs side by side under one reform; poll the returned Location until done."""
    job = _queue(request, user, make_countries_spec(body.packs, body.reform,
                                                    **body.model_dump(exclude={"packs", "reform"})))
    return JSONResponse(_out(job).model_dump(), status_code=202,
                        headers={"Location": f"/api/v1/comparisons/{job.id}"})


@api.get("/comparisons", response_model=list[ComparisonOut], responses=ERRORS)
def list_comparisons(request: Request, mine: bool = False,
                     user: User = Depends(require("simulate"))) -> list[ComparisonOut]:
    """Every comparison (only the caller's with `mine=true`), newest first, without summaries."""
    return [_out(j) for j in manager(request).jobs(user.username if mine else None)]


@api.get("/comparisons/{job_id}", response_model=ComparisonOut, responses=ERRORS)
def get_comparison(request: Request, job_id: JobId,
                   user: User = Depends(require("simulate"))) -> ComparisonOut:
    """Status and progress; the summary once done."""
    job = _job(request, job_id)
    if job.status != "done":
        return _out(job)
    if job.spec.get("kind") == "countries":
        return _out(job, view.countries_summary(manager(request).countries(job_id)))
    return _out(job, manager(request).summary(job_id))


@api.get("/comparisons/{job_id}/series", responses=ERRORS)
def get_series(request: Request, job_id: JobId,
               metric: Annotated[list[str] | None, Query(max_length=100)] = None,
               user: User = Depends(require("simulate"))) -> dict[str, Any]:
    """Monthly mean and 95% band (2.5th to 97.5th percentile across replications), per scenario
    and metric, in population units; `metric` (repeatable) keeps only those metrics."""
    _job(request, job_id)
    try:
        return view.series_of(manager(request).trajectories(job_id), metric)
    except JobNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@api.get("/comparisons/{job_id}/files/{name}", responses=ERRORS | {200: {
    "description": "the file", "content": {m: {} for m, _ in FILES.values()}}})
def get_file(request: Request, job_id: JobId, name: FileName,
             user: User = Depends(require("simulate"))) -> Response:
    """A finished comparison's file: series.csv, series.parquet, report.html or summary.json."""
    return _download(request, job_id, name)


@api.delete("/comparisons/{job_id}", response_model=ComparisonOut, responses=ERRORS)
def cancel_comparison(request: Request, job_id: JobId,
                      user: User = Depends(require("simulate"))) -> ComparisonOut:
    """Cancel a queued or running comparison (its owner or an admin)."""
    return _out(_cancel(request, user, job_id))
