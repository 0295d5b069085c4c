"""De-identified aggregate tables for research and for calibrating a pack's simulation.

`export_tables(conn, out)` writes, per programme (and by risk/need quadrant where it says so):

* `phase_durations.csv`: completed stays in each phase (days): people, mean, median, quartiles;
* `outcomes.csv`: exits by quadrant: graduated, terminated, withdrawn, rates among those who left;
* `test_positivity.csv`: tests with a result by phase: people tested, tests, positive, missed,
  invalid (dilute, adulterated, refused), positivity = positive / (negative + positive);
* `rearrest_by_quadrant.csv`: people enrolled, rearrested during the programme, and within 365 days
  of leaving among those followed that long;
* `tables.json`: all of the above with `manifest`: columns, units, the suppression rule, the divert
  version. This is the input that `divert calibrate CODE --from-registry` (a later issue) reads.

No row carries a pseudonymous code, a date of an individual or free text. A count of people from 1
to 10 is suppressed (empty in CSV, null in JSON), as is every statistic computed from it. In `outcomes`
and `rearrest_by_quadrant`, complementary cells are suppressed until no suppressed count can be
recovered from any published margin, within or across the two tables (`suppression`: a linear
programme finds each suppressed cell's range; a single value is not allowed). Zero is shown.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import statistics
from collections import defaultdict
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, func, select

from divert import __version__
from divert.errors import InputError
from divert.registry.court import VIOLATIONS
from divert.registry.models import AUDITED

T = AUDITED
COLUMNS = {
    "phase_durations": ["programme", "phase", "people", "mean_days", "median_days", "p25_days",
                        "p75_days"],
    "outcomes": ["programme", "quadrant", "left", "graduated", "terminated", "withdrawn", "active",
                 "graduation_rate", "termination_rate"],
    "test_positivity": ["programme", "phase", "people_tested", "tests", "positive", "missed",
                        "invalid", "positivity"],
    "rearrest_by_quadrant": ["programme", "quadrant", "people", "rearrested_during",
                             "rearrest_rate_during", "followed_365", "rearrested_365_after",
                             "rearrest_rate_365_after"],
}


def _cell(n: int, k: int) -> int | None:
    return n if n == 0 or n >= k else None


def _rate(num: int | None, den: int | None) -> float | None:
    if num is None or not den:
        return None
    return round(num / den, 4)


def _secondary(row: dict[str, Any], parts: list[str]) -> None:
    """If exactly one part of a shown total is suppressed, suppress the next smallest one too."""
    hidden = [p for p in parts if row[p] is None]
    if len(hidden) == 1:
        shown = sorted((row[p], p) for p in parts if row[p])
        if shown:
            row[shown[0][1]] = None


def aggregate_tables(conn: Connection, k: int = 11, today: dt.date | None = None,
                     within: frozenset[int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The de-identified tables (name -> rows, columns as `COLUMNS`), counts under `k` suppressed;
    only the programmes `within` (None: every programme)."""
    if k < 11:
        raise InputError("min_cell: at least 11")
    today = today or dt.date.today()
    g = T["programmes"]
    progs = {r.id: r.code for r in conn.execute(select(g.c.id, g.c.code))
             if within is None or r.id in within}
    e = T["enrolments"]
    enrolments = [dict(r) for r in conn.execute(select(e)).mappings() if r["programme_id"] in progs]
    outcomes = _outcomes(enrolments, progs, 1)  # true counts, suppressed together below
    rearrests = _rearrests(conn, enrolments, progs, 1, today)
    _protect_people(outcomes, rearrests, k)
    return {
        "phase_durations": _phase_durations(conn, enrolments, progs, k),
        "outcomes": outcomes,
        "test_positivity": _positivity(conn, progs, k),
        "rearrest_by_quadrant": rearrests,
    }


def export_tables(conn: Connection, out: Path, k: int = 11, today: dt.date | None = None) -> list[Path]:
    """Write the tables to folder `out`; returns the files written."""
    today = today or dt.date.today()
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not out.is_dir():
            raise NotADirectoryError(20, "not a folder")
    except OSError as exc:
        raise InputError(f"--out: cannot create {out}: {exc.strerror}") from None
    tables = aggregate_tables(conn, k, today)
    written = []
    for name, rows in tables.items():
        path = out / f"{name}.csv"
        with _private(path) as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS[name])
            w.writeheader()
            for row in rows:
                w.writerow({c: "" if row[c] is None else row[c] for c in COLUMNS[name]})
        written.append(path)
    manifest = {
        "divert": __version__, "generated_on": today.isoformat(), "min_cell": k,
        "suppression": f"counts of people from 1 to {k - 1} are null, with every statistic computed "
                       "from them; secondary suppression where a total would reveal them",
        "columns": COLUMNS,
        "units": {"*_days": "days", "*_rate": "fraction 0-1", "positivity": "fraction 0-1"},
        "used_by": "divert calibrate CODE --from-registry (planned)",
    }
    path = out / "tables.json"
    with _private(path) as f:
        f.write(json.dumps({"manifest": manifest, **tables}, indent=2) + "\n")
    written.append(path)
    return written


