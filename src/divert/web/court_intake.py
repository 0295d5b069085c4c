"""Bringing a person into the registry from the web: a new participant (identity encrypted by the
service), informed consent, enrolment, phase changes and exits with the promotion check, rearrests,
an assessment saved to a participant (screenings, case, advice with its trace and pack hash) and
the advice confirmed with the decision taken. Pages (`router`) and JSON API (`api`, tag "registry").

Every write is audited with the signed-in username. Updates carry the `version` read; a stale one
changes nothing (409 with the current record in the API, a conflict message on the pages).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from divert.advice.case import parse_case
from divert.advice.pathways import advise
from divert.advice.screening import INSTRUMENTS
from divert.errors import InputError
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Policy
from divert.registry import inputs, service
from divert.registry.store import Tx
from divert.web import assess, assess_view
from divert.web.accounts import User
from divert.web.book import pack_or_error
from divert.web.court_api import WRITE_ERRORS, Out
from divert.web.court_common import (
    EARLIEST,
    LATEST,
    MAX_ID,
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
from divert.web.court_pages import (
    INTAKE_CHOICES,
    _checked,
    _flash,
    _form,
    _said,
    law_label,
    measure_words,
)
from divert.web.lang import _
from divert.web.render import render
from divert.web.security import registry_of, require
from divert.web.terms import term

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
    """Enrolment in phase 1 of the participant's programme (needs consent to a treatment measure);
    a measure the latest advice found not eligible needs `confirm_not_eligible`."""

    measure: Alternative = "drug_treatment_court"
    on: Day | None = None
    planned_end: Day | None = None
    quadrant: inputs.Quadrant | None = None
    confirm_not_eligible: bool = Field(False, description="enrol although the latest advice "
                                       "found the measure not eligible")


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
    """The final decision people took on an advice: a measure its law provides (never a coercive
    one), or none; one the advice found not eligible needs `confirm_not_eligible`."""

    decision: Decision
    note: Text | None = Field(None, max_length=2000)
    on: Day | None = None
    version: Version | None = None
    confirm_not_eligible: bool = Field(False, description="record a decision the advice found "
                                       "not eligible")


class CreatedOut(Out):
    code: str
    status: str
    referred_on: dt.date
    version: int


class RowOut(Out):
    id: int
    version: int


# ---- the operations both pages and API use ------------------------------------------------------------

def _plain(obj: Any) -> Any:
    """Data as the database's JSON gives it back (for comparing with what is stored)."""
    return json.loads(json.dumps(obj, default=str))


def _same_screening(tx: Tx, part_id: int, name: str, responses: Mapping[str, Any],
                    day: dt.date) -> bool:
    """Whether the participant's latest screening with `name` holds these responses of this day."""
    rows = [r for r in service._rows(tx.conn, "screenings", participant_id=part_id)
            if r["instrument"] == name]
    return bool(rows) and rows[-1]["responses"] == _plain(responses) and \
        rows[-1]["administered_on"] == day


def _existing_advice(tx: Tx, part_id: int, case_id: int, pack: Policy, day: dt.date | None
                     ) -> dict[str, Any] | None:
    """An advice already kept on this case under this pack that says exactly what the advice
    would say now (same facts, same screenings, same law): saving again stores nothing."""
    cases = [c for c in service._rows(tx.conn, "cases", participant_id=part_id)
             if c["id"] == case_id]
    kept = [a for a in service._rows(tx.conn, "advice", participant_id=part_id)
            if a["case_id"] == case_id and a["pack_hash"] == pack.hash]
    if not cases or not kept:
        return None
    facts = dict(cases[0]["facts"])
    screenings = {s["instrument"]: s["responses"]
                  for s in service._rows(tx.conn, "screenings", participant_id=part_id)}
    if screenings and "screening" not in facts:
        facts["screening"] = screenings
    now = _plain(advise(parse_case(facts, "case"), pack, None, day).to_json())
    return next((a for a in reversed(kept) if a["advice"] == now), None)


