"""Countries side by side on the web: the form, the job, and the page an analyst reads (headline
sentences, small-sample warnings, money in two units, difference charts with a before period and
legends), checked in Chromium for accessibility and at 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from divert.simulation.outcomes import interval
from divert.simulation.run import SERIES
from divert.web.compare_countries import _difference_band, _trajectories

from .conftest import axe_violations, horizontal_overflow, unlabelled_fields


@pytest.fixture
def app(app: Any) -> Iterator[Any]:
    """conftest's app; its running jobs end with the test."""
    yield app
    jobs = getattr(app.state, "jobs", None)
    if jobs is not None:
        jobs.close()


def test_the_difference_band_is_the_headlines_confidence_interval_month_by_month() -> None:
    d = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
    mean, low, high = _difference_band(d)
    for month in range(2):
        expected = interval(d[:, month])
        assert mean[month] == pytest.approx(expected["mean"])
        assert (low[month], high[month]) == pytest.approx((expected["ci_low"], expected["ci_high"]))
    one = _difference_band(d[:1])
    assert all(list(x) == [1.0, 2.0] for x in one)  # one replication: no interval to draw


def _run(replication: int, prisoners: list[float], deaths: list[float]) -> Any:
    series = np.zeros((len(prisoners), len(SERIES)))
    series[:, SERIES.index("in_prison_drug_offence")] = prisoners
    series[:, SERIES.index("overdose_deaths")] = deaths
    return SimpleNamespace(replication=replication, series=series, scale=10.0)


def test_trajectories_count_the_before_months_and_pair_the_replications() -> None:
    comparison = SimpleNamespace(
        stamp={"start": "2025-10", "months": 5}, scenarios=["x", "x+r"],
        results={"x": [_run(1, [5, 5, 5, 5, 5], [1, 0, 1, 0, 1]),
                       _run(0, [4, 4, 4, 4, 4], [0, 0, 0, 0, 0])],
                 "x+r": [_run(0, [4, 4, 4, 3, 2], [0, 0, 0, 0, 0]),
                         _run(1, [5, 5, 5, 4, 4], [1, 0, 1, 0, 0])]})
    t = _trajectories(comparison, date(2026, 1, 1))
    assert t["months"] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]
    assert t["before_months"] == 3
    prison = t["metrics"]["in_prison_drug_offence"]["difference"]
    # paired by replication number, scaled x10: (-10, -10) then (-20, -10)
    assert prison["mean"] == [0.0, 0.0, 0.0, -10.0, -15.0]
    assert prison["low"][3] == prison["high"][3] == -10.0  # the same in both: no spread
    deaths = t["metrics"]["overdose_deaths"]
    assert deaths["baseline"]["mean"] == [5.0, 5.0, 10.0, 10.0, 15.0]  # cumulative, scaled
    assert deaths["difference"]["mean"][-1] == -5.0
    assert _trajectories(comparison, None)["before_months"] == 0


def test_one_jurisdiction_is_refused_beside_its_field_with_the_form_kept(client_for: Any) -> None:
    c = client_for("analyst")
    page = c.form("/compare/countries", {"packs": ["usa"], "reform": "treatment_not_conviction",
                                         "persons": "1234", "years": "2", "replications": "2",
                                         "seed": "3", "start": "2025-01"})
    assert page.status_code == 400
    assert 'id="packs-error">packs: choose at least two jurisdictions' in page.text
    assert 'value="1234"' in page.text and 'id="pack-usa" name="packs" value="usa" checked' in page.text
    bad = c.form("/compare/countries", {"packs": ["usa", "iran"], "reform": "calibrated",
                                        "persons": "1000", "years": "2", "replications": "2",
                                        "seed": "3", "start": "2025-01"})
    assert bad.status_code == 400
    assert 'id="reform-error">reform: &#39;calibrated&#39; cannot be run for iran' in bad.text
    api = c.api("POST", "/api/v1/comparisons/countries",
                json={"packs": ["usa", "atlantis"], "reform": "treatment_not_conviction"})
    assert api.status_code == 400 and "packs: unknown pack 'atlantis'" in api.text


