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
    assert hrhn["left"] == "29" and hrhn["graduated"] == "14" and hrhn["withdrawn"] == ""
    # 3 withdrawn is hidden; terminated (the next smallest) too, or 29 - 14 would reveal it
    assert hrhn["terminated"] == "" and hrhn["termination_rate"] == ""
    assert hrhn["graduation_rate"] == str(round(14 / 29, 4))
    lrhn = outcomes["LR/HN"]
    assert lrhn["left"] == lrhn["graduated"] == lrhn["graduation_rate"] == ""
    assert outcomes["all"]["left"] == "34" and outcomes["all"]["graduated"] == "19"

    positivity = {r["phase"]: r for r in _read(out_dir / "test_positivity.csv")}
    assert positivity["1"]["people_tested"] == "34" and positivity["1"]["tests"] == "68"
    assert positivity["1"]["positive"] == "17" and positivity["1"]["positivity"] == str(round(17 / 68, 4))
    assert positivity["1"]["missed"] == "0"

    rearrest = {r["quadrant"]: r for r in _read(out_dir / "rearrest_by_quadrant.csv")}
    assert rearrest["HR/HN"]["people"] == "29" and rearrest["HR/HN"]["rearrested_during"] == ""
    assert rearrest["LR/HN"]["people"] == ""

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
