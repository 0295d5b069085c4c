"""De-identified export: the aggregate tables, with cells under 11 people suppressed."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from .conftest import Cli


def _person(i: int, quadrant: str, exit_kind: str | None, positive: bool, rearrested: bool) -> dict:
    start = dt.date(2023, 1, 2) + dt.timedelta(days=i % 20)
    p: dict = {"ref": str(i), "name": f"Person {i}", "consents": [{"given": True, "on": str(start)}],
               "enrolment": {"started_on": str(start), "quadrant": quadrant},
               "tests": [{"on": str(start + dt.timedelta(days=3)), "result": "negative"},
                         {"on": str(start + dt.timedelta(days=6)),
                          "result": "positive" if positive else "negative",
                          **({"substances": ["cocaine"]} if positive else {})}],
               "phases": [{"on": str(start + dt.timedelta(days=60 + i % 7)), "to": 2}]}
    if exit_kind:
        p["exit"] = {"kind": exit_kind, "on": str(start + dt.timedelta(days=200)), "reason": "x"}
        if exit_kind == "graduated":
            p["phases"] += [{"on": str(start + dt.timedelta(days=120)), "to": 3},
                            {"on": str(start + dt.timedelta(days=160)), "to": 4}]
    if rearrested:
        p["rearrests"] = [{"on": str(start + dt.timedelta(days=30))}]
    return p


def _cohort() -> list[dict]:
    people = []
    # HR/HN: 14 graduated, 12 terminated, 3 withdrawn (3 must be hidden, and one more with it)
    for i in range(29):
        kind = "graduated" if i < 14 else "terminated" if i < 26 else "withdrawn"
        people.append(_person(i, "HR/HN", kind, positive=i < 12, rearrested=i < 4))
    # LR/HN: 5 people only: every count hidden
    for i in range(29, 34):
        people.append(_person(i, "LR/HN", "graduated", positive=True, rearrested=False))
    return people


def _read(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_export_tables_and_suppression(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "cohort.json"
    src.write_text(json.dumps({"format": "divert-registry-import", "version": 1,
                               "participants": _cohort()}))
    out = cli.json("import", str(src), "--json-out")
    out_dir = tmp_path / "export"
    cli("export", "--deidentified", "--out", str(out_dir))
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["outcomes.csv", "phase_durations.csv", "rearrest_by_quadrant.csv", "tables.json",
                     "test_positivity.csv"]
    everything = "".join(p.read_text() for p in out_dir.iterdir())
    for person in out["participants"]:
        assert person["code"] not in everything
    assert "Person" not in everything

    outcomes = {r["quadrant"]: r for r in _read(out_dir / "outcomes.csv")}
    hrhn = outcomes["HR/HN"]
    assert hrhn["withdrawn"] == "" and hrhn["termination_rate"] == ""  # 3 withdrawn: hidden
    lrhn = outcomes["LR/HN"]
    assert lrhn["left"] == lrhn["graduated"] == lrhn["graduation_rate"] == ""
    assert outcomes["all"]["left"] == "34"
    rearrest = {r["quadrant"]: r for r in _read(out_dir / "rearrest_by_quadrant.csv")}
    assert rearrest["LR/HN"]["people"] == ""
    assert _attack(outcomes, rearrest) == {}  # nothing hidden can be recovered from the margins

    positivity = {r["phase"]: r for r in _read(out_dir / "test_positivity.csv")}
    assert positivity["1"]["people_tested"] == "34" and positivity["1"]["tests"] == "68"
    assert positivity["1"]["positive"] == "17" and positivity["1"]["positivity"] == str(round(17 / 68, 4))
    assert positivity["1"]["missed"] == "0"


    durations = {r["phase"]: r for r in _read(out_dir / "phase_durations.csv")}
    assert durations["1"]["people"] == "34" and 60 <= float(durations["1"]["mean_days"]) <= 66
    assert durations["2"]["people"] == "19"  # promoted to 3: the 14 graduates ... and 5 more
    assert durations["4"]["people"] == "19" and durations["4"]["median_days"] == "40"
    tables = json.loads((out_dir / "tables.json").read_text())
    assert tables["manifest"]["min_cell"] == 11 and "calibrate" in tables["manifest"]["used_by"]
    assert tables["outcomes"][0].keys() >= {"programme", "quadrant", "left"}


def test_export_refuses_identifying_or_lower_threshold(cli: Cli, tmp_path: Path) -> None:
    rc, _, err = cli("export", "--deidentified", "--out", str(tmp_path / "x"), "--min-cell", "5",
                     ok=False)
    assert rc == 2 and "--min-cell: at least 11" in err


def _attack(outcomes: dict[str, dict[str, str]], rearrest: dict[str, dict[str, str]]
            ) -> dict[str, float]:
    """What an attacker recovers from the published CSVs: every hidden count that the margins
    (row parts, quadrants adding to all, people = left + active) pin to one value, by linear
    programming over non-negative solutions. Written apart from the exporter's own code."""
    import numpy as np
    from scipy.optimize import linprog

    cols_o = ("left", "graduated", "terminated", "withdrawn", "active")
    cols_r = ("people", "rearrested_during", "followed_365", "rearrested_365_after")
    cell: dict[tuple[str, str, str], str] = {}
    for tag, table, cols in (("o", outcomes, cols_o), ("r", rearrest, cols_r)):
        for q, row in table.items():
            for c in cols:
                cell[(tag, q, c)] = row[c]
    quads = [q for q in outcomes if q != "all"]
    eqs = []
    for q in outcomes:
        eqs.append({("o", q, "left"): 1, ("o", q, "graduated"): -1, ("o", q, "terminated"): -1,
                    ("o", q, "withdrawn"): -1})
        if q in rearrest:
            eqs.append({("r", q, "people"): 1, ("o", q, "left"): -1, ("o", q, "active"): -1})
    for tag, cols in (("o", cols_o), ("r", cols_r)):
        for c in cols:
            eq = {(tag, q, c): 1 for q in quads if (tag, q, c) in cell}
            eq[(tag, "all", c)] = -1
            eqs.append(eq)
    hidden = sorted(k for k, v in cell.items() if v == "")
    idx = {k: i for i, k in enumerate(hidden)}
    a, b = [], []
    for eq in eqs:
        row = np.zeros(len(hidden))
        rhs = 0.0
        for k, coef in eq.items():
            if k in idx:
                row[idx[k]] += coef
            else:
                rhs -= coef * float(cell[k])
        if row.any():
            a.append(row)
            b.append(rhs)
    found = {}
    for k in hidden:
        c = np.zeros(len(hidden))
        c[idx[k]] = 1
        lo = linprog(c, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, 10**6), method="highs")
        hi = linprog(-c, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, 10**6), method="highs")
        if lo.success and hi.success and -hi.fun - lo.fun < 0.5:
            found["|".join(k)] = lo.fun
    return found


