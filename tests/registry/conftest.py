"""Registry fixtures: every registry test runs on SQLite and on PostgreSQL.

PostgreSQL comes from `DIVERT_TEST_POSTGRES_URL` (scripts/with_postgres.sh sets it; `make test` runs
pytest through it). Each test gets its own schema there, dropped afterwards. Without the variable
the PostgreSQL runs are skipped with the reason shown, except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from divert.cli import main

from ..conftest import run_cli as run  # noqa: F401 - imported by the registry tests

PG_ENV = "DIVERT_TEST_POSTGRES_URL"
#: the registry's today in these tests: the Monday the tests' programmes start (nothing may be
#: booked before today, so a fixed day keeps their dated schedules valid whatever the clock says)
REGISTRY_TODAY = dt.date(2026, 1, 5)


@pytest.fixture(autouse=True)
def _registry_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    from divert.registry import service

    monkeypatch.setattr(service, "today", lambda: REGISTRY_TODAY)
    return REGISTRY_TODAY


@pytest.fixture(scope="package", autouse=True)
def _cached_click_command() -> Iterator[None]:
    """Build the click command of the typer app once (typer rebuilds it on every call: ~0.5 s)."""
    import typer.main

    original = typer.main.get_command
    cache: dict[int, object] = {}

    def cached(app: object) -> object:
        if id(app) not in cache:
            cache[id(app)] = original(app)  # type: ignore[arg-type]
        return cache[id(app)]

    typer.main.get_command = cached  # type: ignore[assignment]
    yield
    typer.main.get_command = original


@pytest.fixture(scope="session")
def session_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One key file for the initialised template registries."""
    from divert.registry.crypto import create_key_file

    path = tmp_path_factory.mktemp("session-key") / "registry.key"
    create_key_file(path)
    return path


@pytest.fixture(autouse=True)
def _registry_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session_key: Path) -> Path:
    """The session's key file; no database or key from the environment; cwd in tmp."""
    for name in ("DIVERT_KEY", "DIVERT_DATABASE_URL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIVERT_KEY_FILE", str(session_key))
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)
    return session_key


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
def backend(request: pytest.FixtureRequest) -> str:
    """Each registry test runs on both backends."""
    if request.param == "postgresql":
        _pg_url()
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (a file; a fresh PostgreSQL schema)."""
    if backend == "sqlite":
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


def _init(url: str) -> None:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["registry", "init", "--db", url])
        except SystemExit as exc:  # pragma: no cover - init failing fails every test
            raise AssertionError(f"registry init failed: {exc.code}") from None


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory, session_key: Path) -> Iterator[dict[str, str]]:
    """Registries initialised once (schema, default programme), copied for each test."""
    made: dict[str, str] = {}
    old = os.environ.get("DIVERT_KEY_FILE")
    os.environ["DIVERT_KEY_FILE"] = str(session_key)
    try:
        yield made
    finally:
        if old is None:
            os.environ.pop("DIVERT_KEY_FILE", None)
        else:
            os.environ["DIVERT_KEY_FILE"] = old
        if "postgresql" in made:
            admin = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {made['postgresql']} WITH (FORCE)"))
            admin.dispose()


@pytest.fixture
def registry(backend: str, tmp_path: Path, _templates: dict[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An initialised registry (schema, default programme, the session key); its URL."""
    import shutil

    if backend == "sqlite":
        if "sqlite" not in _templates:
            path = tmp_path_factory.mktemp("template") / "registry.db"
            _init(f"sqlite:///{path}")
            _templates["sqlite"] = str(path)
        target = tmp_path / "registry.db"
        shutil.copyfile(_templates["sqlite"], target)
        yield f"sqlite:///{target}"
        return
    base = sa.engine.make_url(_pg_url())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    if "postgresql" not in _templates:
        name = "tpl_" + uuid.uuid4().hex[:10]
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        url = base.set(database=name).render_as_string(hide_password=False)
        _init(url)
        _templates["postgresql"] = name
    name = "t_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE {_templates['postgresql']}"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


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
