"""Bulk import of participants and their events, as a programme moving from spreadsheets would.

The format (documented in docs/registry.md; example in examples/registry/import.json):

    {"format": "divert-registry-import", "version": 1,
     "programmes": [ProgrammeIn, ...],            # optional: programmes to create first
     "participants": [{"ref": "row 12", "name": ..., "birth_date": ..., "contact": ..., "sex": ...,
                       "programme": "default", "referred_on": ..., "case": {...}, "case_reference": ...,
                       "screenings": [...], "consents": [...], "enrolment": {...},
                       "tests": [...], "attendance": [...], "hearings": [...], "responses": [...],
                       "phases": [...], "exit": {...}, "rearrests": [...]}]}

The whole file is checked before anything is written, and the import is one transaction: all of
it is stored, or (bad input, conflict, a killed process) none of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, model_validator

from divert.errors import InputError
from divert.law.catalogue import CATALOGUE
from divert.registry import court, inputs, service
from divert.registry.crypto import FieldCipher
from divert.registry.inputs import In
from divert.registry.store import Tx


class ImportScreening(In):
    instrument: str
    on: dt.date
    responses: dict[str, Any]


class ImportConsent(In):
    given: bool
    on: dt.date
    measure: str | None = None
    note: str | None = None


class ImportEnrolment(In):
    measure: str = "drug_treatment_court"
    started_on: dt.date
    planned_end: dt.date | None = None
    quadrant: inputs.Quadrant | None = None


class ImportTest(In):
    on: dt.date
    result: inputs.TestResult | Literal["scheduled"]
    method: inputs.Method | None = None
    kind: Literal["random", "for_cause"] = "random"
    substances: list[str] = []
    collected_at: dt.datetime | None = None


class ImportAttendance(In):
    on: dt.date
    status: inputs.AttendanceStatus
    kind: str = "treatment"
    note: str | None = None


class ImportHearing(In):
    on: dt.date
    status: inputs.HearingStatus = "held"
    minutes: int | None = Field(None, ge=0)
    note: str | None = None


class ImportResponse(In):
    on: dt.date
    kind: inputs.Kind
    type: str = Field(min_length=1)
    behaviour: inputs.Behaviour | None = None
    level: int | None = Field(None, ge=1)
    jail_days: int | None = Field(None, ge=1)
    test_on: dt.date | None = None
    completed_on: dt.date | None = None
    note: str | None = None


class ImportPhase(In):
    on: dt.date
    to: int = Field(ge=1)
    reason: str | None = None


class ImportExit(In):
    kind: inputs.ExitKind
    on: dt.date
    reason: str | None = None


class ImportParticipant(inputs.ParticipantIn):
    ref: str | None = None
    screenings: list[ImportScreening] = []
    consents: list[ImportConsent] = []
    enrolment: ImportEnrolment | None = None
    tests: list[ImportTest] = []
    attendance: list[ImportAttendance] = []
    hearings: list[ImportHearing] = []
    responses: list[ImportResponse] = []
    phases: list[ImportPhase] = []
    exit: ImportExit | None = None
    rearrests: list[inputs.RearrestIn] = []

    @model_validator(mode="after")
    def _needs_enrolment(self) -> ImportParticipant:
        if self.enrolment is None:
            for name in ("tests", "attendance", "hearings", "responses", "phases", "exit"):
                if getattr(self, name):
                    raise ValueError(f"{name}: events of a programme need an enrolment")
        return self


class ImportFile(In):
    format: Literal["divert-registry-import"]
    version: Literal[1]
    programmes: list[inputs.ProgrammeIn] = []
    participants: list[ImportParticipant]


def nest(exc: InputError, prefix: str) -> InputError:
    """The error with its place under `prefix` (`prefix.field: message`)."""
    text = str(exc)
    if exc.where and text.startswith(exc.where + ": "):
        return InputError(text[len(exc.where) + 2:], where=f"{prefix}.{exc.where}")
    if ": " in text and " " not in text.split(": ", 1)[0]:
        field, message = text.split(": ", 1)
        return InputError(message, where=f"{prefix}.{field}")
    return InputError(text, where=prefix)


def parse(data: Any, where: str) -> ImportFile:
    """Check an import file's structure; errors name the file and the field."""
    try:
        return inputs.validate(ImportFile, data)
    except InputError as exc:
        raise InputError(str(exc), where=where) from None


