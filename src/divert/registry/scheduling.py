"""Booking the programme's work and reading it back: the court calendar (sitting weekdays, closed
days), single hearings, tests and treatment sessions, the week and month agenda, and reminders.

The rules live in `calendar`: nothing is booked in the past, hearings only on sitting days. Every
change goes through a `Tx`, so it is audited like the rest of the registry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select, text

from divert.errors import InputError
from divert.registry import calendar, inputs, service
from divert.registry.service import T, Within, _within
from divert.registry.store import Tx

#: the kinds of treatment session a programme books (attendance.kind)
SESSION_KINDS = ("treatment", "group", "counselling", "case management", "medication review")
REMINDER_DAYS = 7


# ---- the calendar ---------------------------------------------------------------------------------

def set_sitting_days(tx: Tx, prog_code: str, weekdays: tuple[int, ...]) -> dict[str, Any]:
    """Set the weekdays the programme's court sits; hearings booked from today on a day it no
    longer sits move to the next sitting day (`moved`)."""
    prog = service.programme(tx.conn, prog_code)
    days = calendar.parse_weekdays(weekdays)
    c = T["court_calendars"]
    row = tx.conn.execute(select(c).where(c.c.programme_id == prog["id"])).mappings().first()
    if row is None:
        out = tx.insert("court_calendars", {"programme_id": prog["id"],
                                            "sitting_weekdays": list(days)})
    else:
        out = tx.update("court_calendars", dict(row), {"sitting_weekdays": list(days)})
    return {**out, "moved": _rebook(tx, prog["id"])}


def _rebook(tx: Tx, programme_id: int) -> list[dict[str, Any]]:
    """Move the programme's hearings booked from today on days the court does not sit to the
    next sitting day; returns what moved."""
    cal = service.calendar_of(tx.conn, programme_id)
    h, e = T["hearings"], T["enrolments"]
    booked = tx.conn.execute(select(h).join(e, e.c.id == h.c.enrolment_id).where(
        e.c.programme_id == programme_id, h.c.status == "scheduled",
        h.c.scheduled_on >= service.today())).mappings().all()
    moves = [(dict(b), {"scheduled_on": cal.next_sitting(b["scheduled_on"])}) for b in booked
             if not cal.sits(b["scheduled_on"])]
    return [{"hearing": m["id"], "to": m["scheduled_on"]} for m in tx.update_many("hearings", moves)]


def close_day(tx: Tx, prog_code: str, data: inputs.ClosedDayIn) -> dict[str, Any]:
    """Close the court on a day (a yearly one every year); hearings booked on it from today on move
    to the next sitting day. Returns the closed day with the hearings moved (`moved`)."""
    prog = service.programme(tx.conn, prog_code)
    d = T["closed_days"]
    if tx.conn.execute(select(d.c.id).where(d.c.programme_id == prog["id"],
                                            d.c.day == data.day)).first():
        raise InputError(f"day: {data.day} is closed already")
    row = tx.insert("closed_days", {"programme_id": prog["id"], "day": data.day,
                                    "yearly": data.yearly, "reason": data.reason})
    return {**row, "moved": _rebook(tx, prog["id"])}


def reopen_day(tx: Tx, closed_id: int, programme_ids: Within = None) -> dict[str, Any]:
    """Remove a closed day (the court sits on it again if it is a sitting weekday)."""
    row = tx.get("closed_days", closed_id)
    if row is None or (programme_ids is not None and row["programme_id"] not in programme_ids):
        raise InputError(f"closed_day: no closed day with id {closed_id}")
    tx.delete("closed_days", row)
    return row


def calendar_rows(conn: Connection, prog_code: str) -> dict[str, Any]:
    """The programme's calendar as stored: sitting weekdays and closed days (oldest first)."""
    prog = service.programme(conn, prog_code)
    cal = service.calendar_of(conn, prog["id"])
    d = T["closed_days"]
    closed = [dict(r) for r in conn.execute(select(d).where(d.c.programme_id == prog["id"])
                                            .order_by(d.c.day)).mappings()]
    return {"programme": prog["code"], "programme_id": prog["id"], "sitting": cal.sitting,
            "calendar": cal, "closed": closed}


