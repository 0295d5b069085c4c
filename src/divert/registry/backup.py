"""Backups of a SQLite registry with SQLite's online backup API, verified after copying.

`cp` of a live WAL database can miss committed pages that are still in the `-wal` file; the online
backup API copies a consistent snapshot while others keep writing. The copy is created with mode
0600, then checked with `audit.verify` under the registry's chain key. PostgreSQL registries are
backed up with `pg_dump` (docs/registry.md).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from divert.errors import InputError
from divert.registry import audit, database
from divert.registry.store import Registry


def backup_sqlite(reg: Registry, out: Path, pages: int = 4096) -> audit.Report:
    """Copy `reg` (SQLite) to the new file `out` and verify the copy; returns the copy's report."""
    if reg.dialect != "sqlite":
        raise InputError("--db: `divert registry backup` copies SQLite registries; back up "
                         "PostgreSQL with pg_dump --format=custom (docs/registry.md)")
    source = database.sqlite_path(reg.url)
    if source is None or not source.is_file():
        raise InputError(f"--db: no registry file at {source}: run `divert registry init` first")
    with reg.read() as conn:  # refuses a file that is not an initialised registry
        key = reg.chain_key(conn)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"--out: {out} exists; a backup goes to a new file") from None
    except OSError as exc:
        raise InputError(f"--out: cannot create {out}: {exc.strerror}") from None
    os.close(fd)
    try:
        src = sqlite3.connect(str(source), timeout=60)
        dst = sqlite3.connect(str(out))
        try:
            src.backup(dst, pages=pages)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        out.unlink(missing_ok=True)
        raise InputError(f"--db: cannot back up {source}: {exc}") from None
    os.chmod(out, 0o600)
    copy = Registry(f"sqlite:///{out}")
    try:
        with copy.read() as conn:
            return audit.verify(conn, key)
    finally:
        copy.dispose()
