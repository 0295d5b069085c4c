"""The policy book: packs, a pack's rules beside their law, side by side, history of a rule."""

from __future__ import annotations

from typing import Any

from divert.law import policy
from divert.reports import book
from divert.web.book import pack_codes

from .conftest import unlabelled_fields


def test_packs_api_lists_every_pack_with_counts(client_for: Any) -> None:
    c = client_for("clinician")
    r = c.get("/api/v1/packs")
    assert r.status_code == 200
    got = {p["code"]: p for p in r.json()}
    assert set(got) == set(pack_codes()) and "portugal" in got
    usa = policy.load("usa")
    assert got["usa"]["rules"] == sum(len(v) for v in usa.rules.values())
    assert got["usa"]["provenance"]["court"] == usa.provenance_counts()["court"]


def test_pack_api_has_rules_with_law_and_filters_by_date(client_for: Any) -> None:
    c = client_for("clinician")
    every = c.get("/api/v1/packs/usa").json()
    fines = [r for r in every["rules_by_stage_detail"]["court"] if r["id"] == "fine"]
    assert len(fines) == 4 and all(r["citations"] and r["legal_basis"] for r in fines)
    on = c.get("/api/v1/packs/usa?on=1980-01-01").json()
    fines_1980 = [r for r in on["rules_by_stage_detail"]["court"] if r["id"] == "fine"]
    assert len(fines_1980) == 1 and fines_1980[0]["in_force"] == {"from": "1971-05-01",
                                                                 "to": "1986-10-27"}


def test_history_api_lists_versions_and_changes(client_for: Any) -> None:
    c = client_for("judge")
    r = c.get("/api/v1/packs/usa/measures/fine/history")
    assert r.status_code == 200
    data = r.json()
    assert data == book.measure_history(policy.load("usa"), "fine") | {
        "versions": r.json()["versions"]}
    starts = [v["in_force"]["from"] for v in data["versions"]]
    assert starts == sorted(starts) and len(starts) == 4
    assert data["versions"][0]["changes"] == ["first version in the pack"]
    assert "condition added: history.prior_drug_convictions == 0" in data["versions"][1]["changes"]


def test_compare_api_sets_two_packs_side_by_side(client_for: Any) -> None:
    c = client_for("clinician")
    r = c.get("/api/v1/packs/compare", params={"left": "portugal", "right": "iran",
                                               "stage": "police", "on": "2020-01-01"})
    assert r.status_code == 200
    rows = {row["measure"]: row for row in r.json()["rows"]}
    admin = rows["administrative_referral"]
    assert admin["left"][0]["citations"][0].startswith("Law 30/2000")
    assert admin["left"][0]["consent_required"] is False
    expected = book.compare_stage(policy.load("portugal"), policy.load("iran"), "police",
                                  __import__("datetime").date(2020, 1, 1))
    assert [row["measure"] for row in r.json()["rows"]] == [row["measure"] for row in
                                                             expected["rows"]]


def test_bad_pack_stage_or_measure_is_one_clear_error(client_for: Any) -> None:
    c = client_for("clinician")
    r = c.get("/api/v1/packs/atlantis")
    assert r.status_code == 400 and "code: unknown jurisdiction 'atlantis'; allowed:" in r.json()["error"]
    assert "portugal" in r.json()["error"]
    r = c.get("/api/v1/packs/compare", params={"left": "usa", "right": "../usa", "stage": "police"})
    assert r.status_code == 400 and r.json()["error"].startswith("right: unknown jurisdiction")
    r = c.get("/api/v1/packs/compare", params={"left": "usa", "right": "iran", "stage": "jail"})
    assert r.status_code == 422 and "stage" in r.json()["error"]
    r = c.get("/api/v1/packs/usa/measures/flogging/history")
    assert r.status_code == 400 and "measure: unknown 'flogging'; allowed:" in r.json()["error"]
    r = c.get("/api/v1/packs/portugal/measures/death_penalty/history")
    assert r.status_code == 400 and "portugal has no rule for 'death_penalty'" in r.json()["error"]
    r = c.get("/api/v1/packs/usa?on=yesterday")
    assert r.status_code == 422 and r.json()["error"].startswith("on:")
    assert c.get("/book/atlantis").status_code == 400


def test_book_needs_sign_in(client_for: Any) -> None:
    anon = client_for(None)
    assert anon.get("/api/v1/packs").status_code == 401
    assert anon.get("/book").status_code == 303


def test_pages_render_rules_beside_their_law(client_for: Any) -> None:
    c = client_for("clinician")
    index = c.get("/book").text
    assert 'href="/book/portugal"' in index
    page = c.get("/book/portugal").text
    assert "Law 30/2000 of 29 November, art. 2" in page and "administrative_referral" in page
    assert 'href="/book/portugal/measures/administrative_referral"' in page
    dated = c.get("/book/usa?on=1980-01-01").text
    assert "1971-05-01" in dated and "1986-10-27 until 1988-11-18" not in dated


def test_browser_side_by_side_and_history(page_for: Any) -> None:
    page = page_for("clinician")
    page.goto("/book")
    assert unlabelled_fields(page) == []
    page.get_by_label("Left jurisdiction").select_option("portugal")
    page.get_by_label("Right jurisdiction").select_option("usa")
    page.get_by_label("Stage", exact=True).select_option("police")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/book/compare?**")
    table = page.locator("table.side-by-side")
    assert "Law 30/2000 of 29 November, art. 2" in table.inner_text()
    assert unlabelled_fields(page) == []
    page.goto("/book/usa/measures/fine")
    items = page.locator("ol.history > li")
    assert items.count() == 4
    assert "condition added: history.prior_drug_convictions == 0" in items.nth(1).inner_text()
    page.goto("/book/usa")
    assert unlabelled_fields(page) == []
