"""Where the registry lives and how to open it: URL, engine, schema migrations.

The URL comes from `--db`, else `DIVERT_DATABASE_URL`, else the SQLite file `./divert-registry.db`
(in the current directory). `--db` also takes a plain file path (SQLite) and `postgresql://...`
URLs (driven by psycopg 3). `registry init` runs the Alembic migrations shipped inside the package
(`divert/registry/migrations`) up to head; every other command refuses a registry that is not at
head, naming the command that fixes it.

SQLite runs in WAL mode with `synchronous = FULL` (a committed write survives a power cut: the WAL
is synced at every commit) and foreign keys on, and each writing transaction starts with
`BEGIN IMMEDIATE`, so writers queue instead of failing half-way; PostgreSQL writers queue on the
audit head's row lock (see `store`). A new SQLite file is created readable by its owner only
(0600); SQLite gives its `-wal` and `-shm` files the same mode.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from divert.errors import DivertError, InputError

URL_ENV = "DIVERT_DATABASE_URL"
DEFAULT_FILE = "divert-registry.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class RegistryError(DivertError):
    """The registry cannot be used as asked (not initialised, unreachable, wrong key ...)."""


def resolve_url(db: str | None = None) -> str:
    """The database URL: `db`, else `DIVERT_DATABASE_URL`, else `sqlite:///divert-registry.db`."""
    raw = db or os.environ.get(URL_ENV) or DEFAULT_FILE
    if "://" not in raw:
        return f"sqlite:///{raw}"
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise InputError(f"--db: {raw!r} is not a database URL; allowed: a file path, "
                         "sqlite:///PATH or postgresql://USER@HOST:PORT/DB") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(f"--db: unsupported database {url.get_backend_name()!r}; allowed: sqlite, "
                         "postgresql")
    return raw


def shown(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, set up for the registry's transaction discipline."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            _create_private(path)
        engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = "DEFERRED" if conn.get_execution_options().get("divert_readonly") else "IMMEDIATE"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, **kwargs)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_private(path: Path) -> None:
    """Create an absent SQLite file as an empty file of mode 0600 (SQLite would use 0644)."""
    if path.exists() or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite reports what is wrong when it opens the file


def make_private(url: str) -> list[Path]:
    """chmod 0600 the SQLite file and its `-wal`/`-shm` files; returns those that were wider."""
    path = sqlite_path(url) if url.startswith("sqlite") else None
    changed = []
    for p in ([path, Path(f"{path}-wal"), Path(f"{path}-shm")] if path else []):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
                changed.append(p)
        except OSError:
            continue
    return changed


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this divert."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The migration the database is at (None when it was never initialised)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Run the migrations up to head; returns (revision before, revision after)."""
    from alembic import command

    with engine.begin() as conn:
        before = current_revision(conn)
        command.upgrade(_alembic_config(conn), "head")
        after = current_revision(conn)
    assert after is not None
    return before, after
