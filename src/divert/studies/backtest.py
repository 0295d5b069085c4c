"""Backtests: simulate across a dated change of law and set the result beside what was observed.

A pack's `backtest.yaml` names the change (date, description), the start month and length of the
run, and observed yearly figures with their sources. The run uses the pack's dated rules and
practice as they stood each month, so the change takes effect on its date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from divert.errors import InputError
from divert.law.policy import Policy
from divert.law.yaml_source import read_yaml, validate_model
from divert.simulation.run import SERIES
from divert.simulation.runner import run_comparison

METRICS = ("police_contacts", "arrests", "prosecutions", "convictions", "diversions",
           "prison_admissions", "compulsory_admissions", "death_sentences", "in_prison")


class Observed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    citation: str
    provenance: str = Field(pattern="^(verified|unverified)$")
    values: dict[int, float]


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    description: str


class BacktestSpec(BaseModel):
    """`backtest.yaml`: the change of law, the run, the observed series."""

    model_config = ConfigDict(extra="forbid")
    change: Change
    start: str = Field(pattern=r"^\d{4}-\d{2}$")
    years: int = Field(gt=0, le=30)
    observed: dict[str, Observed] = {}


@dataclass
class Backtest:
    """Simulated yearly figures (population, mean and 95% interval) beside the observed ones."""

    code: str
    spec: BacktestSpec
    years: list[int]
    simulated: dict[str, dict[str, list[float]]]
    stamp: dict[str, Any]

    def before_after(self, metric: str) -> dict[str, float]:
        """Mean yearly value in the full years before and after the change."""
        change = self.spec.change.date.year
        mean = self.simulated[metric]["mean"]
        before = [v for y, v in zip(self.years, mean, strict=True) if y < change]
        after = [v for y, v in zip(self.years, mean, strict=True) if y > change]
        return {"before": float(np.mean(before)) if before else float("nan"),
                "after": float(np.mean(after)) if after else float("nan")}

    def to_json(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.code, "change": self.spec.change.model_dump(mode="json"),
            "years": self.years, "simulated": self.simulated,
            "before_after": {m: self.before_after(m) for m in METRICS},
            "observed": {k: v.model_dump() for k, v in self.spec.observed.items()},
            "stamp": self.stamp,
        }


def load_spec(policy: Policy) -> BacktestSpec:
    path = policy.path / "backtest.yaml"
    if not path.exists():
        raise InputError(f"no backtest for {policy.code}: {path} does not exist")
    return validate_model(BacktestSpec, read_yaml(path), path, error=InputError)


def backtest(policy: Policy, *, persons: int, replications: int, seed: int,
             workers: int = 1) -> Backtest:
    """Run the pack across its change of law and aggregate by calendar year."""
    spec = load_spec(policy)
    year, month = (int(x) for x in spec.start.split("-"))
    comparison = run_comparison([policy.code], persons=persons, months=12 * spec.years,
                                start=date(year, month, 1), replications=replications, seed=seed,
                                workers=workers)
    results = comparison.results[policy.code]
    years = [year + i for i in range(spec.years)]
    simulated: dict[str, dict[str, list[float]]] = {}
    for metric in METRICS:
        i = SERIES.index(metric)
        per_rep = np.array([[r.series[12 * k:12 * (k + 1), i].sum() * r.scale
                             if metric != "in_prison"
                             else r.series[12 * k:12 * (k + 1), i].mean() * r.scale
                             for k in range(spec.years)] for r in results])
        simulated[metric] = {"mean": per_rep.mean(axis=0).tolist(),
                             "low": np.percentile(per_rep, 2.5, axis=0).tolist(),
                             "high": np.percentile(per_rep, 97.5, axis=0).tolist()}
    return Backtest(policy.code, spec, years, simulated, comparison.stamp)
