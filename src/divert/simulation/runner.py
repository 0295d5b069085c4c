"""The runner: scenarios x replications on an executor, with one root seed, stamped results.

Replication r of every scenario uses the same population, parameter draws and random streams
(common random numbers), so a difference between scenarios is the policy's effect, not noise.
Results depend only on (seed, scenario, replication), never on the executor or the number of
workers. Executors share one small interface (`map` over tasks, yielding results as they finish):
in this process, a pool of processes, or a Dask cluster (`divert.simulation.distributed`, optional).

With an output folder, each result is written to `OUT/tasks/` as it arrives and folded into
per-scenario accumulators (`divert.simulation.aggregate`), so the client holds scalars, not every run's
series, and an interrupted run resumes from what the folder holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from divert import __version__
from divert.errors import InputError
from divert.law.policy import Policy
from divert.simulation.aggregate import (
    Aggregate,
    Record,
    cohort_of,
    difference_records,
    economics_records,
    final_of,
    quantiles_of,
    scale_of,
    totals_of,
)
from divert.simulation.executors import Executor, InProcess, Processes
from divert.simulation.outcomes import series_rows
from divert.simulation.oversampling import check_factor
from divert.simulation.run import RunResult, run
from divert.simulation.scenarios import ScenarioSpec


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
    factors: tuple[tuple[str, float], ...] = ()  # practice parameters multiplied (sensitivity)
    policies: str | None = None                  # the client's packs folder, used where it exists
    oversample: float = 1.0                      # weighted oversampling (simulation.oversampling)


def load_scenario_policy(spec: str, root: Path | None = None) -> Policy:
    """A pack with its overlays from `CODE[+OVERLAY]...`."""
    from divert.law import policy as policies

    if not ScenarioSpec.parse(spec).overlays:
        return policies.load(spec, root)
    from divert.simulation.scenarios import load_scenario

    return load_scenario(spec, root)


_SCENARIOS: dict[tuple[str, str | None], tuple[tuple[Any, ...], Policy]] = {}


def _task_policy(task: Task) -> Policy:
    """The task's scenario, loaded once per process while its files are unchanged."""
    from divert.law.policy import pack_hash, policies_root

    root = Path(task.policies) if task.policies and Path(task.policies).is_dir() else None
    scenario = ScenarioSpec.parse(task.scenario)
    if not scenario.overlays:
        return load_scenario_policy(task.scenario, root)
    base = (root or policies_root()) / scenario.code
    files = scenario.overlay_files(root)
    key = (pack_hash(base) if (base / "pack.yaml").exists() else "",
           *(f.stat().st_mtime_ns if f.is_file() else 0 for f in files))
    held = _SCENARIOS.get((task.scenario, task.policies))
    if held is None or held[0] != key:
        held = (key, load_scenario_policy(task.scenario, root))
        _SCENARIOS[(task.scenario, task.policies)] = held
    return held[1]


def run_task(task: Task) -> RunResult:
    """Simulate one task (a top-level function, so process pools and Dask can pickle it)."""
    policy = _task_policy(task)
    if task.factors:
        from divert.law.practice import scaled

        policy = scaled(policy, dict(task.factors))
    return run(policy, task.persons, task.months, task.start, task.seed, task.replication,
               scenario=task.scenario, engine=task.engine, uncertainty=task.uncertainty,
               oversample=task.oversample)


def run_replication(tasks: tuple[Task, ...]) -> list[RunResult]:
    """Simulate one replication's tasks (its scenarios) one after another in the same process,
    so that each scenario whose law is unchanged before the start branches from the first one's
    burn-in (`simulation.run`) instead of simulating its own; the results are the same."""
    return [run_task(t) for t in tasks]


def by_replication(tasks: Sequence[Task]) -> list[tuple[Task, ...]]:
    """Tasks grouped by replication (in order of first appearance), scenarios kept in order."""
    groups: dict[int, list[Task]] = {}
    for t in tasks:
        groups.setdefault(t.replication, []).append(t)
    return [tuple(g) for g in groups.values()]


