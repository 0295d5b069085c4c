"""Latency of the projected outcomes in the advice (divert.simulation.projection), one core.

For every example case of every pack (the packs' cases.yaml and examples/cases), the CPU time of
`project_advice` after a warm-up (the compiled kernel loaded), at 1,000 and 2,000 copies x 36
months, with the number of measures projected; and the whole `divert assess CASE --json`
process for the three example case files, with and without `--no-projection`.

    .venv/bin/python bench/projection_bench.py [--copies 1000 2000] [--every K] [--quick]

(`--every K`: every K-th pack example case only; the three case files always.)

Writes bench/results/projection.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE_FILES = {"usa_heroin_possession": "usa", "portugal_resin_2006": "portugal",
              "iran_opium_user": "iran"}


def in_process(copies: list[int], quick: bool, every: int = 1) -> list[dict[str, object]]:
    from divert.advice.case import load_case, parse_case
    from divert.advice.pathways import advise
    from divert.law import policy as policies
    from divert.simulation.projection import Settings, project_advice

    cases = []
    for pack in policies.iter_packs():
        for ex in pack.examples:
            cases.append((pack, f"{pack.code}: {ex.name}", parse_case(
                json.loads(json.dumps(ex.case, default=str))), ex.date))
    cases = cases[::every]
    for name, code in CASE_FILES.items():
        cases.append((policies.load(code), f"examples/cases/{name}",
                      load_case(ROOT / "examples" / "cases" / f"{name}.yaml"), None))
    if quick:
        cases = cases[-3:]
    warm = cases[-3]
    project_advice(advise(warm[2], warm[0], None, warm[3]), warm[2], warm[0], Settings(copies=200))
    rows = []
    for pack, name, case, day in cases:
        row: dict[str, object] = {"case": name}
        for n in copies:
            advice = advise(case, pack, None, day)
            cpu, wall = time.process_time(), time.perf_counter()
            project_advice(advice, case, pack, Settings(copies=n))
            row[f"cpu_s_{n}"] = round(time.process_time() - cpu, 3)
            row[f"wall_s_{n}"] = round(time.perf_counter() - wall, 3)
            row["measures"] = sum(1 for s in advice.stages for m in s.measures
                                  if m.projection and m.projection["projected"])
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def whole_process() -> list[dict[str, object]]:
    exe = Path(sys.executable).with_name("divert")
    out = []
    for name, code in CASE_FILES.items():
        path = ROOT / "examples" / "cases" / f"{name}.yaml"
        row: dict[str, object] = {"case": name}
        for flag in ("", "--no-projection"):
            cmd = [str(exe), "assess", str(path), "-j", code, "--json", *([flag] if flag else [])]
            t = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, check=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
            row["projection" if not flag else "no_projection"] = round(
                time.perf_counter() - t, 3)
            assert r.stdout
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, nargs="+", default=[1000, 2000])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--every", type=int, default=1)
    args = ap.parse_args()
    rows = in_process(args.copies, args.quick, args.every)
    projected = [r for r in rows if r["measures"]]
    summary = {}
    for n in args.copies:
        cpu = [float(r[f"cpu_s_{n}"]) for r in projected]  # type: ignore[arg-type]
        summary[str(n)] = {"cases": len(projected), "median_cpu_s": round(statistics.median(cpu), 3),
                           "max_cpu_s": round(max(cpu), 3),
                           "max_case": max(projected, key=lambda r: r[f"cpu_s_{n}"])["case"]}
    result = {"load_average": os.getloadavg(), "every": args.every, "summary": summary, "cases": rows,
              "whole_process_wall_s": whole_process()}
    out = ROOT / "bench" / "results" / "projection.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"summary": summary, "whole_process_wall_s": result["whole_process_wall_s"],
                      "load_average": result["load_average"]}, indent=2))


if __name__ == "__main__":
    main()
