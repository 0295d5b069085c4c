"""Web load test: 50 users recording drug-test results through the REST API for a minute.

    .venv/bin/python bench/web_load.py                          # SQLite (a temporary file), 60 s
    scripts/with_postgres.sh .venv/bin/python bench/web_load.py --db '$DIVERT_TEST_POSTGRES_URL'

1. Builds a registry (`divert registry init`), one case-manager account per simulated user, and
   `--participants` enrolled participants with `--tests` drug tests due today in all (the
   participants, consents and enrolments through the registry's own functions; the tests by bulk
   insert with the programme's sample windows, audited as usual).
2. Serves the application with `divert serve` (uvicorn, one process) on a loopback port.
3. Runs `--users` concurrent users (asyncio + httpx, one connection each) for `--seconds`: each
   signs in through the API, then records results (`POST /api/v1/registry/tests/{id}/result`, with
   the version read, so a lost update would be a 409) for tests no other user touches, as fast as
   the server answers.
4. Checks that nothing was lost: every result the server acknowledged is stored with the status
   sent, the number of tests with a result equals the number of acknowledged POSTs, and the audit
   chain verifies.

Prints the figures and writes them as JSON (`--out`, default bench/results/web_load.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from divert.registry import court, inputs, service
from divert.registry.audit import verify
from divert.registry.store import Registry
from divert.web.accounts import create_user

PASSWORD = "load-test-password-2026"
RESULTS = [("negative", 0.82), ("positive", 0.10), ("dilute", 0.04), ("missed", 0.04)]


def log(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(url: str, users: int, participants: int, tests: int) -> list[int]:
    """The registry: accounts, participants enrolled today minus 30 days, tests due today."""
    from divert.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["registry", "init", "--db", url])
        except SystemExit as exc:
            if exc.code:
                raise RuntimeError(f"registry init failed ({exc.code})") from None
    reg = Registry(url)
    cipher = service.registry_cipher(reg)
    today = service.today()
    start = today - dt.timedelta(days=30)
    with reg.write("bench", "bench accounts") as tx:
        for i in range(users):
            create_user(tx, f"user{i:03d}", PASSWORD, "case_manager")
    with reg.write("bench", "bench participants") as tx:
        codes = []
        for i in range(participants):
            row = service.add_participant(tx, cipher, inputs.ParticipantIn(
                name=f"Load Person {i}", referred_on=start))
            service.record_consent(tx, row["code"], inputs.ConsentIn(given=True, on=start))
            service.enrol(tx, row["code"], inputs.EnrolIn(on=start))
            codes.append(row["code"])
        prog = service.programme(tx.conn, "default")
        rules = service.rules_of(prog)
        e = service.T["enrolments"]
        enrolments = [r.id for r in tx.conn.execute(e.select().where(e.c.status == "active"))]
        method = rules.phase(1).test_method
        notified, due = court.due_window(rules, today, method)
        rows = [{"enrolment_id": enrolments[i % len(enrolments)], "scheduled_on": today,
                 "kind": "for_cause", "method": method, "phase": 1, "notified_at": notified,
                 "due_by": due, "status": "scheduled", "awaiting_response": False}
                for i in range(tests)]
        tx.insert_many("drug_tests", rows, keep=False)
    with reg.read() as conn:
        t = service.T["drug_tests"]
        ids = [r.id for r in conn.execute(t.select().where(t.c.scheduled_on == today,
                                                           t.c.status == "scheduled"))]
    reg.dispose()
    return ids


def serve(url: str, port: int, env: dict[str, str], work: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", "from divert.cli import main; main()", "serve", "--db", url,
           "--port", str(port), "--work-dir", str(work)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"divert serve exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/session", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("divert serve did not answer within 60 s")


async def user(n: int, base: str, queue: list[int], deadline: float, stats: dict[str, Any]) -> None:
    """One simulated user: sign in, then record results until the deadline or the tests run out."""
    rnd = random.Random(n)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        csrf = (await client.get("/api/v1/session")).json()["csrf_token"]
        r = await client.post("/api/v1/session", json={"username": f"user{n:03d}", "password": PASSWORD},
                              headers={"X-CSRF-Token": csrf})
        if r.status_code != 200:
            stats["errors"].append(f"sign-in {r.status_code}: {r.text[:200]}")
            return
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        while time.monotonic() < deadline:
            if not queue:
                stats["ran_out"] = True
                return
            test = queue.pop()
            result = rnd.choices([r for r, _ in RESULTS], [w for _, w in RESULTS])[0]
            body: dict[str, Any] = {"result": result, "version": 1}
            if result == "positive":
                body["substances"] = ["opioids"]
            stats["sent"] += 1
            t0 = time.perf_counter()
            try:
                r = await client.post(f"/api/v1/registry/tests/{test}/result", json=body,
                                      headers=headers)
            except httpx.HTTPError as exc:
                stats["errors"].append(f"test {test}: {type(exc).__name__}: {exc}")
                continue
            stats["latencies"].append(time.perf_counter() - t0)
            if r.status_code == 200 and r.json()["test"]["status"] == result:
                stats["acknowledged"][test] = result
            else:
                stats["errors"].append(f"test {test}: {r.status_code}: {r.text[:200]}")


async def run_users(base: str, ids: list[int], users: int, seconds: float) -> dict[str, Any]:
    stats: dict[str, Any] = {"latencies": [], "errors": [], "acknowledged": {}, "ran_out": False,
                             "sent": 0}
    queue = list(reversed(ids))
    deadline = time.monotonic() + seconds
    t0 = time.monotonic()
    await asyncio.gather(*(user(n, base, queue, deadline, stats) for n in range(users)))
    stats["elapsed"] = time.monotonic() - t0
    return stats


def check(url: str, acknowledged: dict[int, str]) -> dict[str, Any]:
    """Stored results against acknowledged ones, and the audit chain."""
    reg = Registry(url)
    t = service.T["drug_tests"]
    with reg.read() as conn:
        stored = {r.id: r.status for r in conn.execute(t.select().where(t.c.status != "scheduled"))}
        report = verify(conn)
    reg.dispose()
    lost = [i for i, status in acknowledged.items() if stored.get(i) != status]
    return {"stored_results": len(stored), "acknowledged_posts": len(acknowledged),
            "lost_writes": len(lost), "unacknowledged_but_stored": len(set(stored) - set(acknowledged)),
            "audit_intact": report.intact, "audit_records": report.records}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if values else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--participants", type=int, default=2000)
    ap.add_argument("--tests", type=int, default=40000, help="tests due today, in all")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "web_load.json")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="divert-web-load-"))
    url = os.path.expandvars(args.db) if args.db else f"sqlite:///{tmp / 'registry.db'}"
    env = {**os.environ, "DIVERT_KEY_FILE": str(tmp / "registry.key"),
           "DIVERT_SESSION_SECRET": "web-load-session-secret"}
    env.pop("DIVERT_KEY", None)
    os.environ.update({k: env[k] for k in ("DIVERT_KEY_FILE", "DIVERT_SESSION_SECRET")})
    backend = url.split(":", 1)[0].split("+")[0]
    log(f"building the registry ({backend}): {args.users} accounts, {args.participants} "
        f"participants, {args.tests} tests due today")
    ids = build(url, args.users, args.participants, args.tests)
    port = free_port()
    server = serve(url, port, env, tmp / "work")
    load_before = os.getloadavg()
    log(f"{args.users} users recording results for {args.seconds:.0f} s on http://127.0.0.1:{port}")
    try:
        stats = asyncio.run(run_users(f"http://127.0.0.1:{port}", ids, args.users, args.seconds))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    load_after = os.getloadavg()
    log("checking the stored results and the audit chain")
    checked = check(url, stats["acknowledged"])
    lat = sorted(stats["latencies"])
    requests = stats["sent"]
    out = {
        "date": dt.date.today().isoformat(), "backend": backend, "users": args.users,
        "seconds": round(stats["elapsed"], 1), "participants": args.participants,
        "tests_available": len(ids), "ran_out_of_tests": stats["ran_out"],
        "requests": requests, "errors": len(stats["errors"]), "error_samples": stats["errors"][:10],
        "throughput_per_s": round(len(lat) / stats["elapsed"], 1),
        "latency_ms": {"p50": round(percentile(lat, 50) * 1000, 1),
                       "p95": round(percentile(lat, 95) * 1000, 1),
                       "p99": round(percentile(lat, 99) * 1000, 1),
                       "max": round(max(lat, default=0) * 1000, 1)},
        **checked,
        "no_lost_write": checked["lost_writes"] == 0
        and checked["stored_results"] == checked["acknowledged_posts"],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "server": "divert serve: uvicorn, 1 process, FastAPI's thread pool (40 threads)",
    }
    print(json.dumps(out, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists():
        try:
            previous = json.loads(args.out.read_text())
        except json.JSONDecodeError:
            previous = {}
        runs = previous if isinstance(previous, dict) and "runs" in previous else {"runs": {}}
    else:
        runs = {"runs": {}}
    runs["runs"][backend] = out
    args.out.write_text(json.dumps(runs, indent=2) + "\n")
    ok = out["errors"] == 0 and out["no_lost_write"] and out["audit_intact"]
    log(f"{'OK' if ok else 'FAILED'}: {out['requests']} requests, {out['errors']} errors, "
        f"{out['throughput_per_s']}/s, p50 {out['latency_ms']['p50']} ms, p95 "
        f"{out['latency_ms']['p95']} ms, p99 {out['latency_ms']['p99']} ms; lost writes "
        f"{out['lost_writes']}; audit {'intact' if out['audit_intact'] else 'BROKEN'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
