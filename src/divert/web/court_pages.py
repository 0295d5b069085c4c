"""The registry's pages: participants, a participant's record, today's testing calendar, the
hearing docket, the daily dashboard and the de-identified figures.

Forms post plainly and, with htmx, in place (a calendar row, a hearing, the suggested response):
the same handler answers an htmx request with the fragment and a plain one with a redirect. Names
are shown only to roles that may identify people, and every page that shows them, like every page
showing clinical notes, is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from divert.errors import InputError
from divert.i18n import DEFAULT, current_locale, translator
from divert.law.catalogue import CATALOGUE
from divert.law.vocabulary import OFFENCE_TYPES, QUADRANTS
from divert.registry import court, inputs, service
from divert.registry.export import COLUMNS, aggregate_tables
from divert.registry.store import ConflictError
from divert.web import assess_view
from divert.web.accounts import User
from divert.web.court_api import MIN_CELL, HearingBody, NoteIn, ResponseBody, ResultBody
from divert.web.court_common import (
    EARLIEST,
    LATEST,
    cipher,
    hearing_or_404,
    identity_of,
    participant_or_404,
    suggestion_after,
    summary,
    test_or_404,
)
from divert.web.lang import N_, _, ngettext
from divert.web.render import render, templates
from divert.web.security import record_export, record_view, record_views, registry_of, require
from divert.web.terms import detail_name, term

router = APIRouter(prefix="/registry", include_in_schema=False)

PAGE = 50
RESULTS = ("negative", "positive", "dilute", "adulterated", "refused", "missed", "excused",
           "collected")
STATES = court.RESULT_STATES
#: the registry figures' tables -> their titles in English (translated at display)
TABLE_TITLES = {"phase_durations": N_("Time spent in each phase (completed stays, days)"),
                "outcomes": N_("Graduation and termination by risk/need quadrant"),
                "test_positivity": N_("Drug test positivity by phase"),
                "rearrest_by_quadrant": N_("Rearrest by risk/need quadrant")}
#: the choices of the intake forms on a participant's page (court_intake handles them)
INTAKE_CHOICES: dict[str, tuple[str, ...]] = {
    "measures": tuple(k for k, m in CATALOGUE.items() if m.kind == "alternative"),
    "decisions": (*CATALOGUE, "none"), "quadrants": QUADRANTS, "offence_types": OFFENCE_TYPES}
BOX = re.compile(r"^respond-box-[a-z0-9]{1,20}$")
_HIDDEN_DETAIL = ("date", "event", "table", "id", "version", "facts", "result")
#: timeline details naming an account (shown as stored) and a measure (its label in words)
_ACCOUNT_DETAIL = ("confirmed_by",)
_MEASURE_DETAIL = ("measure", "final_decision")


# ---- helpers --------------------------------------------------------------------------------------

def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _day(value: str | None, name: str = "day") -> dt.date:
    if not value:
        return service.today()
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{name}: {value[:20]!r} is not a date; expected YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise InputError(f"{name}: {day} is out of range; allowed: {EARLIEST} to {LATEST}")
    return day


def _int(value: str | None, name: str, lo: int, hi: int) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        n = int(value.strip())
    except ValueError:
        raise InputError(f"{name}: {value[:20]!r} is not a whole number") from None
    if not lo <= n <= hi:
        raise InputError(f"{name}: {n} is out of range; allowed: {lo} to {hi}")
    return n


def _checked(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Form fields checked by the API's model (empty fields left out): errors name the field."""
    return inputs.validate(model, {k: v for k, v in data.items() if v not in (None, "", [])})


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session.setdefault("flash", []).append([kind, message])


def _said(message: str, **values: Any) -> str:
    """A message already in the page's language (`_`, `ngettext`) with its values (dates, numbers,
    codes) written in the page's digits."""
    digits = translator(current_locale(), "web").digits
    return message % {k: digits(str(v)) for k, v in values.items()}


#: the registry's suggestion notes (`divert.registry.court.suggest`, English), each matched whole
#: and given as a web message with the same values
SUGGESTION_NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"phase (?P<phase>\d+): abstinence is a distal goal early on; a low sanction and a "
                r"therapeutic adjustment, not jail \(NADCP\)"),
     N_("phase %(phase)s: abstinence is a distal goal early on; a low sanction and a therapeutic "
        "adjustment, not jail (NADCP)")),
    (re.compile(r"jail capped at (?P<cap>\d+) days \(the ladder says (?P<jail>\d+)\)"),
     N_("jail capped at %(cap)s days (the ladder says %(jail)s)")),
)


