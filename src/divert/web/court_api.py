"""The registry's JSON API under /api/v1/registry (tag "registry").

Participants appear by pseudonymous code; identity (name, birth date, contact) only on request
(`?identify=true`) to roles that may see it, and every such view, like every read of clinical notes,
is written to the audit log. Writes are audited with the signed-in username; a write naming a
version that is no longer current answers 409 with the current record and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from divert.registry import inputs, service
from divert.registry.export import COLUMNS, aggregate_tables
from divert.web.accounts import User
from divert.web.court_common import (
    Day,
    Moment,
    RowId,
    Text,
    Version,
    cipher,
    hearing_or_404,
    identity_of,
    participant_or_404,
    suggestion_after,
    summary,
    test_or_404,
)
from divert.web.security import (
    Refused,
    record_export,
    record_view,
    record_views,
    registry_of,
    require,
)

api = APIRouter(prefix="/registry", tags=["registry"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"}, 403: {"description": "the role may not do this"},
    404: {"description": "no such record"}}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 400: {"description": "refused input, naming the field"},
    409: {"description": "changed by someone else since read: the current record, nothing stored"}}

Status = Literal[service.PARTICIPANT_STATUSES]  # type: ignore[valid-type]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Enrolment(Out):
    id: int
    measure: str
    quadrant: str | None
    phase: int
    phase_name: str
    phase_since: dt.date
    started_on: dt.date
    planned_end: dt.date | None
    version: int


class ParticipantRow(Out):
    code: str
    programme: str
    status: str
    sex: str | None
    referred_on: dt.date
    phase: int | None
    started_on: dt.date | None
    measure: str | None


class ParticipantPage(Out):
    total: int
    limit: int
    offset: int
    participants: list[ParticipantRow]


class Identity(Out):
    name: str | None
    birth_date: str | None
    contact: str | None


class ParticipantOut(Out):
    code: str
    programme: str | None
    status: str
    sex: str | None
    referred_on: dt.date
    version: int
    jail_cap_days: int
    enrolment: Enrolment | None
    promotion: dict[str, Any] | None
    identity: Identity | None = None


class TimelineOut(Out):
    participant: dict[str, Any]
    events: list[dict[str, Any]]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: Text = Field(min_length=1, max_length=20000)


class NoteOut(Out):
    id: int
    kind: str
    author: str
    written_at: dt.datetime
    text: str


class TestOut(Out):
    id: int
    version: int
    participant: str
    scheduled_on: dt.date
    kind: str
    method: str
    phase: int
    notified_at: dt.datetime | None
    due_by: dt.datetime | None
    status: str
    substances: list[str] | None
    collected_at: dt.datetime | None
    awaiting_response: bool


class TestPage(Out):
    date: dt.date
    total: int
    limit: int
    offset: int
    tests: list[TestOut]


class Suggestion(Out):
    participant: str
    behaviour: str
    phase: int
    incentive: dict[str, Any] | None
    sanction: dict[str, Any] | None
    therapeutic: list[str]
    notes: list[str]


class ResultBody(BaseModel):
    """A drug test's result; `version` is the test's version as you read it (409 if it moved on)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    result: inputs.TestResult
    substances: list[Text] = Field(default_factory=list, max_length=20)
    collected_at: Moment | None = None
    state: inputs.ResultState | None = None
    reason: Text | None = Field(None, max_length=2000)
    version: Version | None = None


class ResultOut(Out):
    test: TestOut
    suggestion: Suggestion | None


class ResponseBody(inputs.ResponseIn):
    """An incentive, sanction or therapeutic adjustment (jail beyond the cap is warned)."""

    type: Text = Field(min_length=1, max_length=64)
    level: int | None = Field(None, ge=1, le=100)
    test: RowId | None = None
    on: Day | None = None
    completed_on: Day | None = None
    note: Text | None = Field(None, max_length=5000)


class ResponseOut(Out):
    id: int
    kind: str
    type: str
    behaviour: str | None
    level: int | None
    jail_days: int | None
    day: dt.date
    status: str
    drug_test_id: int | None
    warnings: list[str]


