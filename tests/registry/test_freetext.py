"""Free text and case references are encrypted at rest, bound to their row, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from divert.registry import calendar, crypto, database, freetext, service
from divert.registry.models import AUDITED

from .conftest import Cli

START = "2026-01-05"
CASE = ("person: {age: 30}\noffence: {type: possession, substance: heroin, quantity_g: 1, "
        "date: 2024-03-01}\nhistory: {prior_drug_convictions: 0, prior_convictions: 0, "
        "prior_incarcerations: 0, prior_diversion_failures: 0, pending_charge: false, "
        "fta_past_2_years: 0}\nconsent: true\n")
#: one marker per encrypted column (the phase-change override lands in `reason`)
MARKERS = {
    ("cases", "reference"): "REF-Quokka-2024-117",
    ("advice", "decision_note"): "DECNOTE-Wombat",
    ("consents", "note"): "CONSENTNOTE-Numbat",
    ("attendance", "note"): "ATTNOTE-Bilby",
    ("hearings", "note"): "HEARNOTE-Dingo",
    ("responses", "note"): "RESPNOTE-Emu",
    ("phase_changes", "reason"): "OVERRIDE-Koala",
    ("rearrests", "note"): "REARREST-Wallaby",
    ("enrolments", "end_reason"): "EXIT-Echidna",
}


def populate(cli: Cli, tmp_path: Path) -> str:
    """A participant with every free-text column filled with its marker."""
    m = {table: text for (table, _), text in MARKERS.items()}
    code = cli("participant", "add", "--name", "C")[1].strip()
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    cli("case", code, "--case", str(case), "--reference", m["cases"])
    adv = cli.json("advise", code, "-j", "model", "--json-out")
    cli("confirm", str(adv["id"]), "--decision", "drug_treatment_court", "--note", m["advice"])
    cli("consent", code, "--measure", "drug_treatment_court", "--on", START, "--note", m["consents"])
    cli("enrol", code, "--on", START)
    cli("attend", code, "--status", "attended", "--on", "2026-01-06", "--note", m["attendance"])
    hearing = next(e for e in cli.json("timeline", code, "--json")["events"]
                   if e["table"] == "hearings")
    cli("hearings", "record", str(hearing["id"]), "--status", "held", "--note", m["hearings"])
    cli("respond", code, "--kind", "incentive", "--type", "praise", "--on", "2026-01-07",
        "--note", m["responses"])
    cli("advance", code, "--to", "2", "--override", m["phase_changes"], "--on", "2026-01-08")
    cli("rearrest", code, "--on", "2026-01-09", "--note", m["rearrests"])
    cli("terminate", code, "--reason", m["enrolments"], "--on", "2026-01-10")
    return code


def dump(url: str, tables: list[str] | None = None) -> str:
    """Every value of `tables` (default: every table) as the database returns it in raw SQL."""
    engine = sa.create_engine(url)
    parts = []
    with engine.connect() as conn:
        names = tables or sa.inspect(conn).get_table_names()
        for name in names:
            for row in conn.execute(sa.text(f"SELECT * FROM {name}")):
                parts.extend(str(v) for v in row)
    engine.dispose()
    return "\n".join(parts)


def raw_bytes(url: str) -> bytes:
    path = database.sqlite_path(url)
    assert path is not None
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_free_text_is_encrypted_at_rest_and_read_back(cli: Cli, tmp_path: Path) -> None:
    code = populate(cli, tmp_path)
    everything = dump(cli.url)  # the domain tables and the audit log
    for text in MARKERS.values():
        assert text not in everything
    if cli.url.startswith("sqlite"):
        raw = raw_bytes(cli.url)
        for text in MARKERS.values():
            assert text.encode() not in raw
    engine = sa.create_engine(cli.url)
    with engine.connect() as conn:
        for table, column in MARKERS:
            values = [v for v in conn.execute(sa.select(AUDITED[table].c[column])).scalars() if v]
            assert values and all(v.startswith("v1:") for v in values), (table, column)
    engine.dispose()
    # reads decrypt: the timeline, the hearing, the command's own answer
    events = cli.json("timeline", code, "--json")["events"]
    assert next(e for e in events if e["event"] == "case")["reference"] == MARKERS[("cases",
                                                                                      "reference")]
    assert any(e.get("reason") == "override: OVERRIDE-Koala" for e in events)
    assert any(e.get("reason") == "EXIT-Echidna" for e in events)
    from divert.registry import service
    from divert.registry.store import Registry

    reg = Registry(cli.url)
    hearing = next(e for e in events if e["table"] == "hearings" and e["status"] == "held")
    with reg.read() as conn:
        assert service.hearing_row(conn, hearing["id"])["note"] == "HEARNOTE-Dingo"
    reg.dispose()
    assert cli("verify")[0] == 0


def _copy_first_to_second(url: str, table: str, column: str) -> list[Any]:
    """Copy the stored value of `column` from the table's first row onto its second (behind the
    registry's back); the rows as they were."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        rows = conn.execute(sa.text(f"SELECT id, {column} FROM {table} ORDER BY id")).all()
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :i"),
                     {"v": getattr(rows[0], column), "i": rows[1].id})
    engine.dispose()
    return list(rows)


