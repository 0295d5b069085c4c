"""The registry in the web application: roles, audited views, results, responses, hearings,
conflicts, suppressed aggregates, and the browser flows."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from divert.registry import inputs, scheduling, service
from divert.registry.audit import verify
from divert.registry.models import AUDITED
from divert.registry.store import Registry
from divert.web.accounts import PERMISSIONS, ROLES

from .conftest import TODAY, unlabelled_fields

API = "/api/v1/registry"
START = TODAY - dt.timedelta(days=14)  # the first status hearing falls on TODAY


def seed(url: str, n: int = 3) -> dict[str, Any]:
    """`n` enrolled participants, each with a test today (and, from enrolment, a hearing today)."""
    reg = Registry(url)
    cipher = service.registry_cipher(reg)
    codes, tests = [], []
    with reg.write("test-setup", "seed") as tx:
        # a court that sits every day, so the first hearing falls on TODAY whatever the weekday
        scheduling.set_sitting_days(tx, "default", (0, 1, 2, 3, 4, 5, 6))
        for i in range(n):
            row = service.add_participant(tx, cipher, inputs.ParticipantIn(
                name=f"Robin Example {i}", birth_date=dt.date(1990, 1, 1 + i),
                contact=f"0400 000 00{i}", referred_on=START))
            service.record_consent(tx, row["code"], inputs.ConsentIn(given=True, on=START))
            service.enrol(tx, row["code"], inputs.EnrolIn(on=START))
            tests.append(service.add_test(tx, row["code"], inputs.DrugTestIn(on=TODAY))["id"])
            codes.append(row["code"])
    with reg.read() as conn:
        hearings = [h["id"] for h in service.hearings_on(conn, TODAY)]
    reg.dispose()
    return {"codes": codes, "tests": tests, "hearings": hearings, "url": url}


@pytest.fixture
def seeded(registry_url: str) -> dict[str, Any]:
    return seed(registry_url)


def _audit(url: str, action: str = "view") -> list[dict[str, Any]]:
    reg = Registry(url)
    log = AUDITED["participants"].metadata.tables["audit_log"]
    with reg.read() as conn:
        rows = [dict(r) for r in conn.execute(select(log).where(log.c.action == action)).mappings()]
    reg.dispose()
    return rows


def _intact(url: str) -> bool:
    reg = Registry(url)
    with reg.read() as conn:
        report = verify(conn, reg.chain_key(conn))
    reg.dispose()
    return report.intact


def test_role_matrix(seeded: dict[str, Any], client_for: Any) -> None:
    code = seeded["codes"][0]
    for role in ("analyst", "admin"):
        c = client_for(role)
        for url in ("/registry", f"/registry/participants/{code}", "/registry/calendar",
                    "/registry/hearings", "/registry/dashboard"):
            assert c.get(url).status_code == 403, (role, url)
        for url in (f"{API}/participants", f"{API}/participants/{code}?identify=true",
                    f"{API}/participants/{code}/timeline", f"{API}/tests", f"{API}/dashboard"):
            r = c.get(url)
            assert r.status_code == 403 and "may not" in r.json()["error"], (role, url)
        assert c.get("/registry/aggregates").status_code == 200
        assert c.get(f"{API}/aggregates").status_code == 200
    for role in ROLES:
        if "registry.read" in PERMISSIONS[role]:
            assert client_for(role).get("/registry").status_code == 200, role
    assert client_for("defence").get("/registry/aggregates").status_code == 403
    nav = client_for("analyst").get("/").text
    assert 'href="/registry/aggregates"' in nav and 'href="/registry"' not in nav


def test_clinical_notes_only_for_clinicians_and_case_managers(seeded: dict[str, Any],
                                                              client_for: Any) -> None:
    code, url = seeded["codes"][0], seeded["url"]
    secret = "Disclosed relapse after bereavement; increase counselling"
    for role in ("judge", "prosecutor", "defence", "analyst"):
        c = client_for(role)
        assert c.get(f"{API}/participants/{code}/notes").status_code == 403
        assert c.api("POST", f"{API}/participants/{code}/notes", json={"text": "x"}).status_code == 403
        assert c.form(f"/registry/participants/{code}/notes", {"text": "x"}).status_code == 403
    clinician = client_for("clinician")
    r = clinician.api("POST", f"{API}/participants/{code}/notes", json={"text": secret})
    assert r.status_code == 201 and r.json()["author"] == "clinician"
    assert client_for("case_manager").form(f"/registry/participants/{code}/notes",
                                           {"text": "Housing found"}).status_code == 303
    page = client_for("judge").get(f"/registry/participants/{code}").text
    assert "Clinical notes" not in page and secret not in page
    assert secret in client_for("case_manager").get(f"/registry/participants/{code}").text
    notes = client_for("case_manager").get(f"{API}/participants/{code}/notes").json()
    assert [n["text"] for n in notes] == ["Housing found", secret]
    views = [v for v in _audit(url) if v["table_name"] == "notes"]
    assert {(v["actor"], v["row_id"]) for v in views} >= {("case_manager", notes[0]["id"]),
                                                          ("case_manager", notes[1]["id"])}
    raw = Path(url.removeprefix("sqlite:///")).read_bytes()
    wal = Path(url.removeprefix("sqlite:///") + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    assert b"bereavement" not in raw and b"Housing found" not in raw
    reg = Registry(url)
    with reg.read() as conn:
        stored = conn.exec_driver_sql("SELECT text_enc FROM notes").scalars().all()
    reg.dispose()
    assert stored and all(s.startswith("v1:") for s in stored)
    assert _intact(url)


def test_identity_views_are_audited_and_only_for_identify_roles(seeded: dict[str, Any],
                                                                client_for: Any) -> None:
    code, url = seeded["codes"][0], seeded["url"]
    assert _audit(url) == []
    judge = client_for("judge")
    assert "Robin Example 0" in judge.get(f"/registry/participants/{code}").text
    listing = client_for("defence").get("/registry").text
    assert all(f"Robin Example {i}" in listing for i in range(3))
    prosecutor = client_for("prosecutor")
    plain = prosecutor.get(f"{API}/participants/{code}").json()
    assert plain["identity"] is None and plain["enrolment"]["phase"] == 1
    named = prosecutor.get(f"{API}/participants/{code}?identify=true").json()
    assert named["identity"]["name"] == "Robin Example 0"
    assert named["identity"]["birth_date"] == "1990-01-01"
    views = [(v["actor"], v["table_name"], v["row_id"]) for v in _audit(url)]
    reg = Registry(url)
    with reg.read() as conn:
        pid = service.participant(conn, code)["id"]
    reg.dispose()
    assert ("judge", "participants", pid) in views
    assert ("prosecutor", "participants", pid) in views
    assert sum(a == "defence" for a, _, _ in views) == 3  # the list page of three names
    assert len(views) == 5  # the pseudonymous API read added none
    assert _intact(url)


def test_unknown_and_bad_input_never_a_server_error(seeded: dict[str, Any], client_for: Any) -> None:
    c = client_for("case_manager")
    for url in (f"{API}/participants/P-00000000", f"{API}/participants/nonsense%00",
                f"{API}/participants/P-00000000/timeline", f"{API}/participants/P-00000000/notes"):
        r = c.get(url)
        assert r.status_code == 404 and "no participant" in r.json()["error"], url
    assert c.get("/registry/participants/P-00000000").status_code == 404
    test = seeded["tests"][0]
    cases = [
        ({"result": "purple"}, 422, "result"),
        ({"result": "positive"}, 400, "substances"),
        ({"result": "negative", "version": 0}, 422, "version"),
        ({"result": "negative", "colour": "red"}, 422, "colour"),
        ({"result": "negative", "substances": ["a\x00b"]}, 422, "NUL"),
        ({"result": "negative", "collected_at": "9999-12-31T23:59:59+14:00"}, 422, "collected_at"),
    ]
    for body, status, word in cases:
        r = c.api("POST", f"{API}/tests/{test}/result", json=body)
        assert r.status_code == status and word in r.json()["error"], (body, r.text)
    assert c.api("POST", f"{API}/tests/{2**63}/result", json={"result": "negative"}).status_code == 422
    assert c.api("POST", f"{API}/tests/999999/result", json={"result": "negative"}).status_code == 404
    assert c.get(f"{API}/tests?day=2026-13-01").status_code == 422
    assert c.get(f"{API}/participants?status=asleep").status_code == 422
    assert c.get(f"{API}/participants?programme=nowhere").status_code == 400
    r = c.get("/registry?phase=two")
    assert r.status_code == 400 and "phase: " in r.text and "is not a whole number" in r.text
    assert c.get("/registry/calendar?day=yesterday").status_code == 400
    r = c.get(f"{API}/participants/{seeded['codes'][0]}/suggestion?behaviour=dancing")
    assert r.status_code == 422


def test_only_test_recorders_record_results(seeded: dict[str, Any], client_for: Any) -> None:
    test = seeded["tests"][0]
    for role in ("judge", "prosecutor", "defence", "analyst", "admin"):
        c = client_for(role)
        assert c.api("POST", f"{API}/tests/{test}/result",
                     json={"result": "negative"}).status_code == 403, role
        assert c.form(f"/registry/calendar/tests/{test}/result",
                      {"result": "negative"}).status_code == 403, role
    r = client_for("clinician").api("POST", f"{API}/tests/{test}/result", json={"result": "negative"})
    assert r.status_code == 200 and r.json()["test"]["status"] == "negative"
    assert r.json()["suggestion"]["incentive"]["type"]  # a negative earns an incentive


def test_recorded_result_shows_in_calendar_timeline_and_dashboard(seeded: dict[str, Any],
                                                                  client_for: Any) -> None:
    code, test = seeded["codes"][1], seeded["tests"][1]
    cm = client_for("case_manager")
    r = cm.form(f"/registry/calendar/tests/{test}/result",
                {"result": "positive", "substances": "opioids, cocaine", "version": "1"},
                headers={"HX-Request": "true"})
    assert r.status_code == 200 and f'id="test-{test}"' in r.text
    assert "Suggested response" in r.text and "Record response" in r.text
    assert "Therapeutic adjustment (not a sanction): clinical reassessment" in r.text
    events = cm.get(f"{API}/participants/{code}/timeline").json()["events"]
    mine = next(e for e in events if e["table"] == "drug_tests" and e["id"] == test)
    assert mine["status"] == "positive" and mine["substances"] == ["cocaine", "opioids"]
    board = cm.get(f"{API}/dashboard?day={TODAY}").json()
    assert test in [row["test"] for row in board["needs_response"]]
    assert board["counts"]["needs_response"] == 1
    assert "needs a response" in cm.get(f"/registry/calendar?day={TODAY}").text
    page = cm.get("/registry/dashboard").text
    assert f"/registry/participants/{code}?test={test}#respond" in page
    # without htmx the form redirects to the participant's suggested response
    r = cm.form(f"/registry/calendar/tests/{seeded['tests'][2]}/result", {"result": "missed"})
    assert r.status_code == 303 and r.headers["location"].endswith(f"?test={seeded['tests'][2]}#respond")
    follow = cm.get(r.headers["location"])
    assert "Sanction:" in follow.text and "missed test" in follow.text
    # the sanction answers the test: no longer awaiting a response
    r = cm.api("POST", f"{API}/participants/{code}/responses",
               json={"kind": "therapeutic", "type": "clinical reassessment", "test": test,
                     "behaviour": "positive_test"})
    assert r.status_code == 201 and r.json()["warnings"] == []
    board = cm.get(f"{API}/dashboard?day={TODAY}").json()
    assert test not in [row["test"] for row in board["needs_response"]]
    assert _intact(seeded["url"])


def test_closed_windows_are_marked_missed(registry_url: str, client_for: Any) -> None:
    data = seed(registry_url, n=2)
    reg = Registry(registry_url)
    t = service.T["drug_tests"]
    with reg.write("test-setup", "windows closed") as tx:  # yesterday's tests, never sampled
        for row in tx.conn.execute(t.select()).mappings().all():
            tx.update("drug_tests", row, {"scheduled_on": TODAY - dt.timedelta(days=1),
                                          "due_by": dt.datetime.combine(TODAY, dt.time(0))})
    reg.dispose()
    assert client_for("judge").api("POST", f"{API}/tests/close-missed").status_code == 403
    cm = client_for("case_manager")
    assert cm.api("POST", f"{API}/tests/close-missed").json() == {"missed": 2}
    board = cm.get(f"{API}/dashboard").json()
    assert sorted(r["test"] for r in board["needs_response"]) == sorted(data["tests"])
    assert cm.form("/registry/calendar/close-missed").status_code == 303
    assert "0 tests whose window closed marked missed" in cm.get("/registry/calendar").text


def test_stale_version_is_a_conflict_and_the_first_write_stays(seeded: dict[str, Any],
                                                                client_for: Any) -> None:
    test = seeded["tests"][0]
    first, second = client_for("clinician"), client_for("case_manager")
    r = first.api("POST", f"{API}/tests/{test}/result", json={"result": "negative", "version": 1})
    assert r.status_code == 200 and r.json()["test"]["version"] == 2
    r = second.api("POST", f"{API}/tests/{test}/result",
                   json={"result": "positive", "substances": ["thc"], "version": 1})
    assert r.status_code == 409
    body = r.json()
    assert "conflict" in body["error"] and body["current_version"] == 2
    assert body["current"]["status"] == "negative"
    listed = second.get(f"{API}/tests?day={TODAY}").json()["tests"]
    assert next(t for t in listed if t["id"] == test)["status"] == "negative"
    r = second.form(f"/registry/calendar/tests/{test}/result", {"result": "dilute", "version": "1"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Someone else recorded this test" in r.text
    assert next(t for t in second.get(f"{API}/tests").json()["tests"]
                if t["id"] == test)["status"] == "negative"


def test_responses_suggestions_and_the_jail_cap(seeded: dict[str, Any], client_for: Any) -> None:
    code = seeded["codes"][0]
    judge = client_for("judge")
    sugg = judge.get(f"{API}/participants/{code}/suggestion?behaviour=missed_test").json()
    assert sugg["sanction"]["level"] == 2 and sugg["sanction"]["proximal"]
    page = judge.get(f"/registry/participants/{code}?behaviour=missed_test").text
    assert "Suggested response" in page and f'value="{sugg["sanction"]["type"]}"' in page
    r = judge.api("POST", f"{API}/participants/{code}/responses",
                  json={"kind": "sanction", "type": "jail", "jail_days": 10,
                        "behaviour": "missed_hearing"})
    assert r.status_code == 201 and "exceeds the cap of 5 days" in r.json()["warnings"][0]
    r = judge.form(f"/registry/participants/{code}/responses",
                   {"kind": "sanction", "type": "jail", "jail_days": "7", "box": "respond-box-p"},
                   headers={"HX-Request": "true"})
    assert r.status_code == 200 and "exceeds the cap" in r.text
    assert r.headers["HX-Retarget"] == "#respond-box-p"
    r = judge.form(f"/registry/participants/{code}/responses",
                   {"kind": "sanction", "type": "", "box": "respond-box-p"},
                   headers={"HX-Request": "true"})
    assert r.status_code == 200 and "type:" in r.text and "HX-Retarget" not in r.headers
    r = judge.form(f"/registry/participants/{code}/responses", {"kind": "incentive", "type": "praise"})
    assert r.status_code == 303
    assert "praise" in judge.get(r.headers["location"]).text
    assert client_for("clinician").api("POST", f"{API}/participants/{code}/responses",
                                       json={"kind": "incentive", "type": "x"}).status_code == 403
    r = judge.api("POST", f"{API}/participants/{code}/responses",
                  json={"kind": "incentive", "type": "x", "jail_days": 2})
    assert r.status_code == 400 and r.json()["error"].startswith("jail_days")


def test_hearing_notes_by_the_judge(seeded: dict[str, Any], client_for: Any) -> None:
    hearing = seeded["hearings"][0]
    judge = client_for("judge")
    assert "Robin Example" in judge.get("/registry/hearings").text
    r = judge.form(f"/registry/hearings/{hearing}",
                   {"status": "held", "minutes": "4", "note": "Good progress; keep going",
                    "version": "1"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "recorded: held" in r.text
    listed = client_for("defence").get(f"{API}/hearings?day={TODAY}").json()
    mine = next(h for h in listed if h["id"] == hearing)
    assert mine["note"] == "Good progress; keep going" and mine["minutes"] == 4
    assert client_for("defence").api("POST", f"{API}/hearings/{hearing}",
                                     json={"status": "held"}).status_code == 403
    r = judge.api("POST", f"{API}/hearings/{hearing}", json={"status": "missed", "version": 1})
    assert r.status_code == 409
    r = judge.api("POST", f"{API}/hearings/{seeded['hearings'][1]}",
                  json={"status": "missed", "note": "did not attend"})
    assert r.status_code == 200 and r.json()["status"] == "missed"
    assert judge.api("POST", f"{API}/hearings/99999", json={"status": "held"}).status_code == 404


def test_aggregates_suppress_small_cells(registry_url: str, client_for: Any) -> None:
    data = seed(registry_url, n=13)
    reg = Registry(registry_url)
    with reg.write("test-setup", "terminate two") as tx:
        for code in data["codes"][:2]:
            service.end_enrolment(tx, code, "terminated", inputs.ExitIn(reason="absconded"), {})
    reg.dispose()
    analyst = client_for("analyst")
    out = analyst.get(f"{API}/aggregates").json()
    assert out["min_cell"] == 11
    row = next(r for r in out["tables"]["outcomes"] if r["quadrant"] == "all")
    assert row["terminated"] is None and row["graduation_rate"] is None
    assert row["left"] is None  # 2 people left: suppressed, with everything computed from it
    # 11 active beside 13 people in the rearrest table would give the 2 who left: hidden too
    people = next(r for r in out["tables"]["rearrest_by_quadrant"] if r["quadrant"] == "all")
    assert row["active"] is None or people["people"] is None
    page = analyst.get("/registry/aggregates").text
    assert "&lt;11" in page and "Graduation and termination" in page
    assert not re.search(r"P-[0-9A-Z]{8}", page + str(out))  # no code anywhere


# ---- in the browser --------------------------------------------------------------------------------

def test_browser_case_manager_records_a_result_and_sees_the_suggestion(
        seeded: dict[str, Any], page_for: Any) -> None:
    page = page_for("case_manager")
    page.goto("/registry/calendar")
    assert unlabelled_fields(page) == []
    test = seeded["tests"][0]
    code = seeded["codes"][0]
    page.get_by_label(f"Result of test {test} ({code})", exact=True).select_option("positive")
    page.get_by_label(f"Substances in test {test}").focus()
    page.keyboard.type("methamphetamine")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("Record result")
    page.keyboard.press("Enter")
    suggestion = page.locator(f"#test-{test} .suggestion")
    suggestion.wait_for()
    assert "Sanction:" in suggestion.inner_text()
    assert "positive" in page.locator(f"#test-{test} tr").first.inner_text()
    assert unlabelled_fields(page) == []
    page.locator(f"#test-{test}").get_by_role("button", name="Record response").click()
    page.locator(f"#respond-box-{test}").get_by_text("Recorded:").wait_for()
    assert page.locator(f"#respond-box-{test} form").count() == 0  # no second click records twice
    page.goto(f"/registry/participants/{code}")
    assert "positive" in page.inner_text("#timeline") and "sanction" in page.inner_text("#timeline")


def test_browser_every_registry_page_is_labelled(seeded: dict[str, Any], page_for: Any) -> None:
    page = page_for("judge")
    code = seeded["codes"][0]
    for url in ("/registry", f"/registry/participants/{code}?behaviour=positive_test",
                "/registry/calendar", "/registry/hearings", "/registry/dashboard",
                "/registry/aggregates"):
        page.goto(url)
        assert page.locator("h1").count() == 1, url
        assert unlabelled_fields(page) == [], url
    page = page_for("clinician")
    page.goto(f"/registry/participants/{code}")
    assert unlabelled_fields(page) == []
    page.get_by_label("New clinical note").fill("Attending group twice a week")
    page.get_by_role("button", name="Save note").click()
    assert "Attending group twice a week" in page.inner_text("#notes")


def test_browser_analyst_is_refused_the_participants_page(page_for: Any) -> None:
    page = page_for("analyst")
    response = page.goto("/registry")
    assert response is not None and response.status == 403
    assert "Not for your role" in page.inner_text("h1")
    page.goto("/registry/aggregates")
    assert "Registry figures" in page.inner_text("h1")
