"""The runner: scenarios x replications on an executor, with one root seed, stamped results.

Replication r of every scenario uses the same population, parameter draws and random streams
(common random numbers), so a difference between scenarios is the policy's effect, not noise.
Results depend only on (seed, scenario, replication), never on the executor or the number of
workers. Executors share one small interface (`map` over tasks, yielding results as they finish),
so a distributed one can be added.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from divert import __version__
from divert.errors import InputError
from divert.outcomes import (
    FINAL,
    TOTALS,
    cohort_rates,
    difference,
    economics,
    mean_of,
    series_rows,
    totals,
)
from divert.policy import Policy
from divert.simulation import RunResult, run


@dataclass(frozen=True)
class Task:
    """One (scenario, replication) to simulate."""

    scenario: str
    replication: int
    persons: int
    months: int
    start: date
    seed: int
    engine: str = "numba"
    uncertainty: bool = True


def load_scenario_policy(spec: str) -> Policy:
    """A pack with its overlays from `CODE[+OVERLAY]...`."""
    from divert import policy as policies

    if "+" not in spec:
        return policies.load(spec)
    from divert.scenarios import load_scenario

    return load_scenario(spec)


def run_task(task: Task) -> RunResult:
    """Simulate one task (a top-level function, so process pools can pickle it)."""
    policy = load_scenario_policy(task.scenario)
    return run(policy, task.persons, task.months, task.start, task.seed, task.replication,
               scenario=task.scenario, engine=task.engine, uncertainty=task.uncertainty)


class Executor(Protocol):
    """Runs tasks and yields their results as they finish (any order)."""

    def map(self, fn: Callable[[Task], RunResult], tasks: list[Task]) -> Iterator[RunResult]:
        ...


class InProcess:
    """Runs tasks one after another in this process."""

    def map(self, fn: Callable[[Task], RunResult], tasks: list[Task]) -> Iterator[RunResult]:
        for task in tasks:
            yield fn(task)


def _single_thread() -> None:
    import numba

    numba.set_num_threads(1)


class Processes:
    """Runs tasks in a pool of worker processes (each single-threaded, to share the cores)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, fn: Callable[[Task], RunResult], tasks: list[Task]) -> Iterator[RunResult]:
        # spawn, not fork: the compiled kernel's thread pool must not be forked
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, initializer=_single_thread,
                                 mp_context=context) as pool:
            futures = [pool.submit(fn, t) for t in tasks]
            for future in as_completed(futures):
                yield future.result()


def executor_for(workers: int) -> Executor:
    """In-process for one worker, a process pool for more."""
    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    return InProcess() if workers == 1 else Processes(workers)


@dataclass
class Comparison:
    """All results of a run of scenarios, with the stamp that replays them."""

    scenarios: list[str]
    results: dict[str, list[RunResult]]
    stamp: dict[str, Any]
    policies: dict[str, Policy] = field(default_factory=dict)

    def scale(self, scenario: str) -> float:
        """The mean scale factor (population / sample) over replications."""
        return float(sum(r.scale for r in self.results[scenario]) / len(self.results[scenario]))

    def totals(self, scenario: str) -> dict[str, float]:
        """Means over replications, for the simulated sample."""
        return mean_of([totals(r) for r in self.results[scenario]])

    def totals_population(self, scenario: str) -> dict[str, float]:
        """Means over replications of each replication's totals scaled by its own factor."""
        return mean_of([{k: v * r.scale for k, v in totals(r).items()}
                        for r in self.results[scenario]])

    def final(self, scenario: str) -> dict[str, float]:
        return mean_of([r.final for r in self.results[scenario]])

    def difference(self, scenario: str, scaled: bool = False) -> dict[str, dict[str, float]]:
        return difference(self.results[self.scenarios[0]], self.results[scenario], scaled)

    def economics(self, scenario: str) -> dict[str, Any]:
        """Benefits and costs against the baseline, scaled to the population."""
        return economics(self.results[self.scenarios[0]], self.results[scenario], scaled=True)

    def summary(self) -> dict[str, Any]:
        """Everything `summary.json` holds: per scenario totals, final stocks, cohort outcomes,
        and differences from the first scenario with 95% intervals."""
        out: dict[str, Any] = {"stamp": self.stamp, "scenarios": {}}
        for s in self.scenarios:
            entry: dict[str, Any] = {
                "scale": self.scale(s), "totals": self.totals(s), "final": self.final(s),
                "totals_population": self.totals_population(s),
                "cohort": cohort_rates(self.results[s]),
                "overlays": self.policies[s].overlays if s in self.policies else [],
            }
            if s != self.scenarios[0]:
                entry["economics"] = self.economics(s)
                entry["difference"] = self.difference(s)
                entry["difference_population"] = self.difference(s, scaled=True)
            out["scenarios"][s] = entry
        return out