def executor_for(workers: int = 1, cluster: str | None = None, *,
                 batch: int | None = None) -> Executor:
    """In-process for one worker, a process pool for more, or a Dask cluster: `cluster` is a
    scheduler address (`tcp://HOST:PORT`) or `local:N` (a local cluster of N worker processes)."""
    if cluster:
        from divert.simulation.distributed import Dask

        return Dask(cluster, batch=batch)
    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    return InProcess() if workers == 1 else Processes(workers)


@dataclass
class Comparison:
    """All results of a run of scenarios, with the stamp that replays them.

    `results` holds each scenario's runs in replication order: in memory, or read from the task
    files on demand (a streamed run). The figures come from per-replication records, taken from
    `aggregate` where the run was streamed, else from `results`.
    """

    scenarios: list[str]
    results: Mapping[str, Sequence[RunResult]]
    stamp: dict[str, Any]
    policies: dict[str, Policy] = field(default_factory=dict)
    aggregate: Aggregate | None = None

    def records(self, scenario: str) -> list[Record]:
        """Each replication's scalars, in replication order."""
        if self.aggregate is not None:
            return self.aggregate.records(scenario)
        return [Record.of(r) for r in sorted(self.results[scenario], key=lambda r: r.replication)]

    def scale(self, scenario: str) -> float:
        """The mean scale factor (population / sample) over replications."""
        return scale_of(self.records(scenario))

    def totals(self, scenario: str) -> dict[str, float]:
        """Means over replications, for the simulated sample."""
        return totals_of(self.records(scenario))

    def totals_mcse(self, scenario: str, scaled: bool = False) -> dict[str, float | None]:
        """Monte Carlo standard error of each mean total (sd / sqrt(replications)); None with one
        replication, whose error the run cannot tell."""
        from divert.simulation.outcomes import mcse

        records = self.records(scenario)
        return {k: mcse([r.scaled()[k] if scaled else r.totals[k] for r in records])
                for k in records[0].totals}

    def totals_population(self, scenario: str) -> dict[str, float]:
        """Means over replications of each replication's totals scaled by its own factor."""
        return totals_of(self.records(scenario), scaled=True)

    def final(self, scenario: str) -> dict[str, float]:
        return final_of(self.records(scenario))

    def difference(self, scenario: str, scaled: bool = False) -> dict[str, dict[str, float]]:
        return difference_records(self.records(self.scenarios[0]), self.records(scenario), scaled)

    def economics(self, scenario: str) -> dict[str, Any]:
        """Benefits and costs against the baseline, scaled to the population."""
        return economics_records(self.records(self.scenarios[0]), self.records(scenario))

    def summary(self) -> dict[str, Any]:
        """Everything `summary.json` holds: per scenario totals, final stocks, cohort outcomes,
        and differences from the first scenario with 95% intervals."""
        out: dict[str, Any] = {"stamp": self.stamp, "scenarios": {}}
        for s in self.scenarios:
            records = self.records(s)
            entry: dict[str, Any] = {
                "scale": self.scale(s), "totals": self.totals(s), "final": self.final(s),
                "totals_population": self.totals_population(s),
                "totals_mcse": self.totals_mcse(s),
                "totals_population_mcse": self.totals_mcse(s, scaled=True),
                "quantiles_population": quantiles_of(records),
                "cohort": cohort_of(records),
                "overlays": self.policies[s].overlays if s in self.policies else [],
            }
            if s != self.scenarios[0]:
                entry["economics"] = self.economics(s)
                entry["difference"] = self.difference(s)
                entry["difference_population"] = self.difference(s, scaled=True)
            out["scenarios"][s] = entry
        return out


MAX_PERSONS = 20_000_000
"""People simulated at most per run (about 2 GB of state with its entrants)."""
MAX_YEARS = 100
MAX_SEED = 2 ** 63 - 1


def check_sizes(persons: int, months: int, seed: int = 0) -> None:
    """Refuse sizes a run cannot do, in one line naming the option and what is allowed."""
    if not 0 < persons <= MAX_PERSONS:
        raise InputError(f"--persons: must be a whole number of people from 1 to "
                         f"{MAX_PERSONS:,}, got {persons}")
    if not 0 < months <= MAX_YEARS * 12:
        raise InputError(f"--years: must be more than 0 and at most {MAX_YEARS}, got "
                         f"{months / 12:g}")
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed: must be a whole number from 0 to 2**63-1, got {seed}")


