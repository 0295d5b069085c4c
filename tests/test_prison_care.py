"""Scenario levers for equivalence of care in prison and for prevention (initiation)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from divert.simulation.run import SERIES
from divert.simulation.runner import run_comparison

LEVERS = ("equivalence_of_care", "prevention")
PERSONS, MONTHS = 4000, 36


@pytest.fixture(scope="module")
def portugal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Series (mean over 2 replications, population units) of the baseline, each lever and an
    empty lever (every new parameter at its default)."""
    empty = tmp_path_factory.mktemp("levers") / "empty.yaml"
    empty.write_text("""title: every lever at its default
summary: nothing changes
changes:
  - {set_parameter: prison_treatment_entry_rr, value: 0.0, from: 2026-01-01, citation: test}
  - {set_parameter: prison_treatment_continuity, value: 0.0, from: 2026-01-01, citation: test}
  - {set_parameter: release_treatment_continuity, value: 0.0, from: 2026-01-01, citation: test}
  - {set_parameter: initiation_rr, value: 1.0, from: 2026-01-01, citation: test}
  - {set_parameter: prevention_cost_per_year, value: 0.0, from: 2026-01-01, citation: test}
""")
    names = ["portugal", *(f"portugal+{lever}" for lever in LEVERS), f"portugal+{empty}"]
    c = run_comparison(names, persons=PERSONS, months=MONTHS, start=date(2026, 1, 1),
                       replications=2, seed=3, uncertainty=False)
    out = {s: np.mean([r.series * r.scale for r in c.results[s]], axis=0) for s in names}
    out["empty"] = out.pop(names[-1])
    return out


def _total(series: np.ndarray, metric: str) -> float:
    return float(series[:, SERIES.index(metric)].sum())


def test_equivalence_of_care_raises_treatment_in_prison(portugal: dict[str, np.ndarray]) -> None:
    base, lever = portugal["portugal"], portugal["portugal+equivalence_of_care"]
    assert _total(lever, "in_prison_treatment") > 1.2 * _total(base, "in_prison_treatment")
    assert _total(lever, "cost_treatment") > _total(base, "cost_treatment")


def test_prevention_lowers_entrants_and_costs_the_programme(
        portugal: dict[str, np.ndarray]) -> None:
    base, lever = portugal["portugal"], portugal["portugal+prevention"]
    ratio = _total(lever, "entrants") / _total(base, "entrants")
    assert 0.8 < ratio < 0.92  # initiation_rr 0.86
    assert _total(lever, "cost_treatment") > _total(base, "cost_treatment")


def test_an_empty_lever_changes_nothing(portugal: dict[str, np.ndarray]) -> None:
    assert np.array_equal(portugal["empty"], portugal["portugal"])


@pytest.mark.parametrize("code", ["usa", "portugal", "belgium", "iran", "malaysia", "kenya",
                                  "cote_divoire", "model"])
def test_every_pack_ships_the_levers_with_citations(code: str) -> None:
    from divert.simulation.scenarios import load_overlay

    for lever in (*LEVERS, "treatment_scale_up"):
        path = Path("policies") / code / "scenarios" / f"{lever}.yaml"
        overlay = load_overlay(path)
        assert overlay.describe() and all(c.spec.citation for c in overlay.changes)
