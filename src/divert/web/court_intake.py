"""Bringing a person into the registry from the web: a new participant (identity encrypted by the
service), informed consent, enrolment, phase changes and exits with the promotion check, rearrests,
an assessment saved to a participant (screenings, case, advice with its trace and pack hash) and
the advice confirmed with the decision taken. Pages (`router`) and JSON API (`api`, tag "registry").

Every write is audited with the signed-in username. Updates carry the `version` read; a stale one
changes nothing (409 with the current record in the API, a conflict message on the pages).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from divert.advice.case import parse_case
from divert.advice.screening import INSTRUMENTS
from divert.errors import InputError
from divert.law.catalogue import CATALOGUE
from divert.registry import inputs, service
from divert.registry.store import Tx
from divert.web import assess
from divert.web.accounts import User
from divert.web.book import pack_or_error
from divert.web.court_api import WRITE_ERRORS, Out
from divert.web.court_common import (
    Day,
    RowId,
    Text,
    Version,
    advice_or_404,
    cipher,
    not_found,
    participant_or_404,
    programme_for,
)
from divert.web.court_pages import INTAKE_CHOICES, _checked, _flash, _form
from divert.web.render import render
from divert.web.security import registry_of, require

router = APIRouter(prefix="/registry", include_in_schema=False)
api = APIRouter(prefix="/registry", tags=["registry"])

#: the alternatives a person may be enrolled in (the registry enrols in alternatives only)
Alternative = Literal[INTAKE_CHOICES["measures"]]  # type: ignore[valid-type]
Measure = Literal[tuple(CATALOGUE)]  # type: ignore[valid-type]
Decision = Literal[(*CATALOGUE, "none")]  # type: ignore[valid-type]
EXITS = ("graduated", "terminated", "withdrawn")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ParticipantBody(Body):
    """A new participant: identity (stored encrypted), sex, programme, referral date."""

    name: Text = Field(min_length=1, max_length=200)
    birth_date: Day | None = None
    contact: Text | None = Field(None, max_length=500)
    sex: inputs.Sex | None = None
    programme: Text = Field("default", min_length=1, max_length=64)
    referred_on: Day | None = None


class ConsentBody(Body):
    """Informed consent given (or withdrawn), to one measure or to any."""

    given: bool
    measure: Measure | None = None
    on: Day | None = None
    note: Text | None = Field(None, max_length=2000)


class EnrolBody(Body):
    """Enrolment in phase 1 of the participant's programme (needs consent to a treatment measure)."""

    measure: Alternative = "drug_treatment_court"
    on: Day | None = None
    planned_end: Day | None = None
    quadrant: inputs.Quadrant | None = None


class PhaseBody(Body):
    """A phase change: the next phase by default; an earlier one is a return (needs a reason);
    a promotion whose criteria are not met needs an override reason. `version`: the enrolment's."""

    to: int | None = Field(None, ge=1, le=50)
    on: Day | None = None
    reason: Text | None = Field(None, max_length=2000)
    override: Text | None = Field(None, max_length=2000)
    version: Version | None = None


class ExitBody(Body):
    """The end of an enrolment: graduation (final phase, criteria met or overridden), termination or
    withdrawal (a reason). `version`: the enrolment's."""

    kind: Literal[EXITS]  # type: ignore[valid-type]
    on: Day | None = None
    reason: Text | None = Field(None, max_length=2000)
    override: Text | None = Field(None, max_length=2000)
    version: Version | None = None


class RearrestBody(Body):
    on: Day
    offence_type: inputs.OffenceType | None = None
    note: Text | None = Field(None, max_length=2000)


