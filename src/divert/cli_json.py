"""The JSON shapes of `divert simulate --json` and `divert compare --json`.

They are the command line's contracts (their wording names the CLI's commands), so they live in the
CLI layer, above the simulation runner whose `Comparison` they read.
"""

from __future__ import annotations

from typing import Any

from divert.simulation.outcomes import FINAL, TOTALS
from divert.simulation.runner import Comparison


def simulate_json(comparison: Comparison) -> dict[str, Any]:
    """The `divert simulate --json` contract for one scenario (sample units, means)."""
    s = comparison.scenarios[0]
    t = comparison.totals(s)
    keys = ("entrants", "arrests", "prosecutions", "convictions", "diversions",
            "prison_person_months", "treatment_person_months", "overdose_deaths", "deaths",
            "cost_total")
    st = comparison.stamp
    return {
        "persons": st["persons"], "months": st["months"], "replications": st["replications"],
        "seed": st["seed"], "scale": comparison.scale(s), "stamp": st,
        "totals": {k: t[k] for k in keys} | {k: v for k, v in t.items() if k not in keys},
        "totals_mcse": comparison.totals_mcse(s),
        "final": {k: comparison.final(s)[k] for k in FINAL},
    }


def compare_json(comparison: Comparison) -> dict[str, Any]:
    """The `divert compare --json` contract: totals per scenario, differences from the first."""
    out: dict[str, Any] = {
        "stamp": comparison.stamp, "scenarios": [],
        "uncertainty": ("each replication draws the parameters afresh: intervals hold parameter "
                        "uncertainty and chance together (divert countries keeps them apart)"
                        if comparison.stamp.get("uncertainty") else
                        "central parameter values: intervals and MCSE are chance variation only"),
    }
    for s in comparison.scenarios:
        entry: dict[str, Any] = {"scenario": s, "scale": comparison.scale(s),
                                 "totals": comparison.totals(s),
                                 "totals_mcse": comparison.totals_mcse(s),
                                 "final": comparison.final(s)}
        if s != comparison.scenarios[0]:
            entry["difference"] = {k: v for k, v in comparison.difference(s).items()
                                   if k in TOTALS}
            entry["economics"] = comparison.economics(s)
        out["scenarios"].append(entry)
    return out


__all__ = ["simulate_json", "compare_json"]