def stamp(scenarios: list[str], policies: dict[str, Policy], *, persons: int, months: int,
          start: date, replications: int, seed: int, engine: str,
          uncertainty: bool, oversample: float = 1.0) -> dict[str, Any]:
    """What replays a result exactly: version, packs and their hashes, overlays, seed, sizes
    (and the oversampling factor where the sample is weighted)."""
    weighted = {"oversample": oversample, "sampling": OVERSAMPLING} if oversample > 1.0 else {}
    return weighted | {
        "divert": __version__, "seed": seed, "persons": persons, "months": months,
        "start": start.strftime("%Y-%m"), "replications": replications, "engine": engine,
        "uncertainty": uncertainty,
        "scenarios": {s: {"pack": p.code, "pack_hash": p.hash, "overlays": p.overlays,
                          "burn_in_months": _burn_in(p, start)}
                      for s, p in policies.items()},
        "burn_in": "automatic: 3 x the longest mean stay in the stocks, 36-120 months, under the "
                   "law in force before the start (simulation.warm_up_months)",
    }


OVERSAMPLING = ("weighted: a burn-in of oversample x persons people, persons of them kept at the "
                "start by systematic sampling with probability proportional to their record and "
                "offending, each weighted 1/pi (Horvitz-Thompson; simulation.oversampling)")


def _burn_in(policy: Policy, start: date) -> int:
    """The burn-in the simulation chooses for `policy` at central practice values."""
    from divert.law.practice import draw, resolve
    from divert.simulation.run import warm_up_months

    return warm_up_months(draw(resolve(policy, start), None))


def run_comparison(scenarios: list[str], *, persons: int, months: int, start: date,
                   replications: int, seed: int, workers: int = 1, engine: str = "numba",
                   uncertainty: bool = True,
                   progress: Callable[[int, int], None] | None = None,
                   cluster: str | None = None, out: Path | None = None, resume: bool = False,
                   executor: Executor | None = None, oversample: float = 1.0) -> Comparison:
    """Run every scenario for every replication; `progress(done, total)` after each task.

    `cluster` sends the tasks to Dask (see `executor_for`); `out` streams each result to
    `out/tasks/` and aggregates as results arrive; `resume` redoes only the tasks `out` lacks.
    """
    return run_groups([scenarios], persons=persons, months=months, start=start,
                      replications=replications, seed=seed, workers=workers, engine=engine,
                      uncertainty=uncertainty, progress=progress, cluster=cluster, out=out,
                      resume=resume, executor=executor, oversample=oversample)[0]


def run_groups(groups: list[list[str]], *, persons: int, months: int, start: date,
               replications: int, seed: int, workers: int = 1, engine: str = "numba",
               uncertainty: bool = True,
               progress: Callable[[int, int], None] | None = None,
               cluster: str | None = None, out: Path | None = None, resume: bool = False,
               executor: Executor | None = None, first_replication: int = 0,
               oversample: float = 1.0) -> list[Comparison]:
    """Several comparisons (each a baseline and its scenarios) on one executor.

    `first_replication` numbers the replications from there (a later batch of the same run, or
    an independent set of parameter draws); the stamp records it."""
    from divert.law.policy import policies_root

    check_sizes(persons, months, seed)
    if replications <= 0:
        raise InputError(f"--replications: must be at least 1, got {replications}")
    if engine not in ("numba", "numpy"):
        raise InputError(f"--engine: {engine!r} is not allowed; allowed: numba, numpy")
    try:
        oversample = check_factor(oversample)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if resume and out is None:
        raise InputError("--resume: needs --out, the folder of the run to resume")
    if first_replication and out is not None:
        raise InputError("first_replication: a streamed run starts at replication 0")
    every = list(dict.fromkeys(s for group in groups for s in group))
    policies = {s: load_scenario_policy(s) for s in every}  # errors surface before running
    root = str(policies_root().resolve())
    reps = range(first_replication, first_replication + replications)
    tasks = [Task(s, r, persons, months, start, seed, engine, uncertainty, policies=root,
                  oversample=oversample) for r in reps for s in every]
    sizes: dict[str, Any] = dict(persons=persons, months=months, start=start,
                                 replications=replications, seed=seed, engine=engine,
                                 uncertainty=uncertainty, oversample=oversample)
    owned = executor is None
    ex = executor if executor is not None else executor_for(workers, cluster)
    try:
        if out is None:
            results = _collect(ex, tasks, progress)
            aggregate = None
        else:
            store, aggregate = _stream(ex, tasks, every, stamp(every, policies, **sizes),
                                       Path(out), resume, progress)
            results = {s: store.runs(s, replications) for s in every}
    finally:
        if owned:
            ex.close()
    comparisons = []
    for group in groups:
        st = stamp(group, {s: policies[s] for s in group}, **sizes)
        if first_replication:
            st["first_replication"] = first_replication
        comparisons.append(Comparison(group, {s: results[s] for s in group}, st,
                                      {s: policies[s] for s in group}, aggregate))
    return comparisons