def stamp(scenarios: list[str], policies: dict[str, Policy], *, persons: int, months: int,
          start: date, replications: int, seed: int, engine: str,
          uncertainty: bool) -> dict[str, Any]:
    """What replays a result exactly: version, packs and their hashes, overlays, seed, sizes."""
    return {
        "divert": __version__, "seed": seed, "persons": persons, "months": months,
        "start": start.strftime("%Y-%m"), "replications": replications, "engine": engine,
        "uncertainty": uncertainty,
        "scenarios": {s: {"pack": p.code, "pack_hash": p.hash, "overlays": p.overlays}
                      for s, p in policies.items()},
    }


def run_comparison(scenarios: list[str], *, persons: int, months: int, start: date,
                   replications: int, seed: int, workers: int = 1, engine: str = "numba",
                   uncertainty: bool = True,
                   progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Run every scenario for every replication; `progress(done, total)` after each task."""
    return run_groups([scenarios], persons=persons, months=months, start=start,
                      replications=replications, seed=seed, workers=workers, engine=engine,
                      uncertainty=uncertainty, progress=progress)[0]


def run_groups(groups: list[list[str]], *, persons: int, months: int, start: date,
               replications: int, seed: int, workers: int = 1, engine: str = "numba",
               uncertainty: bool = True,
               progress: Callable[[int, int], None] | None = None) -> list[Comparison]:
    """Several comparisons (each a baseline and its scenarios) on one executor."""
    if persons <= 0:
        raise InputError(f"--persons: must be a positive number of people, got {persons}")
    if months <= 0:
        raise InputError(f"--years: must be positive, got {months / 12:g}")
    if replications <= 0:
        raise InputError(f"--replications: must be at least 1, got {replications}")
    if engine not in ("numba", "numpy"):
        raise InputError(f"--engine: {engine!r} is not allowed; allowed: numba, numpy")
    every = list(dict.fromkeys(s for group in groups for s in group))
    policies = {s: load_scenario_policy(s) for s in every}  # errors surface before running
    tasks = [Task(s, r, persons, months, start, seed, engine, uncertainty)
             for r in range(replications) for s in every]
    results: dict[str, list[RunResult]] = {s: [] for s in every}
    for done, result in enumerate(executor_for(workers).map(run_task, tasks), start=1):
        results[result.scenario].append(result)
        if progress is not None:
            progress(done, len(tasks))
    for s in every:
        results[s].sort(key=lambda r: r.replication)
    out = []
    for group in groups:
        st = stamp(group, {s: policies[s] for s in group}, persons=persons, months=months,
                   start=start, replications=replications, seed=seed, engine=engine,
                   uncertainty=uncertainty)
        out.append(Comparison(group, {s: results[s] for s in group}, st,
                              {s: policies[s] for s in group}))
    return out


def write_outputs(comparison: Comparison, out: Path) -> list[Path]:
    """`series.parquet` (long format, scaled to the population) and `summary.json`, stamped."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create {out}: {exc.strerror}") from None
    columns: dict[str, list[Any]] = {"scenario": [], "replication": [], "month": [], "metric": [],
                                     "value": []}
    for s in comparison.scenarios:
        for r in comparison.results[s]:
            for k, v in series_rows(r).items():
                columns[k].extend(v)
    table = pa.table({
        "scenario": pa.array(columns["scenario"], pa.string()),
        "replication": pa.array(columns["replication"], pa.int32()),
        "month": pa.array(columns["month"], pa.string()),
        "metric": pa.array(columns["metric"], pa.string()),
        "value": pa.array(columns["value"], pa.float64()),
    })
    meta = {b"divert_stamp": json.dumps(comparison.stamp, sort_keys=True).encode()}
    table = table.replace_schema_metadata(meta)
    series_path = out / "series.parquet"
    pq.write_table(table, series_path)
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(comparison.summary(), indent=2, sort_keys=True) + "\n")
    return [series_path, summary_path]


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
        "final": {k: comparison.final(s)[k] for k in FINAL},
    }


def compare_json(comparison: Comparison) -> dict[str, Any]:
    """The `divert compare --json` contract: totals per scenario, differences from the first."""
    out: dict[str, Any] = {"stamp": comparison.stamp, "scenarios": []}
    for s in comparison.scenarios:
        entry: dict[str, Any] = {"scenario": s, "scale": comparison.scale(s),
                                 "totals": comparison.totals(s), "final": comparison.final(s)}
        if s != comparison.scenarios[0]:
            entry["difference"] = {k: v for k, v in comparison.difference(s).items()
                                   if k in TOTALS}
            entry["economics"] = comparison.economics(s)
        out["scenarios"].append(entry)
    return out


def cpu_count() -> int:
    return os.cpu_count() or 1


__all__ = ["Task", "InProcess", "Processes", "Comparison", "run_comparison", "write_outputs",
           "simulate_json", "compare_json", "executor_for", "Iterable"]
