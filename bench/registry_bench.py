"""Registry benchmark: 100,000 participants and 10 million drug tests.

    .venv/bin/python bench/registry_bench.py                         # SQLite (a temporary file)
    scripts/with_postgres.sh .venv/bin/python bench/registry_bench.py --backend postgresql

1. Builds a registry at schema head and loads a year of history directly (bulk insert or COPY,
   bypassing the audit log, so `verify` would not accept this database): one programme, the
   participants with their enrolments (all active), 10 million past drug tests (a random ~2 a week
   each, ~14 % of them positive, missed or invalid), status hearings for the coming month.
2. Times, through the registry's own functions (one audited transaction each, as the commands):
   * generating a month of random test schedules for every participant (`schedule_tests`);
   * inserting a day's results (`record_results`: 95 % of the day's tests, ~28,000);
   * the daily dashboard (`dashboard`: who is due, who missed, who needs a response, complete
     counts and the first page of 200 of each list, as the command shows it), repeated; and once
     with every row of every list (`--limit 0`).
Prints a table and, with `--out FILE`, writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from divert.registry import court, inputs, service
from divert.registry.models import AUDITED, metadata
from divert.registry.store import Registry, init_registry

TODAY = dt.date(2026, 3, 2)
STATUSES = np.array(["negative", "positive", "missed", "dilute", "excused"])
P_STATUS = [0.86, 0.10, 0.025, 0.01, 0.005]


def log(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def _dt(d: dt.date, hour: int) -> str:
    return f"{d.isoformat()} {hour:02d}:00:00.000000"


def history(n_people: int, n_tests: int, seed: int = 1) -> Any:
    """Yield chunks of past tests: (enrolment ids, day ordinals, statuses) over `days` days."""
    days = int(round(n_tests / n_people / (2 / 7)))
    first = TODAY.toordinal() - days
    rng = np.random.default_rng(seed)
    for start in range(0, n_people, 5000):
        ids = np.arange(start + 1, min(start + 5000, n_people) + 1, dtype=np.int64)
        e, d = court.drawn_days(seed, ids, np.full(len(ids), 2.0), dt.date.fromordinal(first),
                                TODAY - dt.timedelta(days=1))
        status = STATUSES[rng.choice(len(STATUSES), size=len(e), p=P_STATUS)]
        yield e, d, status


def _drop_indexes(conn: sa.Connection) -> list[sa.Index]:
    idx = list(AUDITED["drug_tests"].indexes)
    for i in idx:
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {i.name}"))
    return idx


def load(reg: Registry, n_people: int, n_tests: int) -> dict[str, Any]:
    """Bulk-load the synthetic history; returns counts."""
    t0 = time.perf_counter()
    rules = court.ProgrammeRules()
    with reg.engine.begin() as conn:
        conn.execute(AUDITED["programmes"].insert().values(
            id=1000, code="bench", name="Benchmark court", rules=rules.model_dump(mode="json"),
            schedule_seed=20260302, version=1))
        start = TODAY - dt.timedelta(days=400)
        fake = "v1:" + "A" * 56
        conn.execute(AUDITED["participants"].insert(), [
            {"id": i, "code": f"P-{i:08d}", "programme_id": 1000, "name_enc": fake,
             "birth_date_enc": fake, "contact_enc": None, "sex": "male", "status": "active",
             "referred_on": start, "version": 1} for i in range(1, n_people + 1)])
        conn.execute(AUDITED["enrolments"].insert(), [
            {"id": i, "participant_id": i, "programme_id": 1000, "measure": "drug_treatment_court",
             "quadrant": ("HR/HN", "LR/HN", "HR/LN", "LR/LN")[i % 4], "phase": 1 + i % 4,
             "phase_since": start, "started_on": start, "status": "active", "version": 1}
            for i in range(1, n_people + 1)])
        conn.execute(AUDITED["hearings"].insert(), [
            {"enrolment_id": i, "scheduled_on": TODAY + dt.timedelta(days=(i % 14) + 14 * k),
             "status": "scheduled", "version": 1} for i in range(1, n_people + 1) for k in range(2)])
        indexes = _drop_indexes(conn)
    log(f"participants, enrolments, hearings loaded ({time.perf_counter() - t0:.0f} s)")
    total, t1 = 0, time.perf_counter()
    if reg.dialect == "sqlite":
        raw = reg.engine.raw_connection()
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous = OFF")
        cur.execute("BEGIN")
        sql = ("INSERT INTO drug_tests (id, enrolment_id, scheduled_on, kind, method, phase, notified_at,"
               " due_by, status, collected_at, substances, awaiting_response, version) VALUES "
               "(?, ?, ?, 'random', 'urine', 1, ?, ?, ?, ?, ?, ?, 1)")
        for e, d, status in history(n_people, n_tests):
            cur.executemany(sql, _tuples(total, e, d, status))
            total += len(e)
        raw.commit()
        raw.close()
    else:
        raw = reg.engine.raw_connection()
        cur = raw.cursor()
        copy_sql = ("COPY drug_tests (id, enrolment_id, scheduled_on, kind, method, phase, notified_at,"
                    " due_by, status, collected_at, substances, awaiting_response, version) FROM STDIN")
        with cur.copy(copy_sql) as copy:  # type: ignore[attr-defined]
            for e, d, status in history(n_people, n_tests):
                buf = io.StringIO()
                for row in _tuples(total, e, d, status):
                    buf.write("\t".join("\\N" if v is None else str(int(v)) if isinstance(v, bool)
                                        else str(v) for v in (row[0], row[1], row[2], "random", "urine",
                                                              1, *row[3:], 1)) + "\n")
                copy.write(buf.getvalue())
                total += len(e)
        raw.commit()
        raw.close()
    log(f"{total:,} past drug tests loaded ({time.perf_counter() - t1:.0f} s)")
    t2 = time.perf_counter()
    with reg.engine.begin() as conn:
        for i in indexes:
            i.create(conn)
        if reg.dialect == "postgresql":
            for table in ("programmes", "participants", "enrolments", "hearings", "drug_tests"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
    with reg.engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    log(f"indexes built, statistics gathered ({time.perf_counter() - t2:.0f} s)")
    return {"participants": n_people, "past_tests": total, "load_s": round(time.perf_counter() - t0, 1)}


def _tuples(offset: int, e: np.ndarray, d: np.ndarray, status: np.ndarray) -> Any:
    last_day = TODAY.toordinal() - 1
    for i, (eid, ordinal, st) in enumerate(zip(e.tolist(), d.tolist(), status.tolist(), strict=True)):
        day = dt.date.fromordinal(ordinal)
        collected = _dt(day, 9) if st not in ("missed", "excused") else None
        subs = '["cocaine"]' if st == "positive" else None
        awaiting = st in court.VIOLATIONS and ordinal == last_day
        yield (offset + i + 1, eid, day.isoformat(), _dt(day, 6), _dt(day, 14), st, collected, subs,
               awaiting)


def measure(reg: Registry, repeats: int, steps: set[str]) -> dict[str, Any]:
    """Time the three operations through the registry's functions."""
    out: dict[str, Any] = {}
    if "schedule" in steps:
        out |= _schedule(reg)
    if "results" in steps:
        out |= _results(reg)
    if "dashboard" in steps:
        out |= _dashboard(reg, repeats)
    return out


