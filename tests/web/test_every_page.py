"""Every HTML page the web app serves, in Chromium (issue 17, item 7): axe-core finds no serious or
critical WCAG 2.1 AA violation and nothing scrolls sideways at 390 px.

The pages are read from the app's router (every GET route answering HTML), so a new page is walked
without being named here. A route with path parameters is filled from a seeded registry (three
enrolled participants with tests, hearings, results, a response and notes; a USA participant with
saved advice, one decided and one not; a pack; finished comparison and side-by-side jobs and a queued
one; a stored brief); a route that cannot be filled is listed in `EXCLUDED` with the reason, and a new
route that is neither filled nor excluded fails `test_every_html_route_is_walked_or_excluded`. Each
page is opened by the first role of `PREFERRED` that may see it (anonymous for the sign-in page),
plus the states a form leads to (the advice after submitting a case, the warning before a not-eligible
decision, the form kept with its errors), the comparison's self-contained report as the job page
opens it, and the refusal and not-found pages. FastAPI's own /api/v1/docs is not a page of divert's
templates and is not walked.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from divert.registry import inputs, scheduling, service
from divert.registry.store import Registry

from .conftest import TODAY, Client, axe_violations, horizontal_overflow, sign_in
from .test_assess_flow import PRIOR, seed_usa
from .test_court import API, seed

#: roles tried in this order; a page is opened by the first that may see it
PREFERRED = ("judge", "case_manager", "clinician", "analyst", "admin")
AUTO = "auto"
"""A visit's role when any role that may see the page will do (the first of PREFERRED)."""

#: HTML routes no visit of their own can fill, and why
EXCLUDED: dict[str, str] = {
    "/compare/overlays": "an htmx fragment (the reforms of one pack, no <html> or <title>) swapped "
                         "into the /compare form; checked there",
    "/compare/jobs-table": "an htmx fragment (the jobs table) of /compare; checked there",
    "/compare/jobs/{job_id}/status": "an htmx fragment (a job's progress block) of the job page; "
                                     "checked there on the queued job",
}

SMALL_JOB = {"persons": 1000, "years": 1, "replications": 2, "seed": 7, "start": "2025-01"}


@dataclass(frozen=True)
class Seeded:
    codes: list[str]
    usa: str
    advice_open: int
    advice_decided: int
    pack_job: str
    countries_job: str
    queued_job: str


@dataclass(frozen=True)
class V:
    """One page to open: its address, the role that opens it (AUTO: the first of PREFERRED that is
    not refused; None: anonymous) and, where given, a selector the page must show (so the check
    runs on a page with its content, not an empty one)."""

    url: str
    role: str | None = AUTO
    shows: str | None = None


#: routes with path parameters: the pages to open for each, from the seeded registry
FILLED: dict[str, Callable[[Seeded], list[V]]] = {
    "/book/{code}": lambda s: [V("/book/usa", shows="section.rule"),
                               V("/book/portugal?on=2001-07-01", shows="section.rule")],
    "/book/{code}/changes": lambda s: [
        V("/book/portugal/changes"),
        V("/book/portugal/changes?from=2000-01-01&to=2024-01-01", shows="section.rule"),
        V("/book/usa/changes?from=1980-01-01&to=2024-01-01", shows="section.rule")],
    "/book/{code}/measures/{measure}": lambda s: [V("/book/usa/measures/fine",
                                                    shows="ol.history > li")],
    "/brief/{code}": lambda s: [V("/brief/usa", shows="table.levers tbody tr")],
    "/compare/jobs/{job_id}": lambda s: [
        V(f"/compare/jobs/{s.pack_job}", "analyst", shows="table.summary"),
        V(f"/compare/jobs/{s.countries_job}", "analyst", shows="li.headline"),
        V(f"/compare/jobs/{s.queued_job}", "analyst", shows="progress")],
    "/registry/participants/{code}": lambda s: [
        V(f"/registry/participants/{s.codes[0]}", "judge", shows="#timeline tbody tr"),
        V(f"/registry/participants/{s.codes[0]}?behaviour=positive_test", "judge",
          shows=".suggestion"),
        V(f"/registry/participants/{s.codes[0]}", "case_manager", shows="#intake form"),
        V(f"/registry/participants/{s.usa}", "case_manager",
          shows=f"a[href='/registry/advice/{s.advice_open}']"),
        V(f"/registry/participants/{s.codes[1]}", "clinician", shows="#results")],
    "/registry/advice/{advice_id}": lambda s: [
        V(f"/registry/advice/{s.advice_open}", "case_manager", shows="#decision-form"),
        V(f"/registry/advice/{s.advice_decided}", "judge", shows="#decision-recorded")],
}

