"""Streaming aggregation: results folded into per-scenario accumulators as they arrive.

Each finished run leaves a `Record` of scalars (its totals, costs, final stocks, cohort table and
scale: what paired differences, intervals and quantiles need) and is folded into running means and
variances of its monthly series (population units); the series itself is not kept. Runs arrive in
any order, but are folded in replication order (a run that arrives early waits for the ones before
it), so the figures are the same bit for bit whatever the executor and the order tasks finish in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from divert.simulation.outcomes import (
    TOTALS,
    cohort_rates_of,
    costs,
    difference_of,
    economics_of,
    interval,
    mean_of,
    totals,
)
from divert.simulation.run import RunResult

QUANTILES = (0.025, 0.5, 0.975)


@dataclass(frozen=True)
class Record:
    """What a run leaves once its series has been folded in: scalars and small tables."""

    replication: int
    scale: float
    totals: dict[str, float]
    costs: dict[str, float]
    final: dict[str, float]
    cohort: np.ndarray

    @classmethod
    def of(cls, result: RunResult) -> Record:
        return cls(result.replication, float(result.scale), totals(result), costs(result),
                   dict(result.final), result.cohort)

    def scaled(self, which: str = "totals") -> dict[str, float]:
        return {k: v * self.scale for k, v in getattr(self, which).items()}


@dataclass
class Series:
    """Running mean and variance (Welford) of a scenario's population-scaled monthly series."""

    count: int = 0
    mean: np.ndarray | None = None
    m2: np.ndarray | None = None

    def add(self, values: np.ndarray) -> None:
        self.count += 1
        if self.mean is None or self.m2 is None:
            self.mean = values.astype(np.float64).copy()
            self.m2 = np.zeros_like(self.mean)
            return
        delta = values - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (values - self.mean)

    @property
    def variance(self) -> np.ndarray:
        assert self.m2 is not None
        return self.m2 / (self.count - 1) if self.count > 1 else np.zeros_like(self.m2)


@dataclass
class ScenarioAggregate:
    """One scenario's accumulators: records by replication and its folded series."""

    scenario: str
    records: dict[int, Record] = field(default_factory=dict)
    series: Series = field(default_factory=Series)
    _waiting: dict[int, np.ndarray] = field(default_factory=dict)
    _next: int = 0

    def add(self, result: RunResult) -> None:
        """Take a finished run (any order); fold the runs that are now in replication order."""
        if result.replication in self.records:
            return  # a task re-run after a fault: the same numbers, counted once
        self.records[result.replication] = Record.of(result)
        self._waiting[result.replication] = result.series * result.scale
        while self._next in self._waiting:
            self.series.add(self._waiting.pop(self._next))
            self._next += 1

    def ordered(self) -> list[Record]:
        return [self.records[r] for r in sorted(self.records)]

    def waiting(self) -> int:
        """Runs held until the ones before them arrive."""
        return len(self._waiting)


class Aggregate:
    """Per-scenario accumulators for a run of scenarios x replications."""

    def __init__(self, scenarios: list[str]) -> None:
        self.scenarios = list(scenarios)
        self.by_scenario = {s: ScenarioAggregate(s) for s in self.scenarios}

    def add(self, result: RunResult) -> None:
        self.by_scenario[result.scenario].add(result)

    def records(self, scenario: str) -> list[Record]:
        return self.by_scenario[scenario].ordered()

    def series_stats(self, scenario: str) -> dict[str, np.ndarray]:
        """Monthly mean and standard deviation across replications (months x SERIES)."""
        s = self.by_scenario[scenario].series
        assert s.mean is not None
        return {"mean": s.mean, "sd": np.sqrt(s.variance)}


# --- figures from records (one code path for in-memory and streamed runs) -------------------------


def scale_of(records: list[Record]) -> float:
    return float(sum(r.scale for r in records) / len(records))


def totals_of(records: list[Record], scaled: bool = False) -> dict[str, float]:
    return mean_of([r.scaled() if scaled else r.totals for r in records])


def final_of(records: list[Record]) -> dict[str, float]:
    return mean_of([r.final for r in records])


def cohort_of(records: list[Record]) -> dict[str, dict[str, float]]:
    return cohort_rates_of(sum(r.cohort for r in records))


def _paired(base: list[Record], other: list[Record]) -> list[tuple[Record, Record]]:
    return list(zip(base, other, strict=True))


def difference_records(base: list[Record], other: list[Record],
                       scaled: bool = False) -> dict[str, dict[str, float]]:
    return difference_of([(b.scaled() if scaled else b.totals, o.scaled() if scaled else o.totals)
                          for b, o in _paired(base, other)])


def economics_records(base: list[Record], other: list[Record],
                      scaled: bool = True) -> dict[str, Any]:
    return economics_of([(b.scaled("costs") if scaled else b.costs,
                          o.scaled("costs") if scaled else o.costs)
                         for b, o in _paired(base, other)])


def quantiles_of(records: list[Record]) -> dict[str, dict[str, float]]:
    """Per total (population units): mean, sd and the 2.5%, 50% and 97.5% quantiles."""
    out: dict[str, dict[str, float]] = {}
    for name in TOTALS:
        v = np.array([r.totals[name] * r.scale for r in records])
        q = np.quantile(v, QUANTILES)
        out[name] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                     "q025": float(q[0]), "q50": float(q[1]), "q975": float(q[2])}
    return out


__all__ = ["Aggregate", "Record", "ScenarioAggregate", "Series", "difference_records",
           "economics_records", "quantiles_of", "totals_of", "final_of", "cohort_of", "scale_of",
           "interval"]