OUTCOME_COUNTS = ("left", "graduated", "terminated", "withdrawn", "active")
REARREST_COUNTS = ("people", "rearrested_during", "followed_365", "rearrested_365_after")


def _protect_people(outcomes: list[dict[str, Any]], rearrests: list[dict[str, Any]], k: int) -> None:
    """Suppress counts of 1 to k-1 people in `outcomes` and `rearrests` (given with true counts),
    then complementary cells until none of them follows from the published margins: parts of a
    row, quadrants of `all`, and people = left + active across the two tables
    (`suppression.protect`); rates are recomputed from what is left."""
    from divert.registry.suppression import protect

    for prog in sorted({r["programme"] for r in outcomes} | {r["programme"] for r in rearrests}):
        cells: dict[str, int] = {}
        for tag, rows, cols in (("o", outcomes, OUTCOME_COUNTS), ("r", rearrests, REARREST_COUNTS)):
            for row in rows:
                if row["programme"] == prog:
                    for c in cols:
                        cells[f"{tag}|{row['quadrant']}|{c}"] = int(row[c])
        quadrants = sorted({name.split("|")[1] for name in cells})
        eqs: list[list[tuple[str, int]]] = []
        for q in quadrants:
            o = f"o|{q}|"
            if o + "left" in cells:
                eqs.append([(o + "left", 1), (o + "graduated", -1), (o + "terminated", -1),
                            (o + "withdrawn", -1)])
                people = f"r|{q}|people"
                if people in cells and cells[people] == cells[o + "left"] + cells[o + "active"]:
                    eqs.append([(people, 1), (o + "left", -1), (o + "active", -1)])
        for tag, cols in (("o", OUTCOME_COUNTS), ("r", REARREST_COUNTS)):
            for c in cols:
                parts = [f"{tag}|{q}|{c}" for q in quadrants if q != "all" and f"{tag}|{q}|{c}" in cells]
                if f"{tag}|all|{c}" in cells and parts:
                    eqs.append([(n, 1) for n in parts] + [(f"{tag}|all|{c}", -1)])
        hidden = {n for n, v in cells.items() if 0 < v < k}
        for q in quadrants:  # a rate's numerator goes with its denominator
            for den, num in (("people", "rearrested_during"), ("followed_365", "rearrested_365_after")):
                if f"r|{q}|{den}" in hidden and f"r|{q}|{num}" in cells:
                    hidden.add(f"r|{q}|{num}")
        hidden = protect(cells, eqs, hidden)
        for tag, rows in (("o", outcomes), ("r", rearrests)):
            for row in rows:
                if row["programme"] == prog:
                    for c in OUTCOME_COUNTS if tag == "o" else REARREST_COUNTS:
                        if f"{tag}|{row['quadrant']}|{c}" in hidden:
                            row[c] = None
    for row in outcomes:
        row["graduation_rate"] = _rate(row["graduated"], row["left"])
        row["termination_rate"] = _rate(row["terminated"], row["left"])
    for row in rearrests:
        row["rearrest_rate_during"] = _rate(row["rearrested_during"], row["people"])
        row["rearrest_rate_365_after"] = _rate(row["rearrested_365_after"], row["followed_365"])