def test_browser_an_analyst_compares_two_countries_side_by_side(page_for: Any) -> None:
    page = page_for("analyst")
    page.goto("/compare")
    page.get_by_role("link", name="Compare several jurisdictions side by side").click()
    page.wait_for_url("**/compare/countries")
    assert unlabelled_fields(page) == []
    assert axe_violations(page) == []
    assert horizontal_overflow(page, 390) == 0
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("United States (federal law; a typical state adult drug court)").check()
    page.get_by_label("Portugal").check()
    page.get_by_label("Treating instead of convicting").check()
    page.get_by_label("People simulated per run").fill("1000")
    page.get_by_label("Replications").fill("2")
    page.get_by_label("Years to simulate").fill("2")
    page.get_by_label("First month").fill("2025-01")
    page.get_by_label("Random seed").fill("5")
    page.get_by_role("button", name="Run the countries side by side").click()
    page.wait_for_url("**/compare/jobs/*")
    page.wait_for_selector("li.headline", timeout=120_000)

    sentences = page.locator("li.headline").all_inner_texts()
    assert len(sentences) == 2
    assert sentences[0].startswith("Portugal.") and sentences[1].startswith("United States")
    for text in sentences:
        assert "Treating instead of convicting would mean" in text
        assert "people in prison for drug offences" in text and "overdose deaths over 1 year" in text
    warnings = page.get_by_role("region", name="Small-sample warnings").inner_text()
    assert "Only 2 replications (fewer than 20)" in warnings
    money = page.locator("section", has=page.locator("#money-heading")).inner_text()
    assert "Int$" in money and "EUR" in money and "USD" in money and "unverified" in money

    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById("
                           "'chart-portugal-in_prison_drug_offence-difference'))")
    chart = page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('chart-portugal-in_prison_drug_offence-difference'));
        return {labels: c.data.datasets.map(d => d.label), months: c.data.labels.length,
                before: c.options.plugins.divertMarks.before, zero: c.options.plugins.divertMarks.zero};
    }""")
    assert chart == {"labels": ["Treating instead of convicting minus today's law (band low)",
                                "Treating instead of convicting minus today's law (band high)",
                                "Treating instead of convicting minus today's law"],
                     "months": 24, "before": 12, "zero": True}
    bars = page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('chart-overview-drug_prisoners_final_year'));
        return {type: c.config.type, labels: c.data.labels,
                whiskers: c.options.plugins.divertWhiskers.low.length};
    }""")
    assert bars == {"type": "bar", "labels": ["Portugal", "United States"], "whiskers": 2}
    overview = page.locator("figure.chart-overview")
    assert overview.count() == 2
    assert "not resolved at this size" in overview.first.locator("ul.legend").inner_text()
    figures = page.locator("figure:not(.chart-overview)")
    assert figures.count() == 8  # 2 countries x (levels, difference) x (prisoners, overdose deaths)
    for i in range(figures.count()):
        legend = figures.nth(i).locator("ul.legend")
        assert legend.is_visible()
        assert "before the reform takes effect (12 months, to 2025-12)" in legend.inner_text()
    difference = page.locator("figure.chart-difference").first.locator("ul.legend").inner_text()
    assert "minus today's law (mean)" in difference and "95% confidence interval" in difference
    levels = page.locator("figure.chart-levels").first.locator("ul.legend").inner_text()
    assert "today's law (mean)" in levels and "Treating instead of convicting (mean)" in levels

    job_id = page.url.rsplit("/", 1)[1]
    api = page.request.get(f"/api/v1/comparisons/{job_id}").json()
    assert api["status"] == "done" and api["spec"]["kind"] == "countries"
    assert [c["code"] for c in api["summary"]["countries"]] == ["portugal", "usa"]
    usa = api["summary"]["countries"][1]
    assert "trajectories" not in usa and usa["ppp"]["currency"] == "USD"
    assert usa["headline"]["drug_prisoners_final_year"]["difference"]["n"] == 2
    download = page.request.get(api["links"]["countries.json"])
    assert download.ok and len(download.json()["countries"][0]["trajectories"]["months"]) == 24

    assert axe_violations(page) == []
    assert horizontal_overflow(page, 390) == 0