def test_ciphertext_moved_to_another_row_or_column_does_not_decrypt(
        cli: Cli, tmp_path: Path, session_key: Path) -> None:
    code = cli("participant", "add", "--name", "C")[1].strip()
    cli("consent", code, "--on", START, "--note", "first note")
    cli("consent", code, "--on", START, "--note", "second note")
    rows = _copy_first_to_second(cli.url, "consents", "note")
    cipher = freetext.FreeTextCipher(crypto.decode_key(session_key.read_text(), "k"))
    assert cipher.open("consents", "note", rows[0].id, rows[0].note) == "first note"
    with pytest.raises(crypto.KeyProblem, match=f"consents row {rows[1].id}, note: cannot "
                                                 "decrypt .*moved from another row or column"):
        cipher.open("consents", "note", rows[1].id, rows[0].note)
    with pytest.raises(crypto.KeyProblem, match="cannot decrypt"):
        cipher.open("rearrests", "note", rows[0].id, rows[0].note)
    # a command that reads the moved value says so in one line, exit 2, and verify sees the edit
    rc, _, err = cli("verify", ok=False)
    assert rc != 0
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    cli("case", code, "--case", str(case), "--reference", "R-1")
    cli("case", code, "--case", str(case), "--reference", "R-2")
    refs = _copy_first_to_second(cli.url, "cases", "reference")
    rc, out, err = cli("timeline", code, ok=False)
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"cases row {refs[1].id}, reference: cannot decrypt" in err


