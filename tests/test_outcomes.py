"""Outcomes: totals, cohort rates, differences, and costs and benefits from two perspectives."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from divert.simulation.outcomes import (
    MIN_DRAWS,
    costs,
    economics,
    economics_of,
    interval,
    ratio_of_means,
    resolved,
    totals,
)
from divert.simulation.run import run

from .test_simulation import ARREST, NEUTRAL, START, practice_entry, simland


def runs(tmp_path: Path, name: str, weights: str, reps: int = 3) -> list:
    pack = simland(tmp_path / name, NEUTRAL + practice_entry("measure_weight",
                                                             f"{{{ARREST}, {weights}}}", "measure"))
    # central values: a neutral table times a drawn factor (completion 0.9, say) is not neutral
    return [run(pack, 2500, 24, START, seed=8, replication=r, uncertainty=False)
            for r in range(reps)]


def test_identical_runs_have_no_net_benefit(tmp_path: Path) -> None:
    a = runs(tmp_path, "a", "fine: 1.0, drug_treatment_court: 0.0, treatment_order: 0.0")
    e = economics(a, a)
    for view in ("public", "society"):
        nb = e[view]["net_benefit"]
        assert {k: nb[k] for k in ("mean", "low", "high", "mcse")} == {
            "mean": 0.0, "low": 0.0, "high": 0.0, "mcse": 0.0}
        assert e[view]["probability_benefits_exceed_costs"] == 0.0


def test_treatment_without_effects_costs_more_than_it_saves(tmp_path: Path) -> None:
    """With neutral effects a treatment order instead of a fine is pure cost: no benefit."""
    fine = runs(tmp_path, "a", "fine: 1.0, drug_treatment_court: 0.0, treatment_order: 0.0")
    order = runs(tmp_path, "b", "fine: 0.0, drug_treatment_court: 0.0, treatment_order: 1.0")
    e = economics(fine, order)
    assert e["public"]["costs"]["low"] > 0
    assert e["public"]["net_benefit"]["high"] < 0
    assert e["society"]["probability_benefits_exceed_costs"] == 0.0
    # victims' costs are the same: not one offence differs (common random numbers)
    for b, o in zip(fine, order, strict=True):
        assert costs(b)["victims"] == costs(o)["victims"]


def test_society_adds_victims_and_productivity(tmp_path: Path) -> None:
    r = runs(tmp_path, "a", "fine: 1.0, drug_treatment_court: 0.0, treatment_order: 0.0", 1)[0]
    c = costs(r)
    # victims' costs come from the non-drug offences of people with that propensity (the
    # defaults), each type at its cost per offence; drug offences cost victims nothing
    per_type = {t: float(r.values["victim_cost_per_offence"][t])
                for t in ("property", "violent", "other")}
    factor = (1.0 + float(r.values["discount_rate_per_year"])) ** (-np.arange(r.months) / 12.0)
    expected = sum((r.metric(f"offences_{t}") * factor).sum() * cost for t, cost in per_type.items())
    assert r.metric("offences_property").sum() > 0
    assert np.isclose(c["victims"], expected)
    assert c["productivity"] > 0
    t = totals(r)
    public = sum(c[k] for k in ("police", "courts", "prison", "probation", "treatment", "health"))
    assert np.isclose(public, t["cost_total_discounted"])


def test_interval_carries_the_monte_carlo_error_and_covers_the_mean() -> None:
    """MCSE is sd / sqrt(n); the confidence interval of the mean covers the true mean about 95% of
    the time (binomial range for 400 trials: 0.92-0.98); below MIN_DRAWS values the interval is
    that confidence interval, never the minimum and maximum."""
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(400):
        v = rng.normal(3.0, 2.0, size=6)
        d = interval(v)
        assert np.isclose(d["mcse"], v.std(ddof=1) / np.sqrt(6))
        assert d["method"] == "mean_ci" and (d["low"], d["high"]) == (d["ci_low"], d["ci_high"])
        covered += d["ci_low"] <= 3.0 <= d["ci_high"]
    assert 0.92 <= covered / 400 <= 0.98
    many = rng.normal(0.0, 1.0, size=MIN_DRAWS)
    d = interval(many)
    assert d["method"] == "percentile" and np.isclose(d["low"], np.percentile(many, 2.5))
    assert d["n"] == MIN_DRAWS


def test_resolved_needs_an_interval_excluding_zero_and_the_precision() -> None:
    assert resolved(interval(np.array([1.0, 1.1, 0.9, 1.05])))
    assert not resolved(interval(np.array([1.0, -1.1, 0.9, -0.8])))
    assert not resolved(interval(np.array([1.0])))  # one replication: no error, no sign
    d = interval(np.array([1.0, 1.2, 0.8, 1.1]))  # relative MCSE about 9%
    assert resolved(d, precision=0.2) and not resolved(d, precision=0.05)


def test_economics_agrees_with_a_plain_calculation_per_draw() -> None:
    """Held-out check: net benefit per draw, P(benefits > costs) over draws and the benefit-cost
    ratio as mean benefits / mean costs, recomputed here by hand from random costs."""
    rng = np.random.default_rng(11)
    sectors = ("police", "courts", "prison", "probation", "treatment", "health", "victims",
               "productivity")
    pairs = []
    for _ in range(50):
        base = {k: float(rng.uniform(50, 100)) for k in sectors}
        reform = {k: v + float(rng.normal(-5 if k in ("prison", "courts") else 4, 3))
                  for k, v in base.items()}
        pairs.append((base, reform))
    e = economics_of(pairs)["public"]
    saved = ("police", "courts", "prison", "health")
    ben = np.array([sum(b[k] - r[k] for k in saved) for b, r in pairs])
    cost = np.array([sum(r[k] - b[k] for k in ("probation", "treatment")) for b, r in pairs])
    assert np.isclose(e["net_benefit"]["mean"], (ben - cost).mean())
    assert np.isclose(e["net_benefit"]["mcse"], (ben - cost).std(ddof=1) / np.sqrt(50))
    assert np.isclose(e["benefit_cost_ratio"]["mean"], ben.mean() / cost.mean())
    assert e["probability_benefits_exceed_costs"] == float(((ben - cost) > 0).mean())
    assert e["draws"] == 50 and e["net_benefit"]["method"] == "percentile"


def test_benefit_cost_ratio_is_a_ratio_of_means_over_every_draw() -> None:
    """One draw spends nothing extra: it still counts (the old per-draw average dropped it)."""
    ben, cost = np.array([10.0, 30.0, 20.0]), np.array([5.0, 0.0, 10.0])
    r = ratio_of_means(ben, cost)
    assert r is not None and np.isclose(r["mean"], 60.0 / 15.0) and r["mcse"] > 0
    assert ratio_of_means(ben, np.array([-1.0, 0.0, 0.5])) is None