#: pages without path parameters opened in more than one state (query strings, roles)
VARIANTS: dict[str, Callable[[Seeded], list[V]]] = {
    "/": lambda s: [V("/", role) for role in PREFERRED],
    "/login": lambda s: [V("/login", None), V("/login?next=/registry", None)],
    "/assess": lambda s: [V(f"/assess?participant={s.usa}", "case_manager"),
                          V("/assess", "clinician")],
    "/book/search": lambda s: [V("/book/search"), V("/book/search?q=Law+30%2F2000",
                                                    shows="ol.hits > li"),
                               V("/book/search?q=probation&jurisdiction=usa")],
    "/book/compare": lambda s: [
        V("/book/compare?left=portugal&right=usa&stage=police", shows="table.side-by-side"),
        V("/book/compare?left=usa&right=iran&stage=court", shows="table.side-by-side")],
    "/compare": lambda s: [V("/compare", "analyst", shows="#jobs table"),
                           V("/compare?pack=portugal&mine=true", "admin")],
    "/registry/court-calendar": lambda s: [V("/registry/court-calendar", "judge",
                                             shows="table.closed-days tbody tr")],
    "/registry/calendar": lambda s: [V("/registry/calendar", "judge", shows="table.calendar"),
                                     V("/registry/calendar", "clinician",
                                       shows="table.calendar select")],
    "/registry/schedule": lambda s: [
        V("/registry/schedule", "case_manager", shows=".week .day"),
        V("/registry/schedule?view=month", "case_manager", shows="table.month"),
        V(f"/registry/schedule?code={s.codes[0]}", "judge")],
    "/registry/docket": lambda s: [
        V("/registry/docket", "judge", shows=".docket-entry"),
        V("/registry/docket?view=week", "judge", shows=".docket-entry"),
        V("/registry/docket?view=week&print_view=1", "judge", shows=".docket-entry"),
        V("/registry/docket?print_view=1", "judge", shows=".docket-entry")],
}


def _paths(routes: list[Any]) -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route.path, route
        elif hasattr(route, "effective_route_contexts"):
            # FastAPI 0.16x keeps an included router as one entry; its routes carry the full path
            for ctx in route.effective_route_contexts():
                if isinstance(ctx.original_route, APIRoute):
                    yield ctx.path or ctx.original_route.path, ctx.original_route


def html_routes(app: Any) -> list[str]:
    """The paths of every GET route of the app whose response is an HTML page."""
    found = []
    for path, route in _paths(app.routes):
        kind = route.response_class
        if "GET" in route.methods and isinstance(kind, type) and issubclass(kind, HTMLResponse):
            found.append(path)
    return sorted(set(found))


def test_every_html_route_is_walked_or_excluded(app: Any) -> None:
    routes = html_routes(app)
    assert {"/", "/login", "/assess", "/registry/docket", "/compare/jobs/{job_id}"} <= set(routes)
    unfilled = [r for r in routes if "{" in r and r not in FILLED and r not in EXCLUDED]
    assert unfilled == [], ("HTML routes with path parameters nobody fills: add them to FILLED "
                            f"(from the seeded registry) or to EXCLUDED with the reason: {unfilled}")
    stale = sorted((set(FILLED) | set(EXCLUDED) | set(VARIANTS)) - set(routes))
    assert stale == [], f"listed routes the app no longer serves: {stale}"
    assert not set(FILLED) & set(EXCLUDED)


# ---- the seeded registry ---------------------------------------------------------------------------

