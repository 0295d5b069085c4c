"""Precision per second: how long divert takes to resolve a policy difference to 1%.

Run from the repository root after `make venv`:

    .venv/bin/python bench/precision_bench.py [--quick]

The question: the USA, today's law against `usa+treatment_not_conviction` (in force from
2026-01-01, month 13 of a run from 2025-01), 10 years, at central parameter values, paired by
common random numbers. The figure: seconds until the 95% confidence interval of the 10-year mean
drug-offence prison stock difference is within 1% of that difference, as a ratio to the machine's
RNG floor (drawing 2 NumPy doubles for every person-month the same design simulates, measured
here in the same run).

For each setting (persons x replications) the comparison is run and its relative half-width
h = t(n) * MCSE / |mean| measured. The work to reach 1% is the number of replications n* at the
same persons whose half-width t(n*) * sd / sqrt(n*) / |mean| is at most 1% (sd the replications'
standard deviation, t(k) Student's 97.5% quantile with k - 1 degrees of freedom: the t of the run
that would reach 1%, not of the few replications measured), so seconds_to_1% = seconds x n* / n.
The ratio to the floor is the setting's wall time over the RNG floor of the person-months it
reports (both scenarios' 120 months); `ratio_to_floor_simulated` counts the burn-in's months too
(simulated once, shared by the scenarios). Results go to bench/results/precision.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "src"))

from divert.simulation.outcomes import t_975  # noqa: E402
from divert.simulation.run import SERIES  # noqa: E402
from divert.simulation.runner import Executor, executor_for, run_comparison  # noqa: E402

SCENARIOS = ["usa", "usa+treatment_not_conviction"]
START = date(2025, 1, 1)
MONTHS = 120
TARGET = 0.01


def floor_seconds(person_months: int, repeats: int = 3) -> float:
    """Drawing 2 uniform doubles per person-month with NumPy (in blocks of 1 M person-months),
    the best of `repeats` timings: the floor is a fixed task, so its fastest run is its cost and
    the others are the machine's noise."""
    rng = np.random.default_rng(0)
    block = 1_000_000
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        left = person_months
        while left > 0:
            n = min(block, left)
            rng.random(2 * n)
            left -= n
        best = min(best, time.perf_counter() - t)
    return best


def warm_pool(workers: int) -> tuple[Executor, float]:
    """The worker pool, started and warmed by a tiny run (workers import divert, load the packs
    and the compiled kernel once, as in the main job), and the seconds that took."""
    t = time.perf_counter()
    ex = executor_for(workers)
    run_comparison(SCENARIOS, persons=200, months=12, start=START, replications=workers,
                   seed=99, executor=ex, uncertainty=False)
    return ex, time.perf_counter() - t


def measure(persons: int, replications: int, ex: Executor) -> dict[str, float]:
    """One setting on the warm pool `ex`: wall and CPU seconds (this process only), the
    difference, its relative half-width, the extrapolation to 1%."""
    t, c = time.perf_counter(), time.process_time()
    comp = run_comparison(SCENARIOS, persons=persons, months=MONTHS, start=START,
                          replications=replications, seed=1, executor=ex, uncertainty=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    i = SERIES.index("in_prison_drug_offence")
    stock = {s: np.array([r.series[:, i].mean() * r.scale for r in comp.results[s]])
             for s in SCENARIOS}
    d = stock[SCENARIOS[1]] - stock[SCENARIOS[0]]
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    half = t_975(len(d)) * se / abs(mean)
    person_months = persons * replications * MONTHS * len(SCENARIOS)
    burn_in = int(comp.results[SCENARIOS[0]][0].burn_in)
    factor = replications_to(float(d.std(ddof=1)) / abs(mean)) / replications
    floor_here = floor_seconds(person_months)
    simulated = person_months + persons * replications * burn_in
    return {"persons": persons, "replications": replications, "wall_s": wall, "cpu_s": cpu,
            "difference_mean": mean, "mcse": se, "relative_half_width": half,
            "burn_in_months": burn_in, "seconds_to_1pct": wall * factor, "floor_s": floor_here,
            "floor_to_1pct_s": floor_here * factor, "ratio_to_floor": wall / floor_here,
            "ratio_to_floor_simulated": wall / (floor_here * simulated / person_months)}


def replications_to(rel_sd: float) -> int:
    """Fewest replications whose 95% half-width t(n) x rel_sd / sqrt(n) is within TARGET."""
    n = max(2, math.ceil((1.96 * rel_sd / TARGET) ** 2))
    while t_975(n) * rel_sd / math.sqrt(n) > TARGET:
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--settings", help="persons x replications to run, e.g. 200000x4,400000x4")
    args = ap.parse_args()
    settings = ([(2000, 4), (8000, 4)] if args.quick
                else [(5000, 8), (20000, 8), (50000, 8), (100000, 4), (200000, 4), (400000, 4)])
    if args.settings:
        settings = [(int(p), int(r)) for p, r in (s.split("x") for s in args.settings.split(","))]
    ex, start_s = warm_pool(args.workers)
    try:
        rows = [measure(p, r, ex) for p, r in settings]
    finally:
        ex.close()
    print(f"pool of {args.workers} workers started and warmed in {start_s:.1f} s (not in the rows)")
    for row in rows:
        print(f"{row['persons']:>7,} x {row['replications']:>2}: {row['wall_s']:6.1f} s wall, "
              f"difference {row['difference_mean']:+,.0f} ± {row['mcse']:,.0f}, half-width "
              f"{row['relative_half_width']:.2%}, to 1%: {row['seconds_to_1pct']:,.0f} s = "
              f"{row['ratio_to_floor']:.0f}x the RNG floor ({row['ratio_to_floor_simulated']:.0f}x "
              f"counting the burn-in)")
    OUT.mkdir(parents=True, exist_ok=True)
    best = min(rows, key=lambda r: r["seconds_to_1pct"])
    (OUT / "precision.json").write_text(json.dumps({
        "question": "usa vs usa+treatment_not_conviction from 2025-01 (reform in month 13), 120 "
                    "months, central values: 95% CI of the mean drug-offence prison stock "
                    "difference within 1%",
        "machine": {"python": platform.python_version(), "machine": platform.machine()},
        "workers": args.workers, "pool_start_s": start_s, "settings": rows, "best": best,
        "lowest_ratio": min(rows, key=lambda r: r["ratio_to_floor"])},
        indent=2) + "\n")
    lowest = min(rows, key=lambda r: r["ratio_to_floor"])
    print(f"fastest to 1%: {best['persons']:,} persons, {best['seconds_to_1pct']:,.0f} s, "
          f"{best['ratio_to_floor']:.0f}x the floor for the same person-months; lowest ratio: "
          f"{lowest['persons']:,} persons, {lowest['ratio_to_floor']:.0f}x "
          f"({lowest['ratio_to_floor_simulated']:.0f}x counting the burn-in)")


if __name__ == "__main__":
    main()