def save_assessment(tx: Tx, code: str, jurisdiction: str, day: Any, facts: Mapping[str, Any] | None,
                    reference: str | None = None, case_id: int | None = None) -> dict[str, Any]:
    """Keep an assessment: each screening's responses (scored), the case, then the advice on it.
    Idempotent: the same submission again stores nothing and returns the advice kept the first
    time (`existing` true)."""
    pack = pack_or_error(jurisdiction)
    part = service.participant(tx.conn, code)
    if facts is not None:
        case = dict(facts)
        assess.check_numbers(parse_case(case, "case"))
        screening = case.get("screening")
        if isinstance(screening, dict) and screening and all(
                k in INSTRUMENTS and isinstance(v, dict) for k, v in screening.items()):
            case.pop("screening")
            for name, responses in screening.items():
                if _same_screening(tx, part["id"], name, responses, day or service.today()):
                    continue
                service.add_screening(tx, code, inputs.ScreeningIn(instrument=name, responses=responses,
                                                                   on=day))
        latest = service._rows(tx.conn, "cases", participant_id=part["id"])[-1:]
        if reference is None and latest and latest[0]["facts"] == _plain(case):
            case_id = latest[0]["id"]
        else:
            case_id = service.add_case(tx, code, inputs.CaseIn(facts=case, reference=reference))["id"]
    if case_id is not None:
        found = _existing_advice(tx, part["id"], case_id, pack, day)
        if found is not None:
            return {**found, "existing": True}
    row = service.snapshot_advice(tx, code, inputs.AdviceIn(jurisdiction=pack.code, case_id=case_id,
                                                            on=day))
    return {**row, "existing": False}


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


def record_decision(tx: Tx, row: Mapping[str, Any], decision: str, note: str | None,
                    on: dt.date | None, confirmed: bool, version: int | None = None
                    ) -> dict[str, Any]:
    """Record the decision taken on a kept advice: only a measure its law provides, never a
    coercive one; one it found not eligible only `confirmed` (else NeedsConfirmation). The same
    decision again changes nothing; a different one on a decided advice is refused."""
    assess_view.check_decision(row["advice"], decision, confirmed, int(row["id"]))
    stale = version is not None and version != row["version"]  # a conflict, from the update
    if not stale and row["final_decision"] == decision:
        return dict(row)
    if not stale and row["final_decision"]:
        raise InputError(f"advice {row['id']} already records the decision "
                         f"{row['final_decision']} ({row['confirmed_by']}, {row['confirmed_on']})",
                         where="decision")
    data = {"decision": decision, "note": note, "on": on,
            "version": version if version is not None else row["version"]}
    clean = {k: v for k, v in data.items() if v is not None}
    return service.confirm_advice(tx, int(row["id"]), inputs.ConfirmIn.model_validate(clean),
                                  _plain(clean))


def _confirm(tx: Tx, advice_id: int, body: ConfirmBody, user: User) -> dict[str, Any]:
    row = advice_or_404(tx.conn, advice_id, user)
    return record_decision(tx, row, body.decision, body.note, body.on, body.confirm_not_eligible,
                           body.version)


def latest_advice(conn: Any, part_id: int) -> dict[str, Any] | None:
    """The participant's latest kept advice."""
    rows = service._rows(conn, "advice", participant_id=part_id)
    return rows[-1] if rows else None


def _enrol(tx: Tx, code: str, body: EnrolBody) -> dict[str, Any]:
    """Enrol, after the check that the latest advice did not find the measure not eligible."""
    part = service.participant(tx.conn, code)
    found = latest_advice(tx.conn, part["id"])
    assess_view.enrolment_check(found["advice"] if found else None, body.measure,
                                body.confirm_not_eligible, found["id"] if found else None)
    return service.enrol(tx, code, inputs.EnrolIn.model_validate(
        body.model_dump(exclude_unset=True, exclude={"confirm_not_eligible"})))


def _api_confirmation(need: assess_view.NeedsConfirmation, what: str, field: str) -> InputError:
    why = "; ".join(need.option.reasons[:3])
    return InputError(f"the advice{f' {need.advice_id}' if need.advice_id else ''} found "
                      f"{need.option.id} not eligible ({why}); to {what} anyway send "
                      "confirm_not_eligible: true", where=field)


# ---- form checks: every error beside its field ---------------------------------------------------------

_PLAIN = {"missing": "Enter this; it is required.", "string_too_short": "Enter this; it is required.",
          "date_parsing": "Enter a date as year-month-day, e.g. 1990-12-31.",
          "date_from_datetime_parsing": "Enter a date as year-month-day, e.g. 1990-12-31.",
          "date_from_datetime_inexact": "Enter a date as year-month-day, e.g. 1990-12-31.",
          "date_type": "Enter a date as year-month-day, e.g. 1990-12-31.",
          "bool_parsing": "Choose one of the options.", "int_parsing": "Enter a whole number.",
          "extra_forbidden": "This field is not part of the form."}