def _schedule(reg: Registry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    with reg.write("bench", "tests schedule") as tx:
        res = service.schedule_tests(tx, "bench", TODAY, TODAY + dt.timedelta(days=29))
    out["schedule_month_s"] = round(time.perf_counter() - t0, 2)
    out["scheduled_tests"] = res["tests"]
    log(f"a month of schedules: {res['tests']:,} tests in {out['schedule_month_s']} s")
    return out


def _results(reg: Registry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t = AUDITED["drug_tests"]
    with reg.read() as conn:
        ids = conn.execute(sa.select(t.c.id).where(t.c.scheduled_on == TODAY).order_by(t.c.id)
                           ).scalars().all()
    rng = np.random.default_rng(3)
    chosen = [i for i in ids if rng.random() < 0.95]
    results = rng.choice(["negative", "positive", "dilute"], size=len(chosen), p=[0.88, 0.10, 0.02])
    raw = [{"test": i, "result": r, **({"substances": ["cocaine"]} if r == "positive" else {})}
           for i, r in zip(chosen, results.tolist(), strict=True)]
    items = [inputs.ResultIn.model_validate(r) for r in raw]
    t0 = time.perf_counter()
    with reg.write("bench", "tests record") as tx:
        service.record_results(tx, items, raw)
    out["day_results_s"] = round(time.perf_counter() - t0, 2)
    out["day_results"] = len(items)
    log(f"a day's results: {len(items):,} in {out['day_results_s']} s")
    return out


def _dashboard(reg: Registry, repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    day, now = TODAY + dt.timedelta(days=1), dt.datetime.combine(TODAY + dt.timedelta(days=1),
                                                                 dt.time(7, 0))
    times = []
    board: dict[str, Any] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        with reg.read() as conn:
            board = service.dashboard(conn, day, now)
        times.append((time.perf_counter() - t0) * 1000)
    out["dashboard_ms"] = {"median": round(statistics.median(times), 1), "max": round(max(times), 1),
                           "runs": repeats}
    out["dashboard_counts"] = board["counts"]
    full = []
    for _ in range(3):
        t0 = time.perf_counter()
        with reg.read() as conn:
            service.dashboard(conn, day, now, limit=0)
        full.append((time.perf_counter() - t0) * 1000)
    out["dashboard_all_rows_ms"] = round(statistics.median(full), 1)
    log(f"dashboard (pages of 200): median {out['dashboard_ms']['median']} ms, max "
        f"{out['dashboard_ms']['max']} ms; counts {out['dashboard_counts']}; every row: "
        f"{out['dashboard_all_rows_ms']} ms")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file, or "
                                 "$DIVERT_TEST_POSTGRES_URL for postgresql)")
    ap.add_argument("--participants", type=int, default=100_000)
    ap.add_argument("--tests", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path, help="write the figures as JSON")
    ap.add_argument("--steps", default="load,schedule,results,dashboard",
                    help="which steps (without load, --db must hold a loaded registry)")
    args = ap.parse_args()

    tmp = None
    url = args.db
    if url is None and args.backend == "postgresql":
        url = os.environ.get("DIVERT_TEST_POSTGRES_URL")
        if not url:
            ap.error("postgresql: give --db or run under scripts/with_postgres.sh")
    if url is None:
        tmp = tempfile.TemporaryDirectory(prefix="divert-bench-")
        url = f"sqlite:///{tmp.name}/bench.db"
    steps = set(args.steps.split(","))
    reg = Registry(url)
    figures: dict[str, Any] = {"backend": reg.dialect,
                               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    if "load" in steps:
        with reg.engine.begin() as conn:
            metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        init_registry(reg)
        log(f"registry at {reg.dialect}: loading {args.participants:,} participants, "
            f"{args.tests:,} tests")
        figures |= load(reg, args.participants, args.tests)
    figures |= measure(reg, args.repeats, steps)
    if reg.dialect == "sqlite":
        figures["database_mb"] = round(Path(url.removeprefix("sqlite:///")).stat().st_size / 2**20)
    reg.dispose()
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