def _seed_registry(url: str) -> dict[str, Any]:
    """Three enrolled participants with today's tests and hearings (the court sits every day), a
    positive and a negative result, a sanction answering the positive test and an incentive, a held
    hearing with a note, attendance, a booked group session, a clinical note with a long address, a
    rearrest, and a day the court is closed."""
    s = seed(url)
    reg = Registry(url)
    cipher = service.registry_cipher(reg)
    code = s["codes"][0]
    with reg.write("nurse", "tests record") as tx:
        service.record_results(tx, [
            inputs.ResultIn(test=s["tests"][0], result="positive", substances=["heroin", "cocaine"]),
            inputs.ResultIn(test=s["tests"][1], result="negative")], [{}, {}])
    with reg.write("judge", "responses record") as tx:
        service.add_response(tx, code, inputs.ResponseIn(
            kind="sanction", type="community_service", behaviour="positive_test", level=1,
            test=s["tests"][0], note="Eight hours at the food bank"))
        service.add_response(tx, s["codes"][1], inputs.ResponseIn(
            kind="incentive", type="praise", behaviour="negative_test"))
        service.record_hearing(tx, inputs.HearingIn(
            hearing=s["hearings"][0], status="held", minutes=12,
            note="Progress reviewed; next hearing in two weeks."), {})
    with reg.write("case_manager", "attendance") as tx:
        service.record_attendance(tx, code, inputs.AttendanceIn(status="attended", on=TODAY))
        service.add_note(tx, cipher, code, "Referred to https://example.org/services/"
                         "outpatient-opioid-agonist-treatment-programme-intake-form-2026 today")
        service.record_rearrest(tx, s["codes"][2], inputs.RearrestIn(
            on=TODAY - dt.timedelta(days=3), offence_type="possession"))
        scheduling.book_session(tx, s["codes"][1], inputs.SessionIn(
            on=TODAY + dt.timedelta(days=1), kind="group", note="Relapse prevention group"))
    with reg.write("judge", "court calendar") as tx:
        scheduling.close_day(tx, "default", inputs.ClosedDayIn(
            day=TODAY + dt.timedelta(days=20), reason="Court staff training day"))
    reg.dispose()
    return s


def _advice(client: Client, code: str) -> tuple[int, int]:
    """Two advices saved for `code`: one awaiting its decision, one decided."""
    open_id = client.api("POST", f"{API}/participants/{code}/advice",
                         json={"jurisdiction": "usa", "case": PRIOR}).json()["id"]
    decided = client.api("POST", f"{API}/participants/{code}/advice",
                         json={"jurisdiction": "usa", "case": PRIOR, "date": "2024-01-02"}).json()["id"]
    r = client.api("POST", f"/api/v1/registry/advice/{decided}/confirm",
                   json={"decision": "probation_with_treatment", "confirm_not_eligible": True})
    assert r.status_code == 200, r.text
    return int(open_id), int(decided)


