"""Simulation benchmark: kernel rate, whole-process ratio to a NumPy floor, memory, linearity.

Run from the repository root after `make test` (or `make venv`):

    .venv/bin/python bench/sim_bench.py [--persons 2000000] [--years 10] [--quick]

Everything is measured in the same run, and speed is reported as ratios against the baseline
measured here, because the machines are shared and noisy. Results go to bench/results/sim.json and
the scaling curve to bench/results/sim_scaling.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
DIVERT = str(Path(sys.executable).with_name("divert"))


def floor_seconds(persons: int, months: int) -> float:
    """Drawing 2 uniform doubles per person-month with NumPy: the floor."""
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(months):
        rng.random(2 * persons)
    return time.perf_counter() - t


def whole_process_seconds(persons: int, years: int) -> float:
    t = time.perf_counter()
    subprocess.run([DIVERT, "simulate", "usa", "--persons", str(persons), "--years", str(years),
                    "--replications", "1", "--json"], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def kernel_rate(persons: int, months: int, threads: int) -> float:
    """Person-months per second of the compiled kernel alone (no decisions)."""
    code = f"""
import time, numpy as np, numba
from datetime import date
from divert.law.policy import load
from divert.law.practice import resolve, draw
from divert.simulation.population import synthesise
from divert.simulation.run import kernel_inputs, kernel_params
from divert.simulation.decisions import Effects, Practice
from divert.simulation.kernel import step, METRICS
numba.set_num_threads({threads})
pack = load('usa')
v = draw(resolve(pack, date(2025, 1, 1)), None)
v['entrants_per_year'] = 0.0
pop = synthesise({persons}, {months}, v, np.random.default_rng(1))
ef = Effects.of(pack); pr = Practice(v, 1.0, ef.ids)
kp = kernel_params(kernel_inputs(v), pr, ef)
c = np.zeros(len(METRICS)); occ = np.zeros(len(ef.ids))
step(pop, 1, 99, kp, c, occ)
t = time.perf_counter()
for m in range(2, {months} + 2):
    step(pop, m, 99, kp, c, occ)
dt = time.perf_counter() - t
print(c[METRICS.index('alive')] / dt)
"""
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(res.stdout.strip().splitlines()[-1])


def peak_memory(persons: int, months: int) -> tuple[float, int]:
    """Peak resident memory (bytes) of a process that simulates, and its person slots."""
    code = f"""
from datetime import date
from divert.law.policy import load
from divert.simulation.run import run
r = run(load('usa'), {persons}, {months}, date(2025, 1, 1), 1, 0)
slots = {persons} + int(round({persons} * float(r.values['entrants_per_year']) / 12)) * {months}
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
print(int(hwm) * 1024, slots)
"""
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    peak, slots = res.stdout.split()
    return float(peak), int(slots)


def run_seconds(persons: int, months: int) -> float:
    """In-process time of one run (kernel and decisions), after a warm-up compile."""
    from divert.law.policy import load
    from divert.simulation.run import run

    pack = load("usa")
    t = time.perf_counter()
    run(pack, persons, months, date(2025, 1, 1), 1, 0)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=2_000_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = ap.parse_args()
    persons, months = args.persons, args.years * 12
    if args.quick:
        persons, months = 200_000, 24
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run([DIVERT, "simulate", "usa", "--persons", "1000", "--years", "1", "--json"],
                   check=True, capture_output=True, cwd=ROOT)  # compile and cache the kernel
    results: dict = {"persons": persons, "months": months, "cpus": os.cpu_count()}

    floor = floor_seconds(persons, months)
    whole = whole_process_seconds(persons, args.years if not args.quick else 2)
    results["floor_seconds"] = floor
    results["simulate_seconds"] = whole
    results["simulate_over_floor"] = whole / floor
    print(f"floor (2 uniforms per person-month): {floor:.2f} s; divert simulate: {whole:.2f} s; "
          f"ratio {whole / floor:.2f}")

    for threads in (1, 2):
        rate = kernel_rate(min(persons, 2_000_000), 24, threads)
        results[f"kernel_person_months_per_s_{threads}_threads"] = rate
        print(f"kernel, {threads} thread(s): {rate / 1e6:.1f} M person-months/s")

    big, small = persons, persons // 2
    (p_big, s_big), (p_small, s_small) = peak_memory(big, months), peak_memory(small, months)
    per_slot = (p_big - p_small) / (s_big - s_small)
    results["peak_memory_bytes"] = {str(big): p_big, str(small): p_small}
    results["memory_bytes_per_person"] = per_slot
    results["fixed_memory_bytes"] = p_big - per_slot * s_big
    print(f"memory: {per_slot:.1f} bytes per simulated person (marginal), fixed "
          f"{results['fixed_memory_bytes'] / 2**20:.0f} MiB (interpreter, libraries, compiled code)")

    run_seconds(10_000, 12)
    sizes = [persons // 8, persons // 4, persons // 2, persons]
    by_persons = [(n, run_seconds(n, 60)) for n in sizes]
    lengths = [months // 4, months // 2, months]
    by_months = [(m, run_seconds(persons // 4, m)) for m in lengths]
    results["seconds_by_persons_60_months"] = by_persons
    results["seconds_by_months_quarter_persons"] = by_months
    for label, pts in (("persons", by_persons), ("months", by_months)):
        x = np.array([p[0] for p in pts], float)
        y = np.array([p[1] for p in pts], float)
        slope, icpt = np.polyfit(x, y, 1)
        r2 = 1 - ((y - (slope * x + icpt)) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        results[f"linear_r2_{label}"] = r2
        print(f"time vs {label}: " + ", ".join(f"{a:,.0f}: {b:.2f}s" for a, b in pts)
              + f"  (linear fit R^2 {r2:.4f})")
    _plot(by_persons, by_months)
    (OUT / "sim.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'sim.json'}")


def _plot(by_persons: list, by_months: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, pts, xl in ((axes[0], by_persons, "persons (60 months)"),
                        (axes[1], by_months, "months (a quarter of the persons)")):
        x, y = zip(*pts, strict=True)
        ax.plot(x, y, "o-")
        ax.set_xlabel(xl)
        ax.set_ylabel("seconds")
        ax.set_ylim(bottom=0)
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    fig.suptitle("divert simulate usa: cost is linear in persons and months")
    fig.tight_layout()
    fig.savefig(OUT / "sim_scaling.png", dpi=100)


if __name__ == "__main__":
    main()