#: the registry's warnings on a recorded response (`divert.registry.court.jail_warning`,
#: English), each matched whole and given as a web message with the same values
RESPONSE_WARNINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"jail sanction of (?P<jail>\d+) days exceeds the cap of (?P<cap>\d+) days: jail "
                r"beyond 3-5 days brings diminishing returns and worse outcomes \(NADCP\)"),
     N_("jail sanction of %(jail)s days exceeds the cap of %(cap)s days: jail beyond 3-5 days "
        "brings diminishing returns and worse outcomes (NADCP)")),
)


def _matched(table: tuple[tuple[re.Pattern[str], str], ...], text: str) -> str:
    """`text` (the registry's English) in the page's language by the first pattern of `table`
    matching it whole; text no pattern matches as given."""
    for pattern, message in table:
        found = pattern.fullmatch(text)
        if found:
            return _said(_(message), **found.groupdict())
    return text


def suggestion_note(note: str) -> str:
    """A suggestion's note in the page's language; one the table does not know as given."""
    return _matched(SUGGESTION_NOTES, note)


def response_warning(warning: str) -> str:
    """A warning on a recorded response in the page's language; one the table does not know as
    given."""
    return _matched(RESPONSE_WARNINGS, warning)


templates.env.globals["quadrant_label"] = assess_view.quadrant_label


def law_label(text: str) -> str:
    """A label of the law (a measure's) in the page's language."""
    return translator(current_locale(), "law").gettext(text)


def measure_words(code: str) -> str:
    """A measure as a flash message names it: its code in words in English (as the registry
    writes it), the law catalogue's label of the measure in another language."""
    if current_locale() == DEFAULT or code not in CATALOGUE:
        return code.replace("_", " ")
    return law_label(CATALOGUE[code].label)


templates.env.filters.update(suggestion_note=suggestion_note, measure=measure_words,
                             stage=assess_view.stage_label)


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    flash = request.session.pop("flash", [])
    return render(request, name, status_code=status_code, flash=flash, results=RESULTS,
                  states=STATES, behaviours=court.BEHAVIOURS, kinds=court.RESPONSE_KINDS, **context)


def _names(request: Request, user: User, rows: list[Mapping[str, Any]], id_key: str,
           what: str) -> dict[int, str | None]:
    """Names of the listed participants for roles that may identify them (the view audited)."""
    if not user.can("registry.identify") or not rows:
        return {}
    ids = sorted({int(r[id_key]) for r in rows})
    t = service.T["participants"]
    reg = registry_of(request)
    with reg.read() as conn:
        found = conn.execute(t.select().where(t.c.id.in_(ids))).mappings().all()
    names = {int(r["id"]): service.identity(cipher(request), r)["name"] for r in found}
    record_views(reg, user, "participants", ids, what)
    return names


def _detail(ev: Mapping[str, Any]) -> str:
    """A timeline event's details in words, in the page's language: `due by 2026-03-02 14:00,
    substances opioids`."""
    parts = []
    for k, v in ev.items():
        if k in _HIDDEN_DETAIL or v in (None, [], {}, False):
            continue
        name = detail_name(k)
        if v is True:
            parts.append(name)
            continue
        if k in _ACCOUNT_DETAIL:  # a username, as stored
            parts.append(f"{name} {v}")
            continue
        if k in _MEASURE_DETAIL and isinstance(v, str):
            parts.append(f"{name} {measure_words(v)}")
            continue
        if k == "recommended" and isinstance(v, dict):  # stage -> measure
            v = "; ".join(f"{assess_view.stage_label(a)}: {measure_words(b)}" for a, b in v.items()
                          if b is not None) or _("none")
            parts.append(f"{name} {v}")
            continue
        if isinstance(v, list):
            v = ", ".join(str(term(x)) for x in v)
        elif isinstance(v, dict):
            v = "; ".join(f"{a}: {b}" for a, b in v.items() if b is not None) or _("none")
        elif isinstance(v, str) and len(v) == 19 and v[10] == "T":
            v = v[:16].replace("T", " ")
        elif isinstance(v, str):
            v = term(v)
        parts.append(f"{name} {str(v).replace('_', ' ')}")
    return ", ".join(parts)


