"""Weighted oversampling against plain sampling, on the precision benchmark's question.

Run from the repository root after `make venv`:

    .venv/bin/python bench/oversampling_bench.py [--persons 20000] [--replications 8]
        [--factors 1,2,4,8] [--seeds 1,2]

The question is `bench/precision_bench.py`'s: the USA's law today against
`usa+treatment_not_conviction`, 10 years, central values, paired by common random numbers; the
figure is the 95% half-width of the 10-year mean drug-offence prison stock difference relative to
the difference. Each oversampling factor runs the same persons x replications, and the report
gives its half-width, its seconds, and its efficiency against no oversampling (seconds to reach
the same half-width, plain / weighted: above one, oversampling pays). Results go to
bench/results/oversampling.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time

import numpy as np
from precision_bench import MONTHS, OUT, SCENARIOS, START  # the same question, one definition

from divert.simulation.outcomes import t_975
from divert.simulation.run import SERIES
from divert.simulation.runner import run_comparison

METRICS = ("in_prison_drug_offence", "in_prison", "in_treatment", "overdose_deaths")


def measure(persons: int, replications: int, factor: float, seed: int) -> dict[str, object]:
    """One factor: seconds, and per metric the difference, its MCSE and relative half-width."""
    t = time.perf_counter()
    comp = run_comparison(SCENARIOS, persons=persons, months=MONTHS, start=START,
                          replications=replications, seed=seed, uncertainty=False,
                          oversample=factor)
    wall = time.perf_counter() - t
    out: dict[str, object] = {"factor": factor, "seed": seed, "wall_s": wall}
    for name in METRICS:
        i = SERIES.index(name)
        per = {s: np.array([r.series[:, i].mean() * r.scale for r in comp.results[s]])
               for s in SCENARIOS}
        d = per[SCENARIOS[1]] - per[SCENARIOS[0]]
        se = float(d.std(ddof=1) / math.sqrt(len(d)))
        mean = float(d.mean())
        out[name] = {"difference_mean": mean, "mcse": se,
                     "relative_half_width": t_975(len(d)) * se / abs(mean) if mean else None}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--factors", default="1,2,4,8")
    ap.add_argument("--seeds", default="1", help="comma-separated; every factor runs every seed")
    args = ap.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")]
    rows = [measure(args.persons, args.replications, float(f), seed)
            for f in args.factors.split(",") for seed in seeds]
    for row in rows:
        plain = next(r for r in rows if r["seed"] == row["seed"])
        for name in METRICS:
            a, b = plain[name], row[name]  # type: ignore[index]
            if a["mcse"] and b["mcse"]:  # type: ignore[index]
                var_ratio = (a["mcse"] / b["mcse"]) ** 2  # type: ignore[index]
                b["efficiency"] = var_ratio * float(plain["wall_s"]) / float(row["wall_s"])  # type: ignore[index, arg-type]
    result = {"persons": args.persons, "replications": args.replications, "months": MONTHS,
              "scenarios": SCENARIOS, "machine": platform.platform(), "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "oversampling.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'factor':>6} {'seed':>4} {'wall s':>7}  " + "  ".join(f"{m[:22]:>22}" for m in METRICS))
    for row in rows:
        cells = []
        for name in METRICS:
            r = row[name]  # type: ignore[index]
            h = r["relative_half_width"]
            cells.append(f"{(h or 0) * 100:8.2f}% x{r.get('efficiency', float('nan')):5.2f}"
                         .rjust(22))
        print(f"{row['factor']:>6g} {row['seed']:>4} {row['wall_s']:7.1f}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
