"""Simulation speed of this checkout against another commit, measured side by side.

    .venv/bin/python bench/against_commit.py --base de74ffd [--persons 500000] [--years 10]
        [--rounds 2] [--scenarios usa portugal]

Checks the base commit out into a temporary git worktree and times one replication of each
scenario (`simulation.run`, after a warm-up that compiles the kernel) with this checkout's code and
with the base's, interleaved round by round so that both see the same machine load. Reports the
seconds per million person-months of each and their ratio (this / base), in wall time and in
CPU time (the process's, all threads: steadier than wall time when other jobs share the cores),
and writes `bench/results/against_commit.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("usa", "malaysia+treatment_not_conviction", "portugal")

TIMER = """
import sys, time
from datetime import date
try:  # the packages of today's layout
    from divert.simulation import run as simulation
    from divert.simulation.scenarios import load_scenario
except ImportError:  # a commit from before the restructuring: flat modules
    from divert import simulation  # type: ignore[no-redef]
    from divert.scenarios import load_scenario  # type: ignore[no-redef]
spec, persons, months = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
policy = load_scenario(spec)
simulation.run(policy, 2000, 3, date(2026, 1, 1), 1, 0)  # compile and warm the caches
getattr(simulation, "_BURN_CACHE", {}).clear()
t, c = time.perf_counter(), time.process_time()
r = simulation.run(policy, persons, months, date(2026, 1, 1), 1, 0)
print(time.perf_counter() - t, time.process_time() - c, getattr(r, "burn_in", 0))
"""


def seconds(src: Path, spec: str, persons: int, months: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of one run (CPU: every thread of the process, so a kernel on two
    threads counts both) and the burn-in months it simulated before the report."""
    env = {**os.environ, "PYTHONPATH": str(src), "DIVERT_POLICIES": str(src.parent / "policies")}
    out = subprocess.run([sys.executable, "-c", TIMER, spec, str(persons), str(months)],
                         env=env, capture_output=True, text=True, check=True)
    secs, cpu, burn = out.stdout.strip().splitlines()[-1].split()
    return float(secs), float(cpu), int(burn)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="the commit to compare against")
    ap.add_argument("--persons", type=int, default=500_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS),
                    help="scenario specs to time (default: %(default)s)")
    args = ap.parse_args()
    months = args.years * 12
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                        args.base], check=True, capture_output=True)
        try:
            rows = []
            for spec in args.scenarios:
                here, there = [], []
                for _ in range(args.rounds):
                    here.append(seconds(ROOT / "src", spec, args.persons, months))
                    there.append(seconds(base / "src", spec, args.persons, months))
                (h, _, burn_h), (b, _, burn_b) = min(here), min(there)
                cpu_h, cpu_b = min(x[1] for x in here), min(x[1] for x in there)
                # per simulated person-month: the burn-in's months are simulated months too
                pm_h = args.persons * (months + burn_h) / 1e6
                pm_b = args.persons * (months + burn_b) / 1e6
                row = {"scenario": spec, "burn_in_this": burn_h, "burn_in_base": burn_b,
                       "this_s_per_M_person_months": h / pm_h,
                       "base_s_per_M_person_months": b / pm_b,
                       "ratio": (h / pm_h) / (b / pm_b),
                       "cpu_ratio": (cpu_h / pm_h) / (cpu_b / pm_b),
                       "ratio_per_reported_month": h / b}
                rows.append(row)
                print(f"{spec}: this {row['this_s_per_M_person_months']:.3f} s, base "
                      f"{row['base_s_per_M_person_months']:.3f} s per million simulated "
                      f"person-months, ratio {row['ratio']:.3f}, CPU-time ratio "
                      f"{row['cpu_ratio']:.3f} (burn-in {burn_h} months; per reported month "
                      f"{row['ratio_per_reported_month']:.2f})")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                           check=False, capture_output=True)
    out = ROOT / "bench" / "results" / "against_commit.json"
    out.write_text(json.dumps({"base": args.base, "persons": args.persons, "months": months,
                               "rounds": args.rounds, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
