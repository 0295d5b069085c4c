"""Headline signs of two runs of the main job: do they agree wherever both resolve them?

    .venv/bin/divert countries --seed 1 --json --out /tmp/s1 > /tmp/s1.json
    .venv/bin/divert countries --seed 2 --json --out /tmp/s2 > /tmp/s2.json
    .venv/bin/python bench/seed_signs.py /tmp/s1.json /tmp/s2.json

For each country, the final year's drug-offence prisoners, the ten years' overdose deaths and the
net benefit to society (reform - today, mean ± MCSE; "n.r." where the 95% interval includes zero).
A headline resolved in both runs whose signs differ is a disagreement; the exit code is their count.
"""

from __future__ import annotations

import json
import sys
from typing import Any

HEADLINES = ("drug_prisoners_final_year", "overdose_deaths_10y", "net_benefit")


def figure(country: dict[str, Any], key: str) -> tuple[float, float, bool]:
    """(mean, MCSE, resolved) of one headline difference."""
    d = (country["economics"]["society"]["net_benefit"] if key == "net_benefit"
         else country[key]["difference"])
    return float(d["mean"]), float(d["mcse"]), bool(d["ci_low"] > 0 or d["ci_high"] < 0)


def main(first: str, second: str) -> int:
    a, b = (json.loads(open(path, encoding="utf-8").read())["countries"] for path in (first, second))
    disagreements = 0
    for code in a:
        cells = [code]
        for key in HEADLINES:
            (m1, s1, r1), (m2, s2, r2) = figure(a[code], key), figure(b[code], key)
            clash = r1 and r2 and (m1 > 0) != (m2 > 0)
            disagreements += clash
            shown = [f"{m:,.0f} ± {s:,.0f}" + ("" if r else " (n.r.)")
                     for m, s, r in ((m1, s1, r1), (m2, s2, r2))]
            cells.append(f"{key}: {shown[0]} / {shown[1]}" + (" DISAGREE" if clash else ""))
        print(" | ".join(cells))
    print(f"disagreements: {disagreements}")
    return disagreements


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