def import_data(tx: Tx, cipher: FieldCipher, plan: ImportFile,
                progress: Callable[[int, int], None] | None = None, every: int = 100
                ) -> dict[str, Any]:
    """Write everything in `plan` in the caller's transaction; returns refs, codes and counts."""
    counts: dict[str, int] = {}
    for i, prog in enumerate(plan.programmes):
        try:
            service.add_programme(tx, prog)
        except InputError as exc:
            raise nest(exc, f"programmes.{i}") from None
    rules: dict[str, tuple[dict[str, Any], court.ProgrammeRules]] = {}
    done = []
    total = len(plan.participants)
    for n, p in enumerate(plan.participants):
        where = f"participants.{n}"
        try:
            if p.programme not in rules:
                prog = service.programme(tx.conn, p.programme)
                rules[p.programme] = (prog, service.rules_of(prog))
            row = _one(tx, cipher, p, *rules[p.programme], counts)
        except InputError as exc:
            raise nest(exc, where) from None
        done.append({"ref": p.ref, "code": row["code"]})
        if progress and (n + 1) % every == 0:
            tx.chain.flush()
            progress(n + 1, total)
    counts["participants"] = total
    return {"participants": done, "counts": dict(sorted(counts.items()))}


def _count(counts: dict[str, int], table: str, n: int) -> None:
    counts[table] = counts.get(table, 0) + n


def _one(tx: Tx, cipher: FieldCipher, p: ImportParticipant, prog: dict[str, Any],
         rules: court.ProgrammeRules, counts: dict[str, int]) -> dict[str, Any]:
    from divert.advice.screening import score

    base = inputs.ParticipantIn.model_validate(p.model_dump(include=set(inputs.ParticipantIn.model_fields)))
    row = service.add_participant(tx, cipher, base)
    pid = row["id"]
    if p.case is not None:
        _count(counts, "cases", 1)
    screenings = []
    for i, s in enumerate(p.screenings):
        try:
            result = score(s.instrument, s.responses)
        except InputError as exc:
            raise InputError(str(exc), where=f"screenings.{i}") from None
        screenings.append({"participant_id": pid, "instrument": s.instrument,
                           "instrument_version": f"{s.instrument} as scored by divert (import)",
                           "administered_on": s.on, "responses": s.responses,
                           "result": result.to_json()})
    _count(counts, "screenings", len(tx.insert_many("screenings", screenings)))
    for i, c in enumerate(p.consents):
        if c.measure is not None and c.measure not in CATALOGUE:
            raise InputError(f"unknown measure {c.measure!r}", where=f"consents.{i}.measure")
    _count(counts, "consents", len(tx.insert_many("consents", [
        {"participant_id": pid, "measure": c.measure, "given": c.given, "day": c.on, "note": c.note}
        for c in p.consents])))
    _count(counts, "rearrests", len(tx.insert_many("rearrests", [
        {"participant_id": pid, "day": r.on, "offence_type": r.offence_type, "note": r.note}
        for r in p.rearrests])))
    if p.enrolment is None:
        return row
    _enrolment(tx, p, row, prog, rules, counts)
    return row


