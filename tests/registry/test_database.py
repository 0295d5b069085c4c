"""Where the registry lives, its migrations, and the encryption of identifying fields."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from divert.errors import InputError
from divert.registry import crypto, database
from divert.registry.store import Registry

from .conftest import Cli, run


def test_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert database.resolve_url() == "sqlite:///divert-registry.db"
    monkeypatch.setenv("DIVERT_DATABASE_URL", "postgresql://u@h:5/db")
    assert database.resolve_url() == "postgresql+psycopg://u@h:5/db"
    assert database.resolve_url("some/file.db") == "sqlite:///some/file.db"
    assert database.resolve_url("sqlite:////abs.db") == "sqlite:////abs.db"
    with pytest.raises(InputError, match="--db: unsupported database 'mysql'"):
        database.resolve_url("mysql://u@h/db")
    assert database.shown("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"


def test_migrations_ship_inside_the_package() -> None:
    import divert

    assert database.MIGRATIONS.is_relative_to(Path(divert.__file__).parent)
    assert (database.MIGRATIONS / "env.py").exists()
    assert database.head_revision() == "0006"


def test_init_creates_schema_and_default_programme(db_url: str, capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    code, out, err = run(["registry", "init", "--db", db_url], capsys)
    assert code == 0, err
    assert "schema 0006 (created)" in out
    code, out, _ = run(["registry", "init", "--db", db_url], capsys)
    assert "schema 0006 (up to date)" in out
    code, out, _ = run(["registry", "programme", "show", "--db", db_url], capsys)
    assert "default" in out and "phase 1 stabilisation: 3.0 tests/week" in out


def test_migration_matches_the_models(registry: str) -> None:
    """The schema `init` builds from the migrations is what the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from divert.registry.models import metadata

    engine = sa.create_engine(registry)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_default_database_file_in_the_current_directory(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["registry", "init"], capsys)
    assert code == 0, err
    assert (tmp_path / "divert-registry.db").exists()  # cwd is tmp_path in registry tests


# ---- encryption -----------------------------------------------------------------------------------

def test_init_creates_a_private_key_file_and_says_where(db_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "fresh" / "my.key"
    monkeypatch.setenv("DIVERT_KEY_FILE", str(key))
    code, out, err = run(["registry", "init", "--db", db_url], capsys)
    assert code == 0, err
    assert f"created the encryption key file {key}" in out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(crypto.decode_key(key.read_text(), "k")) == 32
    # the key is not in the database; a second init keeps the key
    before = key.read_text()
    code, out, _ = run(["registry", "init", "--db", db_url], capsys)
    assert key.read_text() == before and f"encryption key: {key}" in out


def test_default_key_file_under_xdg_config(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DIVERT_KEY_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    code, out, err = run(["registry", "init", "--db", db_url], capsys)
    assert code == 0, err
    assert (tmp_path / "cfg" / "divert" / "registry.key").exists()


def test_identity_is_encrypted_at_rest(cli: Cli, session_key: Path) -> None:
    code = cli("participant", "add", "--name", "Maria Unique-Name", "--birth-date", "1977-05-06",
               "--contact", "maria@example.org")[1].strip()
    engine = sa.create_engine(cli.url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM participants WHERE code = :c"),
                           {"c": code}).mappings().one()
        dump = " ".join(str(v) for r in conn.execute(sa.text("SELECT * FROM participants")) for v in r)
        meta = dict(conn.execute(sa.text("SELECT key, value FROM registry_meta")).all())
    engine.dispose()
    for plain in ("Maria", "1977-05-06", "maria@example"):
        assert plain not in dump
    assert row["name_enc"].startswith("v1:")
    assert session_key.read_text().strip() not in dump + " ".join(meta.values())
    if cli.url.startswith("sqlite"):
        raw = Path(cli.url.removeprefix("sqlite:///")).read_bytes()
        assert b"Maria" not in raw
    # a ciphertext moved to another participant or field does not decrypt
    cipher = crypto.FieldCipher(crypto.decode_key(session_key.read_text(), "k"))
    assert cipher.decrypt(code, "name", row["name_enc"]) == "Maria Unique-Name"
    with pytest.raises(crypto.KeyProblem, match="moved from another participant"):
        cipher.decrypt("P-00000000", "name", row["name_enc"])
    with pytest.raises(crypto.KeyProblem):
        cipher.decrypt(code, "contact", row["name_enc"])


def test_wrong_or_missing_key_is_refused(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    code = cli("participant", "add", "--name", "K")[1].strip()
    other = tmp_path / "other.key"
    crypto.create_key_file(other)
    monkeypatch.setenv("DIVERT_KEY_FILE", str(other))
    rc, _, err = cli("participant", "show", code, "--identify", ok=False)
    assert rc == 2 and "not this registry's key" in err
    monkeypatch.setenv("DIVERT_KEY", "not base64!!")
    rc, _, err = cli("participant", "add", "--name", "Y", ok=False)
    assert rc == 2 and "DIVERT_KEY" in err
    monkeypatch.delenv("DIVERT_KEY")
    monkeypatch.setenv("DIVERT_KEY_FILE", str(tmp_path / "absent.key"))
    rc, _, err = cli("participant", "add", "--name", "Y", ok=False)
    assert rc == 2 and "no encryption key" in err and "registry init" in err
    # commands that do not touch identity work without the key
    assert cli("timeline", code)[0] == 0


def test_key_from_environment_takes_precedence(cli: Cli, session_key: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIVERT_KEY", session_key.read_text().strip())
    monkeypatch.setenv("DIVERT_KEY_FILE", "/nonexistent/key")
    code = cli("participant", "add", "--name", "Env Key")[1].strip()
    assert cli.json("participant", "show", code, "--identify", "--json")["name"] == "Env Key"


def test_registry_refuses_an_unknown_schema_revision(registry: str) -> None:
    engine = sa.create_engine(registry)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    reg = Registry(registry)
    from divert.registry.database import RegistryError

    with pytest.raises(RegistryError, match="is at schema 0000, this divert needs 0006"), reg.read():
        pass
    reg.dispose()
    assert os.environ.get("DIVERT_KEY") is None


def test_init_upgrades_a_registry_of_schema_0001(db_url: str, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    from alembic import command

    engine = database.make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(database._alembic_config(conn), "0001")
    engine.dispose()
    code, out, err = run(["registry", "init", "--db", db_url], capsys)
    assert code == 0, err
    assert "schema 0006 (upgraded from 0001)" in out
    code, out, err = run(["registry", "verify", "--db", db_url], capsys)
    assert code == 0, out + err
