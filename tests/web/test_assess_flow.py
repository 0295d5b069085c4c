"""The practitioner's advice flow (issue 17, items 1 and 7): the form filled from the participant and
their programme, every error beside its field with the form kept, substances from the vocabulary
with a did-you-mean, summary and decision first, only lawful decisions, a warning to confirm before
recording a decision or an enrolment the advice found not eligible, saves that store once, saved
advice reopened in full, no internal codes or "None" on the page, and keyboard-only intake and
advice in Chromium with axe-core and a 390 px viewport on every page of the flow."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

import pytest

from divert.advice.case import parse_case
from divert.advice.pathways import advise
from divert.law import policy
from divert.law.catalogue import CATALOGUE
from divert.registry import inputs, service
from divert.registry.store import Registry

from .conftest import TODAY, axe_violations, horizontal_overflow, unlabelled_fields
from .test_court import API, _audit, _intact

#: a case under USA law with one prior drug conviction: first-offender measures are closed
PRIOR = {"offence": {"type": "possession", "substance": "heroin", "quantity_g": 0.5,
                     "date": "2023-09-14"},
         "history": {"prior_drug_convictions": 1}}
FORM = {"jurisdiction": "usa", "offence.type": "possession", "offence.substance": "heroin",
        "offence.quantity_g": "0.5", "offence.date": "2023-09-14",
        "history.prior_drug_convictions": "1", "person.age": "33", "consent": "yes"}
BIRTH = dt.date(1990, 6, 15)


def seed_usa(url: str, facts: dict[str, Any] | None = None, consent: bool = True) -> str:
    """A participant of a programme under USA law: sex and birth date recorded, consent given,
    and, when given, a case kept for them."""
    reg = Registry(url)
    cipher = service.registry_cipher(reg)
    with reg.write("test-setup", "seed usa") as tx:
        if not service._one(tx.conn, "programmes", code="usa-court"):
            service.add_programme(tx, inputs.ProgrammeIn(code="usa-court", name="County drug court",
                                                         jurisdiction="usa"))
        row = service.add_participant(tx, cipher, inputs.ParticipantIn(
            name="Sam Keyboard", birth_date=BIRTH, sex="male", programme="usa-court"))
        if consent:
            service.record_consent(tx, row["code"], inputs.ConsentIn(given=True, on=TODAY))
        if facts is not None:
            service.add_case(tx, row["code"], inputs.CaseIn(facts=facts))
    reg.dispose()
    return str(row["code"])


def rows(url: str, table: str, code: str) -> list[dict[str, Any]]:
    reg = Registry(url)
    with reg.read() as conn:
        part = service.participant(conn, code)
        found = service._rows(conn, table, participant_id=part["id"])
    reg.dispose()
    return found


def visible_text(page_html: str) -> str:
    """The words of a page's main part (no tags, no attributes, no scripts)."""
    main = re.search(r"<main.*?</main>", page_html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", main.group(0) if main else page_html)
    return html.unescape(re.sub(r"\s+", " ", text))


def select_options(page_html: str, select_id: str) -> list[str]:
    found = re.search(rf'<select id="{select_id}".*?</select>', page_html, flags=re.S)
    assert found, select_id
    return re.findall(r'<option value="([^"]*)"', found.group(0))


def submission_of(page_html: str) -> str:
    found = re.search(r'name="submission" value="([^"]*)"', page_html)
    assert found
    return html.unescape(found.group(1))


def expected_advice(form: dict[str, str]) -> dict[str, Any]:
    """The advice pathways gives on FORM's case (computed here, not by the web)."""
    case = {"offence": {"type": "possession", "substance": "heroin", "quantity_g": 0.5,
                        "date": "2023-09-14"}, "history": {"prior_drug_convictions": 1},
            "person": {"age": 33}, "consent": True}
    assert form["jurisdiction"] == "usa"
    return json.loads(json.dumps(advise(parse_case(case), policy.load("usa")).to_json()))


# ---- server-side rules (TestClient) ---------------------------------------------------------------

def test_form_is_filled_from_the_participant_and_programme(registry_url: str, client_for: Any
                                                           ) -> None:
    code = seed_usa(registry_url, {"offence": {"type": "possession", "quantity_g": 2,
                                               "date": "2008-06-14",
                                               "aggravators": ["weapons"]}})
    page = client_for("case_manager").get(f"/assess?participant={code}").text
    assert re.search(r'<option value="usa" selected>United States', page)  # not "model"
    assert re.search(r'id="case-person-sex".*?<option value="male" selected>', page, re.S)
    age = TODAY.year - BIRTH.year - ((TODAY.month, TODAY.day) < (BIRTH.month, BIRTH.day))
    assert re.search(rf'id="case-person-age" name="person.age" [^>]*value="{age}"', page)
    # the age at the offence (youth justice turns on it) from the offence date: 17, not today's
    assert re.search(r'id="case-person-age-at-offence" [^>]*value="17"', page)
    assert re.search(r'id="case-consent".*?<option value="yes" selected>', page, re.S)
    assert re.search(r'id="case-offence-type".*?<option value="possession" selected>', page, re.S)
    assert 'id="case-offence-aggravators-weapons" name="offence.aggravators" value="weapons" checked' \
        in page
    assert "informed consent given" in visible_text(page)
    # reading the birth date for the age is recorded as a view of identifying data
    assert any("birth date" in (r["command"] or "") for r in _audit(registry_url))
    # a role that may not read the registry gets the blank form and learns nothing of the person
    analyst = client_for("analyst").get(f"/assess?participant={code}").text
    assert '<option value="model" selected>' in analyst and 'value="male" selected' not in analyst


def test_every_error_is_beside_its_field_and_the_form_is_kept(registry_url: str, client_for: Any
                                                              ) -> None:
    code = seed_usa(registry_url)
    c = client_for("case_manager")
    bad = {**FORM, "participant": code, "person.age": "abc", "offence.quantity_g": "-3",
           "offence.substance": "herion", "offence.date": "2023-02-30", "dast10.answers.0": "yes"}
    for url in ("/assess", f"/registry/participants/{code}/assessment"):
        r = c.form(url, bad)
        assert r.status_code == 400, url
        page = r.text
        for fid, words in (("case-person-age", "Enter a number from 0 to 120"),
                           ("case-offence-quantity-g", "Enter a number, 0 or more"),
                           ("case-offence-substance", "Did you mean heroin?"),
                           ("case-offence-date", "Enter a date as year-month-day")):
            beside = re.search(rf'id="{fid}"[^>]*aria-invalid="true".*?<p class="field-error" '
                               rf'id="{fid}-error">([^<]*)</p>', page, re.S)
            assert beside and words in html.unescape(beside.group(1)), (url, fid)
        assert 'id="screening-dast10-error"' in page  # an instrument half answered
        assert "5 answers need fixing; nothing was saved" in page
        assert 'value="abc"' in page and 'value="herion"' in page and 'value="-3"' in page
        assert "Field required" not in page and "Traceback" not in page
    assert rows(registry_url, "advice", code) == [] and rows(registry_url, "cases", code) == []


def test_substances_come_from_the_vocabulary(client_for: Any) -> None:
    c = client_for("clinician")
    for typed in ("Heroin", "cannabis resin", "CANNABIS_RESIN"):
        r = c.form("/assess", {**FORM, "offence.substance": typed})
        assert r.status_code == 200, (typed, r.text[-400:])
    r = c.form("/assess", {**FORM, "offence.substance": "xyzzy"})
    assert r.status_code == 400 and "is not a substance divert knows; choose one of: heroin" in \
        html.unescape(r.text)
    page = c.get("/assess").text
    listed = re.findall(r'<option value="([^"]*)"></option>', page.split('id="substance-values"')[1]
                        .split("</datalist>")[0])
    from divert.law.vocabulary import SUBSTANCES

    assert listed == [s.replace("_", " ") for s in SUBSTANCES]


def test_advice_page_puts_summary_and_decision_first_in_words(registry_url: str, client_for: Any
                                                              ) -> None:
    code = seed_usa(registry_url)
    r = client_for("case_manager").form("/assess", {**FORM, "participant": code})
    assert r.status_code == 200
    page = r.text
    summary, full, form = (page.index('id="advice-summary"'), page.index('id="advice"'),
                           page.index('id="case-form"'))
    assert summary < full < form
    assert page.index(f"Save to participant {code}") < full  # the Save button is at the top
    assert page.count(f"Save to participant {code}") == 1
    words = visible_text(page)
    expected = expected_advice(FORM)
    for stage in expected["stages"]:
        for m in stage["measures"]:
            assert f'data-measure="{m["id"]}"' in page
            if "_" in m["id"]:
                assert m["id"] not in words, m["id"]  # labels, not internal codes
    assert "None" not in words and "post_sentence" not in words and "After sentence" in words
    assert "history.prior_drug_convictions" not in words.split("The rule as encoded")[0]


def test_only_lawful_decisions_are_offered_and_accepted(registry_url: str, client_for: Any) -> None:
    code = seed_usa(registry_url)
    c = client_for("case_manager")
    page = c.form("/assess", {**FORM, "participant": code}).text
    expected = expected_advice(FORM)
    lawful = list(dict.fromkeys(m["id"] for s in expected["stages"] for m in s["measures"]
                                if m["kind"] != "coercive"))
    assert select_options(page, "decision") == ["", *lawful, "none"]
    assert not {"corporal_punishment", "death_penalty"} & set(select_options(page, "decision"))
    # under Iran's law the coercive measures are reported as facts and never offered
    iran = c.form("/assess", {**FORM, "participant": code, "jurisdiction": "iran"}).text
    offered = set(select_options(iran, "decision"))
    coercive = {k for k, m in CATALOGUE.items() if m.kind == "coercive"}
    iran_measures = {m.id for s in advise(parse_case(PRIOR), policy.load("iran")).stages
                     for m in s.measures}
    assert "corporal_punishment" in iran_measures and not offered & coercive
    assert "are facts of the law, never options" in html.unescape(iran)
    # the server refuses them too: a measure the law does not provide, and a coercive one
    usa_id = c.api("POST", f"{API}/participants/{code}/advice",
                   json={"jurisdiction": "usa", "case": PRIOR}).json()["id"]
    r = c.api("POST", f"/api/v1/registry/advice/{usa_id}/confirm", json={"decision": "death_penalty"})
    assert r.status_code == 400 and "not a measure the law of usa" in r.json()["error"]
    iran_id = c.api("POST", f"{API}/participants/{code}/advice",
                    json={"jurisdiction": "iran", "case": PRIOR}).json()["id"]
    r = c.api("POST", f"/api/v1/registry/advice/{iran_id}/confirm",
              json={"decision": "corporal_punishment"})
    assert r.status_code == 400 and "coercive measure" in r.json()["error"]
    saved = c.get(f"/registry/advice/{iran_id}").text
    assert not set(select_options(saved, "decision")) & coercive
    r = c.form(f"/registry/advice/{iran_id}/confirm", {"decision": "corporal_punishment"})
    assert r.status_code == 400 and 'id="decision-error"' in r.text
    assert all(a["final_decision"] is None for a in rows(registry_url, "advice", code))


def test_a_decision_found_not_eligible_needs_a_confirmed_warning(registry_url: str,
                                                                 client_for: Any) -> None:
    code = seed_usa(registry_url)
    c = client_for("case_manager")
    page = c.form("/assess", {**FORM, "participant": code}).text
    carried = submission_of(page)
    save = f"/registry/participants/{code}/assessment"
    r = c.form(save, {"submission": carried, "decision": "pre_judgment_probation"})
    assert r.status_code == 409 and "not eligible" in r.text
    assert "not previously convicted" in html.unescape(r.text)  # the reason, in words
    assert rows(registry_url, "advice", code) == []  # nothing stored before the confirmation
    r = c.form(save, {"submission": submission_of(r.text), "decision": "pre_judgment_probation",
                      "confirm_not_eligible": "yes"})
    assert r.status_code == 303
    (kept,) = rows(registry_url, "advice", code)
    assert kept["final_decision"] == "pre_judgment_probation" and kept["confirmed_by"] == "case_manager"
    # an eligible decision needs no warning; through the API a not-eligible one needs the flag
    api_id = c.api("POST", f"{API}/participants/{code}/advice",
                   json={"jurisdiction": "usa", "case": PRIOR, "date": "2024-01-02"}).json()["id"]
    r = c.api("POST", f"/api/v1/registry/advice/{api_id}/confirm",
              json={"decision": "probation_with_treatment"})
    assert r.status_code == 400 and "confirm_not_eligible: true" in r.json()["error"]
    r = c.api("POST", f"/api/v1/registry/advice/{api_id}/confirm",
              json={"decision": "probation_with_treatment", "confirm_not_eligible": True})
    assert r.status_code == 200, r.text
    other = c.api("POST", f"{API}/participants/{code}/advice",
                  json={"jurisdiction": "usa", "case": PRIOR, "date": "2024-01-03"}).json()["id"]
    assert c.api("POST", f"/api/v1/registry/advice/{other}/confirm",
                 json={"decision": "imprisonment"}).status_code == 200
    assert _intact(registry_url)


def test_an_enrolment_found_not_eligible_needs_a_confirmed_warning(registry_url: str,
                                                                   client_for: Any) -> None:
    code = seed_usa(registry_url)
    c = client_for("case_manager")
    assert c.api("POST", f"{API}/participants/{code}/advice",
                 json={"jurisdiction": "usa", "case": PRIOR}).status_code == 201
    enrol = {"measure": "pre_judgment_probation", "on": str(TODAY)}
    r = c.form(f"/registry/participants/{code}/enrolment", enrol)
    assert r.status_code == 409 and "Yes, enrol anyway" in r.text
    assert rows(registry_url, "enrolments", code) == []
    r = c.api("POST", f"{API}/participants/{code}/enrolment", json=enrol)
    assert r.status_code == 400 and "confirm_not_eligible" in r.json()["error"]
    assert rows(registry_url, "enrolments", code) == []
    r = c.form(f"/registry/participants/{code}/enrolment", {**enrol, "confirm_not_eligible": "yes"})
    assert r.status_code == 303
    assert [e["measure"] for e in rows(registry_url, "enrolments", code)] == ["pre_judgment_probation"]
    # an eligible measure enrols without a warning (drug court is open for this case)
    fresh = seed_usa(registry_url)
    c.api("POST", f"{API}/participants/{fresh}/advice",
          json={"jurisdiction": "usa", "case": {**PRIOR, "history": {"prior_drug_convictions": 0}}})
    r = c.form(f"/registry/participants/{fresh}/enrolment",
               {"measure": "pre_judgment_probation", "on": str(TODAY)})
    assert r.status_code == 303


def test_saving_the_same_submission_twice_stores_once(registry_url: str, client_for: Any) -> None:
    code = seed_usa(registry_url)
    c = client_for("case_manager")
    form = {**FORM, "participant": code, **{f"dast10.answers.{i}": "no" for i in range(10)}}
    carried = submission_of(c.form("/assess", form).text)
    save = f"/registry/participants/{code}/assessment"
    first = c.form(save, {"submission": carried, "decision": "imprisonment"})
    assert first.status_code == 303 and "nothing new" not in c.get(first.headers["location"]).text
    second = c.form(save, {"submission": carried, "decision": "imprisonment"})
    assert second.status_code == 303 and first.headers["location"] == second.headers["location"]
    assert "nothing new stored" in c.get(second.headers["location"]).text
    assert len(rows(registry_url, "advice", code)) == 1
    assert len(rows(registry_url, "cases", code)) == 1
    assert len(rows(registry_url, "screenings", code)) == 1
    (kept,) = rows(registry_url, "advice", code)
    assert kept["final_decision"] == "imprisonment" and kept["version"] == 2  # confirmed once
    # a different decision on the decided advice is refused beside the field, nothing changes
    r = c.form(save, {"submission": carried, "decision": "none"})
    assert r.status_code == 400 and "already records the decision imprisonment" in r.text
    # the API: the same body twice gives the same advice
    body = {"jurisdiction": "usa", "case": PRIOR, "date": "2024-02-01"}
    a = c.api("POST", f"{API}/participants/{code}/advice", json=body).json()["id"]
    b = c.api("POST", f"{API}/participants/{code}/advice", json=body).json()["id"]
    assert a == b and len(rows(registry_url, "advice", code)) == 2
    # a changed answer is a new assessment
    changed = submission_of(c.form("/assess", {**form, "person.age": "34"}).text)
    assert c.form(save, {"submission": changed}).status_code == 303
    assert len(rows(registry_url, "advice", code)) == 3
    assert _intact(registry_url)


def test_saved_advice_reopens_in_full_from_its_snapshot(registry_url: str, client_for: Any) -> None:
    code = seed_usa(registry_url)
    c = client_for("case_manager")
    advice_id = c.api("POST", f"{API}/participants/{code}/advice",
                      json={"jurisdiction": "usa", "case": PRIOR}).json()["id"]
    (kept,) = rows(registry_url, "advice", code)
    page = c.get(f"/registry/advice/{advice_id}").text
    snapshot = kept["advice"]
    shown = re.findall(r'<li class="measure[^"]*" id="measure-([a-z_]+)-([a-z_]+)"', page)
    assert shown == [(s["stage"], m["id"]) for s in snapshot["stages"] for m in s["measures"]]
    words = visible_text(page)
    from divert.web.assess_view import plain_reason

    for s in snapshot["stages"]:
        for m in s["measures"]:
            assert m["label"] in words
            for reason in m["reasons"]:
                assert plain_reason(reason) in words
    assert "possession" in words and "Prior drug convictions" in words  # the case it was given
    assert 'id="decision-form"' in page and page.index('id="decision-form"') < page.index(
        'id="advice"')
    assert c.form(f"/registry/advice/{advice_id}/confirm",
                  {"decision": "imprisonment", "version": str(kept["version"])}).status_code == 303
    again = c.get(f"/registry/advice/{advice_id}").text
    assert 'id="decision-form"' not in again and "Decision: <strong>Imprisonment</strong>" in again
    # every role that reads the registry may reopen it; none may change it without the right
    defence = client_for("defence").get(f"/registry/advice/{advice_id}")
    assert defence.status_code == 200 and "Decision: <strong>Imprisonment" in defence.text
    assert client_for("analyst").get(f"/registry/advice/{advice_id}").status_code == 403
    assert c.get("/registry/advice/99999").status_code == 404
    participant = c.get(f"/registry/participants/{code}").text
    assert f'href="/registry/advice/{advice_id}"' in participant
    assert "None" not in visible_text(participant)


def test_new_participant_errors_are_beside_their_fields(registry_url: str, client_for: Any) -> None:
    c = client_for("case_manager")
    r = c.form("/registry/participants/new", {"name": "", "birth_date": "31/12/1990",
                                              "sex": "robot", "contact": "x" * 600})
    assert r.status_code == 400
    for fid, words in (("new-name", "Enter this; it is required."),
                       ("new-birth", "Enter a date as year-month-day"),
                       ("new-sex", "Choose one of: 'female', 'male' or 'other'."),
                       ("new-contact", "Use at most 500 characters.")):
        beside = re.search(rf'id="{fid}"[^>]*aria-invalid="true"[^>]*>.*?<p class="field-error" '
                           rf'id="{fid}-error">([^<]*)</p>', r.text, re.S)
        assert beside and words in html.unescape(beside.group(1)), fid
    assert 'value="31/12/1990"' in r.text and "Field required" not in r.text
    # consent and enrolment keep their form too, with the error beside the field
    code = seed_usa(registry_url, consent=False)
    r = c.form(f"/registry/participants/{code}/enrolment", {"on": "2024-02-30",
                                                            "planned_end": "soon"})
    assert r.status_code == 400 and 'id="on-error"' in r.text and 'id="planned_end-error"' in r.text
    assert 'value="soon"' in r.text


# ---- keyboard only, in Chromium --------------------------------------------------------------------

def tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until the element matching `selector` has the focus; its focus must be visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            assert focus_visible(page), selector
            return
    raise AssertionError(f"Tab never reached {selector}")


def focus_visible(page: Any) -> bool:
    """Whether the focused element shows a focus ring (an outline at least 2 px wide)."""
    return bool(page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"""))


def choose(page: Any, value: str, limit: int = 60) -> None:
    """On the focused select, press ArrowDown until `value` is chosen."""
    for _ in range(limit):
        if page.evaluate("() => document.activeElement.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} is not an option")


def accessible(page: Any) -> None:
    """No serious or critical axe-core violation, and nothing scrolls sideways at 390 px."""
    assert axe_violations(page) == []
    assert horizontal_overflow(page, 390) == 0
    assert unlabelled_fields(page) == []
    page.set_viewport_size({"width": 1280, "height": 800})


def test_browser_keyboard_only_intake(registry_url: str, page_for: Any) -> None:
    page = page_for("case_manager")
    page.goto("/registry/participants/new")
    accessible(page)
    tab_to(page, "#new-name")
    page.keyboard.press("Enter")  # nothing typed: refused, every error beside its field
    page.locator("#new-name-error").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    accessible(page)
    tab_to(page, "#new-name")
    page.keyboard.type("Kim Keyboard")
    tab_to(page, "#new-sex")
    choose(page, "female")
    tab_to(page, "#new-referred")
    tab_to(page, "button[type=submit]:not(.signout button)")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Participant P-").wait_for()
    accessible(page)
    tab_to(page, "#intake form[action$='/consent'] button")
    page.keyboard.press("Enter")
    page.get_by_text("Consent given on").first.wait_for()
    tab_to(page, "#enrol-measure")
    choose(page, "drug_treatment_court")
    tab_to(page, "#intake form[action$='/enrolment'] button")
    page.keyboard.press("Enter")
    page.get_by_text("Enrolled in drug treatment court").wait_for()
    accessible(page)


def test_browser_keyboard_only_advice(registry_url: str, page_for: Any) -> None:
    code = seed_usa(registry_url, {"offence": {"type": "possession", "quantity_g": 0.5,
                                               "date": "2023-09-14"},
                                   "history": {"prior_drug_convictions": 1}})
    page = page_for("case_manager")
    page.goto(f"/assess?participant={code}")
    assert page.locator("#jurisdiction").input_value() == "usa"
    assert page.locator("#case-person-sex").input_value() == "male"
    assert page.locator("#case-consent").input_value() == "yes"
    accessible(page)
    tab_to(page, "#case-offence-substance")
    page.keyboard.type("herion")
    page.keyboard.press("Enter")  # submits the form
    page.locator("#case-offence-substance-error").wait_for()
    assert "Did you mean heroin?" in page.inner_text("#case-offence-substance-error")
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    assert page.locator("#case-offence-quantity-g").input_value() == "0.5"  # the form is kept
    accessible(page)
    tab_to(page, "#case-offence-substance")
    page.keyboard.press("Control+A")
    page.keyboard.type("heroin")
    page.keyboard.press("Enter")
    page.locator("#advice-summary").wait_for()
    accessible(page)
    # the summary and the decision come first; beside a long advice they stay in view
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator("#advice-summary").bounding_box()["y"] < page.locator(
        "#advice").bounding_box()["y"]
    page.set_viewport_size({"width": 1280, "height": 800})
    save = page.get_by_role("button", name=f"Save to participant {code}")
    assert save.bounding_box()["y"] < 1200
    page.evaluate("() => document.getElementById('stage-post_sentence').scrollIntoView()")
    box = page.locator("#advice-summary").bounding_box()
    scrolled = page.evaluate("() => window.scrollY")
    assert scrolled > 3000 and 0 <= box["y"] < 800  # sticky: on screen deep in the advice
    page.evaluate("() => window.scrollTo(0, 0)")
    page.locator("main").focus()
    tab_to(page, "#decision")
    choose(page, "pre_judgment_probation")  # found not eligible: a prior drug conviction
    tab_to(page, "#decision-form button")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Check before you record this decision").wait_for()
    assert rows(registry_url, "advice", code) == []
    accessible(page)
    tab_to(page, "main form[action$='/assessment'] button")
    page.keyboard.press("Enter")
    page.locator("#decision-recorded").wait_for()
    assert "Pre-judgment probation" in page.inner_text("#decision-recorded")
    accessible(page)
    (kept,) = rows(registry_url, "advice", code)
    assert kept["final_decision"] == "pre_judgment_probation"
    # reopened later from the participant's page: the whole advice, as kept
    page.goto(f"/registry/participants/{code}")
    accessible(page)
    tab_to(page, f"a[href='/registry/advice/{kept['id']}']")
    page.keyboard.press("Enter")
    page.locator("#advice").wait_for()
    count = sum(len(s["measures"]) for s in kept["advice"]["stages"])
    assert page.locator("li.measure").count() == count
    accessible(page)


@pytest.mark.parametrize("path", ["/assess"])
def test_browser_assessment_page_is_accessible_for_every_role(path: str, page_for: Any) -> None:
    for role in ("clinician", "judge"):
        page = page_for(role)
        page.goto(path)
        accessible(page)