class HearingBody(BaseModel):
    """What happened at a hearing; `version` is the hearing's version as you read it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Literal["held", "missed", "cancelled"] = "held"
    held_on: Day | None = None
    minutes: int | None = Field(None, ge=0, le=600)
    note: Text | None = Field(None, max_length=5000)
    version: Version | None = None


class HearingOut(Out):
    id: int
    version: int
    participant: str
    scheduled_on: dt.date
    status: str
    held_on: dt.date | None
    minutes: int | None
    note: str | None


class DashboardRow(Out):
    participant: str
    test: int
    day: str
    method: str
    due_by: str
    status: str


class DashboardHearing(Out):
    participant: str
    hearing: int


class DashboardOut(Out):
    date: dt.date
    now: dt.datetime
    counts: dict[str, int]
    limit: int
    offset: int
    due: list[DashboardRow]
    missed: list[DashboardRow]
    needs_response: list[DashboardRow]
    hearings: list[DashboardHearing]


class AggregatesOut(Out):
    min_cell: int
    suppression: str
    columns: dict[str, list[str]]
    tables: dict[str, list[dict[str, Any]]]


@api.get("/participants", response_model=ParticipantPage, responses=ERRORS)
def list_participants(
    request: Request, status: Status | None = None,
    phase: int | None = Query(None, ge=1, le=50), programme: Text | None = Query(None, max_length=64),
    code: Text | None = Query(None, max_length=16, description="part of the pseudonymous code"),
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
    user: User = Depends(require("registry.read"))) -> Any:
    """Participants by pseudonymous code (never identity), filtered and paged."""
    with registry_of(request).read() as conn:
        page = service.list_participants(conn, status=status, phase=phase, programme_code=programme,
                                         code=code, limit=limit, offset=offset,
                                         within=user.programmes)
    return {"total": page["total"], "limit": limit, "offset": offset, "participants": page["rows"]}


@api.get("/participants/{code}", response_model=ParticipantOut, responses=ERRORS)
def show_participant(request: Request, code: str,
                     identify: bool = Query(False, description="include name, birth date and "
                                            "contact (registry.identify; the view is audited)"),
                     user: User = Depends(require("registry.read"))) -> Any:
    """A participant: status, active enrolment and phase, promotion criteria; identity on request."""
    reg = registry_of(request)
    if identify and not user.can("registry.identify"):
        raise Refused(user, "registry.identify")
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
        out = summary(conn, part)
    if identify:
        out["identity"] = identity_of(request, part)
        record_view(reg, user, "participants", part["id"], f"identity {part['code']} (api)")
    return out


@api.get("/participants/{code}/timeline", response_model=TimelineOut, responses=ERRORS)
def timeline(request: Request, code: str, user: User = Depends(require("registry.read"))) -> Any:
    """Everything recorded about a participant in date order: tests, hearings, responses, phases,
    attendance (never identity)."""
    with registry_of(request).read() as conn:
        part = participant_or_404(conn, code, user)
        return service.timeline(conn, part["code"])


@api.get("/participants/{code}/notes", response_model=list[NoteOut], responses=ERRORS)
def list_notes(request: Request, code: str, user: User = Depends(require("notes.clinical"))) -> Any:
    """Clinical notes, newest first (clinicians and case managers; every read is audited)."""
    reg = registry_of(request)
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
        notes = service.notes_of(conn, cipher(request), part["code"])
    record_views(reg, user, "notes", [n["id"] for n in notes], f"clinical notes {part['code']} (api)")
    return notes


@api.post("/participants/{code}/notes", response_model=NoteOut, status_code=201,
          responses=WRITE_ERRORS)
def add_note(request: Request, code: str, body: NoteIn,
             user: User = Depends(require("notes.clinical"))) -> Any:
    """Write a clinical note (stored encrypted; the author is the signed-in account)."""
    reg = registry_of(request)
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
    with reg.write(user.username, "web note") as tx:
        row = service.add_note(tx, cipher(request), part["code"], body.text)
    return {**row, "text": body.text}


@api.get("/participants/{code}/suggestion", response_model=Suggestion, responses=WRITE_ERRORS)
def suggestion(request: Request, code: str, behaviour: inputs.Behaviour | None = None,
               test: RowId | None = None, on: Day | None = None,
               user: User = Depends(require("registry.read"))) -> Any:
    """The programme's suggested incentive or sanction for a behaviour (or a test's result), with
    therapeutic adjustments apart. It advises; the judge decides."""
    with registry_of(request).read() as conn:
        part = participant_or_404(conn, code, user)
        return service.suggest_response(conn, part["code"], behaviour, test, on)


@api.post("/participants/{code}/responses", response_model=ResponseOut, status_code=201,
          responses=WRITE_ERRORS)
def add_response(request: Request, code: str, body: ResponseBody,
                 user: User = Depends(require("responses.record"))) -> Any:
    """Record an incentive, sanction or therapeutic adjustment; `warnings` names a jail sanction
    beyond the programme's cap."""
    reg = registry_of(request)
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
    data = inputs.ResponseIn.model_validate(body.model_dump(exclude_unset=True))
    with reg.write(user.username, "web respond") as tx:
        row, warnings = service.add_response(tx, part["code"], data)
    return {**row, "warnings": warnings}