def _private(path: Path) -> IO[str]:
    """Open `path` for writing as a file of mode 0600 (also when it existed with a wider mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
    except OSError as exc:
        raise InputError(f"--out: cannot write {path}: {exc.strerror}") from None
    return os.fdopen(fd, "w", newline="", encoding="utf-8")


def _phase_durations(conn: Connection, enrolments: list[dict[str, Any]], progs: dict[int, str],
                     k: int) -> list[dict[str, Any]]:
    pc = T["phase_changes"]
    changes: dict[int, list[Any]] = defaultdict(list)
    for r in conn.execute(select(pc.c.enrolment_id, pc.c.from_phase, pc.c.to_phase, pc.c.day)
                          .order_by(pc.c.enrolment_id, pc.c.day, pc.c.id)):
        changes[r.enrolment_id].append(r)
    stays: dict[tuple[str, int], list[int]] = defaultdict(list)
    for enr in enrolments:
        phase, since = 1, enr["started_on"]
        for ch in changes.get(enr["id"], []):
            stays[(progs[enr["programme_id"]], phase)].append((ch.day - since).days)
            phase, since = ch.to_phase, ch.day
        if enr["status"] == "graduated" and enr["ended_on"]:
            stays[(progs[enr["programme_id"]], phase)].append((enr["ended_on"] - since).days)
    rows = []
    for (prog, phase), days in sorted(stays.items()):
        n = _cell(len(days), k)
        q = statistics.quantiles(days, n=4) if len(days) >= 2 else [days[0]] * 3
        rows.append({"programme": prog, "phase": phase, "people": n,
                     "mean_days": round(statistics.fmean(days), 1) if n else None,
                     "median_days": statistics.median(days) if n else None,
                     "p25_days": q[0] if n else None, "p75_days": q[2] if n else None})
    return rows


def _outcomes(enrolments: list[dict[str, Any]], progs: dict[int, str], k: int) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for enr in enrolments:
        for quadrant in (enr["quadrant"] or "unknown", "all"):
            groups[(progs[enr["programme_id"]], quadrant)][enr["status"]] += 1
    rows = []
    for (prog, quadrant), c in sorted(groups.items()):
        left = c["graduated"] + c["terminated"] + c["withdrawn"]
        row = {"programme": prog, "quadrant": quadrant, "left": _cell(left, k),
               "graduated": _cell(c["graduated"], k), "terminated": _cell(c["terminated"], k),
               "withdrawn": _cell(c["withdrawn"], k), "active": _cell(c["active"], k)}
        if row["left"] is not None:
            _secondary(row, ["graduated", "terminated", "withdrawn"])
        else:
            row.update(graduated=None, terminated=None, withdrawn=None)
        row["graduation_rate"] = _rate(row["graduated"], row["left"])
        row["termination_rate"] = _rate(row["terminated"], row["left"])
        rows.append(row)
    return rows


def _positivity(conn: Connection, progs: dict[int, str], k: int) -> list[dict[str, Any]]:
    t, e = T["drug_tests"], T["enrolments"]
    done = ["negative", *(s for s in VIOLATIONS if s != "missed")]
    base = (select(e.c.programme_id, t.c.phase, t.c.status,
                   func.count().label("tests"),
                   func.count(func.distinct(t.c.enrolment_id)).label("people"))
            .select_from(t.join(e, e.c.id == t.c.enrolment_id))
            .where(t.c.status.in_([*done, "missed"]))
            .group_by(e.c.programme_id, t.c.phase, t.c.status))
    people_q = (select(e.c.programme_id, t.c.phase,
                       func.count(func.distinct(t.c.enrolment_id)).label("people"))
                .select_from(t.join(e, e.c.id == t.c.enrolment_id))
                .where(t.c.status.in_([*done, "missed"])).group_by(e.c.programme_id, t.c.phase))
    people = {(r.programme_id, r.phase): r.people for r in conn.execute(people_q)}
    stats: dict[tuple[int, int], dict[str, tuple[int, int]]] = defaultdict(dict)
    for r in conn.execute(base):
        stats[(r.programme_id, r.phase)][r.status] = (r.tests, r.people)
    rows = []
    for (pid, phase), s in sorted(stats.items()):
        if pid not in progs:  # outside the caller's programmes
            continue
        tests = _summer(s, 0)
        ppl = _summer(s, 1, most=True)  # people: the largest group, a lower bound of their union
        n_people = _cell(people[(pid, phase)], k)
        shown = n_people is not None
        pos = tests("positive") if shown and _cell(ppl("positive"), k) is not None else None
        missed = tests("missed") if shown and _cell(ppl("missed"), k) is not None else None
        invalid_names = ("dilute", "adulterated", "refused")
        invalid = tests(*invalid_names) if shown and _cell(ppl(*invalid_names), k) is not None else None
        rows.append({"programme": progs[pid], "phase": phase, "people_tested": n_people,
                     "tests": tests(*done, "missed") if shown else None, "positive": pos,
                     "missed": missed, "invalid": invalid,
                     "positivity": _rate(pos, tests("negative", "positive")) if shown else None})
    return rows


def _summer(s: dict[str, tuple[int, int]], i: int, most: bool = False) -> Any:
    def total(*names: str) -> int:
        values = [s.get(n, (0, 0))[i] for n in names]
        return max(values, default=0) if most else sum(values)

    return total


def _rearrests(conn: Connection, enrolments: list[dict[str, Any]], progs: dict[int, str], k: int,
               today: dt.date) -> list[dict[str, Any]]:
    r = T["rearrests"]
    arrests: dict[int, list[dt.date]] = defaultdict(list)
    for row in conn.execute(select(r.c.participant_id, r.c.day)):
        arrests[row.participant_id].append(row.day)
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for enr in enrolments:
        end = enr["ended_on"] or today
        days = arrests.get(enr["participant_id"], [])
        during = any(enr["started_on"] <= d <= end for d in days)
        followed = enr["ended_on"] is not None and (today - enr["ended_on"]).days >= 365
        after = followed and any(end < d <= end + dt.timedelta(days=365) for d in days)
        for quadrant in (enr["quadrant"] or "unknown", "all"):
            g = groups[(progs[enr["programme_id"]], quadrant)]
            g["people"] += 1
            g["during"] += during
            g["followed"] += followed
            g["after"] += after
    rows = []
    for (prog, quadrant), g in sorted(groups.items()):
        people, followed = _cell(g["people"], k), _cell(g["followed"], k)
        during = _cell(g["during"], k) if people is not None else None
        after = _cell(g["after"], k) if followed is not None else None
        rows.append({"programme": prog, "quadrant": quadrant, "people": people,
                     "rearrested_during": during, "rearrest_rate_during": _rate(during, people),
                     "followed_365": followed, "rearrested_365_after": after,
                     "rearrest_rate_365_after": _rate(after, followed)})
    return rows