def _plain_error(err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = str(err.get("type", ""))
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind == "literal_error":
        return f"Choose one of: {str(ctx.get('expected', '')).replace('_', ' ')}."
    if kind in ("string_too_long", "too_long"):
        return f"Use at most {ctx.get('max_length')} characters."
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return f"Enter a value from {EARLIEST} to {LATEST}." if isinstance(
            ctx.get("le", ctx.get("ge")), dt.date) else str(err.get("msg"))
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return msg[:1].upper() + msg[1:] + ("" if msg.endswith(".") else ".")


def checked_form(model: type[Body], form: Mapping[str, str]) -> Any:
    """The form checked by the API's model, empty fields left out; FormErrors holds every
    problem in plain words, by field."""
    data = {k: v for k, v in form.items() if v not in (None, "", [])}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else assess.GENERAL
            errors.setdefault(name, _plain_error(err))
        raise assess.FormErrors(errors) from None


# ---- pages -------------------------------------------------------------------------------------------

def _back(code: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/registry/participants/{code}{anchor}", status_code=303)


def _yes(form: Mapping[str, Any], name: str) -> bool:
    return str(form.get(name, "")).strip().lower() in ("yes", "true", "1", "on")


@router.get("/participants/new", response_class=HTMLResponse)
def new_participant(request: Request, user: User = Depends(require("participants.manage"))) -> Response:
    """The intake form: identity, sex, programme, referral date."""
    return _new_form(request, user, {}, {})


def _new_form(request: Request, user: User, values: Mapping[str, str], errors: Mapping[str, str]
              ) -> Response:
    with registry_of(request).read() as conn:
        programmes = [(r.code, r.name) for r in conn.execute(service.T["programmes"].select())
                      if user.sees(r.id)]
    return render(request, "court/new.html", status_code=400 if errors else 200, values=values,
                  errors=errors, fields=[], av=assess_view, programmes=programmes,
                  sexes=inputs.Sex.__args__,  # type: ignore[attr-defined]
                  today=service.today())


@router.post("/participants/new", response_class=HTMLResponse)
async def add_participant(request: Request,
                          user: User = Depends(require("participants.manage"))) -> Response:
    """Create the participant (a fresh pseudonymous code) and open their page."""
    form = await _form(request)
    try:
        body = checked_form(ParticipantBody, form)
        with registry_of(request).write(user.username, "web participant add") as tx:
            programme_for(tx.conn, body.programme, user)
            row = service.add_participant(tx, cipher(request), inputs.ParticipantIn.model_validate(
                body.model_dump(exclude_unset=True)))
    except InputError as exc:
        return _new_form(request, user, form, assess.errors_of(exc))
    _flash(request, _said(_("Participant %(code)s added (referred on %(day)s)."), code=row["code"],
                          day=row["referred_on"]))
    return _back(row["code"])


def _intake_form(request: Request, code: str, which: str, values: Mapping[str, str],
                 errors: Mapping[str, str]) -> Response:
    """One intake form of a participant's page again, the answers kept and each error beside
    its field (instead of a page that loses them)."""
    return render(request, "assess/intake_form.html", status_code=400, which=which,
                  code=code.strip().upper(), values=values, errors=errors, fields=[],
                  av=assess_view, today=service.today(), catalogue=CATALOGUE,
                  **INTAKE_CHOICES)


def _needs_confirmation(request: Request, need: assess_view.NeedsConfirmation, what: str,
                        action: str, hidden: Mapping[str, str], back: str) -> Response:
    """The warning to confirm before recording what the advice found not eligible."""
    return render(request, "assess/confirm.html", status_code=409, option=need.option,
                  advice_id=need.advice_id, what=what, action=action,
                  hidden={k: v for k, v in hidden.items() if k != "confirm_not_eligible"},
                  back=back, av=assess_view)


@router.post("/participants/{code}/consent", response_class=HTMLResponse)
async def consent_page(request: Request, code: str,
                       user: User = Depends(require("participants.manage"))) -> Response:
    """Record informed consent given or withdrawn."""
    form = await _form(request)
    try:
        body = checked_form(ConsentBody, form)
        row = _write(request, user, code, "consent", lambda tx, c: service.record_consent(
            tx, c, inputs.ConsentIn.model_validate(body.model_dump(exclude_unset=True))))
    except InputError as exc:
        return _intake_form(request, code, "consent", form, assess.errors_of(exc))
    _flash(request, _said(_("Consent given on %(day)s.") if row["given"]
                          else _("Consent withdrawn on %(day)s."), day=row["day"]))
    return _back(code.strip().upper(), "#intake")


@router.post("/participants/{code}/enrolment", response_class=HTMLResponse)
async def enrol_page(request: Request, code: str,
                     user: User = Depends(require("participants.manage"))) -> Response:
    """Enrol in phase 1 (refused without informed consent to a treatment measure); a measure the
    latest advice found not eligible is enrolled only after a warning is confirmed."""
    form = await _form(request)
    try:
        body = checked_form(EnrolBody, {**form, "confirm_not_eligible": str(
            _yes(form, "confirm_not_eligible")).lower()})
        row = _write(request, user, code, "enrol", lambda tx, c: _enrol(tx, c, body))
    except assess_view.NeedsConfirmation as need:
        upper = code.strip().upper()
        return _needs_confirmation(request, need, "enrol", f"/registry/participants/{upper}/enrolment",
                                   form, f"/registry/participants/{upper}#intake")
    except InputError as exc:
        return _intake_form(request, code, "enrolment", form, assess.errors_of(exc))
    _flash(request, _said(_("Enrolled in %(measure)s from %(day)s, phase 1."),
                          measure=measure_words(row["measure"]), day=row["started_on"]))
    return _back(code.strip().upper())


@router.post("/participants/{code}/phase")
async def phase_page(request: Request, code: str,
                     user: User = Depends(require("enrolment.decide"))) -> Response:
    """Advance (criteria met, or an override reason) or return to an earlier phase (a reason)."""
    body = _checked(PhaseBody, await _form(request))
    row = _write(request, user, code, "advance", lambda tx, c: _phase(tx, c, body))
    _flash(request, _said(_("Now in phase %(phase)s since %(day)s."), phase=row["phase"],
                          day=row["phase_since"]))
    return _back(code.strip().upper())


@router.post("/participants/{code}/exit")
async def exit_page(request: Request, code: str,
                    user: User = Depends(require("enrolment.decide"))) -> Response:
    """Graduate, terminate or record a withdrawal."""
    body = _checked(ExitBody, await _form(request))
    row = _write(request, user, code, body.kind, lambda tx, c: _exit(tx, c, body))
    _flash(request, _said(_("Enrolment ended: %(status)s on %(day)s."), status=term(row["status"]),
                          day=row["ended_on"]))
    return _back(code.strip().upper())


@router.post("/participants/{code}/rearrest")
async def rearrest_page(request: Request, code: str,
                        user: User = Depends(require("participants.manage"))) -> Response:
    """Record a new arrest."""
    body = _checked(RearrestBody, await _form(request))
    row = _write(request, user, code, "rearrest", lambda tx, c: service.record_rearrest(
        tx, c, inputs.RearrestIn.model_validate(body.model_dump(exclude_unset=True))))
    _flash(request, _said(_("Rearrest on %(day)s recorded."), day=row["day"]))
    return _back(code.strip().upper(), "#timeline")


@router.post("/participants/{code}/assessment", response_class=HTMLResponse)
async def assessment_page(request: Request, code: str,
                          user: User = Depends(require("participants.manage"))) -> Response:
    """Save the advised form's screenings, case and advice to the participant (once, however
    often it is sent), with the decision taken when one is chosen; then open the saved advice."""
    form = await request.form()
    values: dict[str, str] = {}
    sets: dict[str, list[str]] = {}
    decision = str(form.get("decision") or "").strip()
    note = str(form.get("note") or "").strip()[:2000] or None
    try:
        values, sets = assess.form_values(form)
        pack, day, data = assess.case_of_form(values, sets)
        if decision and not user.can("advice.confirm"):
            raise InputError("your account may not record decisions; save without one",
                             where="decision")

        def save(tx: Tx, c: str) -> dict[str, Any]:
            row = save_assessment(tx, c, pack.code, day, data)
            if decision:
                kept = service._one(tx.conn, "advice", id=row["id"]) or row
                return {**record_decision(tx, kept, decision, note, None,
                                          _yes(form, "confirm_not_eligible")),
                        "existing": row["existing"]}
            return row

        row = _write(request, user, code, "advise", save)
    except assess_view.NeedsConfirmation as need:
        hidden = {"submission": assess.pack_submission(values, sets), "decision": decision,
                  "note": note or ""}
        return _needs_confirmation(request, need, "record this decision",
                                   f"/registry/participants/{code.strip().upper()}/assessment",
                                   hidden, "")
    except InputError as exc:
        return assess.page(request, 400, values=values, sets=sets, advice=None,
                           errors=assess.errors_of(exc), participant=code)
    saved = (_("Assessment saved: advice %(id)s under %(pack)s (the same answers were saved "
               "before: nothing new stored).") if row["existing"]
             else _("Assessment saved: advice %(id)s under %(pack)s."))
    if not row["final_decision"]:
        saved += " " + _("Record the decision taken.")
    _flash(request, _said(saved, id=row["id"], pack=assess.pack_name(row["jurisdiction"])))
    return RedirectResponse(f"/registry/advice/{row['id']}", status_code=303)


def _saved_page(request: Request, user: User, advice_id: int, status: int = 200,
                errors: Mapping[str, str] | None = None, chosen: str = "", note: str = ""
                ) -> Response:
    """A kept advice in full, from its snapshot: summary and decision first, then every stage."""
    if not 1 <= advice_id <= MAX_ID:
        raise not_found(f"advice: no advice {advice_id}")
    with registry_of(request).read() as conn:
        row = advice_or_404(conn, advice_id, user)
        case = service._one(conn, "cases", id=row["case_id"]) or {"facts": {}}
    flash = request.session.pop("flash", [])
    facts = [(name, assess_view.field_label(name), value) for name, value in
             sorted(assess_view.case_values(case["facts"])[0].items())]
    return render(request, "assess/saved.html", status_code=status, saved=row, advice=row["advice"],
                  participant=row["code"], errors=dict(errors or {}), chosen=chosen, note=note,
                  decision_mode=None if row["final_decision"] else "confirm", flash=flash,
                  facts=facts, fields=[], words=assess.words, av=assess_view,
                  **assess.advice_context(row["advice"]))


@router.get("/advice/{advice_id}", response_class=HTMLResponse)
def saved_advice(request: Request, advice_id: int,
                 user: User = Depends(require("registry.read"))) -> Response:
    """A kept advice reopened in full, exactly as it was given (its snapshot), with its decision."""
    return _saved_page(request, user, advice_id)


@router.post("/advice/{advice_id}/confirm", response_class=HTMLResponse)
async def confirm_page(request: Request, advice_id: int,
                       user: User = Depends(require("advice.confirm"))) -> Response:
    """Record the decision taken on an advice (the confirming account is the signed-in one)."""
    form = await _form(request)
    if not 1 <= advice_id <= MAX_ID:
        raise not_found("advice: no such advice")
    try:
        body = checked_form(ConfirmBody, {**form, "confirm_not_eligible": str(
            _yes(form, "confirm_not_eligible")).lower()})
        with registry_of(request).write(user.username, "web confirm") as tx:
            row = _confirm(tx, advice_id, body, user)
    except assess_view.NeedsConfirmation as need:
        return _needs_confirmation(request, need, "record this decision",
                                   f"/registry/advice/{advice_id}/confirm", form,
                                   f"/registry/advice/{advice_id}")
    except InputError as exc:
        return _saved_page(request, user, advice_id, 400, assess.errors_of(exc),
                           form.get("decision", ""), form.get("note", ""))
    decided = row["final_decision"]
    label = assess_view.measures_of(row["advice"]).get(decided)
    _flash(request, _said(_("Advice %(id)s: decision %(measure)s recorded."), id=advice_id,
                          measure=law_label(label.label) if label else _("no measure")))
    return RedirectResponse(f"/registry/advice/{advice_id}", status_code=303)


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
    try:
        return _write(request, user, code, "enrol", lambda tx, c: _enrol(tx, c, body))
    except assess_view.NeedsConfirmation as need:
        raise _api_confirmation(need, "enrol", "measure") from None


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
    try:
        with registry_of(request).write(user.username, "web confirm") as tx:
            return _confirm(tx, advice_id, body, user)
    except assess_view.NeedsConfirmation as need:
        raise _api_confirmation(need, "record it", "decision") from None
