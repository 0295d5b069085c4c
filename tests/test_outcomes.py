"""Outcomes: totals, cohort rates, differences, and costs and benefits from two perspectives."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from divert.outcomes import costs, economics, totals
from divert.simulation import run

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
        assert e[view]["net_benefit"] == {"mean": 0.0, "low": 0.0, "high": 0.0}
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
