"""The audit log: who, when, what, before, after; `verify` finds rows and records changed behind
the application's back, naming the first broken one."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from divert.registry import audit
from divert.registry.models import AUDITED, AuditRecord

from .conftest import Cli
from .test_commands import enrolled


@pytest.fixture
def busy(cli: Cli) -> tuple[Cli, str]:
    code = enrolled(cli)
    cli("tests", "schedule", "--from", "2026-01-05", "--to", "2026-01-31")
    tl = cli.json("timeline", code, "--json")
    test = [e for e in tl["events"] if e["event"] == "drug test"][0]
    cli("tests", "record", str(test["id"]), "--result", "negative", "--actor", "nurse.b")
    return cli, code


def _sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for s in statements:
            conn.execute(sa.text(s))
    engine.dispose()


def _records(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        log = AuditRecord.__table__
        rows = [dict(r) for r in conn.execute(sa.select(log).order_by(log.c.seq)).mappings()]
    engine.dispose()
    return rows


def test_every_change_is_recorded_who_when_what_before_after(busy: tuple[Cli, str]) -> None:
    cli, code = busy
    records = _records(cli.url)
    tables = {r["table_name"] for r in records}
    assert {"programmes", "participants", "consents", "enrolments", "hearings", "drug_tests",
            "schedule_runs"} <= tables
    last = records[-1]
    assert last["actor"] == "nurse.b" and last["command"] == "tests record"
    assert last["action"] == "update" and last["table_name"] == "drug_tests"
    assert json.loads(last["before"]) == {"status": "scheduled", "collected_at": None, "version": 1}
    after = json.loads(last["after"])
    assert after["status"] == "negative" and after["version"] == 2 and after["collected_at"]
    entry = records[-2]  # the result's history entry, in the same command
    assert (entry["actor"], entry["command"], entry["action"], entry["table_name"]) == (
        "nurse.b", "tests record", "insert", "test_results")
    assert json.loads(entry["after"])["result"] == "negative"
    assert {r["actor"] for r in records[:-2]} == {"tester"}  # $USER by default
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    # identity is never in the log in plain text
    assert "Ana Silva" not in json.dumps([r["after"] for r in records])


def test_verify_intact(busy: tuple[Cli, str]) -> None:
    cli, _ = busy
    code, out, err = cli("verify")
    assert code == 0 and out.startswith("intact:") and err == ""
    report = cli.json("verify", "--json")
    assert report["intact"] and report["records"] == len(_records(cli.url))


@pytest.mark.parametrize(("tamper", "expected"), [
    (["UPDATE drug_tests SET status = 'negative' WHERE id = 2"],
     "drug_tests row 2: differs from audit record"),
    (["UPDATE participants SET sex = 'male'"], "participants row 1: differs"),
    (["INSERT INTO rearrests (participant_id, day, version) VALUES (1, '2026-01-09', 1)"],
     "rearrests row 1: not in the audit log (inserted"),
    (["DELETE FROM drug_tests WHERE id = 3"], "drug_tests row 3: deleted behind"),
    (["UPDATE audit_log SET actor = 'someone else' WHERE seq = 4"],
     "audit record 4: its content does not match its keyed hash"),
    (["DELETE FROM audit_log WHERE seq = 5"], "audit record 5: missing"),
    (["DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"],
     "records were cut from the end"),
])
def test_verify_names_the_first_broken_record(busy: tuple[Cli, str], tamper: list[str],
                                              expected: str) -> None:
    cli, _ = busy
    _sql(cli.url, *tamper)
    code, out, err = cli("verify", ok=False)
    assert code == 1
    assert expected in err, err
    assert len(err.strip().splitlines()) == 1


def test_verify_catches_a_rewritten_record_with_a_recomputed_hash(busy: tuple[Cli, str]) -> None:
    """Editing a record and fixing its own hash without the chain key is found at that record."""
    cli, _ = busy
    rec = _records(cli.url)[2]
    rec["actor"] = "forger"
    new_hash = audit.link(b"k" * 32, rec["prev_hash"], rec)
    _sql(cli.url, f"UPDATE audit_log SET actor = 'forger', hash = '{new_hash}' WHERE seq = 3")
    code, _, err = cli("verify", ok=False)
    assert code == 1 and "audit record 3: its content does not match its keyed hash" in err


def test_image_is_the_same_read_back_on_every_backend(busy: tuple[Cli, str]) -> None:
    cli, _ = busy
    engine = sa.create_engine(cli.url)
    with engine.connect() as conn:
        for table in AUDITED.values():
            for row in conn.execute(sa.select(table)).mappings():
                json.dumps(audit.image(table, row))  # JSON-safe
    engine.dispose()
