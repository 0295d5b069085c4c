"""The registry's operations: what each command does, on one transaction (`Tx`) or connection.

Every function that changes something takes a `Tx` and checks its input first, so a refused command
changes nothing. Participants are addressed by their pseudonymous code (`P-XXXXXXXX`); the
enrolment a command concerns is the participant's active one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select, text

from divert import __version__
from divert.errors import InputError
from divert.law.catalogue import CATALOGUE
from divert.registry import calendar, court, inputs
from divert.registry.crypto import FieldCipher
from divert.registry.freetext import open_rows
from divert.registry.models import AUDITED
from divert.registry.store import Tx

T = AUDITED
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
IDENTITY = ("name", "birth_date", "contact")


def today() -> dt.date:
    """Today, local date (dates and test windows are the programme's local wall-clock time)."""
    return dt.date.today()


def local_now() -> dt.datetime:
    """Now, local wall-clock time to the second (test windows are local; audit times are UTC)."""
    return dt.datetime.now().replace(microsecond=0)


# ---- look-ups -------------------------------------------------------------------------------------

Within = frozenset[int] | None  # the programme ids a caller may see; None: every programme


def _within(column: Any, within: Within) -> list[Any]:
    """The condition keeping rows of the programmes `within` (none when it is None)."""
    return [] if within is None else [column.in_(sorted(within))]


def _one(conn: Connection, table: str, **where: Any) -> dict[str, Any] | None:
    t = T[table]
    row = conn.execute(select(t).where(*[t.c[k] == v for k, v in where.items()])).mappings().first()
    return dict(row) if row else None


def programme(conn: Connection, code: str) -> dict[str, Any]:
    """The programme `code`; InputError naming the known ones when absent."""
    row = _one(conn, "programmes", code=code)
    if row is None:
        known = ", ".join(conn.execute(select(T["programmes"].c.code)).scalars()) or "none"
        raise InputError(f"programme: unknown {code!r}; known: {known}")
    return row


def rules_of(prog: Mapping[str, Any]) -> court.ProgrammeRules:
    return court.parse_rules(prog["rules"], where=f"programme {prog['code']}.rules")


def calendar_of(conn: Connection, programme_id: int) -> calendar.CourtCalendar:
    """The programme's court calendar: sitting weekdays (default Monday to Friday), closed days."""
    c, d = T["court_calendars"], T["closed_days"]
    row = conn.execute(select(c).where(c.c.programme_id == programme_id)).mappings().first()
    closed = conn.execute(select(d).where(d.c.programme_id == programme_id).order_by(d.c.day)
                          ).mappings().all()
    return calendar.from_rows(row, closed)


def participant(conn: Connection, code: str) -> dict[str, Any]:
    """The participant with pseudonymous `code`."""
    row = _one(conn, "participants", code=code.strip().upper())
    if row is None:
        raise InputError(f"participant: no participant {code!r} (codes look like P-7K2M9QXD)")
    return row


def active_enrolment(conn: Connection, part: Mapping[str, Any]) -> dict[str, Any]:
    """The participant's active enrolment; InputError when there is none."""
    t = T["enrolments"]
    row = conn.execute(select(t).where(t.c.participant_id == part["id"], t.c.status == "active")
                       .order_by(t.c.id.desc())).mappings().first()
    if row is None:
        raise InputError(f"participant: {part['code']} has no active enrolment; enrol them first")
    return dict(row)


def _rows(conn: Connection, table: str, **where: Any) -> list[dict[str, Any]]:
    t = T[table]
    q = select(t).where(*[t.c[k] == v for k, v in where.items()]).order_by(t.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def _get(tx: Tx, table: str, row_id: int, what: str) -> dict[str, Any]:
    row = tx.get(table, row_id)
    if row is None:
        raise InputError(f"{what}: no {table[:-1].replace('_', ' ')} with id {row_id}")
    return row


# ---- programmes and participants ------------------------------------------------------------------

def add_programme(tx: Tx, data: inputs.ProgrammeIn) -> tuple[dict[str, Any], list[str]]:
    """A new programme with checked rules and a fresh random schedule seed."""
    if _one(tx.conn, "programmes", code=data.code):
        raise InputError(f"code: programme {data.code!r} exists already")
    rules = court.parse_rules(data.rules, where="rules")
    row = tx.insert("programmes", {
        "code": data.code, "name": data.name, "jurisdiction": data.jurisdiction,
        "rules": rules.model_dump(mode="json"), "schedule_seed": secrets.randbits(62)})
    return row, rules.warnings()


def new_code(conn: Connection) -> str:
    """A fresh random pseudonymous code, P- and 8 Crockford base32 characters (40 bits)."""
    t = T["participants"]
    while True:
        code = "P-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
        if conn.execute(select(t.c.id).where(t.c.code == code)).first() is None:
            return code


def add_participant(tx: Tx, cipher: FieldCipher, data: inputs.ParticipantIn,
                    code: str | None = None) -> dict[str, Any]:
    """A new participant, identity encrypted; with their case when one is given."""
    prog = programme(tx.conn, data.programme)
    facts = _check_case(data.case, "case") if data.case is not None else None
    code = code or new_code(tx.conn)
    row = tx.insert("participants", {
        "code": code, "programme_id": prog["id"], "sex": data.sex, "status": "referred",
        "referred_on": data.referred_on or today(),
        "name_enc": cipher.encrypt(code, "name", data.name),
        "birth_date_enc": cipher.encrypt(code, "birth_date",
                                         data.birth_date.isoformat() if data.birth_date else None),
        "contact_enc": cipher.encrypt(code, "contact", data.contact)})
    if facts is not None:
        tx.insert("cases", {"participant_id": row["id"], "facts": facts,
                            "reference": data.case_reference})
    return row


def identity(cipher: FieldCipher, row: Mapping[str, Any]) -> dict[str, Any]:
    """The decrypted identifying fields of a participant."""
    return {f: cipher.decrypt(row["code"], f, row[f"{f}_enc"]) for f in IDENTITY}


def update_participant(tx: Tx, cipher: FieldCipher, code: str, data: inputs.ParticipantUpdate,
                       raw: Mapping[str, Any]) -> dict[str, Any]:
    """Change identity fields or sex, if the participant is still at the version read."""
    row = participant(tx.conn, code)
    changes: dict[str, Any] = {}
    given = data.model_dump(exclude_unset=True)
    for f in IDENTITY:
        if f in given:
            value = given[f].isoformat() if isinstance(given[f], dt.date) else given[f]
            changes[f"{f}_enc"] = cipher.encrypt(row["code"], f, value)
    if "sex" in given:
        changes["sex"] = given["sex"]
    return tx.update("participants", row, changes, data.version, raw)


def _check_case(facts: Mapping[str, Any], where: str) -> dict[str, Any]:
    from divert.advice.case import parse_case

    parse_case(dict(facts), where)
    return dict(facts)


def add_case(tx: Tx, code: str, data: inputs.CaseIn) -> dict[str, Any]:
    part = participant(tx.conn, code)
    return tx.insert("cases", {"participant_id": part["id"], "reference": data.reference,
                               "facts": _check_case(data.facts, "facts")})


def add_screening(tx: Tx, code: str, data: inputs.ScreeningIn) -> dict[str, Any]:
    """Score the responses as the instrument's manual says and keep both."""
    from divert.advice.screening import score

    part = participant(tx.conn, code)
    try:
        result = score(data.instrument, data.responses)
    except InputError as exc:
        raise InputError(str(exc), where="responses") from None
    return tx.insert("screenings", {
        "participant_id": part["id"], "instrument": data.instrument,
        "instrument_version": f"{data.instrument} as scored by divert {__version__}",
        "administered_on": data.on or today(), "responses": data.responses,
        "result": result.to_json()})


def snapshot_advice(tx: Tx, code: str, data: inputs.AdviceIn) -> dict[str, Any]:
    """Run divert's advice on the participant's case (with their screenings) and keep it all."""
    from divert.advice.case import parse_case
    from divert.advice.pathways import advise
    from divert.law import policy as policies

    part = participant(tx.conn, code)
    cases = _rows(tx.conn, "cases", participant_id=part["id"])
    if data.case_id is not None:
        cases = [c for c in cases if c["id"] == data.case_id]
    if not cases:
        raise InputError(f"case_id: {part['code']} has no such case; add one first (`registry case`, or "
                         "an assessment saved from the web)")
    case_row = cases[-1]
    facts = dict(case_row["facts"])
    screenings = {s["instrument"]: s["responses"]
                  for s in _rows(tx.conn, "screenings", participant_id=part["id"])}
    if screenings and "screening" not in facts:
        facts["screening"] = screenings
    pack = policies.load(data.jurisdiction)
    advice = advise(parse_case(facts, "case"), pack, None, data.on)
    payload = advice.to_json()
    return tx.insert("advice", {
        "participant_id": part["id"], "case_id": case_row["id"], "jurisdiction": pack.code,
        "pack_hash": pack.hash, "divert_version": __version__, "decided_for": advice.date,
        "quadrant": advice.triage.quadrant, "advice": payload})


def confirm_advice(tx: Tx, advice_id: int, data: inputs.ConfirmIn, raw: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """Record who confirmed the advice and the final decision people took."""
    row = _get(tx, "advice", advice_id, "advice")
    if data.decision not in CATALOGUE and data.decision != "none":
        raise InputError(f"decision: unknown measure {data.decision!r}; allowed: a catalogue id "
                         "(see `divert policy book`) or none")
    return tx.update("advice", row, {"confirmed_by": tx.actor, "confirmed_on": data.on or today(),
                                     "final_decision": data.decision, "decision_note": data.note},
                     data.version, raw)


def record_consent(tx: Tx, code: str, data: inputs.ConsentIn) -> dict[str, Any]:
    part = participant(tx.conn, code)
    if data.measure is not None and data.measure not in CATALOGUE:
        raise InputError(f"measure: unknown {data.measure!r}; allowed: a catalogue id")
    return tx.insert("consents", {"participant_id": part["id"], "measure": data.measure,
                                  "given": data.given, "day": data.on or today(), "note": data.note})


def consent_status(conn: Connection, part_id: int, measure: str) -> bool:
    """Whether the latest consent for `measure` (or for any measure) is given, not withdrawn."""
    rows = [c for c in _rows(conn, "consents", participant_id=part_id)
            if c["measure"] in (None, measure)]
    if not rows:
        return False
    latest = max(rows, key=lambda c: (c["day"], c["id"]))
    return bool(latest["given"])


# ---- enrolment, phases, exits ---------------------------------------------------------------------

def enrol(tx: Tx, code: str, data: inputs.EnrolIn) -> dict[str, Any]:
    """Enrol a participant in their programme in phase 1, with the first status hearing."""
    part = participant(tx.conn, code)
    measure = CATALOGUE.get(data.measure)
    if measure is None:
        raise InputError(f"measure: unknown {data.measure!r}; allowed: a catalogue id such as "
                         "drug_treatment_court, diversion_programme")
    if measure.kind != "alternative":
        raise InputError(f"measure: {data.measure} is {measure.kind}, not an alternative; the "
                         "registry enrols people in alternatives only")
    t = T["enrolments"]
    if tx.conn.execute(select(t.c.id).where(t.c.participant_id == part["id"],
                                            t.c.status == "active")).first():
        raise InputError(f"participant: {part['code']} is already enrolled")
    if measure.involves_treatment and not consent_status(tx.conn, part["id"], data.measure):
        raise InputError(f"consent: no informed consent to {data.measure} on record for "
                         f"{part['code']}; record consent first (`divert registry consent`, or the "
                         "participant's page)")
    quadrant = data.quadrant
    if quadrant is None:
        advice = _rows(tx.conn, "advice", participant_id=part["id"])
        quadrant = advice[-1]["quadrant"] if advice else None
    start = data.on or today()
    if data.planned_end is not None and data.planned_end <= start:
        raise InputError("planned_end: must be after the start")
    row = tx.insert("enrolments", {
        "participant_id": part["id"], "programme_id": part["programme_id"], "measure": data.measure,
        "quadrant": quadrant, "phase": 1, "phase_since": start, "started_on": start,
        "planned_end": data.planned_end, "status": "active"})
    tx.update("participants", part, {"status": "active"})
    rules = rules_of(_one(tx.conn, "programmes", id=part["programme_id"]) or {})
    first = calendar.hearing_days(calendar_of(tx.conn, part["programme_id"]),
                                  rules.phase(1).hearing_interval_days, start,
                                  start + dt.timedelta(days=120), today())[:1]
    for day in first:
        tx.insert("hearings", {"enrolment_id": row["id"], "scheduled_on": day})
    return row


def _history(conn: Connection, enrolment_id: int) -> tuple[list[dict[str, Any]], ...]:
    return (_rows(conn, "drug_tests", enrolment_id=enrolment_id),
            _rows(conn, "attendance", enrolment_id=enrolment_id),
            _rows(conn, "responses", enrolment_id=enrolment_id))


def check_promotion(conn: Connection, code: str, on: dt.date | None = None) -> dict[str, Any]:
    """The objective promotion (or graduation) criteria of the active enrolment, on a day."""
    part = participant(conn, code)
    enr = active_enrolment(conn, part)
    prog = _one(conn, "programmes", id=enr["programme_id"]) or {}
    tests, attendance, responses = _history(conn, enr["id"])
    out = court.promotion_check(rules_of(prog), enr, tests, attendance, responses, on or today())
    return {"participant": part["code"], **out}


def change_phase(tx: Tx, code: str, data: inputs.PhaseIn, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Promote to the next phase when the criteria are met (or on a recorded override), or return
    to an earlier phase with a reason (a remedial plan)."""
    part = participant(tx.conn, code)
    enr = active_enrolment(tx.conn, part)
    prog = _one(tx.conn, "programmes", id=enr["programme_id"]) or {}
    rules = rules_of(prog)
    on = data.on or today()
    target = data.to if data.to is not None else enr["phase"] + 1
    if target > len(rules.phases):
        raise InputError(f"to: phase {target} does not exist (the programme has "
                         f"{len(rules.phases)}); the final phase ends with `graduate`")
    if target == enr["phase"]:
        raise InputError(f"to: {part['code']} is in phase {target} already")
    criteria: dict[str, Any] | None = None
    if target > enr["phase"]:
        if target != enr["phase"] + 1:
            raise InputError(f"to: promotion is one phase at a time (from {enr['phase']} to "
                             f"{enr['phase'] + 1})")
        tests, attendance, responses = _history(tx.conn, enr["id"])
        criteria = court.promotion_check(rules, enr, tests, attendance, responses, on)
        _require(criteria, data.override, "phase promotion")
    elif not data.reason:
        raise InputError("reason: returning to an earlier phase needs a reason (the remedial plan "
                         "agreed with the participant)")
    reason = data.reason or ("override: " + data.override if data.override else "criteria met")
    tx.insert("phase_changes", {"enrolment_id": enr["id"], "from_phase": enr["phase"],
                                "to_phase": target, "day": on, "reason": reason,
                                "criteria": criteria})
    return tx.update("enrolments", enr, {"phase": target, "phase_since": on}, data.version, raw)


def _require(check: Mapping[str, Any], override: str | None, what: str) -> None:
    unmet = [c for c in check["criteria"] if not c["met"]]
    if unmet and not override:
        listed = "; ".join(f"{c['name']} {c['actual']} (needs {c['required']})" for c in unmet)
        raise InputError(f"criteria: {what} not met: {listed}; to decide otherwise, give an "
                         "override reason (--override; recorded)")


def end_enrolment(tx: Tx, code: str, kind: str, data: inputs.ExitIn, raw: Mapping[str, Any]
                  ) -> dict[str, Any]:
    """Graduate (final phase, criteria met or overridden), terminate or withdraw."""
    part = participant(tx.conn, code)
    enr = active_enrolment(tx.conn, part)
    on = data.on or today()
    if on < enr["started_on"]:
        raise InputError("on: before the enrolment started")
    if kind == "graduated":
        rules = rules_of(_one(tx.conn, "programmes", id=enr["programme_id"]) or {})
        if enr["phase"] < len(rules.phases) and not data.override:
            raise InputError(f"phase: {part['code']} is in phase {enr['phase']} of "
                             f"{len(rules.phases)}; graduation is from the final phase")
        tests, attendance, responses = _history(tx.conn, enr["id"])
        _require(court.promotion_check(rules, enr, tests, attendance, responses, on), data.override,
                 "graduation")
    elif not data.reason:
        raise InputError(f"reason: {kind[:-1].replace('terminate', 'termination')} needs a reason")
    reason = data.reason or ("override: " + data.override if data.override else None)
    row = tx.update("enrolments", enr, {"status": kind, "ended_on": on, "end_reason": reason},
                    data.version, raw)
    tx.update("participants", part, {"status": kind})
    # Nothing stays open for an enrolment that ended: hearings are cancelled, tests not yet due are
    # withdrawn, tests still open on or before the end are excused, none awaits a response. (The
    # daily dashboard counts open tests without looking at enrolments because of this.)
    hearings = T["hearings"]
    open_hearings = tx.conn.execute(select(hearings).where(
        hearings.c.enrolment_id == enr["id"], hearings.c.status == "scheduled")).mappings().all()
    tx.update_many("hearings", [(h, {"status": "cancelled"}) for h in open_hearings])
    tests = T["drug_tests"]
    open_tests = tx.conn.execute(select(tests).where(
        tests.c.enrolment_id == enr["id"],
        (tests.c.status == "scheduled") | tests.c.awaiting_response.is_(True))).mappings().all()
    excused = []
    for t in open_tests:
        if t["status"] == "scheduled" and t["scheduled_on"] > on:
            tx.delete("drug_tests", t)
        else:
            if t["status"] == "scheduled":
                excused.append(t)
            tx.update("drug_tests", t, {"status": "excused" if t["status"] == "scheduled"
                                        else t["status"], "awaiting_response": False})
    tx.insert_many("test_results", _history_entries(excused, "excused", f"enrolment {kind}",
                                                    tx.actor, tx.now), keep=False)
    # treatment sessions booked and not recorded: withdrawn after the end, excused up to it
    att = T["attendance"]
    for s in tx.conn.execute(select(att).where(att.c.enrolment_id == enr["id"],
                                               att.c.status == "scheduled")).mappings().all():
        if s["day"] > on:
            tx.delete("attendance", s)
        else:
            tx.update("attendance", s, {"status": "excused"})
    return row


def record_rearrest(tx: Tx, code: str, data: inputs.RearrestIn) -> dict[str, Any]:
    part = participant(tx.conn, code)
    return tx.insert("rearrests", {"participant_id": part["id"], "day": data.on,
                                   "offence_type": data.offence_type, "note": data.note})


def record_attendance(tx: Tx, code: str, data: inputs.AttendanceIn) -> dict[str, Any]:
    enr = active_enrolment(tx.conn, participant(tx.conn, code))
    return tx.insert("attendance", {"enrolment_id": enr["id"], "day": data.on or today(),
                                    "kind": data.kind, "status": data.status, "note": data.note})


# ---- drug tests -----------------------------------------------------------------------------------

#: how far ahead hearings may be booked (they are booked on as the programme goes)
HEARINGS_AHEAD_DAYS = 3 * 366


def schedule_tests(tx: Tx, prog_code: str, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Draw random tests for every active enrolment of a programme, day by day, in [first, last].

    Days that already have a random test for an enrolment are left as they are, so running it
    twice over the same range adds nothing; each draw can be re-derived from the recorded seed.
    """
    if last < first:
        raise InputError("to: the range ends before it starts")
    if (last - first).days > 366:
        raise InputError("to: schedule at most a year at a time")
    calendar.not_in_past(first, today(), "from", "drug tests")
    prog = programme(tx.conn, prog_code)
    rules = rules_of(prog)
    e = T["enrolments"]
    enr = tx.conn.execute(select(e.c.id, e.c.phase, e.c.started_on).where(
        e.c.programme_id == prog["id"], e.c.status == "active").order_by(e.c.id)).all()
    total = 0
    t = T["drug_tests"]
    if enr:
        ids = np.array([r.id for r in enr], dtype=np.int64)
        phases = {r.id: r.phase for r in enr}
        started = {r.id: r.started_on.toordinal() for r in enr}
        rates = np.array([rules.phase(r.phase).tests_per_week for r in enr])
        hit_ids, hit_days = court.drawn_days(prog["schedule_seed"], ids, rates, first, last)
        by_day = np.argsort(hit_days, kind="stable")  # a day's tests side by side on disk
        hit_ids, hit_days = hit_ids[by_day], hit_days[by_day]
        existing = set(tx.conn.execute(select(t.c.enrolment_id, t.c.scheduled_on).where(
            t.c.scheduled_on.between(first, last), t.c.kind == "random",
            t.c.enrolment_id.in_(select(e.c.id).where(e.c.programme_id == prog["id"],
                                                      e.c.status == "active")))).all())
        windows: dict[tuple[int, str], tuple[dt.datetime, dt.datetime]] = {}
        rows: list[dict[str, Any]] = []
        for eid, ordinal in zip(hit_ids.tolist(), hit_days.tolist(), strict=True):
            if ordinal < started[eid]:
                continue
            day = dt.date.fromordinal(ordinal)
            if (eid, day) in existing:
                continue
            phase = phases[eid]
            method = rules.phase(phase).test_method
            key = (ordinal, method)
            if key not in windows:
                windows[key] = court.due_window(rules, day, method)
            notified, due = windows[key]
            rows.append({"enrolment_id": eid, "scheduled_on": day, "kind": "random", "method": method,
                         "phase": phase, "notified_at": notified, "due_by": due,
                         "status": "scheduled", "awaiting_response": False})
            if len(rows) >= 20000:
                total += len(rows)
                tx.insert_many("drug_tests", rows, keep=False)
                rows = []
        total += len(rows)
        tx.insert_many("drug_tests", rows, keep=False)
        if total > 10000 and tx.conn.dialect.name == "postgresql":
            tx.conn.execute(text("ANALYZE drug_tests"))  # the planner learns of the new open tests
    run = tx.insert("schedule_runs", {"programme_id": prog["id"], "first_day": first, "last_day": last,
                                      "seed": prog["schedule_seed"], "enrolments": len(enr),
                                      "tests": total})
    return {"programme": prog["code"], "from": first.isoformat(), "to": last.isoformat(),
            "enrolments": len(enr), "tests": total, "seed": prog["schedule_seed"], "run": run["id"]}


def add_test(tx: Tx, code: str, data: inputs.DrugTestIn) -> dict[str, Any]:
    """A test outside the random schedule (for cause), due in the usual window."""
    enr = active_enrolment(tx.conn, participant(tx.conn, code))
    rules = rules_of(_one(tx.conn, "programmes", id=enr["programme_id"]) or {})
    day = data.on or today()
    calendar.not_in_past(day, today(), "on", "a drug test")
    method = data.method or rules.phase(enr["phase"]).test_method
    notified, due = court.due_window(rules, day, method)
    return tx.insert("drug_tests", {"enrolment_id": enr["id"], "scheduled_on": day, "kind": data.kind,
                                    "method": method, "phase": enr["phase"], "notified_at": notified,
                                    "due_by": due, "status": "scheduled",
                                    "awaiting_response": False})


#: results read from a sample that wait for confirmation (an admission, a lab) by default
PENDING_BY_DEFAULT = ("positive", "dilute", "adulterated", "collected")


def default_state(result: str) -> str:
    """The state a result starts in when none is given: readings of a sample are pending
    confirmation; a negative, a missed, refused or excused test is confirmed as recorded."""
    return "pending" if result in PENDING_BY_DEFAULT else "confirmed"


def _responded(conn: Connection, test_ids: Sequence[int]) -> set[int]:
    """Tests that a sanction or therapeutic adjustment has answered already."""
    r = T["responses"]
    if not test_ids:
        return set()
    return set(conn.execute(select(r.c.drug_test_id).where(
        r.c.drug_test_id.in_(list(test_ids)), r.c.kind.in_(("sanction", "therapeutic")),
        r.c.status != "cancelled")).scalars())


def latest_results(conn: Connection, test_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The latest result history entry of each test (tests with none are absent)."""
    h = T["test_results"]
    out: dict[int, dict[str, Any]] = {}
    ids = list(test_ids)
    for start in range(0, len(ids), 2000):
        chunk = ids[start:start + 2000]
        rows = conn.execute(select(h).where(h.c.drug_test_id.in_(chunk)).order_by(h.c.id)).mappings()
        for row in rows:
            out[row["drug_test_id"]] = dict(row)
    return out


def histories(conn: Connection, test_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The result history of each test (oldest entry first), reasons decrypted."""
    h = T["test_results"]
    out: dict[int, list[dict[str, Any]]] = {}
    ids = list(test_ids)
    for start in range(0, len(ids), 2000):
        rows = conn.execute(select(h).where(h.c.drug_test_id.in_(ids[start:start + 2000]))
                            .order_by(h.c.id)).mappings()
        for row in open_rows(conn, "test_results", rows):
            out.setdefault(row["drug_test_id"], []).append(row)
    return out


def result_history(conn: Connection, test_id: int) -> list[dict[str, Any]]:
    """Every result recorded for a test, oldest first, reasons decrypted (who, when, why)."""
    h = T["test_results"]
    rows = conn.execute(select(h).where(h.c.drug_test_id == test_id).order_by(h.c.id)).mappings()
    return open_rows(conn, "test_results", rows)


def record_results(tx: Tx, items: Sequence[inputs.ResultIn], raw: Sequence[Mapping[str, Any]]
                   ) -> list[dict[str, Any]]:
    """Record test results in one go; each test must still be at the version read (if given).

    Each result is a new entry of the test's history (result, state, who, when, why); nothing is
    overwritten. Changing a recorded result or its state needs a reason; recording the same
    result and state again changes nothing."""
    t = T["drug_tests"]
    wanted = [i.test for i in items]
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 2000):
        chunk = wanted[start:start + 2000]
        found |= {r["id"]: dict(r) for r in tx.conn.execute(select(t).where(t.c.id.in_(chunk)))
                  .mappings()}
    latest = latest_results(tx.conn, list(found))
    responded = _responded(tx.conn, list(found))
    pairs, entries, slots = [], [], []
    for n, (item, data) in enumerate(zip(items, raw, strict=True)):
        row = found.get(item.test)
        where = f"results.{n}" if len(items) > 1 else "test"
        if row is None:
            raise InputError(f"{where}: no drug test with id {item.test}")
        if item.version is not None and row["version"] != item.version:
            from divert.registry.store import ConflictError

            raise ConflictError("drug_tests", row["id"], item.version, row, data)
        if item.result == "positive" and not item.substances:
            raise InputError(f"{where}.substances: a positive result needs the substances found")
        state = item.state or default_state(item.result)
        substances = sorted(item.substances) or None
        last = latest.get(row["id"])
        recorded = last is not None or row["status"] != "scheduled"
        before = ((last["result"], last["state"], last["substances"]) if last is not None
                  else (row["status"], None, row["substances"]))
        if recorded and before == (item.result, state, substances):
            slots.append(row)
            continue
        if recorded and not item.reason:
            was = before[0] + (f" ({before[1].replace('_', '-')})" if before[1] else "")
            raise InputError(f"{where}.reason: test {row['id']} is recorded as {was}; changing a "
                             "recorded result or its state needs a reason (kept in its history)")
        collected = item.collected_at
        if collected is not None and collected.tzinfo is not None:
            collected = collected.astimezone(dt.UTC).replace(tzinfo=None)
        if collected is None and item.result not in ("missed", "excused", "refused"):
            collected = row["collected_at"] or local_now()
        slots.append(None)
        pairs.append((row, {"status": item.result, "collected_at": collected,
                            "substances": substances,
                            "awaiting_response": item.result in court.VIOLATIONS
                            and row["id"] not in responded}))
        entries.append({"drug_test_id": row["id"], "result": item.result, "state": state,
                        "substances": substances, "collected_at": collected,
                        "reason": item.reason, "recorded_by": tx.actor, "recorded_at": tx.now})
    tx.insert_many("test_results", entries, keep=False)
    changed = iter(tx.update_many("drug_tests", pairs))
    return [done if done is not None else next(changed) for done in slots]


def _history_entries(rows: Sequence[Mapping[str, Any]], result: str, reason: str, actor: str,
                     now: dt.datetime) -> list[dict[str, Any]]:
    return [{"drug_test_id": r["id"], "result": result, "state": "confirmed", "substances": None,
             "collected_at": None, "reason": reason, "recorded_by": actor, "recorded_at": now}
            for r in rows]


def close_missed(tx: Tx, now: dt.datetime, within: Within = None) -> int:
    """Mark every scheduled test whose window has closed as missed (awaiting a response), in the
    programmes `within` (None: every programme)."""
    t, e = T["drug_tests"], T["enrolments"]
    q = select(t).where(text("drug_tests.status = 'scheduled'"), t.c.due_by < now)
    if within is not None:
        q = q.where(t.c.enrolment_id.in_(select(e.c.id).where(*_within(e.c.programme_id, within))))
    rows = tx.conn.execute(q).mappings().all()
    tx.update_many("drug_tests", [(r, {"status": "missed", "awaiting_response": True}) for r in rows])
    tx.insert_many("test_results", _history_entries(rows, "missed", "window closed with no sample",
                                                    tx.actor, tx.now), keep=False)
    return len(rows)


# ---- responses ------------------------------------------------------------------------------------

def suggest_response(conn: Connection, code: str, behaviour: str | None = None,
                     test_id: int | None = None, on: dt.date | None = None) -> dict[str, Any]:
    """What the programme's schedule suggests for a behaviour (or for a test's result)."""
    part = participant(conn, code)
    enr = active_enrolment(conn, part)
    rules = rules_of(_one(conn, "programmes", id=enr["programme_id"]) or {})
    tests, _, responses = _history(conn, enr["id"])
    if test_id is not None:
        test = next((t for t in tests if t["id"] == test_id), None)
        if test is None:
            raise InputError(f"test: {part['code']} has no test {test_id}")
        behaviour = court.behaviour_of_test(test["status"])
        on = on or test["scheduled_on"]
    if behaviour is None:
        raise InputError("behaviour: give a behaviour or --test; allowed: "
                         + ", ".join(court.BEHAVIOURS))
    out = court.suggest(rules, enr["phase"], behaviour, responses, tests, on or today())
    return {"participant": part["code"], **out}


def add_response(tx: Tx, code: str, data: inputs.ResponseIn) -> tuple[dict[str, Any], list[str]]:
    """Record an incentive, sanction or therapeutic adjustment (apart from sanctions)."""
    part = participant(tx.conn, code)
    enr = active_enrolment(tx.conn, part)
    rules = rules_of(_one(tx.conn, "programmes", id=enr["programme_id"]) or {})
    warnings = []
    if data.jail_days is not None and data.kind != "sanction":
        raise InputError(f"jail_days: only a sanction can be a jail sanction, not a {data.kind}")
    if data.kind == "therapeutic" and data.level is not None:
        raise InputError("level: therapeutic adjustments are clinical, not rungs of a ladder")
    warning = court.jail_warning(rules, data.jail_days)
    if warning:
        warnings.append(warning)
    test = None
    if data.test is not None:
        test = tx.get("drug_tests", data.test)
        if test is None or test["enrolment_id"] != enr["id"]:
            raise InputError(f"test: {part['code']} has no test {data.test}")
    status = "completed" if data.completed_on or data.kind != "sanction" else "imposed"
    row = tx.insert("responses", {
        "enrolment_id": enr["id"], "drug_test_id": data.test, "kind": data.kind, "type": data.type,
        "level": data.level, "jail_days": data.jail_days, "behaviour": data.behaviour,
        "day": data.on or today(), "completed_on": data.completed_on or (
            None if data.kind == "sanction" else data.on or today()),
        "status": status, "note": data.note})
    if test is not None and test["awaiting_response"] and data.kind in ("sanction", "therapeutic"):
        tx.update("drug_tests", test, {"awaiting_response": False})
    return row, warnings


def complete_response(tx: Tx, response_id: int, on: dt.date | None, cancel: bool = False,
                      version: int | None = None, raw: Mapping[str, Any] | None = None
                      ) -> dict[str, Any]:
    """Mark a sanction completed (or cancelled): it is no longer pending."""
    row = _get(tx, "responses", response_id, "response")
    if row["status"] != "imposed":
        raise InputError(f"response: {response_id} is {row['status']}, not pending")
    return tx.update("responses", row, {"status": "cancelled" if cancel else "completed",
                                        "completed_on": on or today()}, version, raw)


# ---- hearings -------------------------------------------------------------------------------------

def schedule_hearings(tx: Tx, prog_code: str, until: dt.date) -> dict[str, Any]:
    """Add status hearings for every active enrolment up to `until`, at its phase's interval."""
    latest = today() + dt.timedelta(days=HEARINGS_AHEAD_DAYS)
    if until > latest:
        raise InputError(f"until: at most {HEARINGS_AHEAD_DAYS} days ahead ({latest}); hearings "
                         "are booked on as the programme goes")
    calendar.not_in_past(until, today(), "until", "hearings")
    prog = programme(tx.conn, prog_code)
    rules = rules_of(prog)
    cal = calendar_of(tx.conn, prog["id"])
    e, h = T["enrolments"], T["hearings"]
    last = (select(h.c.enrolment_id, func.max(h.c.scheduled_on).label("last"))
            .where(h.c.status != "cancelled").group_by(h.c.enrolment_id).subquery())
    rows = tx.conn.execute(select(e.c.id, e.c.phase, e.c.phase_since, e.c.started_on, last.c.last)
                           .outerjoin(last, last.c.enrolment_id == e.c.id)
                           .where(e.c.programme_id == prog["id"], e.c.status == "active")).all()
    new = []
    for r in rows:
        start = max(d for d in (r.last, r.phase_since, r.started_on) if d is not None)
        interval = rules.phase(r.phase).hearing_interval_days
        for day in calendar.hearing_days(cal, interval, start, until, today()):
            new.append({"enrolment_id": r.id, "scheduled_on": day, "status": "scheduled"})
    tx.insert_many("hearings", new)
    return {"programme": prog["code"], "until": until.isoformat(), "enrolments": len(rows),
            "hearings": len(new)}


def record_hearing(tx: Tx, data: inputs.HearingIn, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Record a hearing held, missed or cancelled; a held or missed one books the next."""
    row = _get(tx, "hearings", data.hearing, "hearing")
    held_on = data.held_on or (row["scheduled_on"] if data.status == "held" else None)
    out = tx.update("hearings", row, {"status": data.status, "held_on": held_on,
                                      "minutes": data.minutes, "note": data.note}, data.version, raw)
    enr = tx.get("enrolments", row["enrolment_id"])
    if enr and enr["status"] == "active" and data.status in ("held", "missed"):
        h = T["hearings"]
        later = tx.conn.execute(select(h.c.id).where(h.c.enrolment_id == enr["id"],
                                                     h.c.scheduled_on > row["scheduled_on"],
                                                     h.c.status == "scheduled")).first()
        if later is None:
            rules = rules_of(_one(tx.conn, "programmes", id=enr["programme_id"]) or {})
            base = held_on or row["scheduled_on"]
            nxt = calendar.hearing_days(calendar_of(tx.conn, enr["programme_id"]),
                                        rules.phase(enr["phase"]).hearing_interval_days, base,
                                        base + dt.timedelta(days=120), today())[:1]
            for day in nxt:
                tx.insert("hearings", {"enrolment_id": enr["id"], "scheduled_on": day})
    return out


# ---- reading: timeline and dashboard --------------------------------------------------------------

def timeline(conn: Connection, code: str) -> dict[str, Any]:
    """Everything recorded about a participant (never their identity), in date order."""
    from divert.registry.audit import image

    part = participant(conn, code)
    events: list[dict[str, Any]] = []

    def add(day: Any, what: str, table: str, row: Mapping[str, Any], **detail: Any) -> None:
        events.append({"date": day.isoformat() if day else None, "event": what, "table": table,
                       "id": row["id"], "version": row["version"], **detail})

    pid = part["id"]
    for c in open_rows(conn, "cases", _rows(conn, "cases", participant_id=pid)):
        add(None, "case", "cases", c, reference=c["reference"], facts=c["facts"])
    for s in _rows(conn, "screenings", participant_id=pid):
        add(s["administered_on"], "screening", "screenings", s, instrument=s["instrument"],
            result=s["result"])
    for a in _rows(conn, "advice", participant_id=pid):
        rec = {s["stage"]: s["recommended"] for s in a["advice"].get("stages", [])}
        add(a["decided_for"], "advice", "advice", a, jurisdiction=a["jurisdiction"],
            quadrant=a["quadrant"], recommended=rec, pack_hash=a["pack_hash"],
            confirmed_by=a["confirmed_by"], final_decision=a["final_decision"])
    for c in _rows(conn, "consents", participant_id=pid):
        add(c["day"], "consent given" if c["given"] else "consent withdrawn", "consents", c,
            measure=c["measure"])
    for r in _rows(conn, "rearrests", participant_id=pid):
        add(r["day"], "rearrest", "rearrests", r, offence_type=r["offence_type"])
    for e in open_rows(conn, "enrolments", _rows(conn, "enrolments", participant_id=pid)):
        add(e["started_on"], "enrolled", "enrolments", e, measure=e["measure"], quadrant=e["quadrant"],
            phase=e["phase"], status=e["status"], planned_end=_iso(e["planned_end"]))
        if e["ended_on"]:
            add(e["ended_on"], e["status"], "enrolments", e, reason=e["end_reason"])
        for p in open_rows(conn, "phase_changes", _rows(conn, "phase_changes", enrolment_id=e["id"])):
            add(p["day"], "phase change", "phase_changes", p, from_phase=p["from_phase"],
                to_phase=p["to_phase"], reason=p["reason"])
        for a in _rows(conn, "attendance", enrolment_id=e["id"]):
            add(a["day"], "attendance", "attendance", a, kind=a["kind"], status=a["status"])
        for t in _rows(conn, "drug_tests", enrolment_id=e["id"]):
            add(t["scheduled_on"], "drug test", "drug_tests", t, kind=t["kind"], method=t["method"],
                status=t["status"], due_by=_iso(t["due_by"]), substances=t["substances"],
                awaiting_response=t["awaiting_response"])
        for h in _rows(conn, "hearings", enrolment_id=e["id"]):
            add(h["scheduled_on"], "status hearing", "hearings", h, status=h["status"],
                held_on=_iso(h["held_on"]))
        for r in _rows(conn, "responses", enrolment_id=e["id"]):
            add(r["day"], r["kind"], "responses", r, type=r["type"], behaviour=r["behaviour"],
                jail_days=r["jail_days"], test=r["drug_test_id"], status=r["status"])
    events.sort(key=lambda ev: (ev["date"] or "", ev["table"], ev["id"]))
    info = image(T["participants"], part)
    for f in IDENTITY:
        info.pop(f"{f}_enc")
    return {"participant": info, "events": events}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def dashboard(conn: Connection, day: dt.date, now: dt.datetime, prog_code: str | None = None,
              limit: int = 200, offset: int = 0, within: Within = None) -> dict[str, Any]:
    """The day's work: who is due to test, whose window closed with no sample, who needs a
    response, which hearings sit today. Counts are complete; each list holds `limit` rows from
    `offset` (0: all), in deadline order (tests by due time, then id)."""
    if conn.dialect.name == "postgresql":
        # small index scans by design: no JIT compilation or parallel workers (their start-up
        # costs more than the scans; estimates on a fresh month of tests invite both)
        conn.execute(text("SET LOCAL jit = off"))
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    t, e, p, h = T["drug_tests"], T["enrolments"], T["participants"], T["hearings"]
    # Open tests, tests awaiting a response and scheduled hearings belong to active enrolments only
    # (`end_enrolment` closes them), so the counts read the small partial indexes alone; the
    # enrolments are joined for the listed rows (to name the participant) or a programme's scope.
    scope = _within(e.c.programme_id, within)
    if prog_code is not None:
        scope.append(e.c.programme_id == programme(conn, prog_code)["id"])
    joined = t.join(e, e.c.id == t.c.enrolment_id)
    # literal predicates, the same as the partial indexes' (a bound parameter would not use them)
    open_ = text("drug_tests.status = 'scheduled'")
    where = {
        "due": (t.c.scheduled_on == day, open_, t.c.due_by >= now),
        "missed": (open_, t.c.due_by < now),
        "needs_response": (text("drug_tests.awaiting_response"),),
    }
    order = {"due": (t.c.due_by, t.c.id), "missed": (t.c.due_by, t.c.id),
             "needs_response": (t.c.scheduled_on, t.c.id)}
    out: dict[str, Any] = {"date": day.isoformat(), "now": now.isoformat(timespec="seconds"),
                           "counts": {}, "limit": limit, "offset": offset}
    for key, cond in where.items():
        out["counts"][key] = conn.execute(select(func.count()).select_from(joined if scope else t)
                                          .where(*cond, *scope)).scalar_one()
        q = (select(p.c.code, t.c.id, t.c.scheduled_on, t.c.method, t.c.due_by, t.c.status)
             .select_from(joined.join(p, p.c.id == e.c.participant_id))
             .where(*cond, *scope).order_by(*order[key]).offset(offset))
        if limit:
            q = q.limit(limit)
        out[key] = [{"participant": c, "test": i, "day": _iso_text(d), "method": m,
                     "due_by": _iso_text(b), "status": st} for c, i, d, m, b, st in conn.execute(q)]
    hjoin = h.join(e, e.c.id == h.c.enrolment_id)
    hcond = (h.c.scheduled_on == day, h.c.status == "scheduled", *scope)
    out["counts"]["hearings"] = conn.execute(select(func.count()).select_from(hjoin if scope else h)
                                             .where(*hcond)).scalar_one()
    hq = (select(p.c.code, h.c.id).select_from(hjoin.join(p, p.c.id == e.c.participant_id))
          .where(*hcond).order_by(h.c.id).offset(offset))
    if limit:
        hq = hq.limit(limit)
    out["hearings"] = [{"participant": c, "hearing": i} for c, i in conn.execute(hq)]
    return out


def _iso_text(value: Any) -> str:
    """ISO text of a date or datetime (to the second)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


# ---- lists for the web application ----------------------------------------------------------------

PARTICIPANT_STATUSES = ("referred", "active", "graduated", "terminated", "withdrawn")
NOTE_KINDS = ("clinical",)


def registry_cipher(reg: Any) -> FieldCipher:
    """The field cipher of registry `reg` (a `store.Registry`): the configured key, refused when it
    is not the key the registry was initialised with."""
    from divert.registry.crypto import KeyProblem, key_check, load_key

    key, source = load_key()
    with reg.read() as conn:
        stored = reg.meta(conn).get("key_check")
    if stored is not None and stored != key_check(key):
        raise KeyProblem(f"{source}: not this registry's key (the registry was initialised with "
                         "another one)")
    return FieldCipher(key)


def list_participants(conn: Connection, *, status: str | None = None, phase: int | None = None,
                      programme_code: str | None = None, code: str | None = None, limit: int = 50,
                      offset: int = 0, within: Within = None) -> dict[str, Any]:
    """Participants (never their identity) with their active enrolment, filtered: `status`, `phase`
    of the active enrolment, `programme_code`, `code` (part of the pseudonymous code). The total is
    complete; `rows` holds `limit` rows from `offset` (0: all), in referral order."""
    if status is not None and status not in PARTICIPANT_STATUSES:
        raise InputError(f"status: unknown {status!r}; allowed: {', '.join(PARTICIPANT_STATUSES)}")
    p, e, g = T["participants"], T["enrolments"], T["programmes"]
    joined = p.join(g, g.c.id == p.c.programme_id).outerjoin(
        e, (e.c.participant_id == p.c.id) & (e.c.status == "active"))
    cond = _within(p.c.programme_id, within)
    if status is not None:
        cond.append(p.c.status == status)
    if phase is not None:
        cond.append(e.c.phase == phase)
    if programme_code:
        cond.append(p.c.programme_id == programme(conn, programme_code)["id"])
    if code:
        cond.append(p.c.code.contains(code.strip().upper(), autoescape=True))
    total = conn.execute(select(func.count()).select_from(joined).where(*cond)).scalar_one()
    q = (select(p.c.id, p.c.code, p.c.status, p.c.sex, p.c.referred_on, p.c.version,
                g.c.code.label("programme"), e.c.id.label("enrolment"), e.c.phase, e.c.phase_since,
                e.c.started_on, e.c.measure, e.c.quadrant)
         .select_from(joined).where(*cond).order_by(p.c.id).offset(offset))
    if limit:
        q = q.limit(limit)
    return {"total": total, "limit": limit, "offset": offset,
            "rows": [dict(r) for r in conn.execute(q).mappings()]}


def tests_on(conn: Connection, day: dt.date, programme_code: str | None = None, limit: int = 0,
             offset: int = 0, within: Within = None) -> dict[str, Any]:
    """The testing calendar of a day: every test scheduled on it (any status), by due time."""
    t, e, p = T["drug_tests"], T["enrolments"], T["participants"]
    joined = t.join(e, e.c.id == t.c.enrolment_id).join(p, p.c.id == e.c.participant_id)
    cond = [t.c.scheduled_on == day, *_within(e.c.programme_id, within)]
    if programme_code:
        cond.append(e.c.programme_id == programme(conn, programme_code)["id"])
    total = conn.execute(select(func.count()).select_from(joined).where(*cond)).scalar_one()
    q = (select(t, p.c.code.label("participant")).select_from(joined).where(*cond)
         .order_by(t.c.due_by, t.c.id).offset(offset))
    if limit:
        q = q.limit(limit)
    return {"date": day.isoformat(), "total": total, "limit": limit, "offset": offset,
            "rows": [dict(r) for r in conn.execute(q).mappings()]}


def _enrolment_event(conn: Connection, table: str, row_id: int, missing: str) -> dict[str, Any]:
    """One row of a table keyed by enrolment, with its participant's code; InputError if absent."""
    t, e, p = T[table], T["enrolments"], T["participants"]
    row = conn.execute(select(t, p.c.code.label("participant"),
                              e.c.programme_id.label("programme_id"))
                       .select_from(t.join(e, e.c.id == t.c.enrolment_id)
                                    .join(p, p.c.id == e.c.participant_id))
                       .where(t.c.id == row_id)).mappings().first()
    if row is None:
        raise InputError(missing)
    return open_rows(conn, table, [row])[0]


def drug_test_row(conn: Connection, test_id: int) -> dict[str, Any]:
    """One drug test with its participant's code; InputError when there is none."""
    return _enrolment_event(conn, "drug_tests", test_id, f"test: no drug test with id {test_id}")


def hearings_on(conn: Connection, day: dt.date, programme_code: str | None = None,
                within: Within = None) -> list[dict[str, Any]]:
    """The status hearings of a day (any status), with each participant's code and phase."""
    h, e, p = T["hearings"], T["enrolments"], T["participants"]
    cond = [h.c.scheduled_on == day, *_within(e.c.programme_id, within)]
    if programme_code:
        cond.append(e.c.programme_id == programme(conn, programme_code)["id"])
    q = (select(h, p.c.code.label("participant"), p.c.id.label("participant_id"),
                e.c.phase, e.c.status.label("enrolment_status"))
         .select_from(h.join(e, e.c.id == h.c.enrolment_id).join(p, p.c.id == e.c.participant_id))
         .where(*cond).order_by(h.c.id))
    return open_rows(conn, "hearings", conn.execute(q).mappings())


def hearing_row(conn: Connection, hearing_id: int) -> dict[str, Any]:
    """One hearing with its participant's code; InputError when there is none."""
    return _enrolment_event(conn, "hearings", hearing_id, f"hearing: no hearing with id {hearing_id}")


# ---- notes ----------------------------------------------------------------------------------------

def add_note(tx: Tx, cipher: FieldCipher, code: str, text_: str, kind: str = "clinical"
             ) -> dict[str, Any]:
    """A note on a participant, its text encrypted (bound to the participant's code); the author is
    the transaction's actor."""
    if kind not in NOTE_KINDS:
        raise InputError(f"kind: unknown {kind!r}; allowed: {', '.join(NOTE_KINDS)}")
    if not text_.strip():
        raise InputError("text: empty; write the note")
    part = participant(tx.conn, code)
    return tx.insert("notes", {"participant_id": part["id"], "kind": kind,
                               "text_enc": cipher.encrypt(part["code"], "note", text_),
                               "author": tx.actor, "written_at": tx.now})


def notes_of(conn: Connection, cipher: FieldCipher, code: str, kind: str = "clinical"
             ) -> list[dict[str, Any]]:
    """A participant's notes of a kind, decrypted, newest first (`text`; no ciphertext)."""
    part = participant(conn, code)
    t = T["notes"]
    rows = conn.execute(select(t).where(t.c.participant_id == part["id"], t.c.kind == kind)
                        .order_by(t.c.written_at.desc(), t.c.id.desc())).mappings()
    return [{"id": r["id"], "kind": r["kind"], "author": r["author"], "written_at": r["written_at"],
             "version": r["version"], "text": cipher.decrypt(part["code"], "note", r["text_enc"])}
            for r in rows]