def _collect(ex: Executor, tasks: list[Task],
             progress: Callable[[int, int], None] | None) -> dict[str, list[RunResult]]:
    """Every result in memory, by scenario in replication order."""
    results: dict[str, list[RunResult]] = {t.scenario: [] for t in tasks}
    done = 0
    for batch in ex.map(run_replication, by_replication(tasks)):
        for result in batch:
            results[result.scenario].append(result)
            done += 1
            if progress is not None:
                progress(done, len(tasks))
    for runs in results.values():
        runs.sort(key=lambda r: r.replication)
    return results


def _stream(ex: Executor, tasks: list[Task], every: list[str], st: dict[str, Any], out: Path,
            resume: bool, progress: Callable[[int, int], None] | None) -> tuple[Any, Aggregate]:
    """Each result written to `out/tasks/` and folded into the aggregate as it arrives; with
    `resume`, the tasks already there are read back instead of run."""
    from divert.simulation.store import TaskStore

    describe = getattr(ex, "describe", lambda: type(ex).__name__)()
    store = TaskStore(out, every, st, resume=resume, info={"executor": describe})
    aggregate = Aggregate(every)
    missing = []
    for t in tasks:
        if resume and store.has(t.scenario, t.replication):
            aggregate.add(store.get(t.scenario, t.replication))
        else:
            missing.append(t)
    done = len(tasks) - len(missing)
    if progress is not None and done:
        progress(done, len(tasks))
    for batch in ex.map(run_replication, by_replication(missing)):
        for result in batch:
            store.put(result)
            aggregate.add(result)
            done += 1
            if progress is not None:
                progress(done, len(tasks))
    return store, aggregate


def write_outputs(comparison: Comparison, out: Path) -> list[Path]:
    """`series.parquet` (long format, scaled to the population) and `summary.json`, stamped.

    The series is written a few runs at a time, so a streamed comparison is never all in memory.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create {out}: {exc.strerror}") from None
    schema = pa.schema([("scenario", pa.string()), ("replication", pa.int32()),
                        ("month", pa.string()), ("metric", pa.string()), ("value", pa.float64())],
                       metadata={b"divert_stamp": json.dumps(comparison.stamp,
                                                             sort_keys=True).encode()})
    series_path = out / "series.parquet"
    tmp = out / "series.parquet.part"
    buffered: list[Any] = []
    rows = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        for s in comparison.scenarios:
            for r in comparison.results[s]:
                buffered.append(pa.table(series_rows(r), schema=schema))
                rows += buffered[-1].num_rows
                if rows >= 500_000:
                    writer.write_table(pa.concat_tables(buffered))
                    buffered, rows = [], 0
        if buffered:
            writer.write_table(pa.concat_tables(buffered))
    os.replace(tmp, series_path)
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(comparison.summary(), indent=2, sort_keys=True) + "\n")
    return [series_path, summary_path]


def cpu_count() -> int:
    return os.cpu_count() or 1


__all__ = ["Task", "InProcess", "Processes", "Executor", "Comparison", "run_comparison",
           "run_groups", "write_outputs", "executor_for", "Iterable"]
