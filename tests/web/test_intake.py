"""Intake in the web registry: new participants, consent, enrolment, phases, exits, rearrests, an
assessment saved to a participant and its advice confirmed; roles, conflicts, the audit chain and
one browser flow."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from divert.law.policy import read_yaml
from divert.registry.models import AUDITED
from divert.registry.store import Registry
from divert.web.accounts import PERMISSIONS, ROLES

from .conftest import TODAY, unlabelled_fields
from .test_court import API, _intact, seed

CASE = Path(__file__).parents[2] / "examples" / "cases" / "usa_heroin_possession.yaml"


def _new(c: Any, name: str = "Alex Intake-Person") -> str:
    r = c.api("POST", f"{API}/participants", json={"name": name, "birth_date": "1991-02-03",
                                                   "contact": "0400 123 456", "sex": "female"})
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def test_role_matrix(registry_url: str, client_for: Any) -> None:
    managers = {r for r in ROLES if "participants.manage" in PERMISSIONS[r]}
    deciders = {r for r in ROLES if "enrolment.decide" in PERMISSIONS[r]}
    assert managers == {"case_manager"} and deciders == {"case_manager", "judge"}
    confirmers = {r for r in ROLES if "advice.confirm" in PERMISSIONS[r]}
    assert confirmers == {"judge", "prosecutor", "case_manager"}  # whoever takes the decision
    for role, status in (("prosecutor", 404), ("defence", 403), ("clinician", 403)):
        r = client_for(role).api("POST", f"{API}/advice/99999/confirm",
                                 json={"decision": "none", "version": 1})
        assert r.status_code == status, (role, r.text)
    code = _new(client_for("case_manager"))
    for role in ("analyst", "defence", "prosecutor", "judge", "clinician", "admin"):
        c = client_for(role)
        r = c.api("POST", f"{API}/participants", json={"name": "Someone"})
        assert r.status_code == 403 and "may not add participants" in r.json()["error"], role
        r = c.api("POST", f"{API}/participants/{code}/enrolment", json={})
        assert r.status_code == 403, role
        assert c.get("/registry/participants/new").status_code == 403, role
        assert c.form("/registry/participants/new", {"name": "Someone"}).status_code == 403, role
    for role in ("analyst", "defence", "prosecutor", "clinician"):
        r = client_for(role).api("POST", f"{API}/participants/{code}/exit",
                                 json={"kind": "terminated", "reason": "x"})
        assert r.status_code == 403, role


def test_enrolment_needs_consent_and_identity_is_encrypted(registry_url: str, client_for: Any
                                                            ) -> None:
    c = client_for("case_manager")
    code = _new(c, "Quentin Uniquename")
    r = c.api("POST", f"{API}/participants/{code}/enrolment", json={"on": str(TODAY)})
    assert r.status_code == 400 and r.json()["error"].startswith("consent: no informed consent")
    page = c.form(f"/registry/participants/{code}/enrolment", {"on": str(TODAY)})
    assert page.status_code == 400 and "no informed consent" in page.text.lower()
    assert c.api("POST", f"{API}/participants/{code}/consent",
                 json={"given": True, "on": str(TODAY)}).status_code == 201
    r = c.api("POST", f"{API}/participants/{code}/enrolment",
              json={"on": str(TODAY), "measure": "drug_treatment_court"})
    assert r.status_code == 201, r.text
    shown = c.get(f"{API}/participants/{code}").json()
    assert shown["status"] == "active" and shown["enrolment"]["phase"] == 1
    assert c.get(f"{API}/participants/{code}?identify=true").json()["identity"]["name"] == \
        "Quentin Uniquename"
    db = Path(registry_url.removeprefix("sqlite:///")).read_bytes()
    assert b"Quentin" not in db and b"Uniquename" not in db
    assert _intact(registry_url)


def test_bad_input_names_the_field(registry_url: str, client_for: Any) -> None:
    c = client_for("case_manager")
    r = c.api("POST", f"{API}/participants", json={"name": "A", "sex": "robot"})
    assert r.status_code == 422 and "sex" in r.json()["error"]
    page = c.form("/registry/participants/new", {"name": "", "birth_date": "31/12/1990"})
    assert page.status_code == 400 and "name" in page.text and 'role="alert"' in page.text
    code = _new(c)
    r = c.api("POST", f"{API}/participants/{code}/enrolment", json={"measure": "imprisonment"})
    assert r.status_code == 422 and "measure" in r.json()["error"]
    r = c.api("POST", f"{API}/participants/P-ZZZZZZZZ/consent", json={"given": True})
    assert r.status_code == 404
    r = c.api("POST", f"{API}/advice/99999/confirm", json={"decision": "none"})
    assert r.status_code == 404


def test_phase_change_needs_override_when_criteria_unmet(registry_url: str, client_for: Any) -> None:
    code = seed(registry_url, 1)["codes"][0]
    judge = client_for("judge")
    before = judge.get(f"{API}/participants/{code}").json()
    assert before["promotion"]["eligible"] is False  # 14 days in, 60 needed
    version = before["enrolment"]["version"]
    r = judge.api("POST", f"{API}/participants/{code}/phase", json={"version": version})
    assert r.status_code == 400 and r.json()["error"].startswith("criteria: phase promotion not met")
    assert judge.get(f"{API}/participants/{code}").json()["enrolment"]["phase"] == 1
    page = judge.get(f"/registry/participants/{code}")
    assert "not met" in page.text and 'name="override"' in page.text
    r = judge.form(f"/registry/participants/{code}/phase", {"version": version,
                                                            "override": "team decision"})
    assert r.status_code == 303
    after = judge.get(f"{API}/participants/{code}").json()["enrolment"]
    assert after["phase"] == 2
    stale = judge.api("POST", f"{API}/participants/{code}/exit",
                      json={"kind": "terminated", "reason": "new offence", "version": version})
    assert stale.status_code == 409 and stale.json()["current_version"] == after["version"]
    page = judge.form(f"/registry/participants/{code}/exit", {"kind": "terminated",
                                                              "reason": "x", "version": version})
    assert page.status_code == 409 and "changed by someone else" in page.text
    r = judge.api("POST", f"{API}/participants/{code}/exit",
                  json={"kind": "terminated", "reason": "new offence", "version": after["version"]})
    assert r.status_code == 200 and r.json()["version"] > after["version"]
    assert judge.get(f"{API}/participants/{code}").json()["status"] == "terminated"
    timeline = judge.get(f"{API}/participants/{code}/timeline").json()["events"]
    change = [e for e in timeline if e["event"] == "phase change"]
    assert change and change[0]["reason"] == "override: team decision"
    log = AUDITED["participants"].metadata.tables["audit_log"]
    reg = Registry(registry_url)
    with reg.read() as conn:
        actors = {r.actor for r in conn.execute(select(log.c.actor, log.c.command)).all()
                  if r.command in ("web advance", "web terminated")}
    reg.dispose()
    assert actors == {"judge"}
    assert _intact(registry_url)


def test_assessment_saved_as_screenings_case_and_advice(registry_url: str, client_for: Any) -> None:
    c = client_for("case_manager")
    code = _new(c)
    r = c.api("POST", f"{API}/participants/{code}/advice",
              json={"jurisdiction": "usa", "case": json.loads(json.dumps(read_yaml(CASE), default=str)),
                    "case_reference": "2023-CR-1"})
    assert r.status_code == 201, r.text
    advice_id = r.json()["id"]
    events = c.get(f"{API}/participants/{code}/timeline").json()["events"]
    kinds = [e["event"] for e in events]
    assert kinds.count("screening") == 2 and "case" in kinds
    advice = next(e for e in events if e["event"] == "advice")
    assert advice["id"] == advice_id and advice["jurisdiction"] == "usa"
    assert len(advice["pack_hash"]) >= 12
    from divert.law.policy import load

    assert advice["pack_hash"] == load("usa").hash
    page = c.get(f"/registry/participants/{code}")
    assert f"Advice {advice_id}" in page.text and advice["pack_hash"][:12] in page.text
    assert c.get(f"/assess?participant={code}").text.count(f"Save to participant {code}") == 1
    assert "Save to participant" not in client_for("defence").get(f"/assess?participant={code}").text
    # the decision maker confirms with the decision taken; a stale version is a conflict
    judge = client_for("judge")
    r = judge.api("POST", f"/api/v1/registry/advice/{advice_id}/confirm",
                  json={"decision": "drug_treatment_court", "version": advice["version"]})
    assert r.status_code == 200, r.text
    again = judge.api("POST", f"/api/v1/registry/advice/{advice_id}/confirm",
                      json={"decision": "none", "version": advice["version"]})
    assert again.status_code == 409
    events = judge.get(f"{API}/participants/{code}/timeline").json()["events"]
    done = next(e for e in events if e["event"] == "advice")
    assert done["confirmed_by"] == "judge" and done["final_decision"] == "drug_treatment_court"
    assert client_for("defence").api("POST", f"/api/v1/registry/advice/{advice_id}/confirm",
                                     json={"decision": "none"}).status_code == 403
    assert _intact(registry_url)


def test_assessment_form_saves_to_participant(registry_url: str, client_for: Any) -> None:
    c = client_for("case_manager")
    code = _new(c)
    form = {"jurisdiction": "portugal", "date": "2024-05-01", "participant": code,
            "person.age": "30", "offence.type": "possession", "offence.substance": "cannabis_resin",
            "offence.quantity_g": "5"}
    r = c.form(f"/registry/participants/{code}/assessment", form)
    assert r.status_code == 303, r.text
    events = c.get(f"{API}/participants/{code}/timeline").json()["events"]
    advice = [e for e in events if e["event"] == "advice"]
    assert len(advice) == 1 and advice[0]["jurisdiction"] == "portugal"
    bad = c.form(f"/registry/participants/{code}/assessment", {**form, "person.age": "-4"})
    assert bad.status_code == 400 and "person.age" in bad.text
    assert len([e for e in c.get(f"{API}/participants/{code}/timeline").json()["events"]
                if e["event"] == "advice"]) == 1  # nothing stored from the refused form


def test_rearrest_and_pages_flow(registry_url: str, client_for: Any) -> None:
    c = client_for("case_manager")
    r = c.form("/registry/participants/new", {"name": "Pat Form", "programme": "default",
                                              "referred_on": str(TODAY)})
    assert r.status_code == 303
    code = r.headers["location"].rsplit("/", 1)[1]
    assert c.form(f"/registry/participants/{code}/consent",
                  {"given": "true", "on": str(TODAY)}).status_code == 303
    assert c.form(f"/registry/participants/{code}/enrolment",
                  {"measure": "drug_treatment_court", "on": str(TODAY)}).status_code == 303
    day = str(TODAY - dt.timedelta(days=1))
    assert c.form(f"/registry/participants/{code}/rearrest",
                  {"on": day, "offence_type": "possession"}).status_code == 303
    events = c.get(f"{API}/participants/{code}/timeline").json()["events"]
    assert {"consent given", "enrolled", "rearrest"} <= {e["event"] for e in events}
    assert _intact(registry_url)


def test_browser_case_manager_adds_consents_and_enrols(registry_url: str, page_for: Any) -> None:
    page = page_for("case_manager")
    page.goto("/registry")
    page.get_by_role("link", name="Add a participant").click()
    assert unlabelled_fields(page) == []
    page.get_by_label("Name").fill("Jordan Browser")
    page.get_by_label("Birth date").fill("1988-07-09")
    page.get_by_label("Contact").focus()
    page.keyboard.type("0400 555 000")
    page.keyboard.press("Enter")  # submits the form
    page.get_by_role("heading", name="Participant P-").wait_for()
    assert unlabelled_fields(page) == []
    assert "Jordan Browser" in page.inner_text("#identity-h + p + dl")
    page.get_by_label("Given").check()
    page.get_by_role("button", name="Record consent").click()
    page.get_by_text("Consent given on").first.wait_for()
    page.get_by_label("Enrol in").select_option("drug_treatment_court")
    page.get_by_role("button", name="Enrol").focus()
    page.keyboard.press("Enter")
    page.get_by_text("Enrolled in drug treatment court").wait_for()
    assert "1: stabilisation" in page.inner_text("main")
    assert unlabelled_fields(page) == []
    page.get_by_role("link", name="Assess and save to this participant").click()
    assert unlabelled_fields(page) == []
    assert page.get_by_role("button", name="Save to participant").count() == 1