@api.get("/tests", response_model=TestPage, responses=ERRORS)
def tests(request: Request, day: Day | None = None, programme: Text | None = Query(None, max_length=64),
          limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
          user: User = Depends(require("registry.read"))) -> Any:
    """The testing calendar of a day (default today): every test scheduled, its window and status."""
    with registry_of(request).read() as conn:
        page = service.tests_on(conn, day or service.today(), programme, limit, offset,
                                within=user.programmes)
    return {**page, "tests": page["rows"]}


@api.post("/tests/{test_id}/result", response_model=ResultOut, responses=WRITE_ERRORS)
def record_result(request: Request, test_id: RowId, body: ResultBody,
                  user: User = Depends(require("tests.record"))) -> Any:
    """Record a test's result, with the engine's suggested response to it."""
    reg = registry_of(request)
    raw = {"test": test_id, **body.model_dump(mode="json", exclude_unset=True)}
    item = inputs.ResultIn.model_validate({"test": test_id, **body.model_dump(exclude_unset=True)})
    with reg.write(user.username, "web tests record") as tx:
        code = test_or_404(tx.conn, test_id, user)["participant"]
        row = {**service.record_results(tx, [item], [raw])[0], "participant": code}
    return {"test": row, "suggestion": suggestion_after(reg, row)}


class ClosedOut(Out):
    missed: int


@api.post("/tests/close-missed", response_model=ClosedOut, responses=ERRORS)
def close_missed(request: Request, user: User = Depends(require("tests.record"))) -> Any:
    """Mark every test whose sample window has closed with no sample as missed (each then awaits
    a response), as `divert registry tests close-missed` does."""
    with registry_of(request).write(user.username, "web tests close-missed") as tx:
        return {"missed": service.close_missed(tx, service.local_now(), user.programmes)}


@api.get("/hearings", response_model=list[HearingOut], responses=ERRORS)
def hearings(request: Request, day: Day | None = None,
             programme: Text | None = Query(None, max_length=64),
             user: User = Depends(require("registry.read"))) -> Any:
    """The status hearings of a day (default today)."""
    with registry_of(request).read() as conn:
        return service.hearings_on(conn, day or service.today(), programme,
                                   within=user.programmes)


@api.post("/hearings/{hearing_id}", response_model=HearingOut, responses=WRITE_ERRORS)
def record_hearing(request: Request, hearing_id: RowId, body: HearingBody,
                   user: User = Depends(require("hearings.record"))) -> Any:
    """Record a hearing held (attended), missed or cancelled, with the judge's notes; a held or
    missed hearing books the next one."""
    reg = registry_of(request)
    raw = {"hearing": hearing_id, **body.model_dump(mode="json", exclude_unset=True)}
    data = inputs.HearingIn.model_validate({"hearing": hearing_id,
                                            **body.model_dump(exclude_unset=True)})
    with reg.read() as conn:
        hearing_or_404(conn, hearing_id, user)
    with reg.write(user.username, "web hearings record") as tx:
        service.record_hearing(tx, data, raw)
    with reg.read() as conn:
        return service.hearing_row(conn, hearing_id)


@api.get("/dashboard", response_model=DashboardOut, responses=ERRORS)
def dashboard(request: Request, day: Day | None = None,
              programme: Text | None = Query(None, max_length=64),
              limit: int = Query(200, ge=0, le=1000), offset: int = Query(0, ge=0, le=10**9),
              user: User = Depends(require("registry.read"))) -> Any:
    """The day's work: due to test, window closed with no sample, needs a response, hearings."""
    now = service.local_now()
    with registry_of(request).read() as conn:
        return service.dashboard(conn, day or now.date(), now, programme, limit, offset,
                                 within=user.programmes)


@api.get("/aggregates", response_model=AggregatesOut, responses=ERRORS)
def aggregates(request: Request, user: User = Depends(require("registry.aggregates"))) -> Any:
    """De-identified aggregates: phase durations, exits, test positivity, rearrest by quadrant;
    counts of 1 to 10 people suppressed (null), with what could reveal them."""
    with registry_of(request).read() as conn:
        tables = aggregate_tables(conn, MIN_CELL, within=user.programmes)
    record_export(registry_of(request), user, "aggregates",
                  {"tables": sorted(tables), "min_cell": MIN_CELL, "to": "api"})
    return {"min_cell": MIN_CELL, "suppression": SUPPRESSION, "columns": COLUMNS, "tables": tables}


MIN_CELL = 11
SUPPRESSION = (f"counts of people from 1 to {MIN_CELL - 1} are null, with every statistic computed "
               "from them; secondary suppression where a total would reveal them")
