"""Opening a registry and changing it: one transaction per command, audited, optimistically locked.

`Registry(url).write(actor, command)` yields a `Tx`. The transaction first locks the audit head
(PostgreSQL: `SELECT ... FOR UPDATE`; SQLite: `BEGIN IMMEDIATE`), so writers queue and the chain
never forks. Every insert, update and delete goes through `Tx`, which appends the audit record in the
same transaction: either the command's changes and their audit records are committed together, or
neither is (a process killed mid-command leaves the registry as it was).

Updates name the version they read. `UPDATE ... WHERE id = :id AND version = :read` bumps it; a
stale version raises `ConflictError`, which carries the caller's data so they can be kept for retry.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table, func, select
from sqlalchemy.exc import DatabaseError, OperationalError

from divert.errors import DivertError
from divert.registry import database
from divert.registry.audit import GENESIS, Chain, Head, canonical, meta_image
from divert.registry.freetext import FIELDS, PENDING, FreeTextCipher
from divert.registry.models import AUDITED, AuditHead, RegistryMeta

HEAD_LOG_ENV = "DIVERT_AUDIT_HEAD_LOG"
CHAIN_KEY = "audit_key"

_head = AuditHead.__table__
_meta = RegistryMeta.__table__


class ConflictError(DivertError):
    """Someone changed the record since it was read; `data` are the caller's, kept for retry."""

    def __init__(self, table: str, row_id: int, read_version: int | None, current: Mapping[str, Any],
                 data: Mapping[str, Any]) -> None:
        self.table, self.row_id, self.read_version = table, row_id, read_version
        self.current = dict(current)
        self.data = dict(data)
        super().__init__(f"conflict: {table} row {row_id} is at version {current.get('version')}, "
                         f"not {read_version} as read; it was changed by someone else meanwhile")

    def to_json(self) -> dict[str, Any]:
        from divert.registry.audit import image

        return {"error": "conflict", "table": self.table, "id": self.row_id,
                "read_version": self.read_version, "current_version": self.current.get("version"),
                "yours": self.data, "current": image(AUDITED[self.table], self.current)}


def default_actor() -> str:
    """`$USER` (or the login name) when no `--actor` is given."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def utcnow() -> dt.datetime:
    """Now, as a naive UTC datetime (how the registry stores times)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _complete(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """The row with every column: given values, else the column's scalar default, else None."""
    unknown = set(values) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name}: unknown columns {sorted(unknown)}")
    row: dict[str, Any] = {}
    for col in table.columns:
        if col.name in values:
            value = values[col.name]
            if value is not None and isinstance(col.type, JSON):
                value = json.loads(canonical(value))  # JSON-safe: dates as ISO text
            row[col.name] = value
        elif col.default is not None and getattr(col.default, "is_scalar", False):
            row[col.name] = col.default.arg  # type: ignore[attr-defined]
        else:
            row[col.name] = None
    return row