def _prefill(sugg: Mapping[str, Any] | None, test: int | None) -> dict[str, Any]:
    """The response form filled with the engine's suggestion (people decide)."""
    out: dict[str, Any] = {"kind": "", "type": "", "level": "", "jail_days": "", "test": test or "",
                           "behaviour": sugg["behaviour"] if sugg else ""}
    if sugg and sugg.get("sanction"):
        s = sugg["sanction"]
        out.update(kind="sanction", type=s["type"], level=s["level"], jail_days=s["jail_days"] or "")
    elif sugg and sugg.get("incentive"):
        i = sugg["incentive"]
        out.update(kind="incentive", type=i["type"], level=i["level"])
    return out


# ---- participants ---------------------------------------------------------------------------------

@router.get("", response_class=HTMLResponse)
def participants(request: Request, status: str = "", phase: str = "", programme: str = "",
                 code: str = "", page: str = "", user: User = Depends(require("registry.read"))
                 ) -> Response:
    """Participants, filtered, a page at a time; names for roles that may identify people."""
    number = _int(page, "page", 1, 10**6) or 1
    filters = {"status": status.strip(), "phase": phase.strip(), "programme": programme.strip(),
               "code": code.strip()[:16]}
    with registry_of(request).read() as conn:
        listed = service.list_participants(
            conn, status=filters["status"] or None, phase=_int(phase, "phase", 1, 50),
            programme_code=filters["programme"] or None, code=filters["code"] or None, limit=PAGE,
            offset=(number - 1) * PAGE, within=user.programmes)
        programmes = [r.code for r in conn.execute(service.T["programmes"].select())
                      if user.sees(r.id)]
    names = _names(request, user, listed["rows"], "id", "names on the participants list")
    kept = {k: v for k, v in filters.items() if v}
    link = {n: "/registry?" + urlencode({**kept, "page": n}) for n in (number - 1, number + 1)}
    return _page(request, "court/participants.html", listed=listed, names=names, filters=filters,
                 statuses=service.PARTICIPANT_STATUSES, programmes=programmes, number=number,
                 pages=max(1, -(-listed["total"] // PAGE)), link=link)


@router.get("/participants/{code}", response_class=HTMLResponse)
def participant(request: Request, code: str, behaviour: str = "", test: str = "",
                user: User = Depends(require("registry.read"))) -> Response:
    """A participant's record: summary, identity (audited), timeline, suggested response, notes."""
    reg = registry_of(request)
    test_id = _int(test, "test", 1, 2**31 - 1)
    if behaviour and behaviour not in court.BEHAVIOURS:
        raise InputError(f"behaviour: unknown {behaviour[:30]!r}; allowed: {', '.join(court.BEHAVIOURS)}")
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
        info = summary(conn, part)
        events = service.timeline(conn, part["code"])["events"]
        awaiting = [ev for ev in events if ev["table"] == "drug_tests" and ev.get("awaiting_response")]
        if behaviour and test_id is None:  # a suggestion for a test's behaviour answers that test
            test_id = next((ev["id"] for ev in awaiting
                            if court.behaviour_of_test(ev["status"]) == behaviour), None)
        history = service.histories(conn, [ev["id"] for ev in events if ev["table"] == "drug_tests"])
        sugg = None
        if info["enrolment"] and (behaviour or test_id):
            sugg = service.suggest_response(conn, part["code"], behaviour or None, test_id)
        notes = service.notes_of(conn, cipher(request), part["code"]) \
            if user.can("notes.clinical") else None
    ident = None
    if user.can("registry.identify"):
        ident = identity_of(request, part)
        record_view(reg, user, "participants", part["id"], f"identity {part['code']}")
    if notes:
        record_views(reg, user, "notes", [n["id"] for n in notes], f"clinical notes {part['code']}")
    for ev in events:
        if ev["table"] == "drug_tests" and history.get(ev["id"]):
            ev["state"] = history[ev["id"]][-1]["state"].replace("_", "-")
        ev["detail"] = _detail(ev)
    tested = [ev for ev in events if ev["table"] == "drug_tests" and history.get(ev["id"])]
    return _page(request, "court/participant.html", p=info, identity=ident, events=events,
                 notes=notes, suggestion=sugg, form=_prefill(sugg, test_id), awaiting=awaiting,
                 test_choices=awaiting, history=history, tested=tested,
                 error=None, today=service.today(), catalogue=CATALOGUE,
                 **INTAKE_CHOICES)


@router.post("/participants/{code}/notes")
async def add_note(request: Request, code: str,
                   user: User = Depends(require("notes.clinical"))) -> Response:
    """Write a clinical note (encrypted at rest)."""
    data = _checked(NoteIn, await _form(request))
    reg = registry_of(request)
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
    with reg.write(user.username, "web note") as tx:
        service.add_note(tx, cipher(request), part["code"], data.text)
    _flash(request, _("Clinical note saved."))
    return RedirectResponse(f"/registry/participants/{part['code']}#notes", status_code=303)


@router.post("/participants/{code}/responses", response_class=HTMLResponse)
async def add_response(request: Request, code: str,
                       user: User = Depends(require("responses.record"))) -> Response:
    """Record an incentive, sanction or therapeutic adjustment (jail beyond the cap is warned)."""
    form = await _form(request)
    box = form.pop("box", "")
    reg = registry_of(request)
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
    try:
        body = _checked(ResponseBody, form)
        with reg.write(user.username, "web respond") as tx:
            row, warnings = service.add_response(
                tx, part["code"], inputs.ResponseIn.model_validate(body.model_dump(exclude_unset=True)))
    except InputError as exc:
        if not _htmx(request):
            raise
        return _page(request, "court/_recorded.html", code=part["code"], row=None, warnings=[],
                     error=str(exc))
    if _htmx(request):
        done = _page(request, "court/_recorded.html", code=part["code"], row=row,
                     warnings=[response_warning(w) for w in warnings], error=None)
        if BOX.match(box):  # the form gives way to what was recorded: no second click records twice
            done.headers["HX-Retarget"] = f"#{box}"
        return done
    _flash(request, _said(_("Recorded: %(kind)s (%(type)s) on %(day)s."), kind=term(row["kind"]),
                          type=term(row["type"]), day=row["day"]))
    for w in warnings:
        _flash(request, response_warning(w), "warn")
    return RedirectResponse(f"/registry/participants/{part['code']}#timeline", status_code=303)


# ---- testing calendar -----------------------------------------------------------------------------

@router.get("/calendar", response_class=HTMLResponse)
def calendar(request: Request, day: str = "", programme: str = "",
             user: User = Depends(require("registry.read"))) -> Response:
    """The day's testing calendar: every test, its window and status; results recorded in place."""
    when = _day(day)
    with registry_of(request).read() as conn:
        page = service.tests_on(conn, when, programme.strip() or None, within=user.programmes)
        _with_states(conn, page["rows"])
    return _page(request, "court/calendar.html", day=when, tests=page["rows"], total=page["total"],
                 prev=when - dt.timedelta(days=1), next=when + dt.timedelta(days=1),
                 today=service.today(), now=service.local_now())


@router.post("/calendar/tests/{test_id}/result", response_class=HTMLResponse)
async def record_result(request: Request, test_id: int,
                        user: User = Depends(require("tests.record"))) -> Response:
    """Record a result: with htmx the row comes back with the engine's suggested response."""
    form = await _form(request)
    reg = registry_of(request)
    if not 1 <= test_id <= 2**31 - 1:
        raise InputError("test: no such test")
    with reg.read() as conn:
        before = test_or_404(conn, test_id, user)
    error = None
    try:
        form_data: dict[str, Any] = dict(form)
        form_data["substances"] = [s.strip() for s in form.get("substances", "").split(",") if s.strip()]
        body = _checked(ResultBody, form_data)
        item = inputs.ResultIn.model_validate({"test": test_id, **body.model_dump(exclude_unset=True)})
        with reg.write(user.username, "web tests record") as tx:
            service.record_results(tx, [item], [{"test": test_id, **form_data}])
    except ConflictError as exc:
        error = (f"Someone else recorded this test meanwhile (now {exc.current.get('status')}); "
                 "nothing was stored. The row shows the current record.")
    except InputError as exc:
        error = str(exc)
    with reg.read() as conn:
        row = service.drug_test_row(conn, test_id)
        _with_states(conn, [row])
    sugg = suggestion_after(reg, row) if error is None else None
    if not _htmx(request):
        if error:
            raise InputError(error)
        _flash(request, _said(_("Test %(id)s: %(status)s recorded."), id=test_id,
                              status=term(row["status"])))
        target = f"/registry/participants/{row['participant']}"
        if sugg:
            target += f"?test={test_id}#respond"
        return RedirectResponse(target, status_code=303)
    return _page(request, "court/_test_row.html", t=row, suggestion=sugg, error=error,
                 kept=form if error else None,
                 form=_prefill(sugg, test_id), before=before, now=service.local_now(),
                 jail_cap=_jail_cap(row["participant"], reg))


@router.post("/calendar/close-missed")
async def close_missed(request: Request, user: User = Depends(require("tests.record"))) -> Response:
    """Mark every test whose window has closed with no sample as missed (awaiting a response)."""
    with registry_of(request).write(user.username, "web tests close-missed") as tx:
        n = service.close_missed(tx, service.local_now(), user.programmes)
    _flash(request, _said(ngettext("%(num)s test whose window closed marked missed.",
                                   "%(num)s tests whose window closed marked missed.", n), num=n))
    return RedirectResponse("/registry/calendar", status_code=303)


def _with_states(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Add each test's current result state (None before any result is recorded)."""
    latest = service.latest_results(conn, [r["id"] for r in rows])
    for r in rows:
        r["state"] = latest[r["id"]]["state"] if r["id"] in latest else None


def _jail_cap(code: str, reg: Any) -> int:
    with reg.read() as conn:
        part = service.participant(conn, code)
        return service.rules_of(service._one(conn, "programmes", id=part["programme_id"]) or {}
                                ).jail_cap_days


# ---- hearings -------------------------------------------------------------------------------------

@router.get("/hearings", response_class=HTMLResponse)
def hearings(request: Request, day: str = "", programme: str = "",
             user: User = Depends(require("registry.read"))) -> Response:
    """The day's status hearings (the docket), with the judge's notes."""
    when = _day(day)
    with registry_of(request).read() as conn:
        rows = service.hearings_on(conn, when, programme.strip() or None, within=user.programmes)
    names = _names(request, user, rows, "participant_id", f"names on the hearing docket {when}")
    return _page(request, "court/hearings.html", day=when, hearings=rows, names=names,
                 prev=when - dt.timedelta(days=1), next=when + dt.timedelta(days=1),
                 today=service.today())


@router.post("/hearings/{hearing_id}", response_class=HTMLResponse)
async def record_hearing(request: Request, hearing_id: int,
                         user: User = Depends(require("hearings.record"))) -> Response:
    """Record a hearing held, missed or cancelled, with notes."""
    form = await _form(request)
    reg = registry_of(request)
    if not 1 <= hearing_id <= 2**31 - 1:
        raise InputError("hearing: no such hearing")
    with reg.read() as conn:
        hearing_or_404(conn, hearing_id, user)
    error = None
    try:
        body = _checked(HearingBody, form)
        data = inputs.HearingIn.model_validate({"hearing": hearing_id,
                                                **body.model_dump(exclude_unset=True)})
        with reg.write(user.username, "web hearings record") as tx:
            service.record_hearing(tx, data, {"hearing": hearing_id, **form})
    except ConflictError:
        error = "Someone else recorded this hearing meanwhile; nothing was stored. Shown: the current record."
    except InputError as exc:
        error = str(exc)
    with reg.read() as conn:
        row = service.hearing_row(conn, hearing_id)
    if not _htmx(request):
        if error:
            raise InputError(error)
        _flash(request, _said(_("Hearing %(id)s recorded: %(status)s."), id=hearing_id,
                              status=term(row["status"])))
        return RedirectResponse(f"/registry/hearings?day={row['scheduled_on']}#hearing-{hearing_id}",
                                status_code=303)
    return _page(request, "court/_hearing.html", h=row, names={}, error=error,
                 saved=error is None)


# ---- dashboard and figures ------------------------------------------------------------------------

@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, day: str = "", programme: str = "",
              user: User = Depends(require("registry.read"))) -> Response:
    """The day's work: due to test, window closed, needs a response, hearings."""
    now = service.local_now()
    when = _day(day) if day else now.date()
    with registry_of(request).read() as conn:
        board = service.dashboard(conn, when, now, programme.strip() or None, 200, 0,
                                  within=user.programmes)
    return _page(request, "court/dashboard.html", board=board, day=when,
                 prev=when - dt.timedelta(days=1), next=when + dt.timedelta(days=1))


@router.get("/aggregates", response_class=HTMLResponse)
def aggregates(request: Request, user: User = Depends(require("registry.aggregates"))) -> Response:
    """De-identified figures with small cells suppressed."""
    with registry_of(request).read() as conn:
        tables = aggregate_tables(conn, MIN_CELL, within=user.programmes)
    record_export(registry_of(request), user, "aggregates",
                  {"tables": sorted(tables), "min_cell": MIN_CELL, "to": "page"})
    return _page(request, "court/aggregates.html", tables=tables, columns=COLUMNS,
                 titles=TABLE_TITLES, min_cell=MIN_CELL)
