"""The comparison report: figures, a self-contained HTML file with the right numbers, the stamp,
what the scenarios change, and `divert compare --out` end to end."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from divert.cli import main
from divert.reports.comparison import MIN_COHORT, TRAJECTORIES, fmt, fmt_interval, write_report
from divert.simulation.run import SERIES
from divert.simulation.runner import Comparison, run_comparison
from divert.simulation.scenarios import resolve_overlay

FIXTURES = Path(__file__).parent / "fixtures"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OVERLAY = """\
title: No compulsory detention, fewer stops
summary: Ends detention for treatment without consent; police stop fewer people for drugs.
pack: simland
changes:
  - remove_measure: compulsory_treatment
    from: 2012-07-01
    citation: invented for tests
    rationale: Detention without consent ends.
  - set_parameter: detection_prob
    value: 0.15
    citation: invented for tests <b>not markup</b>
    rationale: Police stop searching people for small amounts.
"""


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A packs folder holding a copy of simland (DIVERT_POLICIES points at it) and an overlay file."""
    root = tmp_path_factory.mktemp("packs")
    shutil.copytree(FIXTURES / "simland", root / "simland")
    overlay = tmp_path_factory.mktemp("overlays") / "fewer_stops.yaml"
    overlay.write_text(OVERLAY)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DIVERT_POLICIES", str(root))
        yield root, overlay


@pytest.fixture(scope="module")
def comparison(packs: tuple[Path, Path]) -> Comparison:
    # 40 months: long enough to follow a cohort for 3 years
    return run_comparison(["simland", f"simland+{packs[1]}"], persons=1500, months=40,
                          start=date(2012, 1, 1), replications=2, seed=5)


@pytest.fixture(scope="module")
def report(comparison: Comparison, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(comparison, tmp_path_factory.mktemp("report") / "out")


@pytest.fixture(scope="module")
def page(report: Path) -> str:
    return report.read_text(encoding="utf-8")


def column_totals(comparison: Comparison, scenario: str, metric: str) -> np.ndarray:
    """Per replication: the metric summed over months, scaled to the population."""
    i = SERIES.index(metric)
    return np.array([r.series[:, i].sum() * r.scale for r in comparison.results[scenario]])


def test_writes_report_and_valid_pngs(report: Path) -> None:
    assert report.name == "report.html" and report.is_file()
    names = [m for m, _, _ in TRAJECTORIES] + ["differences"]
    for name in names:
        png = report.parent / f"{name}.png"
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE), name
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width > 400 and height > 200, name
        assert imread(png).shape[:2] == (height, width)


def test_html_is_self_contained(report: Path, page: str) -> None:
    lowered = page.lower()
    for bad in ("http://", "https://", "<script", "<link", "@import", "url(", "<iframe"):
        assert bad not in lowered, bad
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == len(TRAJECTORIES) + 1
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    assert (report.parent / "in_prison.png").read_bytes() in embedded
    assert "@media print" in page


def test_summary_numbers_match_the_results(comparison: Comparison, page: str) -> None:
    base, reform = comparison.scenarios
    arrests = column_totals(comparison, base, "arrests")
    assert arrests.mean() >= 100
    assert f">{arrests.mean():,.0f}<" in page
    # the same number as summary.json's population totals
    summary = comparison.summary()["scenarios"][base]["totals_population"]
    assert f"{summary['arrests']:,.0f}" == f"{arrests.mean():,.0f}"
    # the reform's difference, paired by replication, with its MCSE and 95% interval (with 2
    # replications: the confidence interval of the mean, t with 1 degree of freedom)
    d = column_totals(comparison, reform, "arrests") - arrests
    se = d.std(ddof=1) / np.sqrt(len(d))
    half = 12.7062 * se
    low, high = d.mean() - half, d.mean() + half
    expected = f"{d.mean():+,.0f} ± {se:,.0f} [{low:+,.0f}, {high:+,.0f}]"
    assert d.mean() != 0
    assert expected in page
    prison_years = column_totals(comparison, reform, "in_prison").mean() / 12
    assert fmt(prison_years) in page
    assert "Costs in millions of XTS" in page


