"""Projected outcomes on the advice page and in the API: each open measure's simulated outcomes
for the person beside its legal reasons (divert.simulation.projection), with intervals, and a plain word
where a measure has no simulated effect."""

from __future__ import annotations

from typing import Any

from divert.advice.case import parse_case
from divert.advice.pathways import advise
from divert.law import policy

from .conftest import axe_violations

CASE = {"person": {"age": 24, "sex": "female"},
        "offence": {"type": "possession", "substance": "heroin", "quantity_g": 0.5,
                    "date": "2023-09-14"},
        "history": {"prior_convictions": 1, "prior_drug_convictions": 0,
                    "prior_violent_convictions": 0, "prior_diversion_failures": 1,
                    "fta_past_2_years": 1},
        "consent": True, "need": "high", "risk": "high", "disorder": "severe"}
FORM = {"offence.type": "possession", "offence.substance": "heroin", "offence.quantity_g": "0.5",
        "offence.date": "2023-09-14", "person.age": "24", "person.sex": "female",
        "history.prior_convictions": "1", "history.prior_drug_convictions": "0",
        "history.prior_violent_convictions": "0", "history.prior_diversion_failures": "1",
        "history.fta_past_2_years": "1", "consent": "yes", "need": "high", "risk": "high",
        "disorder": "severe"}


def _open_measures() -> list[tuple[str, str]]:
    advice = advise(parse_case(CASE), policy.load("usa"))
    return [(s.stage, m.id) for s in advice.stages for m in s.measures if m.eligible]


def test_api_projects_each_open_measure_and_can_leave_it_out(client_for: Any) -> None:
    c = client_for("judge")
    body = {"jurisdiction": "usa", "case": CASE, "stages": ["prosecution"]}
    r = c.api("POST", "/api/v1/assess", json=body)
    assert r.status_code == 200, r.text
    stage = r.json()["stages"][0]
    for m in stage["measures"]:
        assert m["projection"]["projected"] is m["eligible"] is True
        assert m["projection"]["stamp"]["copies"] == 2000
    assert stage["projection_reference"]["path"] == "prosecution"
    r = c.api("POST", "/api/v1/assess", json={**body, "projection": False})
    assert r.status_code == 200 and "projection" not in r.text


def test_browser_advice_page_shows_a_projection_for_each_open_measure(page_for: Any) -> None:
    expected = _open_measures()
    assert ("post_sentence", "pardon_or_remission") in expected and len(expected) >= 8
    page = page_for("judge")
    page.goto("/assess")
    page.get_by_label("Jurisdiction").select_option("usa")
    for name, value in FORM.items():
        field = page.locator(f'[name="{name}"]')
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Advise").click()
    page.locator("#advice").wait_for()
    shown = page.locator("div.projection")
    assert shown.count() == len(expected)
    for stage, mid in expected:
        box = page.locator(f"#projection-{stage}-{mid}")
        text = box.inner_text()
        assert "Projected outcomes" in text and "not the decision" in text
        if mid == "pardon_or_remission":  # its effect is `none` in the catalogue
            assert "No simulated effect in the pack" in text and "%" not in text
            continue
        table = box.locator("table.projection-table")
        assert "95% interval" in table.locator("caption").inner_text()
        rows = table.locator("tbody tr")
        assert rows.count() == 4
        assert "Rearrested" in rows.nth(0).inner_text() and "%" in rows.nth(0).inner_text()
        assert "USD" in rows.nth(3).inner_text()
        assert "pack usa" in text and "seed 1" in text  # the stamp that replays it
    # the projection stands beside the legal reasons of its own measure
    item = page.locator("li.measure[data-measure='drug_treatment_court']").first
    assert item.locator("ul.reasons li").count() > 0
    assert item.locator("div.projection").count() == 1
    assert axe_violations(page) == []
