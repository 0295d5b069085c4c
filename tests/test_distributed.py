"""The Dask executor on a local cluster of 2 worker processes: the same answers bit for bit as in
this process, whatever the batching and the order tasks finish in; a worker killed mid-run changes
nothing; bad --cluster values are refused in one line; Dask is imported only when asked for."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from divert.errors import InputError
from divert.simulation.distributed import Dask, batch_size, parse_cluster
from divert.simulation.runner import Comparison, Task, run_comparison, write_outputs

from .conftest import run_cli

distributed = pytest.importorskip("distributed")  # the `dask` extra; installed by the test extra

FIXTURES = Path(__file__).parent / "fixtures"
OVERLAY = """\
title: fewer stops
summary: police stop fewer people
pack: simland
changes:
  - set_parameter: detection_prob
    value: 0.1
    citation: invented for tests
"""
KW = dict(persons=2000, months=12, start=date(2012, 1, 1), replications=4, seed=11)


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    root = tmp_path_factory.mktemp("packs")
    shutil.copytree(FIXTURES / "simland", root / "simland")
    overlay = root / "fewer_stops.yaml"
    overlay.write_text(OVERLAY)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DIVERT_POLICIES", str(root))
        yield ["simland", f"simland+{overlay}"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=":0", silence_logs=logging.ERROR)
    yield c
    c.close()


@pytest.fixture(scope="module")
def at_home(packs: list[str]) -> Comparison:
    return run_comparison(packs, **KW)


def _same(a: Comparison, b: Comparison) -> None:
    """Bit for bit: every run's series and tables, and the summary's every figure."""
    assert json.dumps(a.summary(), sort_keys=True) == json.dumps(b.summary(), sort_keys=True)
    for s in a.scenarios:
        left, right = list(a.results[s]), list(b.results[s])
        assert [r.replication for r in left] == [r.replication for r in right]
        for x, y in zip(left, right, strict=True):
            assert np.array_equal(x.series, y.series) and np.array_equal(x.cohort, y.cohort)
            assert x.scale == y.scale and x.final == y.final


@pytest.mark.parametrize("batch", [1, 3])
def test_dask_equals_in_process_bit_for_bit(batch: int, packs: list[str], cluster: object,
                                           at_home: Comparison, tmp_path: Path) -> None:
    with Dask(cluster.scheduler_address, batch=batch) as ex:  # type: ignore[attr-defined]
        streamed = run_comparison(packs, executor=ex, out=tmp_path / "out", **KW)
        in_memory = run_comparison(packs, executor=ex, **KW)
    _same(at_home, streamed)
    _same(at_home, in_memory)
    write_outputs(streamed, tmp_path / "dask")
    write_outputs(at_home, tmp_path / "home")
    assert pq.read_table(tmp_path / "dask" / "series.parquet").equals(
        pq.read_table(tmp_path / "home" / "series.parquet"))
    assert ((tmp_path / "dask" / "summary.json").read_bytes()
            == (tmp_path / "home" / "summary.json").read_bytes())


def test_local_cluster_option_starts_and_stops_its_own_cluster(packs: list[str],
                                                              at_home: Comparison) -> None:
    before = {t.name for t in threading.enumerate()}
    _same(at_home, run_comparison(packs, cluster="local:1", **KW))
    assert {t.name for t in threading.enumerate()} - before <= {"Profile"} | before


def test_worker_killed_mid_run_changes_nothing(packs: list[str], cluster: object,
                                               at_home: Comparison) -> None:
    killed: list[str] = []
    with Dask(cluster.scheduler_address, batch=1) as ex:  # type: ignore[attr-defined]
        client = ex.client()

        def kill_one(done: int, total: int) -> None:
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(busy[0])

        result = run_comparison(packs, executor=ex, progress=kill_one, **KW)
        assert killed, "no worker was busy to kill"
        client.wait_for_workers(2, timeout=60)
        assert killed[0] not in client.nthreads()  # the nanny started a new worker process
    _same(at_home, result)


def test_sensitivity_on_dask_equals_in_process(packs: list[str], cluster: object) -> None:
    from divert.studies.sensitivity import analyse

    kw = dict(samples=2, persons=1500, months=12, start=date(2012, 1, 1),
              parameters=["detection_prob", "offence_rate_per_year"], outcomes=["arrests"])
    home = analyse("simland", **kw)  # type: ignore[arg-type]
    with Dask(cluster.scheduler_address, batch=2) as ex:  # type: ignore[attr-defined]
        there = analyse("simland", executor=ex, **kw)  # type: ignore[arg-type]
    assert json.dumps(home.to_json(), sort_keys=True) == json.dumps(there.to_json(), sort_keys=True)


@pytest.mark.parametrize(("spec", "message"), [
    ("local:0", "--cluster: 'local:0' is not allowed; allowed: local:N"),
    ("local:two", "--cluster: 'local:two' is not allowed"),
    ("nonsense", "--cluster: 'nonsense' is not a scheduler address"),
    ("tcp://", "--cluster: 'tcp://' is not a scheduler address"),
])
def test_bad_cluster_one_line_exit_2(spec: str, message: str, packs: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["simulate", "simland", "--persons", "100", "--years", "1",
                              "--start", "2012-01", "--cluster", spec], capsys)
    assert code == 2, (out, err)
    assert message in err and len(err.strip().splitlines()) == 1


def test_unreachable_scheduler_refused_quickly(packs: list[str], monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("divert.simulation.distributed.CONNECT_SECONDS", 1.0)
    monkeypatch.setenv("DIVERT_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # the discard port: closed
    code, _, err = run_cli(["simulate", "simland", "--persons", "100", "--years", "1",
                            "--start", "2012-01"], capsys)
    assert code == 2
    assert "--cluster: no Dask scheduler answered at tcp://127.0.0.1:9 within 1 s" in err
    assert len(err.strip().splitlines()) == 1


def test_without_dask_cluster_says_how_to_install(packs: list[str], monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    code, _, err = run_cli(["simulate", "simland", "--persons", "100", "--years", "1",
                            "--start", "2012-01", "--cluster", "local:1"], capsys)
    assert code == 2
    assert err.strip() == "error: --cluster: Dask is not installed; pip install divert[dask]"


def test_dask_is_imported_only_when_asked_for() -> None:
    code = ("import sys, divert.cli, divert.simulation.runner, divert.simulation.aggregate, "
            "divert.simulation.store, divert.studies.calibration; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_parse_cluster_and_batches() -> None:
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    assert parse_cluster("node17:8786") == ("address", "node17:8786")
    with pytest.raises(InputError):
        Dask("local:1", batch=0)
    big = [Task("x", r, 500_000, 120, date(2025, 1, 1), 1) for r in range(400)]
    small = [Task("x", r, 1000, 12, date(2025, 1, 1), 1) for r in range(400)]
    assert batch_size(big, 64) == 1             # a task of several seconds is a batch alone
    assert batch_size(small, 4) == 50           # tiny tasks go in batches (at least 2 per slot)
    assert batch_size(small, 1000) == 1
