"""Baselines under unchanged law: steady population and stocks, books that balance."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from divert.law.policy import load
from divert.simulation.run import run

PACKS = ("usa", "portugal", "belgium", "iran", "malaysia", "kenya", "cote_divoire", "model")


@pytest.mark.parametrize("code", PACKS)
def test_the_baseline_is_steady_under_unchanged_law(code: str) -> None:
    """Ten years of today's law: the population stays within 10% and the prison and treatment
    stocks within 25% of their first year (issue 13), after the automatic burn-in."""
    r = run(load(code), 40000, 120, date(2026, 1, 1), seed=1, replication=0, uncertainty=False)
    assert r.burn_in >= 36
    for metric, tolerance in (("alive", 0.10), ("in_prison", 0.25), ("in_treatment", 0.25)):
        first, last = r.metric(metric)[:12].mean(), r.metric(metric)[-12:].mean()
        assert first > 0, metric
        assert abs(last / first - 1) <= tolerance, (metric, first, last)
    # every way out of the population is counted: the books balance over the report
    gone = r.metric("deaths").sum() + r.metric("exits").sum()
    assert r.final["alive"] + gone == r.start_alive + r.metric("entrants").sum()


def test_a_cited_trend_grows_the_population(tmp_path) -> None:
    """With population_trend_per_year, entrants grow the population by about that trend."""
    from divert.simulation.scenarios import load_scenario

    overlay = tmp_path / "trend.yaml"
    overlay.write_text("title: trend\nsummary: test\npack: model\nchanges:\n"
                       "  - set_parameter: population_trend_per_year\n    value: 0.05\n"
                       "    citation: test experiment\n")
    flat = run(load("model"), 20000, 60, date(2026, 1, 1), 1, 0, uncertainty=False)
    grown = run(load_scenario(f"model+{overlay}"), 20000, 60, date(2026, 1, 1), 1, 0,
                uncertainty=False)
    ratio = grown.metric("alive")[-1] / flat.metric("alive")[-1]
    assert 1.05 < ratio < 1.35
    assert np.array_equal(grown.metric("alive")[:1], flat.metric("alive")[:1])


def test_scenarios_branch_from_one_burn_in_bit_for_bit() -> None:
    """A reform that starts at the report's start shares the baseline's burn-in: the second run
    branches from the first one's burn-in and equals a run that simulates its own."""
    from divert.simulation import run as simulation
    from divert.simulation.scenarios import load_scenario

    base, reform = load_scenario("malaysia"), load_scenario("malaysia+treatment_not_conviction")
    start = date(2026, 1, 1)
    simulation._BURN_CACHE.clear()
    a = run(base, 6000, 24, start, 2, 0)
    assert len(simulation._BURN_CACHE) == 1
    branched = run(reform, 6000, 24, start, 2, 0)
    simulation._BURN_CACHE.clear()
    fresh = run(reform, 6000, 24, start, 2, 0)
    assert np.array_equal(branched.series, fresh.series)
    assert np.array_equal(branched.cohort, fresh.cohort)
    # the same people in the same places when the report starts; the reform acts from month one
    assert a.metric("in_prison")[0] == fresh.metric("in_prison")[0]
    assert a.metric("arrests")[0] > fresh.metric("arrests")[0]


@pytest.mark.parametrize("code", ("usa", "iran", "malaysia", "portugal", "belgium", "model"))
def test_each_briefing_reform_shares_its_baselines_burn_in(code: str) -> None:
    """The main job's reforms change the law from the start (a rule ended, a parameter added
    from 2026-01-01), so the burn-in's digest, which keeps the law in force before the start and
    not the dates rules are in force, is the baseline's: the reform branches (issue 14)."""
    from divert.simulation.run import _burn_key
    from divert.simulation.scenarios import load_scenario

    before = date(2025, 12, 1)
    base, reform = load(code), load_scenario(f"{code}+treatment_not_conviction")
    assert (_burn_key(base, before, 2000, 1, 100000, 120, "numba", True)
            == _burn_key(reform, before, 2000, 1, 100000, 120, "numba", True))


def test_a_change_in_force_before_the_start_gets_its_own_burn_in(tmp_path) -> None:
    """A parameter in force before the start is law of the burn-in: the digest differs."""
    from divert.simulation.run import _burn_key
    from divert.simulation.scenarios import load_scenario

    overlay = tmp_path / "early.yaml"
    overlay.write_text("title: early\nsummary: test\npack: model\nchanges:\n"
                       "  - add_parameter: early_threshold_g\n    unit: g\n"
                       "    values: {2020-01-01: 5.0}\n    citation: test experiment\n")
    before = date(2025, 12, 1)
    assert (_burn_key(load("model"), before, 2000, 1, 0, 120, "numba", True)
            != _burn_key(load_scenario(f"model+{overlay}"), before, 2000, 1, 0, 120, "numba",
                         True))
