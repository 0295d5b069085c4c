"""Assessment: the instruments' guided forms with their skip logic, the case form, the advice
(pages and API), equal to what `divert assess --json` and `pathways.advise` give."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from divert.advice.case import parse_case
from divert.advice.pathways import advise
from divert.advice.screening import score
from divert.law import policy
from divert.law.policy import read_yaml

from ..conftest import run_cli
from .conftest import unlabelled_fields

ROOT = Path(__file__).resolve().parents[2]
CASES = {"iran_opium_user": "iran", "portugal_resin_2006": "portugal",
         "usa_heroin_possession": "usa"}


def _plain(value: Any) -> Any:
    """Ruamel data as plain JSON data."""
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize("name", sorted(CASES))
def test_api_advice_equals_the_cli(client_for: Any, capsys: Any, name: str) -> None:
    path = ROOT / "examples" / "cases" / f"{name}.yaml"
    code, out, err = run_cli(["assess", str(path), "-j", CASES[name], "--json"], capsys)
    assert code == 0, err
    c = client_for("clinician")
    r = c.api("POST", "/api/v1/assess", json={"jurisdiction": CASES[name],
                                              "case": _plain(read_yaml(path))})
    assert r.status_code == 200, r.text
    assert r.json() == json.loads(out)


def test_api_advice_equals_pathways_for_every_example_case(client_for: Any) -> None:
    c = client_for("judge")
    n = 0
    for pack in policy.iter_packs():
        for ex in pack.examples:
            data = _plain(ex.case)
            body = {"jurisdiction": pack.code, "case": data, "projection": False,
                    "date": ex.date.isoformat() if ex.date else None}
            r = c.api("POST", "/api/v1/assess", json=body)
            assert r.status_code == 200, (pack.code, ex.name, r.text)
            expected = advise(parse_case(data), pack, None, ex.date).to_json()
            assert r.json() == _plain(expected), (pack.code, ex.name)
            n += 1
    assert n >= 10


def test_api_stages_and_date(client_for: Any) -> None:
    c = client_for("clinician")
    case = _plain(read_yaml(ROOT / "examples/cases/usa_heroin_possession.yaml"))
    r = c.api("POST", "/api/v1/assess", json={"jurisdiction": "usa", "case": case,
                                              "stages": ["court"], "date": "1980-01-01"})
    assert r.status_code == 200
    assert [s["stage"] for s in r.json()["stages"]] == ["court"] and r.json()["date"] == "1980-01-01"


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"jurisdiction": "atlantis", "case": {}}, 400,
     "jurisdiction: unknown jurisdiction 'atlantis'; allowed: "),
    ({"jurisdiction": "../policies/usa", "case": {}}, 400, "jurisdiction: unknown jurisdiction"),
    ({"jurisdiction": "usa", "case": {"person": {"age": 300}}}, 422, "case.person.age:"),
    ({"jurisdiction": "usa", "case": {"offence": {"type": "smuggling"}}}, 422,
     "case.offence.type: Input should be 'use', 'possession'"),
    ({"jurisdiction": "usa", "case": {"offence": {"plants": 10 ** 400}}}, 422, "case:"),
    ({"jurisdiction": "usa", "case": {"offence": {"type": "use"}}}, 400,
     "date: the case has no offence.date"),
    ({"jurisdiction": "usa", "case": {"offence": {"date": "2020-01-01"},
                                      "screening": {"audit": {"answers": [0] * 9}}}}, 400,
     "screening.audit.answers: expected 10 items, got 9"),
    ({"jurisdiction": "usa", "case": {"screening": {"ouija": {}}}}, 422, "unknown instrument"),
    ({"jurisdiction": "usa", "case": {}, "stages": ["jail"]}, 422, "stages.0:"),
    ({"jurisdiction": "usa", "case": {}, "surprise": 1}, 422, "surprise:"),
])
def test_api_bad_input_is_one_clear_error(client_for: Any, body: dict[str, Any], status: int,
                                          message: str) -> None:
    c = client_for("clinician")
    r = c.api("POST", "/api/v1/assess", json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["error"] and "\n" not in r.json()["error"]


def test_instruments_api_describes_questions_and_skip_rules(client_for: Any) -> None:
    c = client_for("clinician")
    names = [i["name"] for i in c.get("/api/v1/instruments").json()]
    assert names == ["assist", "dast10", "audit", "crafft", "cage_aid", "uncope", "dsm5", "psa"]
    audit = c.get("/api/v1/instruments/audit").json()
    q2 = next(q for q in audit["questions"] if q["key"] == "answers.1")
    assert q2["asked_when"][0]["any_of"] == ["answers.0"] and q2["asked_when"][0]["in"] == [
        "1", "2", "3", "4"]
    q9 = next(q for q in audit["questions"] if q["key"] == "answers.8")
    assert [o["value"] for o in q9["options"]] == ["0", "1", "2"]
    assert audit["cutoffs"]["hazardous_min"] == 8
    r = c.get("/api/v1/instruments/ouija")
    assert r.status_code == 422 and "assist" in r.json()["error"]


def test_score_api_equals_the_scorer_and_refuses_skipped_answers(client_for: Any) -> None:
    c = client_for("clinician")
    data = _plain(read_yaml(ROOT / "examples/screening/assist_opioids_injecting.yaml"))
    r = c.api("POST", "/api/v1/instruments/assist/score", json={"responses": data})
    assert r.status_code == 200 and r.json() == score("assist", data).to_json()
    bad = {"part_a": {"alcohol_days": 0, "cannabis_days": 0, "other_days": 0},
           "part_b": {"car": "no", "relax": "yes"}}
    r = c.api("POST", "/api/v1/instruments/crafft/score", json={"responses": bad})
    assert r.status_code == 400 and r.json()["error"].startswith("part_b.relax: asked only when")
    r = c.api("POST", "/api/v1/instruments/audit/score",
              json={"responses": {"answers": ["x" * 5000]}})
    assert r.status_code == 422 and "200 characters" in r.json()["error"]


def test_vocabulary_api_lists_case_fields_with_allowed_values(client_for: Any) -> None:
    c = client_for("clinician")
    fields = {f["name"]: f for f in c.get("/api/v1/vocabulary").json()["fields"]}
    assert "possession" in fields["offence.type"]["values"]
    assert fields["person.age"]["maximum"] == 120 and fields["consent"]["type"] == "bool"


def test_assessment_needs_sign_in(client_for: Any) -> None:
    anon = client_for(None)
    assert anon.api("POST", "/api/v1/assess", json={}).status_code == 401
    assert anon.get("/assess").status_code == 303


def _visible_keys(html: str, instrument: str) -> set[str]:
    return set(re.findall(rf'name="{instrument}\.([^"]+)"', html))


def test_skip_logic_in_the_rendered_forms(client_for: Any) -> None:
    c = client_for("clinician")
    page = c.get("/assess").text
    assert 'name="audit.answers.1"' in page  # unknown yet: shown (the form works without JS)
    non_drinker = c.form("/assess/instrument/audit", {"audit.answers.0": "0"}).text
    assert _visible_keys(non_drinker, "audit") == {"answers.0", "answers.8", "answers.9"}
    assert non_drinker.count('class="muted skipped"') == 7
    drinker = c.form("/assess/instrument/audit", {"audit.answers.0": "2"}).text
    assert len(_visible_keys(drinker, "audit")) == 10
    assist = c.form("/assess/instrument/assist", {"assist.substances.cannabis.q1": "yes",
                                                  "assist.substances.alcohol.q1": "no"}).text
    keys = _visible_keys(assist, "assist")
    assert {"substances.cannabis.q2", "substances.cannabis.q6", "q8"} <= keys
    assert "substances.cannabis.q3" not in keys and "substances.alcohol.q2" not in keys
    assist = c.form("/assess/instrument/assist", {"assist.substances.cannabis.q1": "yes",
                                                  "assist.substances.cannabis.q2": "weekly"}).text
    assert "substances.cannabis.q3" in _visible_keys(assist, "assist")
    crafft = c.form("/assess/instrument/crafft", {f"crafft.part_a.{k}": "0" for k in (
        "alcohol_days", "cannabis_days", "other_days")}).text
    assert {k for k in _visible_keys(crafft, "crafft") if k.startswith("part_b")} == {"part_b.car"}
    audit = c.form("/assess/instrument/audit", {"audit.answers.0": "0", "audit.answers.8": "0",
                                                "audit.answers.9": "2"}).text
    assert "score 4" in audit


def test_assess_form_gives_the_advice_and_drops_skipped_answers(client_for: Any) -> None:
    c = client_for("clinician")
    form = {"jurisdiction": "portugal", "date": "", "offence.type": "possession",
            "offence.substance": "cannabis_resin", "offence.quantity_g": "3",
            "offence.date": "2006-03-01", "person.age": "19",
            # AUDIT non-drinker, with answers to skipped items left in the form (no JS)
            "audit.answers.0": "0", "audit.answers.1": "3", "audit.answers.8": "0",
            "audit.answers.9": "0"}
    r = c.form("/assess", form)
    assert r.status_code == 200, r.text
    case = parse_case({"offence": {"type": "possession", "substance": "cannabis_resin",
                                   "quantity_g": 3, "date": "2006-03-01"}, "person": {"age": 19},
                       "screening": {"audit": {"answers": [0] + [None] * 7 + [0, 0]}}})
    expected = advise(case, policy.load("portugal"))
    police = expected.stage("police")
    assert police.recommended == "administrative_referral"
    assert "Recommended: <strong>" in r.text and police.recommended in r.text
    assert "Law 30/2000 of 29 November, art. 2" in r.text
    assert "score 0, low risk" in r.text
    bad = c.form("/assess", {**form, "person.age": "abc"})
    assert bad.status_code == 400 and "person.age" in bad.text and 'value="abc"' in bad.text


def test_browser_assess_a_case_end_to_end(page_for: Any) -> None:
    page = page_for("clinician")
    page.goto("/assess")
    assert unlabelled_fields(page) == []
    page.get_by_label("Jurisdiction").select_option("portugal")
    page.locator("summary", has_text="DAST-10").click()
    for i in range(10):
        page.locator(f"#dast10-answers-{i}").select_option("no" if i != 2 else "yes")
    page.locator("summary", has_text="AUDIT").click()
    page.locator("#audit-answers-0").select_option("0")
    page.locator("#audit-answers-1").wait_for(state="detached")  # skipped, by the server's rule
    page.locator("#audit-answers-8").select_option("0")
    page.locator("#audit-answers-9").focus()
    page.keyboard.press("ArrowDown")  # keyboard only: choose "No"
    page.get_by_label("Type of the current offence").select_option("possession")
    page.get_by_label("Principal substance involved").fill("cannabis resin")
    page.get_by_label("Quantity of the substance, grams (g)").fill("3")
    # anchored: "age ... on the date of the offence" (person.age_at_offence) also contains it
    page.get_by_label(re.compile(r"^Date of the offence")).fill("2006-03-01")
    page.get_by_label("Age in years on the decision date (years)").fill("30")
    assert unlabelled_fields(page) == []
    page.get_by_role("button", name="Advise").click()
    police = page.locator("section.stage", has=page.locator("#stage-police"))
    rec = police.locator("p.recommended")
    assert rec.get_attribute("data-measure") == "administrative_referral"
    assert "Commission for the Dissuasion" in rec.inner_text()
    assert "Law 30/2000" in rec.inner_text()
    assert "score 0, none" in page.locator("#advice").inner_text()
    assert unlabelled_fields(page) == []