def _wait_done(client: Client, job_id: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/comparisons/{job_id}").json()["status"]
        if status == "done":
            return
        assert status in ("queued", "running"), f"comparison {job_id} ended {status}"
        time.sleep(0.3)
    raise AssertionError(f"comparison {job_id} not finished after {timeout} s")


@pytest.fixture
def app(app: Any) -> Iterator[Any]:
    """conftest's app; its comparison jobs end with the test."""
    yield app
    jobs = getattr(app.state, "jobs", None)
    if jobs is not None:
        jobs.close()


@pytest.fixture
def seeded(app: Any, registry_url: str) -> Iterator[Seeded]:
    from divert.reports import brief
    from divert.web.brief import store

    analyst = sign_in(app, "analyst")
    pack = analyst.api("POST", "/api/v1/comparisons",
                       json={"scenarios": ["usa", "usa+treatment_not_conviction"], **SMALL_JOB})
    countries = analyst.api("POST", "/api/v1/comparisons/countries",
                            json={"packs": ["usa", "portugal"], "reform": "treatment_not_conviction",
                                  **SMALL_JOB})
    assert pack.status_code == 202 and countries.status_code == 202, (pack.text, countries.text)
    s = _seed_registry(registry_url)
    usa = seed_usa(registry_url, PRIOR)
    case_manager = sign_in(app, "case_manager")
    open_id, decided = _advice(case_manager, usa)
    store(Path(app.state.work_dir), dict(brief.build("usa", brief.Sizes(
        persons=300, replications=2, years=1, backtest_persons=300))))
    for job in (pack, countries):
        _wait_done(analyst, job.json()["id"])
    app.state.jobs_paused = True  # the next stays queued, its page polling its progress
    queued = analyst.api("POST", "/api/v1/comparisons",
                         json={"scenarios": ["portugal", "portugal+treatment_not_conviction"],
                               **SMALL_JOB})
    yield Seeded(codes=s["codes"], usa=usa, advice_open=open_id, advice_decided=decided,
                 pack_job=pack.json()["id"], countries_job=countries.json()["id"],
                 queued_job=queued.json()["id"])
    analyst.close()
    case_manager.close()


def visits(app: Any, s: Seeded) -> list[tuple[str, V]]:
    """(route, page) for every HTML route of the app that is not excluded."""
    out = []
    for route in html_routes(app):
        if route in EXCLUDED:
            continue
        if route in FILLED:
            pages = FILLED[route](s)
        elif route in VARIANTS:
            pages = VARIANTS[route](s)
        else:
            assert "{" not in route, route  # test_every_html_route_is_walked_or_excluded says so
            pages = [V(route)]
        out += [(route, v) for v in pages]
    return out


# ---- the walk --------------------------------------------------------------------------------------

class Walk:
    """One browser context per role, its page reused; every problem found, not only the first."""

    def __init__(self, page_for: Callable[[str | None], Any]) -> None:
        self.page_for = page_for
        self.pages: dict[str | None, Any] = {}
        self.problems: list[str] = []
        self.covered: list[tuple[str, str | None]] = []

    def page(self, role: str | None) -> Any:
        if role not in self.pages:
            self.pages[role] = self.page_for(role)
        return self.pages[role]

    def open(self, url: str, role: str | None) -> tuple[Any, int]:
        page = self.page(role)
        page.set_viewport_size({"width": 1280, "height": 900})
        response = page.goto(url)
        return page, response.status if response is not None else 0

    def visit(self, v: V, status: int = 200) -> None:
        """Open the page as its role (AUTO: the first role that is not refused) and check it."""
        role = v.role
        if role == AUTO:
            for candidate in PREFERRED:
                page, got = self.open(v.url, candidate)
                if got != 403:
                    role = candidate
                    break
            else:
                self.problems.append(f"{v.url}: refused to every role of {PREFERRED}")
                return
        else:
            page, got = self.open(v.url, role)
        where = f"{v.url} as {role or 'anonymous'}"
        if got != status:
            self.problems.append(f"{where}: status {got}, not {status}")
        if v.shows and page.locator(v.shows).count() == 0:
            self.problems.append(f"{where}: shows nothing matching {v.shows!r}")
        self.check(page, where)
        self.covered.append((v.url, role))

    def check(self, page: Any, where: str) -> None:
        """axe at desktop width and at 390 px (a region that scrolls only there must be focusable),
        and no sideways scroll at 390 px; folded parts (<details>) opened first, so the tables in
        them are checked too."""
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        found = axe_violations(page)
        wide = horizontal_overflow(page, 390)
        if wide:
            self.problems.append(f"{where}: {wide} px of sideways scroll at 390 px")
        found += [v for v in axe_violations(page) if v not in found]
        self.problems += [f"{where}: {v}" for v in found]
        page.set_viewport_size({"width": 1280, "height": 900})


def test_browser_every_page_passes_axe_and_fits_390px(app: Any, seeded: Seeded,
                                                      page_for: Any) -> None:
    walk = Walk(page_for)
    planned = visits(app, seeded)
    for _, v in planned:
        walk.visit(v)
    # the pages a form leads to: the advice on a submitted case (with a projection table for each
    # open measure), the warning before recording a decision the advice found not eligible, and the
    # form kept with its errors
    page = walk.page("case_manager")
    page.goto(f"/assess?participant={seeded.usa}")
    page.get_by_role("button", name="Advise", exact=True).click()
    page.locator("#advice-summary").wait_for()
    assert page.locator("table.projection-table").count() > 0
    walk.check(page, "the advice after submitting a case")
    page.locator("#decision").select_option("pre_judgment_probation")
    page.locator("#decision-form button[type=submit]").click()
    page.get_by_role("heading", name="Check before you record this decision").wait_for()
    walk.check(page, "the warning before a not-eligible decision")
    page.goto("/assess")
    page.locator("#case-offence-substance").fill("herion")
    page.get_by_role("button", name="Advise", exact=True).click()
    page.locator("#case-offence-substance-error").wait_for()
    walk.check(page, "the assessment form with its errors")
    # the comparison's self-contained report as the job page links it; its sandbox CSP lets no
    # script run, so axe reads the same file in a blank page
    page = walk.page("analyst")
    report = f"/compare/jobs/{seeded.pack_job}/files/report.html"
    shown = page.request.get(f"{report}?view=true")
    assert shown.status == 200 and shown.headers["content-type"].startswith("text/html")
    assert "sandbox" in shown.headers["content-security-policy"]
    page.goto("about:blank")
    page.set_content(shown.text())
    assert page.locator("table.summary").count() == 1
    walk.check(page, f"{report}?view=true as analyst")
    # a refusal and a page not found
    walk.visit(V("/registry", "analyst"), status=403)
    walk.visit(V("/registry/advice/99999", "judge"), status=404)
    assert walk.problems == [], "\n".join(walk.problems)
    assert {route for route, _ in planned} == set(html_routes(app)) - set(EXCLUDED)
    assert len(walk.covered) == len(planned) + 2
