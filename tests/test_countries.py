"""The main job: today's law against treatment instead of conviction, per country."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from divert.cli import main
from divert.studies.countries import BRIEFING, REFORM, groups


def test_briefing_covers_the_seed_countries_and_the_model() -> None:
    assert set(BRIEFING) == {"usa", "iran", "malaysia", "portugal", "belgium", "model"}
    assert groups(("usa",)) == [["usa", f"usa+{REFORM}"]]


def test_countries_command_writes_reports_and_json(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    try:
        main(["countries", "-j", "portugal", "-j", "usa", "--persons", "1500", "--years", "2",
              "--replications", "2", "--draws", "3", "--draw-persons", "500", "--workers", "1",
              "--out", str(out), "--json"])
    except SystemExit as exc:
        assert not exc.code
    data = json.loads(capsys.readouterr().out)["countries"]
    assert list(data) == ["portugal", "usa"]
    usa = data["usa"]
    for key in ("drug_prisoners_final_year", "prisoners_final_year",
                "treatment_coverage_final_year", "overdose_deaths_10y"):
        d = usa[key]
        assert set(d) == {"baseline", "reform", "difference", "resolved", "parameter"}
        assert d["difference"]["low"] <= d["difference"]["mean"] <= d["difference"]["high"]
        assert d["difference"]["n"] == 2 and d["difference"]["mcse"] is not None
        # parameter uncertainty apart: 3 draws, with chance and parameter spread separated
        assert d["parameter"]["draws"] == 3 and d["parameter"]["interval"]["n"] == 3
        assert d["reform"] - d["baseline"] == pytest.approx(d["difference"]["mean"], abs=1e-6,
                                                             rel=1e-9)
    assert set(usa["costs_by_sector_10y"]) == {"police", "courts", "prison", "probation",
                                               "treatment", "health", "victims"}
    # everyone in prison, and those in prison for a drug offence, are both reported
    assert usa["prisoners_final_year"]["baseline"] >= usa["drug_prisoners_final_year"]["baseline"]
    assert 0.0 <= usa["economics"]["society"]["probability_benefits_exceed_costs"] <= 1.0
    for view in ("public", "society"):
        for fig in ("benefits", "costs", "net_benefit"):
            assert usa["economics"][view][fig]["mcse"] is not None
            assert usa["economics_parameter"][view][fig]["n"] == 3
    assert usa["economics_parameter"]["society"]["draws"] == 3
    assert usa["design"]["replications"] == 2 and "--replications 2" in usa["design"]["replay"]
    assert usa["stamp"]["scenarios"][f"usa+{REFORM}"]["overlays"] == [REFORM]
    # money also in international dollars, by the PPP table's factor for the pack's currency
    pt = data["portugal"]
    ppp = pt["international_dollars"]["conversion"]
    assert ppp["currency"] == "EUR" and ppp["provenance"] == "unverified"
    assert pt["international_dollars"]["net_benefit"]["society"]["mean"] == pytest.approx(
        pt["economics"]["society"]["net_benefit"]["mean"] / ppp["lcu_per_international_dollar"])
    assert usa["international_dollars"]["net_benefit"]["public"]["mean"] == pytest.approx(
        usa["economics"]["public"]["net_benefit"]["mean"])
    index = (out / "index.html").read_text()
    assert "Portugal" in index and "United States" in index
    assert index.count("Treating instead of convicting would mean") == 2
    assert index.count("international $ (2014 prices)") == 2  # Portugal, both perspectives
    assert "http://" not in index and "https://" not in index
    assert (out / "usa" / "summary.json").exists() and (out / "usa" / "series.parquet").exists()


def test_countries_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["countries", "-j", "atlantis", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "unknown jurisdiction 'atlantis'" in capsys.readouterr().err


def test_replications_follow_the_precision_asked_for() -> None:
    from divert.studies.countries import replications_for

    assert replications_for(0.2, 4, 0.1) == 16   # MCSE falls as 1 / sqrt(n)
    assert replications_for(0.05, 4, 0.1) == 4   # already there
    assert replications_for(float("inf"), 4, 0.1) >= 10 ** 6  # a zero mean: only the budget


def test_planned_run_adds_replications_until_resolved_or_out_of_time(tmp_path: Path) -> None:
    """A strict precision with time to spare adds replications to the pilot; with no time left
    the run stops at the pilot; a headline it cannot resolve is not given a sign."""
    from datetime import date

    from divert.simulation.outcomes import interval
    from divert.studies.countries import run_planned, signed

    kw = dict(persons=1500, replications=None, draws=0, draw_persons=100, months=24,
              start=date(2026, 1, 1), seed=1, workers=1, pilot=2)
    (more,) = run_planned(("usa",), precision=0.001, budget_s=15.0, **kw)
    (tight,) = run_planned(("usa",), precision=0.001, budget_s=0.001, **kw)
    assert tight.design["replications"] == 2
    assert more.design["replications"] > 2
    assert len(more.comparison.results["usa"]) == more.design["replications"]
    unresolved = interval([1.0, -2.0, 0.5])
    assert signed(unresolved, False, str).startswith("not resolved at this precision")
    assert signed(interval([1.0, 1.1, 0.9]), True, str).startswith("1.0")


def test_batches_of_replications_are_the_run_of_all_of_them() -> None:
    """Replications 0-1 then 2-3 (numbered from `first_replication`) give exactly the figures of
    one run of 4: a planned run replays with `--replications N`."""
    from datetime import date

    import numpy as np

    from divert.simulation.runner import run_groups
    from divert.studies.countries import merged

    kw = dict(persons=600, months=6, start=date(2026, 1, 1), seed=3, uncertainty=False)
    g = [["portugal", f"portugal+{REFORM}"]]
    (whole,) = run_groups(g, replications=4, **kw)
    (a,) = run_groups(g, replications=2, **kw)
    (b,) = run_groups(g, replications=2, first_replication=2, **kw)
    both = merged(a, b)
    assert both.stamp["replications"] == 4
    for s in g[0]:
        assert [r.replication for r in both.results[s]] == [0, 1, 2, 3]
        for x, y in zip(whole.results[s], both.results[s], strict=True):
            assert np.array_equal(x.series, y.series)
    assert both.difference(g[0][1]) == whole.difference(g[0][1])


def test_every_parameter_draw_runs_whatever_the_budget() -> None:
    """Out of time from the start: the 40 draws asked for still run (the budget only decides the
    replications after the pilot), so the parameter interval is the draws' 2.5th-97.5th
    percentiles; with 20 draws it is the mean's confidence interval instead."""
    from datetime import date

    from divert.studies.countries import run_planned

    kw = dict(persons=300, replications=None, draw_persons=200, precision=0.001, budget_s=0.001,
              months=6, start=date(2026, 1, 1), seed=1, workers=1, pilot=2)
    (c,) = run_planned(("model",), draws=40, **kw)  # type: ignore[arg-type]
    assert c.design["draws"] == 40 and "--draws 40" in c.design["replay"]
    assert c.design["replications"] == 2  # the pilot only: no time left for more
    par = c.headline["drug_prisoners_final_year"]["parameter"]
    assert par["draws"] == 40 and par["interval"]["method"] == "percentile"
    assert c.headline["economics_parameter"]["society"]["draws"] == 40
    (few,) = run_planned(("model",), draws=20, **kw)  # type: ignore[arg-type]
    assert few.headline["drug_prisoners_final_year"]["parameter"]["interval"]["method"] == "mean_ci"