@dataclass
class Tx:
    """One command's transaction: audited writes and reads on the same connection."""

    conn: Connection
    chain: Chain
    now: dt.datetime
    stats: dict[str, int] = field(default_factory=dict)
    freetext: FreeTextCipher | None = None

    def _cipher(self) -> FreeTextCipher:
        if self.freetext is None:
            from divert.registry.freetext import cipher_of

            self.freetext = cipher_of(self.conn)
        return self.freetext

    def stored(self, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """`row` as the database holds it: its free-text columns sealed (a row handed back by this
        `Tx`, with plain text, is read again for them)."""
        cols = FIELDS.get(table)
        out = dict(row)
        if not cols:
            return out
        c = self._cipher()
        if any(k in out and not c.is_sealed(table, k, out["id"], out[k]) for k in cols):
            current = self.get(table, out["id"]) or {}
            for k in cols:
                if k in out and not c.is_sealed(table, k, out["id"], out[k]):
                    out[k] = current.get(k)
        return out

    @property
    def actor(self) -> str:
        return self.chain.actor

    def record_views(self, table: str, row_ids: Sequence[int]) -> int:
        """Audit a view of identifying data in rows of `table` (each record carries the row's
        current digest, so `verify` still checks the row); returns the rows found."""
        from divert.registry.audit import digest

        t = AUDITED[table]
        n = 0
        for start in range(0, len(row_ids), 500):
            ids = list(row_ids[start:start + 500])
            for row in self.conn.execute(select(t).where(t.c.id.in_(ids)).order_by(t.c.id)).mappings():
                self.chain.add_text("view", t, int(row["id"]), None, None, digest(t, row))
                n += 1
        return n

    def record_export(self, what: Mapping[str, Any]) -> None:
        """Audit an export (what was exported, where to, with which suppression)."""
        self.chain.add_event("export", "exports", 0, canonical(dict(what)))

    def set_meta(self, facts: Mapping[str, str]) -> None:
        """Set facts of `registry_meta` (the key check, the sealed chain key), audited."""
        for key, value in facts.items():
            if self.conn.execute(select(_meta.c.key).where(_meta.c.key == key)).first() is None:
                self.conn.execute(_meta.insert().values(key=key, value=value))
            else:
                self.conn.execute(_meta.update().where(_meta.c.key == key).values(value=value))
        self.chain.add_meta(meta_image(self.conn))

    def get(self, table: str, row_id: int) -> dict[str, Any] | None:
        """The row `row_id` of `table`, as a dict (None when absent)."""
        t = AUDITED[table]
        row = self.conn.execute(select(t).where(t.c.id == row_id)).mappings().first()
        return dict(row) if row else None

    def insert(self, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Insert one row; returns it with its id."""
        return self.insert_many(table, [values])[0]

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]], keep: bool = True
                    ) -> list[dict[str, Any]]:
        """Insert rows (in batches); returns them with their ids, in order (none unless `keep`)."""
        t = AUDITED[table]
        done: list[dict[str, Any]] = []
        if not rows:
            return done
        # ids are assigned here: every writer holds the audit head's lock, so max(id) is stable
        next_id = (self.conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1
        for start in range(0, len(rows), 5000):
            batch = [_complete(t, r) for r in rows[start:start + 5000]]
            for r in batch:
                r["id"] = next_id
                r["version"] = 1
                next_id += 1
            sealed = [self._cipher().seal_row(table, r) for r in batch] if table in FIELDS else batch
            self.conn.execute(t.insert(), sealed)
            for r in sealed:
                self.chain.add_insert(t, r["id"], r)
            if keep:
                done += batch
        self.stats[table] = self.stats.get(table, 0) + len(rows)
        return done

    def update(self, table: str, row: Mapping[str, Any], changes: Mapping[str, Any],
               read_version: int | None = None, data: Mapping[str, Any] | None = None,
               sealed: bool = False) -> dict[str, Any]:
        """Change `row` (as read in this transaction); `read_version` is what the caller saw."""
        return self.update_many(table, [(row, changes)], read_version, data, sealed)[0]

    def update_many(self, table: str, items: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
                    read_version: int | None = None, data: Mapping[str, Any] | None = None,
                    sealed: bool = False) -> list[dict[str, Any]]:
        """Apply `(row, changes)` pairs; each row must still be at the version it was read at.
        Free-text changes are plain text, sealed here (`sealed`: already as stored, returned so)."""
        t = AUDITED[table]
        out: list[dict[str, Any]] = []
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        secret = FIELDS.get(table, ()) if not sealed else ()
        for given, changes in items:
            row = self.stored(table, given) if secret else dict(given)
            shown = self._cipher().open_row(table, row) if secret else row
            if read_version is not None and row["version"] != read_version:
                raise ConflictError(table, row["id"], read_version, shown, data or changes)
            plain = {k: v for k, v in changes.items() if shown[k] != v}
            if not plain:
                out.append(shown)
                continue
            diff = {k: (self._cipher().seal(table, k, row["id"], v) if k in secret else v)
                    for k, v in plain.items()}
            new = {**row, **diff, "version": row["version"] + 1}
            before = {k: row[k] for k in diff} | {"version": row["version"]}
            after = {k: new[k] for k in diff} | {"version": new["version"]}
            self.chain.add("update", t, row["id"], _plain_row(before), _plain_row(after), new)
            params = {f"v_{k}": new[k] for k in diff} | {
                "v_version": new["version"], "w_id": row["id"], "w_version": row["version"]}
            groups.setdefault(tuple(sorted(diff)), []).append(params)
            out.append({**shown, **plain, "version": new["version"]})
        from sqlalchemy import and_, bindparam

        for cols, params in groups.items():
            stmt = (t.update()
                    .where(and_(t.c.id == bindparam("w_id"), t.c.version == bindparam("w_version")))
                    .values({c: bindparam(f"v_{c}") for c in (*cols, "version")}))
            result = self.conn.execute(stmt, params)
            if self.conn.dialect.supports_sane_multi_rowcount or len(params) == 1:
                if result.rowcount != len(params):
                    self._raise_stale(table, params, data)
        self.stats[table] = self.stats.get(table, 0) + len(out)
        return out

    def _raise_stale(self, table: str, params: list[dict[str, Any]],
                     data: Mapping[str, Any] | None) -> None:
        for p in params:
            current = self.get(table, p["w_id"]) or {"version": None}
            if table in FIELDS and "id" in current:
                current = self._cipher().open_row(table, current)
            if current["version"] != p["v_version"]:
                raise ConflictError(table, p["w_id"], p["w_version"], current, data or {})
        raise ConflictError(table, params[0]["w_id"], params[0]["w_version"], {}, data or {})

    def delete(self, table: str, row: Mapping[str, Any], read_version: int | None = None) -> None:
        """Delete a row (as read in this transaction), if it is still at the version read."""
        t = AUDITED[table]
        row = self.stored(table, row)
        if read_version is not None and row["version"] != read_version:
            raise ConflictError(table, row["id"], read_version, row, {})
        result = self.conn.execute(t.delete().where(t.c.id == row["id"], t.c.version == row["version"]))
        if result.rowcount != 1:
            raise ConflictError(table, row["id"], row["version"], self.get(table, row["id"]) or {}, {})
        self.chain.add("delete", t, row["id"], _plain_row(dict(row)), None, None)


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in row.items()}


class _FifoLock:
    """A lock granted in arrival order (threading.Lock lets a newcomer barge in ahead of waiters)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def __enter__(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()  # the releasing thread hands the lock over: it stays held

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False


class Registry:
    """A registry database: opens read and write transactions on it."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.url = database.resolve_url(url)
        self.engine = engine or database.make_engine(self.url)
        self._checked = False
        # SQLite has one writer at a time and its busy handler polls with growing sleeps, so under
        # many threads (the web server) a writer can starve for seconds; writers of this process
        # queue in arrival order instead, before taking a pooled connection (other processes
        # still wait on the busy timeout).
        self._write_lock = _FifoLock() if self.url.startswith("sqlite") else None
        self._chain_key: bytes | None = None
        self._key: tuple[bytes, str] | None = None
        self._freetext: FreeTextCipher | None = None
        self.last_head: Head | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    def chain_key(self, conn: Connection) -> bytes:
        """The audit chain's key, opened with the registry key (`crypto.load_key`)."""
        if self._chain_key is None:
            from divert.registry import crypto

            sealed = self.meta(conn).get(CHAIN_KEY)
            if sealed is None:
                raise database.RegistryError(f"the registry at {database.shown(self.url)} has no "
                                             "keyed audit chain yet: run `divert registry init` "
                                             "(with its key) to upgrade it")
            key, source = self.key()
            self._chain_key = crypto.open_secret(key, sealed, "audit chain key", source)
        return self._chain_key

    def key(self) -> tuple[bytes, str]:
        """The registry key and where it came from (`crypto.load_key`, read once)."""
        if self._key is None:
            from divert.registry import crypto

            self._key = crypto.load_key()
        return self._key

    def freetext(self) -> FreeTextCipher:
        """The cipher of the free-text columns (`freetext`), under the registry key."""
        if self._freetext is None:
            self._freetext = FreeTextCipher(self.key()[0])
        return self._freetext

    def _check(self, conn: Connection, upgrading: bool = False) -> None:
        if self._checked:
            return
        try:
            current = database.current_revision(conn)
        except DatabaseError as exc:
            raise database.RegistryError(f"cannot open the registry at {database.shown(self.url)}: "
                                         f"{_first_line(exc)}") from None
        head = database.head_revision()
        if current is None:
            raise database.RegistryError(f"no registry at {database.shown(self.url)}: run "
                                         "`divert registry init` first")
        if current != head:
            raise database.RegistryError(f"the registry at {database.shown(self.url)} is at schema "
                                         f"{current}, this divert needs {head}: run "
                                         "`divert registry init` to upgrade it")
        if PENDING in self.meta(conn):
            if upgrading:
                return
            raise database.RegistryError(f"the registry at {database.shown(self.url)} still holds "
                                         "free text in plain: run `divert registry init` (with its "
                                         "key) to finish the upgrade")
        self._checked = True

    @contextmanager
    def _connect(self, readonly: bool) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise database.RegistryError(f"cannot connect to {database.shown(self.url)}: "
                                         f"{_first_line(exc)}") from None
        with conn:
            if readonly:
                conn = conn.execution_options(divert_readonly=True)
            from divert.registry.freetext import attach

            attach(conn, self.freetext)
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (rolled back at the end)."""
        with self._connect(readonly=True) as conn, conn.begin() as trans:
            self._check(conn)
            yield conn
            trans.rollback()

    @contextmanager
    def write(self, actor: str | None, command: str, upgrading: bool = False) -> Iterator[Tx]:
        """One command's transaction: commits everything, audit included, or nothing
        (`upgrading`: also while the free text awaits encryption, for `seal_plaintext`)."""
        with self._write_lock or nullcontext(), self._connect(readonly=False) as conn, conn.begin():
            self._check(conn, upgrading)
            head = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)
                                .with_for_update()).first()
            if head is None:
                raise database.RegistryError("the audit head is missing: run `divert registry verify`")
            now = utcnow()
            chain = Chain(conn, self.chain_key(conn), actor or default_actor(), command, now,
                          head.seq, head.hash)
            tx = Tx(conn, chain, now, freetext=self.freetext())
            yield tx
            tx.chain.flush()
        if tx.chain.written:
            self.last_head = Head(tx.chain.seq, tx.chain.hash)
            _log_head(self.last_head, tx.chain)

    def head(self) -> Head:
        """The chain's last link as the database holds it (to keep elsewhere)."""
        with self.read() as conn:
            row = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
        if row is None:
            raise database.RegistryError("the audit head is missing: run `divert registry verify`")
        return Head(int(row.seq), str(row.hash))

    def meta(self, conn: Connection) -> dict[str, str]:
        """The registry's key/value facts."""
        return {k: v for k, v in conn.execute(select(_meta.c.key, _meta.c.value))}


def _log_head(head: Head, chain: Chain) -> None:
    """Append the new head to the file named by `DIVERT_AUDIT_HEAD_LOG` (kept off the database's
    machine or write-once, it is what `verify --expect-head FILE` checks against)."""
    path = os.environ.get(HEAD_LOG_ENV)
    if not path:
        return
    line = f"{head} {chain.at.isoformat()}Z {chain.actor} {chain.command}"[:400] + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        import sys

        sys.stderr.write(f"warning: {HEAD_LOG_ENV}: cannot append to {path}: {exc.strerror}; "
                         f"the new audit head is {head}\n")


def setup_keys(reg: Registry, key: bytes, source: str, actor: str | None) -> str:
    """Record the key check and a sealed chain key (once), rechaining a registry made before the
    keyed chain; refuses a key that is not the registry's. Returns what was done."""
    import secrets

    from divert.registry import audit, crypto

    check = crypto.key_check(key)
    with reg.engine.begin() as conn:
        facts = reg.meta(conn)
        if facts.get("key_check") not in (None, check):
            raise crypto.KeyProblem(f"{source}: not this registry's key (it was initialised with "
                                    "another one)")
        if CHAIN_KEY in facts:
            crypto.open_secret(key, facts[CHAIN_KEY], "audit chain key", source)
            return "keyed chain"
        chain_key = secrets.token_bytes(32)
        if reg.dialect == "postgresql":
            conn.execute(select(_head.c.id).with_for_update())
        n = audit.rechain_legacy(conn, chain_key)
        for name, value in (("key_check", check),
                            (CHAIN_KEY, crypto.seal_secret(key, chain_key, "audit chain key"))):
            if name in facts:
                conn.execute(_meta.update().where(_meta.c.key == name).values(value=value))
            else:
                conn.execute(_meta.insert().values(key=name, value=value))
        head = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
        assert head is not None
        chain = Chain(conn, chain_key, actor or default_actor(), "registry init", utcnow(),
                      head.seq, head.hash)
        chain.add_meta(meta_image(conn))
        chain.flush()
    reg._chain_key = chain_key
    return f"rechained {n} audit records under a new chain key" if n else "new keyed chain"


def seal_plaintext(reg: Registry, actor: str | None) -> int:
    """Encrypt the free text that migration 0004 found in plain, in one audited transaction (the
    `registry init` that upgraded the schema); returns the rows changed."""
    from sqlalchemy import or_

    n = 0
    with reg.write(actor, "registry init", upgrading=True) as tx:
        if PENDING not in reg.meta(tx.conn):
            return 0
        c = tx._cipher()
        for table, cols in FIELDS.items():
            t = AUDITED[table]
            last = 0
            while True:
                rows = tx.conn.execute(select(t).where(t.c.id > last,
                                                       or_(*[t.c[k].isnot(None) for k in cols]))
                                       .order_by(t.c.id).limit(5000)).mappings().all()
                if not rows:
                    break
                last = rows[-1]["id"]
                items = []
                for r in rows:
                    changes = {k: c.seal(table, k, r["id"], r[k]) for k in cols
                               if not c.is_sealed(table, k, r["id"], r[k])}
                    if changes:
                        items.append((dict(r), changes))
                tx.update_many(table, items, sealed=True)
                n += len(items)
        tx.conn.execute(_meta.delete().where(_meta.c.key == PENDING))
        tx.chain.add_meta(meta_image(tx.conn))
    return n


def init_registry(reg: Registry) -> tuple[str | None, str]:
    """Create or upgrade the schema, then the audit head; returns (revision before, after)."""
    try:
        before, after = database.upgrade(reg.engine)
    except DatabaseError as exc:
        raise database.RegistryError(f"cannot open {database.shown(reg.url)}: {_first_line(exc)}") \
            from None
    database.make_private(reg.url)
    with reg.engine.begin() as conn:
        if conn.execute(select(_head.c.id)).first() is None:
            conn.execute(_head.insert().values(id=1, seq=0, hash=GENESIS))
    return before, after


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)) or type(exc).__name__
    return text.strip().splitlines()[0]