class AdviceBody(Body):
    """divert's advice kept for a participant: on `case` (stored first, its screening responses
    scored and kept as screenings) or on their latest case (or `case_id`)."""

    jurisdiction: Text = Field(min_length=1, max_length=40)
    date: Day | None = Field(None, description="whose law: the decision date")
    case: dict[str, Any] | None = Field(None, description="as in a case file (README: case files)")
    case_reference: Text | None = Field(None, max_length=100)
    case_id: RowId | None = None

    @field_validator("case")
    @classmethod
    def _small(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and assess._bounded(v) > 4000:
            raise ValueError("too many values (at most 4000)")
        return v


class ConfirmBody(Body):
    """The final decision people took on an advice (a catalogue measure, or none)."""

    decision: Decision
    note: Text | None = Field(None, max_length=2000)
    on: Day | None = None
    version: Version | None = None


class CreatedOut(Out):
    code: str
    status: str
    referred_on: dt.date
    version: int


class RowOut(Out):
    id: int
    version: int


# ---- the operations both pages and API use ------------------------------------------------------------

def save_assessment(tx: Tx, code: str, jurisdiction: str, day: Any, facts: Mapping[str, Any] | None,
                    reference: str | None = None, case_id: int | None = None) -> dict[str, Any]:
    """Keep an assessment: each screening's responses (scored), the case, then the advice on it."""
    pack = pack_or_error(jurisdiction)
    if facts is not None:
        case = dict(facts)
        assess.check_numbers(parse_case(case, "case"))
        screening = case.get("screening")
        if isinstance(screening, dict) and screening and all(
                k in INSTRUMENTS and isinstance(v, dict) for k, v in screening.items()):
            case.pop("screening")
            for name, responses in screening.items():
                service.add_screening(tx, code, inputs.ScreeningIn(instrument=name, responses=responses,
                                                                   on=day))
        case_id = service.add_case(tx, code, inputs.CaseIn(facts=case, reference=reference))["id"]
    return service.snapshot_advice(tx, code, inputs.AdviceIn(jurisdiction=pack.code, case_id=case_id,
                                                              on=day))


def _write(request: Request, user: User, code: str, command: str, action: Any) -> dict[str, Any]:
    """Run `action(tx, code)` on an existing participant in one audited transaction."""
    reg = registry_of(request)
    with reg.read() as conn:
        part = participant_or_404(conn, code, user)
    with reg.write(user.username, f"web {command}") as tx:
        return action(tx, part["code"])  # type: ignore[no-any-return]


def _phase(tx: Tx, code: str, body: PhaseBody) -> dict[str, Any]:
    raw = body.model_dump(mode="json", exclude_unset=True)
    return service.change_phase(tx, code, inputs.PhaseIn.model_validate(body.model_dump(
        exclude_unset=True)), raw)


def _exit(tx: Tx, code: str, body: ExitBody) -> dict[str, Any]:
    raw = body.model_dump(mode="json", exclude_unset=True, exclude={"kind"})
    data = inputs.ExitIn.model_validate(body.model_dump(exclude_unset=True, exclude={"kind"}))
    return service.end_enrolment(tx, code, body.kind, data, raw)


def _confirm(tx: Tx, advice_id: int, body: ConfirmBody, user: User) -> dict[str, Any]:
    advice_or_404(tx.conn, advice_id, user)
    raw = body.model_dump(mode="json", exclude_unset=True)
    return service.confirm_advice(tx, advice_id, inputs.ConfirmIn.model_validate(
        body.model_dump(exclude_unset=True)), raw)


def _enrol(body: EnrolBody) -> inputs.EnrolIn:
    return inputs.EnrolIn.model_validate(body.model_dump(exclude_unset=True))


# ---- pages -------------------------------------------------------------------------------------------

def _back(code: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/registry/participants/{code}{anchor}", status_code=303)


@router.get("/participants/new", response_class=HTMLResponse)
def new_participant(request: Request, user: User = Depends(require("participants.manage"))) -> Response:
    """The intake form: identity, sex, programme, referral date."""
    return _new_form(request, user, {}, None)


def _new_form(request: Request, user: User, values: Mapping[str, str], error: str | None
              ) -> Response:
    with registry_of(request).read() as conn:
        programmes = [(r.code, r.name) for r in conn.execute(service.T["programmes"].select())
                      if user.sees(r.id)]
    return render(request, "court/new.html", status_code=400 if error else 200, values=values,
                  error=error, programmes=programmes, sexes=inputs.Sex.__args__,  # type: ignore[attr-defined]
                  today=service.today())


@router.post("/participants/new", response_class=HTMLResponse)
async def add_participant(request: Request,
                          user: User = Depends(require("participants.manage"))) -> Response:
    """Create the participant (a fresh pseudonymous code) and open their page."""
    form = await _form(request)
    try:
        body = _checked(ParticipantBody, form)
        with registry_of(request).write(user.username, "web participant add") as tx:
            programme_for(tx.conn, body.programme, user)
            row = service.add_participant(tx, cipher(request), inputs.ParticipantIn.model_validate(
                body.model_dump(exclude_unset=True)))
    except InputError as exc:
        return _new_form(request, user, form, str(exc))
    _flash(request, f"Participant {row['code']} added (referred on {row['referred_on']}).")
    return _back(row["code"])


@router.post("/participants/{code}/consent")
async def consent_page(request: Request, code: str,
                       user: User = Depends(require("participants.manage"))) -> Response:
    """Record informed consent given or withdrawn."""
    body = _checked(ConsentBody, await _form(request))
    row = _write(request, user, code, "consent", lambda tx, c: service.record_consent(
        tx, c, inputs.ConsentIn.model_validate(body.model_dump(exclude_unset=True))))
    _flash(request, f"Consent {'given' if row['given'] else 'withdrawn'} on {row['day']}.")
    return _back(code.strip().upper(), "#intake")


@router.post("/participants/{code}/enrolment")
async def enrol_page(request: Request, code: str,
                     user: User = Depends(require("participants.manage"))) -> Response:
    """Enrol in phase 1 (refused without informed consent to a treatment measure)."""
    body = _checked(EnrolBody, await _form(request))
    row = _write(request, user, code, "enrol", lambda tx, c: service.enrol(tx, c, _enrol(body)))
    _flash(request, f"Enrolled in {row['measure'].replace('_', ' ')} from {row['started_on']}, "
                    "phase 1.")
    return _back(code.strip().upper())


@router.post("/participants/{code}/phase")
async def phase_page(request: Request, code: str,
                     user: User = Depends(require("enrolment.decide"))) -> Response:
    """Advance (criteria met, or an override reason) or return to an earlier phase (a reason)."""
    body = _checked(PhaseBody, await _form(request))
    row = _write(request, user, code, "advance", lambda tx, c: _phase(tx, c, body))
    _flash(request, f"Now in phase {row['phase']} since {row['phase_since']}.")
    return _back(code.strip().upper())


@router.post("/participants/{code}/exit")
async def exit_page(request: Request, code: str,
                    user: User = Depends(require("enrolment.decide"))) -> Response:
    """Graduate, terminate or record a withdrawal."""
    body = _checked(ExitBody, await _form(request))
    row = _write(request, user, code, body.kind, lambda tx, c: _exit(tx, c, body))
    _flash(request, f"Enrolment ended: {row['status']} on {row['ended_on']}.")
    return _back(code.strip().upper())


@router.post("/participants/{code}/rearrest")
async def rearrest_page(request: Request, code: str,
                        user: User = Depends(require("participants.manage"))) -> Response:
    """Record a new arrest."""
    body = _checked(RearrestBody, await _form(request))
    row = _write(request, user, code, "rearrest", lambda tx, c: service.record_rearrest(
        tx, c, inputs.RearrestIn.model_validate(body.model_dump(exclude_unset=True))))
    _flash(request, f"Rearrest on {row['day']} recorded.")
    return _back(code.strip().upper(), "#timeline")


@router.post("/participants/{code}/assessment", response_class=HTMLResponse)
async def assessment_page(request: Request, code: str,
                          user: User = Depends(require("participants.manage"))) -> Response:
    """Save the assessment form's screenings, case and advice to the participant."""
    form = await request.form()
    values, sets = assess.form_values(form)
    try:
        pack, day, data = assess.case_of_form(form, values, sets)
        row = _write(request, user, code, "advise",
                     lambda tx, c: save_assessment(tx, c, pack.code, day, data))
    except InputError as exc:
        return assess.page(request, 400, values=values, sets=sets, advice=None, error=str(exc),
                           participant=code)
    _flash(request, f"Assessment saved: advice {row['id']} under {row['jurisdiction']} (pack "
                    f"{row['pack_hash'][:12]}); confirm it with the decision taken.")
    return _back(code.strip().upper(), "#advice")


@router.post("/advice/{advice_id}/confirm")
async def confirm_page(request: Request, advice_id: int,
                       user: User = Depends(require("advice.confirm"))) -> Response:
    """Record the decision taken on an advice (the confirming account is the signed-in one)."""
    body = _checked(ConfirmBody, await _form(request))
    if not 1 <= advice_id <= 2**31 - 1:
        raise not_found("advice: no such advice")
    with registry_of(request).write(user.username, "web confirm") as tx:
        row = _confirm(tx, advice_id, body, user)
        code = service._one(tx.conn, "participants", id=row["participant_id"])["code"]  # type: ignore[index]
    _flash(request, f"Advice {advice_id}: decision {row['final_decision'].replace('_', ' ')} recorded.")
    return _back(code, "#advice")


# ---- API ---------------------------------------------------------------------------------------------

@api.post("/participants", response_model=CreatedOut, status_code=201, responses=WRITE_ERRORS)
def add_participant_api(request: Request, body: ParticipantBody,
                        user: User = Depends(require("participants.manage"))) -> Any:
    """A new participant under a fresh pseudonymous code; name, birth date and contact are stored
    encrypted."""
    with registry_of(request).write(user.username, "web participant add") as tx:
        programme_for(tx.conn, body.programme, user)
        return service.add_participant(tx, cipher(request), inputs.ParticipantIn.model_validate(
            body.model_dump(exclude_unset=True)))


@api.post("/participants/{code}/consent", response_model=RowOut, status_code=201,
          responses=WRITE_ERRORS)
def consent_api(request: Request, code: str, body: ConsentBody,
                user: User = Depends(require("participants.manage"))) -> Any:
    """Informed consent given or withdrawn (enrolment in a treatment measure needs it given)."""
    return _write(request, user, code, "consent", lambda tx, c: service.record_consent(
        tx, c, inputs.ConsentIn.model_validate(body.model_dump(exclude_unset=True))))


@api.post("/participants/{code}/enrolment", response_model=RowOut, status_code=201,
          responses=WRITE_ERRORS)
def enrol_api(request: Request, code: str, body: EnrolBody,
              user: User = Depends(require("participants.manage"))) -> Any:
    """Enrol in phase 1 with the first status hearing; refused without informed consent."""
    return _write(request, user, code, "enrol", lambda tx, c: service.enrol(tx, c, _enrol(body)))


@api.post("/participants/{code}/phase", response_model=RowOut, responses=WRITE_ERRORS)
def phase_api(request: Request, code: str, body: PhaseBody,
              user: User = Depends(require("enrolment.decide"))) -> Any:
    """Change phase (the enrolment's row comes back); unmet criteria need `override`."""
    return _write(request, user, code, "advance", lambda tx, c: _phase(tx, c, body))


@api.post("/participants/{code}/exit", response_model=RowOut, responses=WRITE_ERRORS)
def exit_api(request: Request, code: str, body: ExitBody,
             user: User = Depends(require("enrolment.decide"))) -> Any:
    """End the enrolment: graduated, terminated or withdrawn."""
    return _write(request, user, code, body.kind, lambda tx, c: _exit(tx, c, body))


@api.post("/participants/{code}/rearrests", response_model=RowOut, status_code=201,
          responses=WRITE_ERRORS)
def rearrest_api(request: Request, code: str, body: RearrestBody,
                 user: User = Depends(require("participants.manage"))) -> Any:
    """Record a new arrest."""
    return _write(request, user, code, "rearrest", lambda tx, c: service.record_rearrest(
        tx, c, inputs.RearrestIn.model_validate(body.model_dump(exclude_unset=True))))


@api.post("/participants/{code}/advice", response_model=RowOut, status_code=201,
          responses=WRITE_ERRORS)
def advice_api(request: Request, code: str, body: AdviceBody,
               user: User = Depends(require("participants.manage"))) -> Any:
    """Keep divert's advice for the participant (trace, triage, pack hash), as `registry advise`."""
    return _write(request, user, code, "advise", lambda tx, c: save_assessment(
        tx, c, body.jurisdiction, body.date, body.case, body.case_reference, body.case_id))


@api.post("/advice/{advice_id}/confirm", response_model=RowOut, responses=WRITE_ERRORS)
def confirm_api(request: Request, advice_id: RowId, body: ConfirmBody,
                user: User = Depends(require("advice.confirm"))) -> Any:
    """The decision taken on an advice; the confirming account is the signed-in one."""
    with registry_of(request).write(user.username, "web confirm") as tx:
        return _confirm(tx, advice_id, body, user)