def test_title_stamp_and_replay(comparison: Comparison, page: str) -> None:
    assert "<h1>Simland (fixture for the simulation): 2012-01 to 2015-04</h1>" in page
    st = comparison.stamp
    for s in comparison.scenarios:
        assert st["scenarios"][s]["pack_hash"] in page
        assert html.escape(s) in page
    assert "1,500" in page and f"seed {st['seed']}" in page and "divert " + st["divert"] in page
    assert "fewer_stops" in page
    assert f"{comparison.scale('simland'):,.4g}" in page
    assert "--persons 1500" in page and "--replications 2 --seed 5" in page


def test_overlay_changes_are_described_and_escaped(packs: tuple[Path, Path], page: str) -> None:
    overlay = resolve_overlay("simland", packs[1])
    lines = overlay.describe()
    assert len(lines) == 2
    for line in lines:
        assert html.escape(line, quote=False) in page
    assert "<b>not markup</b>" not in page and "&lt;b&gt;not markup&lt;/b&gt;" in page
    assert html.escape(overlay.title) in page
    assert "The law changes from 2012-07-01." in page


def test_cohort_rearrest_by_pathway(comparison: Comparison, page: str) -> None:
    assert f"Pathways with fewer than {MIN_COHORT} people" in page
    rates = comparison.summary()["scenarios"]["simland"]["cohort"]
    shown = [p for p, r in rates.items() if r["people"] >= MIN_COHORT]
    assert shown
    first = rates[shown[0]]
    assert f"{100 * first['rearrest_1y']:.0f}%" in page
    assert "How to read this" in page and "divert policy book" in page
    assert "Common random numbers" in page


def test_one_replication_and_one_scenario(comparison: Comparison, tmp_path: Path) -> None:
    base = comparison.scenarios[0]
    single = Comparison([base], {base: comparison.results[base][:1]},
                        comparison.stamp | {"replications": 1}, comparison.policies)
    path = write_report(single, tmp_path / "one")
    text = path.read_text()
    assert "one replication: no interval" in text
    assert not (tmp_path / "one" / "differences.png").exists()
    assert (tmp_path / "one" / "in_prison.png").read_bytes().startswith(PNG_SIGNATURE)
    # identical results under another label: zero differences, and no overlays to describe
    twin = Comparison([base, "simtwin"],
                      {base: comparison.results[base],
                       "simtwin": [replace(r, scenario="simtwin") for r in comparison.results[base]]},
                      comparison.stamp, {"simtwin": comparison.policies[base]} | comparison.policies)
    text = write_report(twin, tmp_path / "twin").read_text()
    assert "<span class=\"diff\">0 ± 0 [0, 0]</span>" in text
    assert "No overlays: the law and practice of Simland" in text


def test_formatting() -> None:
    assert fmt(1234567.4) == "1,234,567"
    assert fmt(12.34) == "12.3"
    assert fmt(-0.01) == "0"
    assert fmt(1234.5, money=True) == "1,234.5"
    resolved_d = {"mean": -1500.0, "low": -2500.0, "high": -200.0, "mcse": 300.0,
                  "ci_low": -2500.0, "ci_high": -200.0}
    assert fmt_interval(resolved_d) == "-1,500 ± 300 [-2,500, -200]"
    unresolved = resolved_d | {"high": 200.0, "ci_high": 200.0}
    assert fmt_interval(unresolved) == ("-1,500 ± 300 [-2,500, +200] not resolved at this "
                                        "precision")


def test_compare_command_writes_the_report(packs: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    main(["compare", "simland", f"simland+{packs[1]}", "--persons", "800", "--years", "2",
          "--start", "2012-01", "--replications", "2", "--seed", "2", "--out", str(out), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert [s["scenario"] for s in data["scenarios"]] == ["simland", f"simland+{packs[1]}"]
    text = (out / "report.html").read_text()
    assert "2012-01 to 2013-12" in text
    assert "a run must be longer than 3 years" in text
    for name in ("series.parquet", "summary.json", "in_prison.png", "differences.png"):
        assert (out / name).is_file(), name
