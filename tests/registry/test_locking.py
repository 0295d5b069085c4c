"""Faults: optimistic locking (no silent overwrite; the loser's data kept) and one transaction per
command (a failure, or a killed process, leaves nothing half-done)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from divert.registry import inputs, service
from divert.registry.store import ConflictError, Registry

from .conftest import Cli
from .test_commands import enrolled

REPO = Path(__file__).resolve().parents[2]


def _test_id(cli: Cli, code: str) -> int:
    cli("tests", "add", code, "--on", "2026-01-06")
    tl = cli.json("timeline", code, "--json")
    return [e["id"] for e in tl["events"] if e["event"] == "drug test"][-1]


def test_second_of_two_edits_from_the_same_version_is_a_conflict(cli: Cli, tmp_path: Path) -> None:
    code = enrolled(cli)
    tid = _test_id(cli, code)
    # two coordinators read version 1, both record a result
    code1, _, _ = cli("tests", "record", str(tid), "--result", "negative", "--if-version", "1")
    assert code1 == 0
    retry = tmp_path / "retry"
    rc, out, err = cli("tests", "record", str(tid), "--result", "positive", "--substances", "cocaine",
                       "--if-version", "1", "--retry-dir", str(retry), "--json-out", ok=False)
    assert rc == 3
    assert "conflict: drug_tests row" in err and "is at version 2, not 1" in err
    assert len(err.strip().splitlines()) == 1
    kept = list(retry.glob("divert-retry-drug_tests-*.json"))
    assert len(kept) == 1 and str(kept[0]) in err
    saved = json.loads(kept[0].read_text())
    assert saved["yours"]["result"] == "positive" and saved["yours"]["substances"] == ["cocaine"]
    assert saved["current"]["status"] == "negative" and saved["current_version"] == 2
    assert json.loads(out)["yours"] == saved["yours"]  # also in the error JSON
    # the first result stands; nothing of the second was stored
    tl = cli.json("timeline", code, "--json")
    test = [e for e in tl["events"] if e["id"] == tid and e["event"] == "drug test"][0]
    assert test["status"] == "negative" and test["version"] == 2
    assert cli("verify")[0] == 0
    # retry with the version now read: a change of a recorded result needs a reason, then goes through
    rc, _, err = cli("tests", "record", str(tid), "--result", "positive", "--substances", "cocaine",
                     "--if-version", "2", ok=False)
    assert rc == 2 and "reason: test 1 is recorded as negative" in err
    cli("tests", "record", str(tid), "--result", "positive", "--substances", "cocaine",
        "--if-version", "2", "--reason", "two nurses read the same cup; the second reading stands")


def test_participant_update_conflict_in_json(cli: Cli, tmp_path: Path) -> None:
    code = cli("participant", "add", "--name", "Old Name")[1].strip()
    src = tmp_path / "u.json"
    src.write_text(json.dumps({"contact": "new phone", "version": 1}))
    cli("participant", "update", code, "--json", str(src))
    src.write_text(json.dumps({"name": "Other Name", "version": 1}))
    rc, out, err = cli("participant", "update", code, "--json", str(src), ok=False)
    assert rc == 3 and json.loads(out)["yours"] == {"name": "Other Name", "version": 1}
    assert "Other Name" not in json.dumps(json.loads(out)["current"])  # ciphertext only
    shown = cli.json("participant", "show", code, "--identify", "--json")
    assert shown["name"] == "Old Name" and shown["contact"] == "new phone"


def test_concurrent_transactions_never_overwrite(cli: Cli) -> None:
    """Two transactions at once on the same row: the writer that read the older version loses."""
    code = enrolled(cli)
    tid = _test_id(cli, code)
    reg_a, reg_b = Registry(cli.url), Registry(cli.url)
    with reg_b.read() as conn:
        seen_by_b = service._one(conn, "drug_tests", id=tid)
    assert seen_by_b is not None
    first_in = threading.Event()
    errors: list[BaseException] = []

    def writer_a() -> None:
        try:
            with reg_a.write("a", "test") as tx:
                service.record_results(tx, [inputs.ResultIn(test=tid, result="negative")], [{}])
                first_in.set()
                time.sleep(0.5)  # B starts meanwhile and must wait, then lose
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            first_in.set()

    thread = threading.Thread(target=writer_a)
    thread.start()
    first_in.wait(10)
    with pytest.raises(ConflictError) as caught, reg_b.write("b", "test") as tx:
        row = service._one(tx.conn, "drug_tests", id=tid)
        tx.update("drug_tests", row, {"status": "positive"}, read_version=seen_by_b["version"],
                  data={"result": "positive"})
    thread.join()
    assert not errors
    assert caught.value.data == {"result": "positive"} and caught.value.current["status"] == "negative"
    with reg_a.read() as conn:
        assert service._one(conn, "drug_tests", id=tid)["status"] == "negative"
    reg_a.dispose()
    reg_b.dispose()
    assert cli("verify")[0] == 0


def test_a_failing_command_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    before = cli.json("verify", "--json")
    data = {"format": "divert-registry-import", "version": 1, "participants": [
        {"name": "Fine"}, {"name": "Bad", "programme": "nowhere"}]}
    src = tmp_path / "imp.json"
    src.write_text(json.dumps(data))
    rc, _, err = cli("import", str(src), ok=False)
    assert rc == 2 and "participants.1" in err and "programme: unknown 'nowhere'" in err
    after = cli.json("verify", "--json")
    assert after == before  # not even the first participant


def _big_import(path: Path, n: int) -> None:
    people = []
    for i in range(n):
        people.append({
            "ref": f"row {i}", "name": f"Person {i}", "birth_date": "1990-01-01",
            "consents": [{"given": True, "on": "2025-01-01"}],
            "enrolment": {"started_on": "2025-01-02", "quadrant": "HR/HN"},
            "tests": [{"on": f"2025-02-{d:02d}", "result": "negative"} for d in range(1, 11)],
        })
    path.write_text(json.dumps({"format": "divert-registry-import", "version": 1,
                                "participants": people}))


def test_killed_mid_import_leaves_a_registry_that_verifies(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "big.json"
    _big_import(src, 1000)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from divert.cli import main; main()", "registry", "import", str(src),
         "--db", cli.url], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "imported 100 of 1000 participants..."
    assert line.startswith("imported 100 of 1000"), line
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    code, out, err = cli("verify")
    assert code == 0, err
    report = cli.json("verify", "--json")
    assert report["rows"] == 1  # only the default programme: the import left nothing
