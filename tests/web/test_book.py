"""The policy book: packs, a pack's rules beside their law, side by side, history of a rule."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from divert.law import policy
from divert.reports import book
from divert.web.book import pack_codes

from ..conftest import run_cli
from .conftest import axe_violations, horizontal_overflow, unlabelled_fields


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


def test_changes_between_two_dates_shows_only_what_differs(client_for: Any) -> None:
    """USA 1980 -> 1990: the Anti-Drug Abuse Act 1986 and Sentencing Reform Act 1984 (in force
    1 Nov. 1987) changed the fine and pre-judgment probation; the rest is left out."""
    c = client_for("clinician")
    r = c.get("/api/v1/packs/usa/changes", params={"from": "1980-01-01", "to": "1990-01-01"})
    assert r.status_code == 200
    data = r.json()
    rules = {x["measure"]: x for x in data["rules"]}
    fine = rules["fine"]
    assert fine["change"] == "changed"
    assert "condition added: history.prior_drug_convictions == 0" in fine["changes"]
    assert fine["before"][0]["in_force"] == {"from": "1971-05-01", "to": "1986-10-27"}
    assert fine["law_before"] and fine["law_after"]
    assert all(x["citation"] for x in fine["law_before"] + fine["law_after"])
    every = book.changes_between(policy.load("usa"), date(1980, 1, 1), date(1990, 1, 1))
    assert [x["measure"] for x in data["rules"]] == [x["measure"] for x in every["rules"]]
    unchanged = {rule.id for s in ("police", "court") for rule in
                 policy.load("usa").rules_in_force(s, date(1980, 1, 1))
                 if rule in policy.load("usa").rules_in_force(s, date(1990, 1, 1))}
    assert unchanged and not unchanged & set(rules)
    same = c.get("/api/v1/packs/usa/changes", params={"from": "1990-01-01", "to": "1990-01-01"})
    assert same.json()["rules"] == [] and same.json()["practice"] == []


def test_changes_show_portugal_decriminalisation_and_parameters(client_for: Any) -> None:
    """Portugal 2000 -> 2002: Law 30/2000 (in force 1 July 2001) opened the referral to the
    dissuasion commission and ended consumption as a crime (parameter consumption_is_crime)."""
    c = client_for("judge")
    page = c.get("/book/portugal/changes?from=2000-01-01&to=2002-01-01")
    assert page.status_code == 200
    text = page.text
    assert "administrative_referral" in text and "added" in text
    assert "consumption_is_crime" in text and "Law 30/2000" in text
    assert text.count('class="rule"') == len(book.changes_between(
        policy.load("portugal"), date(2000, 1, 1), date(2002, 1, 1))["rules"])


def test_changes_bad_dates_are_beside_their_field_with_the_form_kept(client_for: Any) -> None:
    c = client_for("clinician")
    r = c.get("/book/portugal/changes?from=2024-01-01&to=yesterday")
    assert r.status_code == 422
    assert 'id="chg-to-error"' in r.text and "is not a date" in r.text
    assert 'value="2024-01-01"' in r.text and 'value="yesterday"' in r.text
    r = c.get("/book/portugal/changes?from=2024-01-01&to=2001-01-01")
    assert r.status_code == 422 and "is before from 2024-01-01" in r.text
    api = c.get("/api/v1/packs/portugal/changes", params={"from": "2024-01-01", "to": "x"})
    assert api.status_code == 400 and api.json()["error"].startswith("to:")


def test_search_by_measure_text_and_citation(client_for: Any) -> None:
    c = client_for("clinician")
    hits = c.get("/api/v1/packs/search", params={"q": "Law 30/2000"}).json()
    assert hits and {h["jurisdiction"] for h in hits} == {"portugal"}
    assert all(any("Law 30/2000" in m["text"] for m in h["matches"]) for h in hits)
    by_measure = c.get("/api/v1/packs/search", params={"q": "drug_treatment_court",
                                                       "jurisdiction": "usa"}).json()
    named = [h for h in by_measure if any(m["where"] == "measure" for m in h["matches"])]
    assert named and {h["measure"] for h in named} == {"drug_treatment_court"}
    assert {h["jurisdiction"] for h in by_measure} == {"usa"}
    by_text = c.get("/api/v1/packs/search", params={"q": "prior_drug_convictions fine",
                                                    "jurisdiction": "usa"}).json()
    assert "fine" in {h["measure"] for h in by_text}
    page = c.get("/book/search?q=Law+30%2F2000").text
    assert 'href="/book/portugal/measures/administrative_referral"' in page
    assert "No rule contains every word" in c.get("/book/search?q=zzzqqq").text


def test_selects_show_names_and_urls_are_safe_links(client_for: Any) -> None:
    c = client_for("clinician")
    page = c.get("/book/compare?left=portugal&right=usa&stage=post_sentence").text
    assert '<option value="portugal" selected>Portugal</option>' in page
    assert ">After sentence</option>" in page and ">post_sentence<" not in page
    pack = c.get("/book/portugal").text
    url = "https://document.onl/documents/lei-30-2000.html"
    assert f'<a class="url" href="{url}" rel="noopener">{url}</a>' in pack
    assert book.safe_href("javascript:alert(1)") is None
    assert book.safe_href("data:text/html,x") is None and book.safe_href("/relative") is None
    assert book.safe_href("http://example.org/a") == "http://example.org/a"


def test_portuguese_names_keep_their_accents(client_for: Any) -> None:
    pack = policy.load("portugal")
    cited = [s.citation for s in pack.meta.sources]
    assert any(c.startswith("Lei n.º 30/2000") for c in cited)
    assert any("Acórdão do Supremo Tribunal de Justiça n.º 8/2008" in c for c in cited)
    assert any(c.startswith("Decreto-Lei n.º 130-A/2001") for c in cited)
    page = client_for("clinician").get("/book/portugal").text
    assert "Comissões para a Dissuasão da Toxicodependência" in page
    assert "Diário da República" in page and "Lei n.º 30/2000" in page


def test_verified_counts_are_one_function_in_list_and_web(
        client_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    c = client_for("clinician")
    packs = {p["code"]: p for p in c.get("/api/v1/packs").json()}
    code, out, _ = run_cli(["policy", "list", "--json"], capsys)
    assert code == 0
    listed = {d["code"]: d["rule_provenance"] for d in json.loads(out)}
    assert listed == {k: v["rule_provenance"] for k, v in packs.items()}
    index = c.get("/book").text
    for code in pack_codes():
        counts = book.rule_counts(policy.load(code))
        assert packs[code]["rule_provenance"] == counts
        assert counts["verified"] + counts["unverified"] == packs[code]["rules"]
        row = index.split(f'href="/book/{code}"', 1)[1].split("</tr>", 1)[0]
        assert (f'<td class="num ok">{counts["verified"]}</td><td class="num warn">'
                f'{counts["unverified"]}</td>') in row


def test_browser_book_pages_accessible_and_fit_a_phone(page_for: Any) -> None:
    page = page_for("clinician")
    for url in ("/book", "/book/portugal", "/book/usa/measures/fine",
                "/book/compare?left=portugal&right=usa&stage=police",
                "/book/portugal/changes?from=2000-01-01&to=2024-01-01",
                "/book/search?q=Law+30%2F2000"):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(url)
        assert axe_violations(page) == [], url
        assert horizontal_overflow(page, 390) == 0, url
        assert unlabelled_fields(page) == [], url
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/book/portugal")
    page.get_by_role("link", name="What changed between two dates").click()
    page.get_by_label("Earlier date").fill("2000-01-01")
    page.get_by_label("Later date").fill("2002-01-01")
    page.get_by_role("button", name="Show the changes").click()
    page.wait_for_url("**/changes?**")
    assert page.locator("section.rule").filter(has_text="administrative_referral").count() == 1
    assert page.get_by_role("heading", name="What changed in Portugal from 2000-01-01 to "
                                            "2002-01-01").count() == 1
    page.goto("/book")
    page.get_by_label("Search the rules").fill("Law 30/2000")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/book/search?**")
    assert page.locator("ol.hits > li").count() >= 1
