"""Scheduling rules on both backends: nothing booked in the past, hearings only on the court's
sitting days, the calendar per programme, result history, reminders and the judge's docket."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from divert.registry import calendar, docket, inputs, scheduling, service
from divert.registry.store import Registry

from .conftest import REGISTRY_TODAY, Cli
from .test_commands import enrolled

D = dt.date


# ---- the calendar rules (pure) -------------------------------------------------------------------

def test_hearing_days_skip_weekends_closed_days_and_the_past() -> None:
    cal = calendar.CourtCalendar(closed=(calendar.Closed(D(2025, 12, 25), "Christmas Day", True),))
    # 14 days after Friday 11 December 2026 is Friday 25 December: moved to Monday 28 December
    days = calendar.hearing_days(cal, 14, D(2026, 12, 11), D(2027, 1, 31), today=D(2026, 12, 1))
    assert days[0] == D(2026, 12, 28)
    assert all(d.weekday() < 5 and (d.month, d.day) != (12, 25) for d in days)
    # 7 days after a Monday that lands on a Saturday moves to the Monday after
    assert calendar.hearing_days(cal, 5, D(2026, 1, 5), D(2026, 1, 12), D(2026, 1, 1)) == [
        D(2026, 1, 12)]
    # an interval reaching back before today books the first sitting day from today
    assert calendar.hearing_days(cal, 14, D(2025, 1, 6), D(2026, 1, 9), D(2026, 1, 3)) == [
        D(2026, 1, 5)]


def test_a_hearing_day_in_the_past_or_on_a_closed_day_is_refused_with_the_next_sitting_day() -> None:
    import pytest

    from divert.errors import InputError

    cal = calendar.CourtCalendar(sitting=(1, 3), closed=(calendar.Closed(D(2026, 1, 6), "strike"),))
    with pytest.raises(InputError, match=r"on: 2026-01-04 is in the past; a hearing can be booked "
                                         r"from today \(2026-01-05\) on"):
        calendar.check_hearing_day(cal, D(2026, 1, 4), D(2026, 1, 5))
    with pytest.raises(InputError, match=r"closed on 2026-01-06 \(strike\); the next sitting day is "
                                         r"2026-01-08"):
        calendar.check_hearing_day(cal, D(2026, 1, 6), D(2026, 1, 5))
    with pytest.raises(InputError, match="does not sit on Mondays .sitting days: Tuesday, Thursday"):
        calendar.check_hearing_day(cal, D(2026, 1, 12), D(2026, 1, 5))
    calendar.check_hearing_day(cal, D(2026, 1, 13), D(2026, 1, 5))
    assert calendar.parse_weekdays(["Mon", "fri", "2"]) == (0, 2, 4)
    with pytest.raises(InputError, match="sitting_weekdays: 'm' is not a weekday"):
        calendar.parse_weekdays(["m"])
    assert len(calendar.month_grid(2027, 2)) == 4  # February 2027: 28 days from a Monday
    assert calendar.month_grid(2026, 3)[0][:6] == [None] * 6


# ---- the command line obeys the calendar ---------------------------------------------------------

def _hearing_days(cli: Cli, code: str) -> list[D]:
    tl = cli.json("timeline", code, "--json")
    return [D.fromisoformat(e["date"]) for e in tl["events"]
            if e["event"] == "status hearing" and e["status"] == "scheduled"]


def test_hearings_schedule_books_no_day_in_the_past_nor_on_closed_days(cli: Cli) -> None:
    # enrolled (on record) a year back: the interval points to past days, never booked
    code = enrolled(cli, on="2025-01-06")
    rc, out, _ = cli("calendar", "close", "--on", "2025-12-25", "--reason", "Christmas Day",
                     "--yearly")
    assert "every year" in out
    cli("calendar", "close", "--on", "2026-02-02", "--reason", "court closure")
    cli("hearings", "schedule", "--until", "2027-01-31")
    days = _hearing_days(cli, code)
    assert days and min(days) >= REGISTRY_TODAY
    assert all(d.weekday() < 5 for d in days)
    assert D(2026, 12, 25) not in days and D(2026, 2, 2) not in days
    rc, _, err = cli("hearings", "schedule", "--until", "2026-01-02", ok=False)
    assert rc == 2 and "until: 2026-01-02 is in the past" in err
    shown = cli.json("calendar", "show", "--json")
    assert shown["sitting_weekdays"] == [0, 1, 2, 3, 4]
    assert [(c["day"], c["yearly"]) for c in shown["closed"]] == [("2025-12-25", True),
                                                                  ("2026-02-02", False)]


def test_closing_a_day_moves_its_hearings_and_sitting_days_are_obeyed(cli: Cli) -> None:
    code = enrolled(cli)
    first = _hearing_days(cli, code)
    assert first == [D(2026, 1, 19)]  # 14 days after the start, a Monday
    row = cli.json("calendar", "close", "--on", "2026-01-19", "--reason", "public holiday",
                   "--json-out")
    assert row["moved"] and row["moved"][0]["to"] == "2026-01-20"
    assert _hearing_days(cli, code) == [D(2026, 1, 20)]
    _, out, _ = cli("calendar", "sitting", "--days", "wed")
    assert "moved to 2026-01-21" in out  # Tuesday's hearing goes to the next Wednesday
    assert _hearing_days(cli, code) == [D(2026, 1, 21)]
    cli("hearings", "schedule", "--until", "2026-03-31")
    later = [d for d in _hearing_days(cli, code) if d > D(2026, 1, 20)]
    assert later and {d.weekday() for d in later} == {2}
    rc, _, err = cli("calendar", "sitting", "--days", "funday", ok=False)
    assert rc == 2 and "--days: 'funday' is not a weekday" in err
    assert cli("verify")[0] == 0


def test_no_test_is_booked_or_drawn_in_the_past(cli: Cli) -> None:
    code = enrolled(cli)
    rc, _, err = cli("tests", "add", code, "--on", "2026-01-04", ok=False)
    assert rc == 2 and "on: 2026-01-04 is in the past; a drug test can be booked" in err
    rc, _, err = cli("tests", "schedule", "--from", "2026-01-01", "--to", "2026-01-31", ok=False)
    assert rc == 2 and "from: 2026-01-01 is in the past" in err
    cli("tests", "add", code, "--on", "2026-01-05")


# ---- service: bookings, sessions, result history ---------------------------------------------------

def _enrolled(url: str, on: D = REGISTRY_TODAY, planned_end: D | None = None) -> str:
    reg = Registry(url)
    cipher = service.registry_cipher(reg)
    with reg.write("clerk", "seed") as tx:
        row = service.add_participant(tx, cipher, inputs.ParticipantIn(name="Sam Example",
                                                                       referred_on=on))
        service.record_consent(tx, row["code"], inputs.ConsentIn(given=True, on=on))
        service.enrol(tx, row["code"], inputs.EnrolIn(on=on, planned_end=planned_end))
    reg.dispose()
    return str(row["code"])


def test_book_one_hearing_and_a_session(registry: str) -> None:
    import pytest

    from divert.errors import InputError

    code = _enrolled(registry)
    reg = Registry(registry)
    with reg.write("clerk", "book") as tx:
        scheduling.close_day(tx, "default", inputs.ClosedDayIn(day=D(2026, 1, 7), reason="closure"))
    for day, message in ((D(2026, 1, 2), "in the past"), (D(2026, 1, 7), "closed on 2026-01-07"),
                         (D(2026, 1, 10), "does not sit on Saturdays")):
        with pytest.raises(InputError, match=message), reg.write("clerk", "book") as tx:
            scheduling.book_hearing(tx, code, inputs.BookIn(on=day))
    with reg.write("clerk", "book") as tx:
        h = scheduling.book_hearing(tx, code, inputs.BookIn(on=D(2026, 1, 8)))
        s = scheduling.book_session(tx, code, inputs.SessionIn(on=D(2026, 1, 10), kind="group"))
    with pytest.raises(InputError, match="has a hearing booked on 2026-01-08"), \
            reg.write("clerk", "book") as tx:
        scheduling.book_hearing(tx, code, inputs.BookIn(on=D(2026, 1, 8)))
    with pytest.raises(InputError, match="session of 2026-01-10 is still to come"), \
            reg.write("clerk", "book") as tx:
        scheduling.record_session(tx, s["id"], inputs.SessionResultIn(status="attended"), {})
    with reg.read() as conn:
        week = scheduling.agenda(conn, D(2026, 1, 5), D(2026, 1, 11))["days"]
    assert [(i["type"], i["id"]) for i in week[D(2026, 1, 8)]] == [("hearing", h["id"])]
    assert [(i["type"], i["what"], i["status"]) for i in week[D(2026, 1, 10)]] == [
        ("session", "group", "scheduled")]
    # an enrolment that ends leaves no session booked after its end
    with reg.write("judge", "terminate") as tx:
        service.end_enrolment(tx, code, "terminated", inputs.ExitIn(on=D(2026, 1, 9),
                                                                   reason="absconded"), {})
    with reg.read() as conn:
        assert service._rows(conn, "attendance", id=s["id"]) == []
    reg.dispose()


def _one_test(url: str, code: str, day: D = REGISTRY_TODAY) -> int:
    reg = Registry(url)
    with reg.write("nurse", "add test") as tx:
        tid = int(service.add_test(tx, code, inputs.DrugTestIn(on=day))["id"])
    reg.dispose()
    return tid


def _record(url: str, actor: str, **item: object) -> list[dict]:
    reg = Registry(url)
    parsed = inputs.ResultIn.model_validate(item)
    try:
        with reg.write(actor, "tests record") as tx:
            return service.record_results(tx, [parsed], [item])
    finally:
        reg.dispose()


def test_results_have_states_and_a_history_never_overwritten(registry: str) -> None:
    import pytest

    from divert.errors import InputError

    code = _enrolled(registry)
    tid = _one_test(registry, code)
    row = _record(registry, "nurse.a", test=tid, result="positive", substances=["cocaine"])[0]
    assert row["status"] == "positive" and row["awaiting_response"]
    with pytest.raises(InputError, match=r"test.reason: test \d+ is recorded as positive \(pending\); "
                                         "changing a recorded result or its state needs a reason"):
        _record(registry, "nurse.b", test=tid, result="negative")
    _record(registry, "nurse.a", test=tid, result="positive", substances=["cocaine"])  # the same
    _record(registry, "judge.k", test=tid, result="positive", substances=["cocaine"],
            state="contested", reason="participant denies use; sample sent to the lab")
    row = _record(registry, "lab.c", test=tid, result="negative", state="lab_confirmed",
                  reason="GC-MS: no cocaine above the cut-off (lab ref 2026-114)")[0]
    assert row["status"] == "negative" and not row["awaiting_response"]
    reg = Registry(registry)
    with reg.read() as conn:
        history = service.result_history(conn, tid)
    assert [(h["result"], h["state"], h["recorded_by"]) for h in history] == [
        ("positive", "pending", "nurse.a"), ("positive", "contested", "judge.k"),
        ("negative", "lab_confirmed", "lab.c")]
    assert history[2]["reason"].startswith("GC-MS") and history[0]["reason"] is None
    # the reasons are encrypted at rest, and the chain still verifies
    engine = sa.create_engine(registry)
    with engine.connect() as conn:
        stored = json.dumps([list(r) for r in conn.execute(sa.text("SELECT * FROM test_results"))],
                            default=str)
    engine.dispose()
    assert "GC-MS" not in stored and "denies" not in stored
    from divert.registry.audit import verify

    with reg.read() as conn:
        assert verify(conn, reg.chain_key(conn)).intact
    reg.dispose()


def test_a_response_to_a_test_clears_its_awaiting_flag(registry: str) -> None:
    code = _enrolled(registry)
    tid = _one_test(registry, code)
    _record(registry, "nurse", test=tid, result="missed")
    reg = Registry(registry)
    with reg.write("judge", "respond") as tx:
        row, _ = service.add_response(tx, code, inputs.ResponseIn(
            kind="sanction", type="essay or journal", behaviour="missed_test", test=tid))
    with reg.read() as conn:
        test = service.drug_test_row(conn, tid)
    assert row["drug_test_id"] == tid and not test["awaiting_response"]
    # correcting the result later does not make it await a response again
    with reg.write("nurse", "tests record") as tx:
        service.record_results(tx, [inputs.ResultIn(test=tid, result="refused", reason="misfiled")],
                               [{}])
    with reg.read() as conn:
        assert not service.drug_test_row(conn, tid)["awaiting_response"]
    reg.dispose()


# ---- reminders and the docket ------------------------------------------------------------------

def test_reminders_flag_due_overdue_and_a_passed_planned_end(registry: str, monkeypatch) -> None:
    code = _enrolled(registry, planned_end=D(2026, 1, 20))
    tid = _one_test(registry, code)
    reg = Registry(registry)
    with reg.write("clerk", "book") as tx:
        scheduling.book_session(tx, code, inputs.SessionIn(on=D(2026, 1, 6)))
    with reg.read() as conn:
        now = scheduling.reminders(conn, REGISTRY_TODAY, dt.datetime(2026, 1, 5, 9, 0))
    assert [r["day"] for r in now["sessions_due"]] == [D(2026, 1, 6)]
    assert now["tests_missed"] == [] and now["planned_end_passed"] == []
    # three weeks on: the window closed, the session and hearing passed unrecorded, the end passed
    later = D(2026, 1, 26)
    monkeypatch.setattr(service, "today", lambda: later)
    with reg.read() as conn:
        found = scheduling.reminders(conn, later, dt.datetime(2026, 1, 26, 9, 0))
    assert [r["id"] for r in found["tests_missed"]] == [tid]
    assert [r["day"] for r in found["sessions_unrecorded"]] == [D(2026, 1, 6)]
    assert [r["day"] for r in found["hearings_unrecorded"]] == [D(2026, 1, 19)]
    assert [(r["participant"], r["day"]) for r in found["planned_end_passed"]] == [
        (code, D(2026, 1, 20))]
    reg.dispose()


def test_docket_shows_progress_since_the_last_hearing(registry: str) -> None:
    code = _enrolled(registry)
    reg = Registry(registry)
    early = _one_test(registry, code, D(2026, 1, 6))
    _record(registry, "nurse", test=early, result="negative")
    with reg.read() as conn:
        first = service.hearings_on(conn, D(2026, 1, 19))[0]
    with reg.write("judge", "hearing") as tx:
        service.record_attendance(tx, code, inputs.AttendanceIn(status="attended", on=D(2026, 1, 8)))
        service.record_hearing(tx, inputs.HearingIn(hearing=first["id"], status="held"), {})
    # after the hearing of 19 January: a positive test, a sanction, a missed session
    late = _one_test(registry, code, D(2026, 1, 21))
    _record(registry, "nurse", test=late, result="positive", substances=["heroin"])
    with reg.write("judge", "respond") as tx:
        service.add_response(tx, code, inputs.ResponseIn(kind="sanction", type="curfew",
                                                         test=late, on=D(2026, 1, 22)))
        service.record_attendance(tx, code, inputs.AttendanceIn(status="missed", on=D(2026, 1, 23)))
    with reg.read() as conn:
        rows = docket.docket(conn, D(2026, 1, 19), D(2026, 2, 6))
    assert [r["scheduled_on"] for r in rows] == [D(2026, 1, 19), D(2026, 2, 2)]
    before, after = rows[0]["progress"], rows[1]["progress"]
    assert not before["since_hearing"] and before["since"] == REGISTRY_TODAY
    assert [t["id"] for t in before["tests"]] == [early] and before["attendance"]["attended"] == 1
    assert after["since_hearing"] and after["since"] == D(2026, 1, 19)
    assert [(t["id"], t["status"], t["state"]) for t in after["tests"]] == [(late, "positive",
                                                                             "pending")]
    assert after["violations"] == 1 and after["attendance"] == {"attended": 0, "missed": 1,
                                                                "excused": 0}
    assert [s["type"] for s in after["sanctions"]] == ["curfew"]
    assert [s["type"] for s in after["pending_sanctions"]] == ["curfew"]
    assert after["phase"] == 1 and not after["promotion_eligible"]
    reg.dispose()
