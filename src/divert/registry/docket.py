"""The judge's docket: each status hearing with the participant's progress since their last
hearing (tests and results, attendance, phase, sanctions and incentives), as treatment court
progress reports give it. Pseudonymous: codes only; the caller adds names for roles that may
see them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from divert.registry import court, service
from divert.registry.freetext import open_rows
from divert.registry.service import T, Within, _within


def _between(conn: Connection, table: str, day_col: str, enrolment_id: int, after: dt.date,
             upto: dt.date) -> list[dict[str, Any]]:
    t = T[table]
    q = (select(t).where(t.c.enrolment_id == enrolment_id, t.c[day_col] > after, t.c[day_col] <= upto)
         .order_by(t.c[day_col], t.c.id))
    return [dict(r) for r in conn.execute(q).mappings()]


def last_held(conn: Connection, enrolment_id: int, before: dt.date) -> dt.date | None:
    """The day of the enrolment's last hearing held before `before`."""
    h = T["hearings"]
    q = (select(h.c.held_on, h.c.scheduled_on).where(h.c.enrolment_id == enrolment_id,
                                                     h.c.status == "held", h.c.scheduled_on < before)
         .order_by(h.c.scheduled_on.desc()).limit(1))
    row = conn.execute(q).first()
    return (row.held_on or row.scheduled_on) if row else None


def progress(conn: Connection, enr: Mapping[str, Any], rules: court.ProgrammeRules, on: dt.date,
             today: dt.date) -> dict[str, Any]:
    """The enrolment's progress from its last hearing held before `on` (or its start) to `on`."""
    held = last_held(conn, enr["id"], on)
    since = held or enr["started_on"]
    tests = _between(conn, "drug_tests", "scheduled_on", enr["id"], since, on)
    if held is None:  # from the start: a test on the first day counts
        tests = _rows_on(conn, enr["id"], since) + tests
    latest = service.latest_results(conn, [t["id"] for t in tests])
    shown = [{"id": t["id"], "day": t["scheduled_on"], "status": t["status"],
              "state": latest[t["id"]]["state"] if t["id"] in latest else None,
              "substances": t["substances"], "awaiting_response": t["awaiting_response"]}
             for t in tests]
    attendance = [a for a in _between(conn, "attendance", "day", enr["id"], since, on)
                  if a["status"] != "scheduled"]
    responses = _between(conn, "responses", "day", enr["id"], since, on)
    r = T["responses"]
    pending = [dict(x) for x in conn.execute(select(r).where(
        r.c.enrolment_id == enr["id"], r.c.kind == "sanction", r.c.status == "imposed")
        .order_by(r.c.day)).mappings()]
    changes = _between(conn, "phase_changes", "day", enr["id"], since, on)
    all_tests, all_att, all_resp = (service._rows(conn, "drug_tests", enrolment_id=enr["id"]),
                                    service._rows(conn, "attendance", enrolment_id=enr["id"]),
                                    service._rows(conn, "responses", enrolment_id=enr["id"]))
    check = court.promotion_check(rules, enr, all_tests, all_att, all_resp, on)
    counts = Counter(t["status"] for t in tests)
    att = Counter(a["status"] for a in attendance)
    planned = enr["planned_end"]
    return {
        "since": since, "since_hearing": held is not None, "until": on,
        "tests": shown, "test_counts": dict(counts),
        "violations": sum(counts[s] for s in court.VIOLATIONS),
        "attendance": {"attended": att["attended"], "missed": att["missed"],
                       "excused": att["excused"]},
        "incentives": [x for x in responses if x["kind"] == "incentive"],
        "sanctions": [x for x in responses if x["kind"] == "sanction"],
        "therapeutic": [x for x in responses if x["kind"] == "therapeutic"],
        "pending_sanctions": pending,
        "phase": enr["phase"], "phase_name": rules.phase(enr["phase"]).name,
        "phase_since": enr["phase_since"],
        "phase_changes": [{"day": c["day"], "from": c["from_phase"], "to": c["to_phase"]}
                          for c in changes],
        "days_abstinent": court.days_abstinent(all_tests, enr["started_on"], on),
        "promotion_eligible": check["eligible"], "promotion_next": check["next"],
        "planned_end": planned, "planned_end_passed": planned is not None and planned < today,
    }


def _rows_on(conn: Connection, enrolment_id: int, day: dt.date) -> list[dict[str, Any]]:
    t = T["drug_tests"]
    q = select(t).where(t.c.enrolment_id == enrolment_id, t.c.scheduled_on == day).order_by(t.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def docket(conn: Connection, first: dt.date, last: dt.date, programme_code: str | None = None,
           within: Within = None) -> list[dict[str, Any]]:
    """The hearings from `first` to `last` (not cancelled), by day, each with the participant's
    progress since their last hearing."""
    h, e, p = T["hearings"], T["enrolments"], T["participants"]
    cond = [h.c.scheduled_on.between(first, last), h.c.status != "cancelled",
            *_within(e.c.programme_id, within)]
    if programme_code:
        cond.append(e.c.programme_id == service.programme(conn, programme_code)["id"])
    q = (select(h, p.c.code.label("participant"), p.c.id.label("participant_id"),
                e.c.programme_id.label("programme_id"))
         .select_from(h.join(e, e.c.id == h.c.enrolment_id).join(p, p.c.id == e.c.participant_id))
         .where(*cond).order_by(h.c.scheduled_on, p.c.code, h.c.id))
    rows = open_rows(conn, "hearings", conn.execute(q).mappings())
    rules: dict[int, court.ProgrammeRules] = {}
    today = service.today()
    out = []
    for row in rows:
        pid = row["programme_id"]
        if pid not in rules:
            rules[pid] = service.rules_of(service._one(conn, "programmes", id=pid) or {})
        enr = service._one(conn, "enrolments", id=row["enrolment_id"]) or {}
        out.append({**row, "progress": progress(conn, enr, rules[pid], row["scheduled_on"], today)})
    return out