def test_rekey_re_encrypts_free_text(cli: Cli, tmp_path: Path, session_key: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code = populate(cli, tmp_path)
    before = cli.json("timeline", code, "--json")
    old = dump(cli.url, list(freetext.FIELDS))
    new = tmp_path / "new.key"
    _, out, _ = cli("rekey", "--new-key-file", str(new))
    assert "the free text of 9 rows" in out  # one row per marker
    monkeypatch.setenv("DIVERT_KEY_FILE", str(new))
    after = cli.json("timeline", code, "--json")["events"]
    assert [{**e, "version": 0} for e in after] == [{**e, "version": 0} for e in before["events"]]
    assert cli("verify")[0] == 0
    stored = dump(cli.url, list(freetext.FIELDS))
    assert not set(old.split("\n")) & {v for v in stored.split("\n") if v.startswith("v1:")}
    cipher = freetext.FreeTextCipher(crypto.decode_key(new.read_text(), "k"))
    engine = sa.create_engine(cli.url)
    with engine.connect() as conn:
        ref = conn.execute(sa.text("SELECT id, reference FROM cases")).one()
    engine.dispose()
    assert cipher.open("cases", "reference", ref.id, ref.reference) == "REF-Quokka-2024-117"
    monkeypatch.setenv("DIVERT_KEY_FILE", str(session_key))
    rc, _, err = cli("timeline", code, ok=False)
    assert rc == 2 and "Traceback" not in err


def test_deidentified_export_holds_no_free_text(cli: Cli, tmp_path: Path) -> None:
    populate(cli, tmp_path)
    out = tmp_path / "export"
    cli("export", "--deidentified", "--out", str(out))
    files = list(out.iterdir())
    assert files
    text = "\n".join(p.read_text(encoding="utf-8") for p in files)
    for marker in MARKERS.values():
        assert marker not in text


def test_init_upgrades_plaintext_rows_of_schema_0003(db_url: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command

    def upgrade_0003(engine: sa.Engine) -> tuple[str | None, str]:
        with engine.begin() as conn:
            before = database.current_revision(conn)
            command.upgrade(database._alembic_config(conn), "0003")
        return before, "0003"

    cli = Cli(db_url, capsys)
    with monkeypatch.context() as old:  # this divert as it was at schema 0003: free text in plain
        old.setattr(database, "upgrade", upgrade_0003)
        old.setattr(database, "head_revision", lambda: "0003")
        old.setattr(freetext, "FIELDS", {})
        old.setattr("divert.registry.store.FIELDS", {})
        # nor the tables of 0005 and 0006: no court calendar (Monday to Friday), no result history,
        # no account settings
        old.setattr(service, "calendar_of", lambda conn, programme_id: calendar.CourtCalendar())
        old.setattr("divert.registry.audit.AUDITED", {
            k: v for k, v in AUDITED.items()
            if k not in ("court_calendars", "closed_days", "test_results", "user_settings")})
        assert "schema 0003 (created)" in cli("init")[1]
        code = populate(cli, tmp_path)
        assert cli("verify")[0] == 0
    before_0005 = [t for t in freetext.FIELDS if t != "test_results"]
    plain = dump(db_url, before_0005)
    assert all(text in plain for text in MARKERS.values())
    rc, _, err = cli("timeline", code, ok=False)
    assert rc == 2 and "is at schema 0003" in err and "registry init" in err
    _, out, _ = cli("init")
    assert "schema 0006 (upgraded from 0003)" in out
    assert "encrypted the free text and case references of 9 rows" in out
    stored = dump(db_url, before_0005)
    for text in MARKERS.values():
        assert text not in stored
    assert cli("verify")[0] == 0
    events = cli.json("timeline", code, "--json")["events"]
    assert next(e for e in events if e["event"] == "case")["reference"] == "REF-Quokka-2024-117"
    assert any(e.get("reason") == "EXIT-Echidna" for e in events)
    # the upgrade is audited: the encrypting updates are in the log, as ciphertext
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        logged = conn.execute(sa.text("SELECT after FROM audit_log WHERE command = 'registry init' "
                                      "AND action = 'update' AND table_name = 'cases'")).scalars()
        after = list(logged)
    engine.dispose()
    assert len(after) == 1 and "v1:" in after[0] and "Quokka" not in after[0]
    assert "up to date" in cli("init")[1]


def test_interrupted_upgrade_is_refused_until_init(db_url: str, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(db_url, capsys)
    cli("init")
    cli("participant", "add", "--name", "C")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # what migration 0004 leaves when free text waits in plain
        conn.execute(sa.text("INSERT INTO registry_meta (key, value) VALUES (:k, '0004')"),
                     {"k": freetext.PENDING})
    engine.dispose()
    rc, _, err = cli("participant", "add", "--name", "D", ok=False)
    assert rc == 2 and "still holds free text in plain" in err and "registry init" in err
    cli("init")
    cli("participant", "add", "--name", "D")
    assert cli("verify")[0] == 0


def test_downgrade_from_0004_is_refused(registry: str) -> None:
    from alembic import command

    engine = database.make_engine(registry)
    with pytest.raises(RuntimeError, match="cannot be downgraded.*restore a backup"), \
            engine.begin() as conn:
        command.downgrade(database._alembic_config(conn), "0003")
    engine.dispose()
