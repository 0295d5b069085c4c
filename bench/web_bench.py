"""Web benchmark: the latency of the advice on one case through the API.

    .venv/bin/python bench/web_bench.py                 # 200 calls after 20 of warm-up
    .venv/bin/python bench/web_bench.py --calls 1000

Times, in one run and on the same case (examples/cases/usa_heroin_possession.yaml with a DAST-10
and an AUDIT screening added, all four stages under the usa pack):
  * `POST /api/v1/assess` through FastAPI's test client, signed in, with the CSRF header
    (routing, session, validation, pack lookup, advice, JSON), and
  * `pathways.advise(case, pack)` plus `to_json()` directly (the work itself),
and reports the median, 95th percentile and the ratio of medians. The target is under 200 ms per
advice. Writes bench/results/web_advice.json (or `--out`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "examples" / "cases" / "usa_heroin_possession.yaml"
TARGET_MS = 200.0


def _times(fn: Callable[[], Any], calls: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"median_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "max_ms": round(ordered[-1], 3), "calls": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "web_advice.json")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="divert-web-bench-"))
    os.environ["DIVERT_KEY_FILE"] = str(tmp / "registry.key")
    os.environ.pop("DIVERT_KEY", None)
    from divert.cli import main as cli
    from divert.registry.crypto import create_key_file
    from divert.registry.store import Registry
    from divert.web.accounts import create_user

    create_key_file(tmp / "registry.key")
    url = f"sqlite:///{tmp / 'registry.db'}"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        cli(["registry", "init", "--db", url])
    password = "advice-latency-2026!"
    reg = Registry(url)
    with reg.write("bench", "create bench user") as tx:
        create_user(tx, "bench", password, "clinician", "Bench")
    reg.dispose()

    from fastapi.testclient import TestClient

    from divert.advice.case import parse_case
    from divert.advice.pathways import advise
    from divert.law import policy
    from divert.law.policy import read_yaml
    from divert.web.app import create_app

    data = json.loads(json.dumps(read_yaml(CASE), default=str))
    data["screening"] = {"dast10": {"answers": ["yes"] * 7 + ["no"] * 3},
                         "audit": {"answers": [2, 1, 1, 0, 0, 0, 0, 0, 0, 0]}}
    body = {"jurisdiction": "usa", "case": data}
    app = create_app(url, secret="bench-secret", work_dir=tmp / "work")
    client = TestClient(app)
    csrf = client.get("/api/v1/session").json()["csrf_token"]
    r = client.post("/api/v1/session", json={"username": "bench", "password": password},
                    headers={"X-CSRF-Token": csrf})
    r.raise_for_status()
    headers = {"X-CSRF-Token": r.json()["csrf_token"]}

    def api_call() -> None:
        response = client.post("/api/v1/assess", json=body, headers=headers)
        assert response.status_code == 200, response.text

    case = parse_case(data)

    def direct() -> None:
        advise(case, policy.load("usa")).to_json()

    expected = json.loads(json.dumps(advise(case, policy.load("usa")).to_json(), default=str))
    assert client.post("/api/v1/assess", json=body, headers=headers).json() == expected
    api_ms = _times(api_call, args.calls, args.warmup)
    direct_ms = _times(direct, args.calls, args.warmup)
    result = {
        "what": "POST /api/v1/assess (usa, 4 stages, DAST-10 + AUDIT) through the FastAPI test "
                "client vs pathways.advise directly, same run",
        "api": _summary(api_ms), "direct": _summary(direct_ms),
        "ratio_median": round(statistics.median(api_ms) / statistics.median(direct_ms), 2),
        "target_ms": TARGET_MS,
        "meets_target": _summary(api_ms)["p95_ms"] < TARGET_MS,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"API    median {result['api']['median_ms']:.1f} ms, p95 {result['api']['p95_ms']:.1f} ms")
    print(f"direct median {result['direct']['median_ms']:.1f} ms, p95 "
          f"{result['direct']['p95_ms']:.1f} ms")
    print(f"ratio {result['ratio_median']}x; target {TARGET_MS:.0f} ms: "
          f"{'met' if result['meets_target'] else 'NOT met'}; wrote {args.out}")


if __name__ == "__main__":
    main()
