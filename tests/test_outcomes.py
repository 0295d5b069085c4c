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
    return [run(pack, 2500, 24, START, seed=8, replication=r) for r in range(reps)]


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
    assert c["victims"] == 0.0  # simland offences are all possession: no victim costs
    assert c["productivity"] > 0
    t = totals(r)
    public = sum(c[k] for k in ("police", "courts", "prison", "probation", "treatment", "health"))
    assert np.isclose(public, t["cost_total_discounted"])
