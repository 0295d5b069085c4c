"""Baselines under unchanged law: how far each pack's stocks move over ten years (issue 13).

Run from the repository root after `make venv`:

    .venv/bin/python bench/baseline_drift.py [--persons 200000] [--seed 1]

For every pack, one replication at central values from 2026-01 after the automatic burn-in: the
last year's mean over the first year's of the living population, the people in prison, in prison
for a drug offence and in treatment; the drug-offence share of the prisoners in the first year;
whether the books balance (alive + deaths + exits = persons + entrants); the burn-in and the CPU
seconds of the run. Results go to bench/results/baseline_drift.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "src"))

from divert.law.policy import load  # noqa: E402
from divert.simulation.run import run  # noqa: E402

PACKS = ("usa", "portugal", "belgium", "iran", "malaysia", "kenya", "cote_divoire", "model")
STOCKS = ("alive", "in_prison", "in_prison_drug_offence", "in_treatment")


def drift(code: str, persons: int, seed: int) -> dict[str, object]:
    """One pack's ten-year drift of its stocks and the balance of its books."""
    t = time.process_time()
    r = run(load(code), persons, 120, date(2026, 1, 1), seed=seed, replication=0,
            uncertainty=False)
    row: dict[str, object] = {"pack": code, "burn_in_months": r.burn_in}
    for name in STOCKS:
        series = r.metric(name)
        first, last = float(series[:12].mean()), float(series[-12:].mean())
        row[name] = {"first_year": first * r.scale, "ratio_last_to_first": last / first}
    first_prison = float(r.metric("in_prison")[:12].mean())
    row["drug_share_of_prisoners"] = float(r.metric("in_prison_drug_offence")[:12].mean()
                                           / first_prison)
    gone = r.metric("deaths").sum() + r.metric("exits").sum()
    row["books_balance"] = bool(r.final["alive"] + gone
                                == r.start_alive + r.metric("entrants").sum())
    row["cpu_s"] = time.process_time() - t
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rows = []
    for code in PACKS:
        row = drift(code, args.persons, args.seed)
        rows.append(row)
        ratios = " ".join(f"{name} x{row[name]['ratio_last_to_first']:.3f}"  # type: ignore[index]
                          for name in STOCKS)
        print(f"{code:<13} burn-in {row['burn_in_months']:>3}  {ratios}  drug share of "
              f"prisoners {row['drug_share_of_prisoners']:.0%}  books "
              f"{'balance' if row['books_balance'] else 'DO NOT BALANCE'}  {row['cpu_s']:.1f} s",
              flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "baseline_drift.json").write_text(json.dumps(
        {"persons": args.persons, "seed": args.seed, "start": "2026-01", "months": 120,
         "packs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