# ---- booking one participant's work ----------------------------------------------------------------

def book_hearing(tx: Tx, code: str, data: inputs.BookIn) -> dict[str, Any]:
    """A status hearing for a participant on a sitting day, today or later (one a day)."""
    part = service.participant(tx.conn, code)
    enr = service.active_enrolment(tx.conn, part)
    calendar.check_hearing_day(service.calendar_of(tx.conn, enr["programme_id"]), data.on,
                               service.today())
    h = T["hearings"]
    if tx.conn.execute(select(h.c.id).where(h.c.enrolment_id == enr["id"], h.c.scheduled_on == data.on,
                                            h.c.status == "scheduled")).first():
        raise InputError(f"on: {part['code']} has a hearing booked on {data.on} already")
    return tx.insert("hearings", {"enrolment_id": enr["id"], "scheduled_on": data.on})


def book_session(tx: Tx, code: str, data: inputs.SessionIn) -> dict[str, Any]:
    """A treatment session to attend, today or later; its attendance is recorded on the day."""
    enr = service.active_enrolment(tx.conn, service.participant(tx.conn, code))
    calendar.not_in_past(data.on, service.today(), "on", "a treatment session")
    return tx.insert("attendance", {"enrolment_id": enr["id"], "day": data.on, "kind": data.kind,
                                    "status": "scheduled", "note": data.note})


def record_session(tx: Tx, attendance_id: int, data: inputs.SessionResultIn,
                   raw: Mapping[str, Any], programme_ids: Within = None) -> dict[str, Any]:
    """Record a booked session attended, missed or excused (not before its day)."""
    row = tx.get("attendance", attendance_id)
    enr = tx.get("enrolments", row["enrolment_id"]) if row else None
    if row is None or enr is None or (programme_ids is not None
                                      and enr["programme_id"] not in programme_ids):
        raise InputError(f"session: no session with id {attendance_id}")
    if data.status in ("attended", "missed") and row["day"] > service.today():
        raise InputError(f"status: the session of {row['day']} is still to come; record it on "
                         "the day or after")
    return tx.update("attendance", row, {"status": data.status}, data.version, raw)


# ---- reading: the agenda of a week or a month --------------------------------------------------

def agenda(conn: Connection, first: dt.date, last: dt.date, programme_code: str | None = None,
           within: Within = None) -> dict[str, Any]:
    """Everything booked from `first` to `last`: tests (any status), hearings and sessions, by day,
    each with its participant's code (never a name)."""
    if (last - first).days > 62:
        raise InputError("to: an agenda covers at most two months")
    e, p = T["enrolments"], T["participants"]
    scope = _within(e.c.programme_id, within)
    if programme_code:
        scope.append(e.c.programme_id == service.programme(conn, programme_code)["id"])
    days: dict[dt.date, list[dict[str, Any]]] = {}

    def rows(table: str, day_col: str, extra: tuple[Any, ...]) -> list[Any]:
        t = T[table]
        q = (select(t.c.id, t.c[day_col].label("day"), p.c.code, *extra)
             .select_from(t.join(e, e.c.id == t.c.enrolment_id).join(p, p.c.id == e.c.participant_id))
             .where(t.c[day_col].between(first, last), *scope).order_by(t.c[day_col], t.c.id))
        return list(conn.execute(q).mappings())

    t, h, a = T["drug_tests"], T["hearings"], T["attendance"]
    for r in rows("drug_tests", "scheduled_on", (t.c.status, t.c.method, t.c.kind.label("what"),
                                                 t.c.due_by)):
        days.setdefault(r["day"], []).append({"type": "test", "id": r["id"], "participant": r["code"],
                                              "status": r["status"], "detail": r["method"],
                                              "what": r["what"]})
    for r in rows("hearings", "scheduled_on", (h.c.status,)):
        days.setdefault(r["day"], []).append({"type": "hearing", "id": r["id"],
                                              "participant": r["code"], "status": r["status"],
                                              "detail": "", "what": "status hearing"})
    for r in rows("attendance", "day", (a.c.status, a.c.kind.label("what"))):
        days.setdefault(r["day"], []).append({"type": "session", "id": r["id"],
                                              "participant": r["code"], "status": r["status"],
                                              "detail": "", "what": r["what"]})
    order = {"hearing": 0, "session": 1, "test": 2}
    for items in days.values():
        items.sort(key=lambda i: (order[i["type"]], i["participant"], i["id"]))
    return {"from": first, "to": last, "days": days}


