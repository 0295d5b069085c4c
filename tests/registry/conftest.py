"""Registry fixtures: every registry test runs on SQLite and on PostgreSQL.

PostgreSQL comes from `DIVERT_TEST_POSTGRES_URL` (scripts/with_postgres.sh sets it; `make test` runs
pytest through it). Each test gets its own schema there, dropped afterwards. Without the variable
the PostgreSQL runs are skipped with the reason shown, except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from divert.cli import main

PG_ENV = "DIVERT_TEST_POSTGRES_URL"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `divert ARGS` in-process: exit code, stdout, stderr."""
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def _registry_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A key file of the test's own; no database or key from the environment; cwd in tmp."""
    for name in ("DIVERT_KEY", "DIVERT_DATABASE_URL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    key = tmp_path / "keys" / "registry.key"
    monkeypatch.setenv("DIVERT_KEY_FILE", str(key))
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)
    return key


def _pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        reason = (f"{PG_ENV} is not set: run the tests through scripts/with_postgres.sh "
                  "(as `make test` does)")
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL registry tests cannot run under CI: {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (a file; a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    base = _pg_url()
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def registry(db_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """An initialised registry (schema, key file, default programme); its URL."""
    code, out, err = run(["registry", "init", "--db", db_url], capsys)
    assert code == 0, err
    return db_url


class Cli:
    """`divert registry ...` against one registry, in-process."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url, self.capsys = url, capsys

    def __call__(self, *args: str, ok: bool = True) -> tuple[int, str, str]:
        code, out, err = run(["registry", *args, "--db", self.url], self.capsys)
        if ok:
            assert code == 0, (args, err)
        return code, out, err

    def json(self, *args: str) -> object:
        import json

        return json.loads(self(*args)[1])


@pytest.fixture
def cli(registry: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(registry, capsys)
