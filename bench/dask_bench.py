"""Dask benchmark: 2 scenarios x 32 replications on a LocalCluster of 1 and of 2 workers.

Measures the wall time on each cluster (after warming every worker's compiled kernel), the
parallel efficiency time(1) / (2 x time(2)), the scheduler's overhead per task (no-op tasks
through the same client), the time inside tasks, and projects from the measured time per task the
wall time of the full comparison: 8 packs x 4 scenarios x 200 replications on 64 workers.

    .venv/bin/python bench/dask_bench.py            # about 5 minutes on 2 cores
    .venv/bin/python bench/dask_bench.py --quick    # a smoke run

Writes bench/results/dask.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import time
from datetime import date
from pathlib import Path

SCENARIOS = ["usa", "usa+treatment_not_conviction"]
RESULTS = Path(__file__).parent / "results" / "dask.json"


def _noop(x: int) -> int:
    return x


def _warm() -> float:
    """Compile or load the kernel on a worker (one tiny run), so timing excludes it."""
    from divert.simulation.runner import Task, run_task

    t = time.perf_counter()
    run_task(Task("usa", 0, 500, 2, date(2025, 1, 1), 99))
    run_task(Task("usa+treatment_not_conviction", 0, 500, 2, date(2025, 1, 1), 99))
    return time.perf_counter() - t


def _timed_task(task: object) -> tuple[float, object]:
    from divert.simulation.runner import run_task

    t = time.perf_counter()
    result = run_task(task)  # type: ignore[arg-type]
    return time.perf_counter() - t, result.scenario


def measure(workers: int, persons: int, months: int, replications: int) -> dict[str, float]:
    import distributed

    from divert.simulation.distributed import Dask
    from divert.simulation.runner import Task

    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR,
                                       env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    try:
        with Dask(cluster.scheduler_address) as ex:
            client = ex.client()
            client.wait_for_workers(workers)
            client.run(_warm)  # every worker, once
            # scheduler overhead: 400 no-op tasks, one by one through the scheduler
            t = time.perf_counter()
            client.gather(client.map(_noop, range(400), pure=False))
            overhead = (time.perf_counter() - t) / 400
            tasks = [Task(s, r, persons, months, date(2025, 1, 1), 1)
                     for r in range(replications) for s in SCENARIOS]
            t = time.perf_counter()
            inside = [d for d, _ in ex.map(_timed_task, tasks)]
            wall = time.perf_counter() - t
    finally:
        cluster.close()
    return {"workers": workers, "wall_s": wall, "tasks": len(tasks),
            "task_s_mean": sum(inside) / len(inside), "task_s_sum": sum(inside),
            "busy_share": sum(inside) / (wall * workers), "noop_overhead_s": overhead}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--persons", type=int, default=150_000)
    parser.add_argument("--years", type=float, default=10.0)
    args = parser.parse_args()
    persons, months, reps = args.persons, int(args.years * 12), 32
    if args.quick:
        persons, months, reps = 5_000, 24, 4
    load_before = os.getloadavg()
    one = measure(1, persons, months, reps)
    two = measure(2, persons, months, reps)
    load_after = os.getloadavg()
    efficiency = one["wall_s"] / (2 * two["wall_s"])
    # projection: 8 packs x 4 scenarios x 200 replications on 64 single-threaded workers, each
    # task as long as measured here on 1 worker, plus the scheduler's overhead per task
    full_tasks = 8 * 4 * 200
    per_task = one["task_s_mean"]
    rounds = math.ceil(full_tasks / 64)
    projected = rounds * (per_task + one["noop_overhead_s"])
    out = {
        "date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": load_before, "load_average_after": load_after,
        "scenarios": SCENARIOS, "replications": reps, "persons": persons, "months": months,
        "one_worker": one, "two_workers": two, "parallel_efficiency": efficiency,
        "projection": {"tasks": full_tasks, "workers": 64, "task_s": per_task,
                       "rounds": rounds, "wall_s": projected,
                       "assumes": "each task as long as measured on one worker here; 64 workers "
                                  "of the same speed; one task per worker slot at a time"},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
