"""Tampering with a registry's file, as someone who can write the database but does not hold the
key: every kind is found by `verify --expect-head` with a head kept elsewhere. Also: backups,
file modes, audited identity views and exports."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from divert.registry import audit
from divert.registry.models import AuditRecord

from .conftest import Cli
from .test_audit import _records, _sql
from .test_commands import enrolled


@pytest.fixture
def kept(cli: Cli) -> tuple[Cli, str, str]:
    """A registry with history, an identity view at the end, and the head kept elsewhere."""
    code = enrolled(cli)
    cli("tests", "schedule", "--from", "2026-01-05", "--to", "2026-01-31")
    test = [e for e in cli.json("timeline", code, "--json")["events"] if e["event"] == "drug test"][0]
    cli("tests", "record", str(test["id"]), "--result", "negative", "--actor", "nurse.b")
    from divert.registry.store import Registry
    from divert.web.accounts import create_user

    reg = Registry(cli.url)
    with reg.write("admin", "admin create-user") as tx:
        create_user(tx, "ana", "a-long-password-1", "judge", programmes=["default"])
    reg.dispose()
    cli("participant", "show", code, "--identify")
    cli("participant", "show", code, "--identify")
    head = cli("head")[1].strip()
    return cli, code, head


def _rechain_without_key(url: str, start: int) -> None:
    """Recompute every link from `start` as an attacker can: unkeyed SHA-256, then the head."""
    recs = _records(url)
    engine = sa.create_engine(url)
    log = AuditRecord.__table__
    with engine.begin() as conn:
        prev = recs[start - 2]["hash"] if start > 1 else audit.GENESIS
        for rec in recs[start - 1:]:
            rec["prev_hash"] = prev
            new = audit.legacy_link(prev, rec)
            conn.execute(log.update().where(log.c.seq == rec["seq"])
                         .values(prev_hash=prev, hash=new))
            prev = new
        conn.execute(sa.text(f"UPDATE audit_head SET seq = {recs[-1]['seq']}, hash = '{prev}'"))
    engine.dispose()


def _cut_tail(n: int) -> list[str]:
    return [f"DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - {n} FROM audit_log)",
            "UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), "
            "hash = (SELECT hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log))"]


def _sqls(*statements: str) -> Callable[[str], None]:
    return lambda url: _sql(url, *statements)


def _delete_middle_and_rechain(url: str) -> None:
    _sql(url, "DELETE FROM audit_log WHERE seq = 6",
         "UPDATE audit_log SET seq = seq - 1 WHERE seq > 6")
    _rechain_without_key(url, 6)


def _flip_and_rechain(url: str) -> None:
    _sql(url, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 4")
    _rechain_without_key(url, 4)


def _append_forged(url: str) -> None:
    last = _records(url)[-1]
    forged = {**last, "seq": last["seq"] + 1, "prev_hash": last["hash"], "actor": "forger"}
    forged["hash"] = audit.link(b"\0" * 32, last["hash"], forged)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(AuditRecord.__table__.insert().values(**forged))
        conn.execute(sa.text(f"UPDATE audit_head SET seq = {forged['seq']}, "
                             f"hash = '{forged['hash']}'"))
    engine.dispose()


def _drop_views(url: str) -> None:
    _sql(url, "DELETE FROM audit_log WHERE action = 'view'")
    recs = _records(url)
    _sql(url, f"UPDATE audit_head SET seq = {recs[-1]['seq']}, hash = '{recs[-1]['hash']}'")


TAMPERS: dict[str, Callable[[str], None]] = {
    "edit a row": _sqls("UPDATE drug_tests SET status = 'positive' WHERE id = 2"),
    "edit a participant": _sqls("UPDATE participants SET sex = 'male'"),
    "insert a row": _sqls("INSERT INTO rearrests (id, participant_id, day, version) "
                          "VALUES (99, 1, '2026-01-09', 1)"),
    "delete a row": _sqls("DELETE FROM drug_tests WHERE id = 3"),
    "edit a row and its record's digest": _sqls(
        "UPDATE drug_tests SET status = 'positive' WHERE id = 2",
        "UPDATE audit_log SET row_digest = 'ab' WHERE table_name = 'drug_tests' AND row_id = 2"),
    "edit an account's password hash": _sqls("UPDATE users SET password_hash = 'x'"),
    "edit a record's actor": _sqls("UPDATE audit_log SET actor = 'someone else' WHERE seq = 4"),
    "edit a record's time": _sqls("UPDATE audit_log SET at = '2020-01-01 00:00:00' WHERE seq = 3"),
    "edit a record's before": _sqls("UPDATE audit_log SET before = '{}' "
                                    "WHERE seq = (SELECT MAX(seq) - 3 FROM audit_log)"),
    "edit a record's row id": _sqls("UPDATE audit_log SET row_id = row_id + 1 WHERE seq = 5"),
    "edit a record's action": _sqls("UPDATE audit_log SET action = 'view' WHERE seq = 5"),
    "edit a record's prev_hash": _sqls("UPDATE audit_log SET prev_hash = hash WHERE seq = 7"),
    "delete a record in the middle": _sqls("DELETE FROM audit_log WHERE seq = 5"),
    "delete a record in the middle, renumber and rechain": _delete_middle_and_rechain,
    "flip a record and rechain without the key": _flip_and_rechain,
    "swap two records": _sqls("UPDATE audit_log SET seq = -1 WHERE seq = 5",
                              "UPDATE audit_log SET seq = 5 WHERE seq = 6",
                              "UPDATE audit_log SET seq = 6 WHERE seq = -1"),
    "delete the last record": _sqls("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM "
                                    "audit_log)"),
    "cut the last record and move the head": _sqls(*_cut_tail(1)),
    "cut the last 5 records and move the head": _sqls(*_cut_tail(5)),
    "delete the trailing view records and move the head": _drop_views,
    "delete every record and reset the head": _sqls(
        "DELETE FROM audit_log", f"UPDATE audit_head SET seq = 0, hash = '{audit.GENESIS}'"),
    "move the head only": _sqls("UPDATE audit_head SET seq = seq - 1"),
    "delete the head": _sqls("DELETE FROM audit_head"),
    "append a forged record": _append_forged,
    "edit the key check": _sqls("UPDATE registry_meta SET value = 'x' WHERE key = 'key_check'"),
    "delete the key check": _sqls("DELETE FROM registry_meta WHERE key = 'key_check'"),
    "add a meta fact": _sqls("INSERT INTO registry_meta (key, value) VALUES ('chain', 'sha256')"),
    "widen an account's programmes": _sqls("UPDATE user_programmes SET programme_id = NULL"),
    "insert an account": _sqls(
        "INSERT INTO users (id, username, role, password_hash, active, created_at, version) "
        "VALUES (50, 'mallory', 'admin', 'x', true, '2026-01-01 00:00:00', 1)"),
}


@pytest.mark.parametrize("kind", list(TAMPERS))
def test_every_tamper_is_found_against_the_kept_head(kept: tuple[Cli, str, str], kind: str) -> None:
    cli, _, head = kept
    cli("verify", "--expect-head", head)
    TAMPERS[kind](cli.url)
    code, out, err = cli("verify", "--expect-head", head, ok=False)
    assert code == 1, (kind, out, err)
    assert err.startswith("broken: ") and len(err.strip().splitlines()) == 1, err


def test_a_rolled_back_copy_is_found(kept: tuple[Cli, str, str], tmp_path: Path) -> None:
    cli, code, _ = kept
    if not cli.url.startswith("sqlite"):
        pytest.skip("a file copy is a SQLite matter (PostgreSQL: restore of an old dump, the same "
                    "check)")
    path = Path(cli.url.removeprefix("sqlite:///"))
    old = tmp_path / "old.db"
    cli("backup", "--out", str(old))
    cli("consent", code, "--withdrawn")
    head = cli("head")[1].strip()
    src, dst = sqlite3.connect(old), sqlite3.connect(path)  # the old copy put back in place
    src.backup(dst)
    src.close()
    dst.close()
    assert cli("verify")[0] == 0  # consistent in itself
    code_, _, err = cli("verify", "--expect-head", head, ok=False)
    assert code_ == 1 and "records were cut from the end (or the database was rolled back)" in err


def test_head_log_and_expect_head_file(cli: Cli, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "heads.log"
    monkeypatch.setenv("DIVERT_AUDIT_HEAD_LOG", str(log))
    code = enrolled(cli)
    cli("consent", code, "--withdrawn")
    lines = log.read_text().splitlines()
    assert lines and lines[-1].split()[0] == cli("head")[1].strip()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert cli("verify", "--expect-head", str(log))[0] == 0
    _sql(cli.url, *_cut_tail(1))
    assert cli("verify", "--expect-head", str(log), ok=False)[0] == 1
    for bad in ("12:xyz", str(tmp_path / "none.log"), "-1:" + "a" * 64):
        rc, _, err = cli("verify", "--expect-head", bad, ok=False)
        assert rc == 2 and err.startswith("error: --expect-head:"), err


def test_a_wrong_key_cannot_verify_or_write(kept: tuple[Cli, str, str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.registry.crypto import create_key_file

    cli, code, _ = kept
    other = tmp_path / "other.key"
    create_key_file(other)
    monkeypatch.setenv("DIVERT_KEY_FILE", str(other))
    for args in (("verify",), ("consent", code, "--withdrawn")):
        rc, _, err = cli(*args, ok=False)
        assert rc == 2 and "cannot open the registry's audit chain key" in err, err


def test_backup_is_consistent_private_and_verified(kept: tuple[Cli, str, str],
                                                   tmp_path: Path) -> None:
    cli, _, head = kept
    out = tmp_path / "copy.db"
    if not cli.url.startswith("sqlite"):
        rc, _, err = cli("backup", "--out", str(out), ok=False)
        assert rc == 2 and "pg_dump" in err
        return
    _, said, _ = cli("backup", "--out", str(out))
    assert "intact" in said and head in said
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rc, _, _ = cli("verify", "--expect-head", head)  # the original
    code, _, err = Cli(f"sqlite:///{out}", cli.capsys)("verify", "--expect-head", head)
    assert code == 0
    rc, _, err = cli("backup", "--out", str(out), ok=False)
    assert rc == 2 and "exists" in err


def test_files_are_private(cli: Cli, tmp_path: Path) -> None:
    if not cli.url.startswith("sqlite"):
        pytest.skip("file modes are a SQLite matter")
    path = Path(cli.url.removeprefix("sqlite:///"))
    fresh = tmp_path / "fresh.db"
    Cli(f"sqlite:///{fresh}", cli.capsys)("programme", "show", ok=False)  # refused, but...
    fresh.unlink(missing_ok=True)
    Cli(f"sqlite:///{fresh}", cli.capsys).__call__("init")
    for p in (fresh, Path(f"{fresh}-wal")):
        if p.exists():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    os.chmod(path, 0o644)
    Cli(cli.url, cli.capsys)("init")  # init narrows an existing file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cli("export", "--deidentified", "--out", str(tmp_path / "ex"))
    assert stat.S_IMODE((tmp_path / "ex").stat().st_mode) == 0o700
    for f in (tmp_path / "ex").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_identity_views_and_exports_are_audited(cli: Cli, tmp_path: Path) -> None:
    code = enrolled(cli)
    cli("participant", "show", code)  # no identity: no view record
    n = len(_records(cli.url))
    cli("participant", "show", code, "--identify", "--actor", "clerk.c")
    recs = _records(cli.url)
    assert len(recs) == n + 1
    view = recs[-1]
    assert (view["action"], view["actor"], view["table_name"]) == ("view", "clerk.c", "participants")
    cli("export", "--deidentified", "--out", str(tmp_path / "ex"), "--actor", "analyst.a")
    last = _records(cli.url)[-1]
    assert (last["action"], last["actor"], last["table_name"]) == ("export", "analyst.a", "exports")
    assert json.loads(last["after"])["min_cell"] == 11
    assert cli("verify")[0] == 0


@pytest.mark.parametrize(("args", "expected"), [
    (("import", "BAD_UTF8"), "not UTF-8 text"),
    (("import", "DEEP"), "nested too deeply"),
    (("confirm", "100000000000000000000000", "--decision", "none"), "less than or equal to 2147483647"),
    (("complete", "99999999999999999999"), "less than or equal to 2147483647"),
    (("hearings", "schedule", "--until", "9999-12-31"), "--until: 9999-12-31 is out of range"),
    (("hearings", "schedule", "--until", "2190-01-01"), "until: at most 1098 days ahead"),
    (("programme", "add", "--code", "x", "--name", "X", "--jurisdiction", "nowhere"),
     "jurisdiction: unknown jurisdiction 'nowhere'; allowed: "),
    (("participant", "add", "--name", "A", "--birth-date", "2999-01-01"),
     "birth_date: must be between 1900-01-01 and today"),
    (("suggest", "P-AAAAAAAA", "--behaviour", "positive_test", "--test", "1"),
     "--behaviour and --test: give one"),
    (("tests", "record", "--json", "BIG_ID"), "test: "),
])
def test_bad_input_is_one_line_and_exit_2(cli: Cli, tmp_path: Path, args: tuple[str, ...],
                                          expected: str) -> None:
    files = {"BAD_UTF8": b"\xff\xfe{", "DEEP": b"[" * 100_000 + b"]" * 100_000,
             "BIG_ID": b'{"test": 1e23, "result": "negative"}'}
    real = []
    for a in args:
        if a in files:
            path = tmp_path / f"{a}.json"
            path.write_bytes(files[a])
            a = str(path)
        real.append(a)
    before = len(_records(cli.url))
    code, _, err = cli(*real, ok=False)
    assert code == 2 and err.startswith("error: ") and expected in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert len(_records(cli.url)) == before  # nothing stored


def test_init_on_a_file_that_is_not_a_database(cli: Cli, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    code, _, err = Cli(f"sqlite:///{junk}", cli.capsys)("init", ok=False)
    assert code == 2 and "file is not a database" in err and len(err.splitlines()) == 1


def test_rekey_moves_identities_and_notes_and_keeps_the_chain(
        kept: tuple[Cli, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.registry import service
    from divert.registry.store import Registry

    cli, code, head = kept
    reg = Registry(cli.url)
    cipher = service.registry_cipher(reg)
    with reg.write("nurse", "note") as tx:
        service.add_note(tx, cipher, code, "doing well")
    reg.dispose()
    before = cli.json("participant", "show", code, "--identify", "--json")
    new = tmp_path / "new.key"
    _, out, _ = cli("rekey", "--new-key-file", str(new))
    assert "rekeyed 1 participants, 1 notes and the free text of" in out
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    rc, _, err = cli("participant", "show", code, "--identify", ok=False)
    assert rc == 2 and "not this registry's key" in err  # the old key no longer opens it
    monkeypatch.setenv("DIVERT_KEY_FILE", str(new))
    after = cli.json("participant", "show", code, "--identify", "--json")
    assert after["name"] == before["name"] and after["contact"] == before["contact"]
    reg = Registry(cli.url)
    with reg.read() as conn:
        assert [n["text"] for n in service.notes_of(conn, service.registry_cipher(reg), code)] \
            == ["doing well"]
    reg.dispose()
    assert cli("verify", "--expect-head", head)[0] == 0  # heads kept before still hold