def test_complementary_suppression_defeats_the_margins() -> None:
    """The issue's case: 3 people terminated in one quadrant, recoverable from row, column and
    cross-table margins when only the next smallest cell of its row is hidden."""
    from divert.registry.suppression import interval, protect

    cells = {"o|a|left": 20, "o|a|grad": 17, "o|a|term": 3, "o|b|left": 30, "o|b|grad": 18,
             "o|b|term": 12, "o|all|left": 50, "o|all|grad": 35, "o|all|term": 15,
             "r|a|people": 25, "o|a|active": 5}
    eqs = [[("o|a|left", 1), ("o|a|grad", -1), ("o|a|term", -1)],
           [("o|b|left", 1), ("o|b|grad", -1), ("o|b|term", -1)],
           [("o|all|left", 1), ("o|all|grad", -1), ("o|all|term", -1)],
           [("o|a|term", 1), ("o|b|term", 1), ("o|all|term", -1)],
           [("o|a|grad", 1), ("o|b|grad", 1), ("o|all|grad", -1)],
           [("o|a|left", 1), ("o|b|left", 1), ("o|all|left", -1)],
           [("r|a|people", 1), ("o|a|left", -1), ("o|a|active", -1)]]
    row_only = {"o|a|term", "o|a|grad"}  # the old rule: the next smallest of the row
    lo, hi = interval(cells, eqs, row_only, "o|a|term")
    assert lo == hi == 3  # recovered from the column margin
    safe = protect(cells, eqs, {"o|a|term"})
    for c in safe:
        lo, hi = interval(cells, eqs, safe, c)
        assert hi - lo >= 1, (c, lo, hi)
    assert all(cells[c] > 0 for c in safe)  # never a zero as complement