# ---- reading: reminders ------------------------------------------------------------------------

def reminders(conn: Connection, today: dt.date, now: dt.datetime, days: int = REMINDER_DAYS,
              within: Within = None) -> dict[str, list[dict[str, Any]]]:
    """What needs doing: hearings and sessions due in the next `days`; overdue items (a test window
    closed with no result, a hearing or session past with nothing recorded, a test awaiting a
    response, a sanction still pending, a result pending confirmation or contested); and active
    enrolments whose planned end has passed."""
    e, p = T["enrolments"], T["participants"]
    scope = [e.c.status == "active", *_within(e.c.programme_id, within)]
    until = today + dt.timedelta(days=days)

    def q(table: str, cols: tuple[Any, ...], *cond: Any, order: Any = None) -> list[dict[str, Any]]:
        t = T[table]
        stmt = (select(t.c.id, p.c.code.label("participant"), *cols)
                .select_from(t.join(e, e.c.id == t.c.enrolment_id).join(p, p.c.id == e.c.participant_id))
                .where(*cond, *scope).order_by(order if order is not None else t.c.id))
        return [dict(r) for r in conn.execute(stmt).mappings()]

    t, h, a, r = T["drug_tests"], T["hearings"], T["attendance"], T["responses"]
    out: dict[str, list[dict[str, Any]]] = {}
    out["hearings_due"] = q("hearings", (h.c.scheduled_on.label("day"),),
                            h.c.status == "scheduled", h.c.scheduled_on.between(today, until),
                            order=h.c.scheduled_on)
    out["sessions_due"] = q("attendance", (a.c.day, a.c.kind),
                            a.c.status == "scheduled", a.c.day.between(today, until), order=a.c.day)
    out["tests_missed"] = q("drug_tests", (t.c.scheduled_on.label("day"), t.c.due_by),
                            text("drug_tests.status = 'scheduled'"), t.c.due_by < now,
                            order=t.c.due_by)
    out["hearings_unrecorded"] = q("hearings", (h.c.scheduled_on.label("day"),),
                                   h.c.status == "scheduled", h.c.scheduled_on < today,
                                   order=h.c.scheduled_on)
    out["sessions_unrecorded"] = q("attendance", (a.c.day, a.c.kind), a.c.status == "scheduled",
                                   a.c.day < today, order=a.c.day)
    out["needs_response"] = q("drug_tests", (t.c.scheduled_on.label("day"), t.c.status),
                              text("drug_tests.awaiting_response"), order=t.c.scheduled_on)
    out["sanctions_pending"] = q("responses", (r.c.day, r.c.type), r.c.kind == "sanction",
                                 r.c.status == "imposed", order=r.c.day)
    recorded = q("drug_tests", (t.c.scheduled_on.label("day"), t.c.status),
                 t.c.status.notin_(("scheduled", "excused")),
                 t.c.scheduled_on >= today - dt.timedelta(days=90), order=t.c.scheduled_on)
    latest = service.latest_results(conn, [x["id"] for x in recorded])
    out["results_unconfirmed"] = [
        {**x, "state": latest[x["id"]]["state"]} for x in recorded
        if x["id"] in latest and latest[x["id"]]["state"] in ("pending", "contested")]
    ended = (select(e.c.id, p.c.code.label("participant"), e.c.planned_end.label("day"))
             .select_from(e.join(p, p.c.id == e.c.participant_id))
             .where(e.c.planned_end < today, *scope).order_by(e.c.planned_end))
    out["planned_end_passed"] = [dict(x) for x in conn.execute(ended).mappings()]
    return out