def _enrolment(tx: Tx, p: ImportParticipant, part: dict[str, Any], prog: dict[str, Any],
               rules: court.ProgrammeRules, counts: dict[str, int]) -> None:
    e = p.enrolment
    assert e is not None
    measure = CATALOGUE.get(e.measure)
    if measure is None or measure.kind != "alternative":
        raise InputError(f"unknown or not an alternative: {e.measure!r}", where="enrolment.measure")
    given = [c for c in p.consents if c.measure in (None, e.measure) and c.on <= e.started_on]
    if measure.involves_treatment and not (given and max(given, key=lambda c: c.on).given):
        raise InputError(f"no informed consent to {e.measure} on or before {e.started_on} in "
                         "consents", where="enrolment")
    phase, since = 1, e.started_on
    for i, ph in enumerate(sorted(p.phases, key=lambda x: x.on)):
        if ph.to > len(rules.phases):
            raise InputError(f"phase {ph.to} does not exist (the programme has {len(rules.phases)})",
                             where=f"phases.{i}.to")
        phase, since = ph.to, ph.on
    status = p.exit.kind if p.exit else "active"
    enr = tx.insert("enrolments", {
        "participant_id": part["id"], "programme_id": prog["id"], "measure": e.measure,
        "quadrant": e.quadrant, "phase": phase, "phase_since": since, "started_on": e.started_on,
        "planned_end": e.planned_end, "status": status, "ended_on": p.exit.on if p.exit else None,
        "end_reason": p.exit.reason if p.exit else None})
    tx.update("participants", part, {"status": status})
    eid = enr["id"]
    prev = 1
    changes = []
    for ph in sorted(p.phases, key=lambda x: x.on):
        changes.append({"enrolment_id": eid, "from_phase": prev, "to_phase": ph.to, "day": ph.on,
                        "reason": ph.reason or "imported"})
        prev = ph.to
    _count(counts, "phase_changes", len(tx.insert_many("phase_changes", changes)))
    answered = {r.test_on for r in p.responses if r.test_on and r.kind in ("sanction", "therapeutic")}
    phase_on = sorted((ph.on, ph.to) for ph in p.phases)
    if status != "active":
        for name in ("tests", "hearings"):
            for i, ev in enumerate(getattr(p, name)):
                if (ev.result if name == "tests" else ev.status) == "scheduled":
                    raise InputError("scheduled, but the enrolment has ended (exit)",
                                     where=f"{name}.{i}")
    tests = []
    for t in p.tests:
        ph = max([1] + [to for on, to in phase_on if on <= t.on])
        method = t.method or rules.phase(ph).test_method
        notified, due = court.due_window(rules, t.on, method)
        violation = t.result in court.VIOLATIONS
        tests.append({"enrolment_id": eid, "scheduled_on": t.on, "kind": t.kind, "method": method,
                      "phase": ph, "notified_at": notified, "due_by": due, "status": t.result,
                      "collected_at": t.collected_at, "substances": sorted(t.substances) or None,
                      "awaiting_response": violation and status == "active" and t.on not in answered})
    test_rows = tx.insert_many("drug_tests", tests)
    _count(counts, "drug_tests", len(test_rows))
    by_day = {t["scheduled_on"]: t["id"] for t in test_rows}
    _count(counts, "attendance", len(tx.insert_many("attendance", [
        {"enrolment_id": eid, "day": a.on, "kind": a.kind, "status": a.status, "note": a.note}
        for a in p.attendance])))
    _count(counts, "hearings", len(tx.insert_many("hearings", [
        {"enrolment_id": eid, "scheduled_on": h.on, "status": h.status,
         "held_on": h.on if h.status == "held" else None, "minutes": h.minutes, "note": h.note}
        for h in p.hearings])))
    responses = []
    for i, r in enumerate(p.responses):
        if r.test_on is not None and r.test_on not in by_day:
            raise InputError(f"no test on {r.test_on}", where=f"responses.{i}.test_on")
        done = r.completed_on is not None or r.kind != "sanction"
        responses.append({"enrolment_id": eid, "drug_test_id": by_day.get(r.test_on) if r.test_on
                          else None, "kind": r.kind, "type": r.type, "level": r.level,
                          "jail_days": r.jail_days, "behaviour": r.behaviour, "day": r.on,
                          "completed_on": r.completed_on or (None if r.kind == "sanction" else r.on),
                          "status": "completed" if done else "imposed", "note": r.note})
    _count(counts, "responses", len(tx.insert_many("responses", responses)))
