"""Scheduling, the court calendar, reminders and the judge's docket in the browser (Chromium):
bookings refused beside their field with the form kept, week and month views, the docket with
progress since the last hearing and its print view, responses attached to their test, result
changes with a reason and their history. Every page: axe finds no serious violation, nothing
scrolls sideways at 390 px."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from divert.registry import inputs, scheduling, service
from divert.registry.store import Registry

from .conftest import TODAY, axe_violations, horizontal_overflow, unlabelled_fields
from .test_court import seed


def _after(day: dt.date, ok: Any) -> dt.date:
    """The first day after `day` for which ok(day) holds."""
    day += dt.timedelta(days=1)
    while not ok(day):
        day += dt.timedelta(days=1)
    return day


def _weekday_court(url: str) -> None:
    reg = Registry(url)
    with reg.write("test-setup", "weekday court") as tx:
        scheduling.set_sitting_days(tx, "default", (0, 1, 2, 3, 4))
    reg.dispose()


def _record(url: str, test: int, result: str, **extra: Any) -> None:
    reg = Registry(url)
    with reg.write("nurse", "tests record") as tx:
        service.record_results(tx, [inputs.ResultIn(test=test, result=result, **extra)], [{}])
    reg.dispose()


def _clean(page: Any) -> None:
    """The page passes axe (WCAG 2.1 AA, serious and critical) and fits 390 px."""
    assert axe_violations(page) == [], page.url
    assert horizontal_overflow(page, 390) == 0, page.url
    assert unlabelled_fields(page) == [], page.url
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def court(registry_url: str) -> dict[str, Any]:
    s = seed(registry_url)
    _weekday_court(registry_url)
    return s


def test_browser_booking_is_refused_beside_the_field_then_shown_in_week_and_month(
        court: dict[str, Any], page_for: Any) -> None:
    page = page_for("case_manager")
    code = court["codes"][0]
    page.goto(f"/registry/participants/{code}")
    page.get_by_role("link", name=f"Book a hearing, test or session for {code}").click()
    assert page.get_by_label("Participant code").input_value() == code
    _clean(page)
    saturday = _after(TODAY, lambda d: d.weekday() == 5)
    page.get_by_label("What").select_option("hearing")
    page.get_by_label("Day to book").fill(saturday.isoformat())
    page.get_by_role("button", name="Book", exact=True).click()
    error = page.locator("#err-on")
    assert "does not sit on Saturdays" in error.inner_text() and "next sitting day" in error.inner_text()
    assert page.get_by_label("Day to book").get_attribute("aria-describedby") == "err-on"
    assert page.get_by_label("Participant code").input_value() == code  # the form is kept
    assert page.get_by_label("Day to book").input_value() == saturday.isoformat()
    _clean(page)
    page.get_by_label("Day to book").fill((TODAY - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Book", exact=True).click()
    assert "is in the past" in page.locator("#err-on").inner_text()
    page.get_by_label("Participant code").fill("P-00000000")
    page.get_by_label("Day to book").fill(TODAY.isoformat())
    page.get_by_role("button", name="Book", exact=True).click()
    assert "no participant" in page.locator("#err-code").inner_text()
    # a sitting day: booked, and the week of that day shows it
    weekday = _after(TODAY, lambda d: d.weekday() < 5)
    page.get_by_label("Participant code").fill(code)
    page.get_by_label("Day to book").fill(weekday.isoformat())
    page.get_by_role("button", name="Book", exact=True).click()
    assert f"Status hearing booked for {code} on {weekday}" in page.locator(".notice").inner_text()
    day = page.locator(f"#day-{weekday}")
    assert code in day.inner_text() and "Hearing" in day.inner_text()
    page.get_by_label("What").select_option("session")
    page.get_by_label("Session kind (sessions only)").select_option("group")
    page.get_by_label("Participant code").fill(court["codes"][1])
    page.get_by_label("Day to book").fill(saturday.isoformat())  # sessions may fall on a weekend
    page.get_by_role("button", name="Book", exact=True).click()
    assert "Session: group" in page.locator(f"#day-{saturday}").inner_text()
    assert "No hearings" in page.locator(f"#day-{saturday}").inner_text()
    _clean(page)
    page.get_by_role("link", name="Month view").click()
    assert page.locator("h1").inner_text().startswith("Schedule, " + saturday.strftime("%B"))
    cell = page.get_by_role("link", name=f"{weekday:%A} {weekday.day} {weekday:%B}", exact=True
                            ).locator("xpath=..")
    assert "1 hearing" in cell.inner_text()
    _clean(page)


def test_browser_court_calendar_closes_a_public_holiday(court: dict[str, Any], page_for: Any
                                                         ) -> None:
    page = page_for("judge")
    page.goto("/registry/court-calendar")
    _clean(page)
    page.get_by_label("Closed on").fill(dt.date(TODAY.year, 12, 25).isoformat())
    page.get_by_role("button", name="Close the court on this day").click()
    assert "reason" in page.locator("#err-reason").inner_text()
    assert page.get_by_label("Closed on").input_value() == f"{TODAY.year}-12-25"  # kept
    page.get_by_label("Reason").fill("Christmas Day")
    page.get_by_label("Every year on this day").check()
    page.get_by_role("button", name="Close the court on this day").click()
    row = page.get_by_role("row").filter(has_text="Christmas Day")
    assert "yes" in row.inner_text()
    _clean(page)
    # the rule holds in the booking form: the next 25 December is refused
    christmas = dt.date(TODAY.year + (TODAY > dt.date(TODAY.year, 12, 25)), 12, 25)
    page.goto(f"/registry/schedule?code={court['codes'][0]}")
    page.get_by_label("Day to book").fill(christmas.isoformat())
    page.get_by_role("button", name="Book", exact=True).click()
    message = page.locator("#err-on").inner_text()
    assert "Christmas Day" in message or "does not sit" in message


def test_browser_reminders_list_what_is_due_and_overdue(court: dict[str, Any], page_for: Any,
                                                        registry_url: str) -> None:
    _record(registry_url, court["tests"][0], "missed")
    page = page_for("case_manager")
    page.goto("/registry/reminders")
    section = page.locator("#needs_response")
    assert court["codes"][0] in section.inner_text()
    assert "Planned end passed" in page.inner_text("main")
    _clean(page)


def test_browser_docket_with_progress_week_view_and_print(court: dict[str, Any], page_for: Any,
                                                          registry_url: str) -> None:
    _record(registry_url, court["tests"][0], "positive", substances=["heroin"])
    page = page_for("judge")
    page.goto("/registry/docket")
    entry = page.locator(f"#hearing-{court['hearings'][0]}")
    text = entry.inner_text()
    assert court["codes"][0] in text and "Robin Example" in text  # the judge may identify
    assert "Since enrolment on" in text and "1 positive" in text and "needs a response" in text
    assert "phase 1" in text
    _clean(page)
    page.emulate_media(media="print")
    assert page.locator("nav.subnav").is_hidden() and page.locator("nav.pager").is_hidden()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Week view").click()
    assert page.locator("h1").inner_text().startswith("Docket, week of")
    assert page.locator(".docket-entry").count() == 3
    _clean(page)
    page.get_by_role("link", name="Print view").click()
    assert page.locator("header.site").count() == 0 and page.locator(".docket-entry").count() == 3
    _clean(page)
    analyst = page_for("analyst")
    response = analyst.goto("/registry/docket")
    assert response is not None and response.status == 403


def test_browser_suggest_then_record_response_attaches_to_the_test(
        court: dict[str, Any], page_for: Any, registry_url: str) -> None:
    test, code = court["tests"][0], court["codes"][0]
    _record(registry_url, test, "positive", substances=["cocaine"])
    page = page_for("judge")
    page.goto(f"/registry/participants/{code}")
    page.get_by_label("Suggest a response to").select_option("positive_test")
    page.get_by_role("button", name="Suggest").click()
    assert f"This response answers test {test}" in page.inner_text("#respond")
    assert page.get_by_label("Test responded to").input_value() == str(test)
    page.get_by_role("button", name="Record response").click()
    page.locator("#respond-box-p").get_by_text("Recorded:").wait_for()
    reg = Registry(registry_url)
    with reg.read() as conn:
        row = service.drug_test_row(conn, test)
        answered = [r for r in service._rows(conn, "responses", drug_test_id=test)]
    reg.dispose()
    assert not row["awaiting_response"] and [r["kind"] for r in answered] == ["sanction"]
    page.reload()
    assert "Tests awaiting a response" not in page.inner_text("#respond")


def test_browser_a_changed_result_needs_a_reason_and_keeps_its_history(
        court: dict[str, Any], page_for: Any) -> None:
    test, code = court["tests"][0], court["codes"][0]
    page = page_for("clinician")
    page.goto("/registry/calendar")
    page.get_by_label(f"Result of test {test} ({code})").select_option("positive")
    page.get_by_label(f"Substances in test {test}").fill("cocaine")
    page.get_by_role("button", name=f"Record result of test {test}").click()
    page.locator(f"#test-{test}").get_by_text("positive recorded").first.wait_for()
    row = page.locator(f"#test-{test}")
    assert "(pending)" in row.locator("tr").first.inner_text()
    row.get_by_label(f"State of the result of test {test}").select_option("contested")
    row.get_by_role("button", name=f"Record result of test {test}").click()
    error = page.locator(f"#err-test-{test}")
    error.wait_for()
    assert "needs a reason" in error.inner_text()
    assert page.get_by_label(f"State of the result of test {test}").input_value() == "contested"
    _clean(page)
    page.get_by_label(f"Reason for a change to test {test}").fill("participant denies use")
    page.get_by_role("button", name=f"Record result of test {test}").click()
    page.locator(f"#test-{test}").get_by_text("(contested)").first.wait_for()
    page.goto(f"/registry/participants/{code}")
    history = page.locator("#results").inner_text()
    assert "positive (cocaine), pending" in history
    assert "positive (cocaine), contested; why: participant denies use" in history


def test_browser_registry_lists_fit_a_phone(court: dict[str, Any], page_for: Any) -> None:
    page = page_for("judge")
    for url in ("/registry", "/registry/dashboard", "/registry/hearings", "/registry/calendar",
                f"/registry/participants/{court['codes'][0]}?behaviour=positive_test"):
        page.goto(url)
        _clean(page)


def test_roles_on_the_new_pages(court: dict[str, Any], client_for: Any, registry_url: str) -> None:
    from sqlalchemy import select

    from divert.registry.models import AUDITED

    pages = ("/registry/schedule", "/registry/schedule?view=month", "/registry/court-calendar",
             "/registry/reminders", "/registry/docket", "/registry/docket?view=week&print_view=1")
    analyst = client_for("analyst")
    for url in pages:
        assert analyst.get(url).status_code == 403, url  # analysts see no participant
    defence = client_for("defence")
    for url in pages:
        assert defence.get(url).status_code == 200, url
    assert 'method="post" action="/registry/schedule"' not in defence.get("/registry/schedule").text
    day = _after(TODAY, lambda d: d.weekday() < 5).isoformat()
    booking = {"code": court["codes"][0], "what": "hearing", "on": day}
    assert defence.form("/registry/schedule", booking).status_code == 403
    clinician = client_for("clinician")
    assert clinician.form("/registry/schedule", booking).status_code == 403  # not hearings
    assert clinician.form("/registry/schedule", {**booking, "what": "test"}).status_code == 303
    assert clinician.form("/registry/court-calendar/closed", {
        "programme": "default", "day": day, "reason": "x"}).status_code == 403
    judge = client_for("judge")
    assert judge.form("/registry/schedule", booking).status_code == 303
    # names on the docket are shown to the judge and the view is audited
    assert "Robin Example 0" in judge.get(f"/registry/docket?day={TODAY}").text
    reg = Registry(registry_url)
    log = AUDITED["participants"].metadata.tables["audit_log"]
    with reg.read() as conn:
        views = conn.execute(select(log.c.actor, log.c.command).where(log.c.action == "view")
                             ).all()
    reg.dispose()
    assert any(actor == "judge" and "docket" in command for actor, command in views)


def test_browser_random_tests_are_drawn_from_today_on(court: dict[str, Any], page_for: Any,
                                                      registry_url: str) -> None:
    page = page_for("case_manager")
    page.goto("/registry/schedule")
    page.get_by_label("Draw from").fill((TODAY - dt.timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Draw random tests").click()
    assert "is in the past" in page.locator("#err-draw_from").inner_text()
    assert page.get_by_label("Draw from").input_value() == (TODAY - dt.timedelta(days=3)).isoformat()
    _clean(page)
    page.get_by_label("Draw from").fill(TODAY.isoformat())
    page.get_by_label("Draw to").fill((TODAY + dt.timedelta(days=27)).isoformat())
    page.get_by_role("button", name="Draw random tests").click()
    notice = page.locator(".notice").inner_text()
    assert "random tests drawn for 3 participants" in notice
    reg = Registry(registry_url)
    with reg.read() as conn:
        drawn = [t for t in service._rows(conn, "drug_tests") if t["kind"] == "random"]
    reg.dispose()
    assert drawn and min(t["scheduled_on"] for t in drawn) >= TODAY
    assert f"{len(drawn)} random tests drawn" in notice
