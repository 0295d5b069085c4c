"""The audit log: every change to a domain table, appended and chained with a keyed hash.

A record says who (`actor`), when (`at`, UTC), with which command, what (`action` on `table_name`
row `row_id`), the fields before and after, and `row_digest`: the SHA-256 of the whole row as it
stood after the change (a canonical JSON image of every column). Its `hash` is the HMAC-SHA256, under
the registry's chain key, of the previous record's hash and its own content, so editing, inserting
or removing a record breaks the chain from there on, and only a holder of the key can rechain.
The chain key is 32 random bytes kept in `registry_meta` sealed (AES-256-GCM) under the registry
key, which lives outside the database (`crypto`): whoever can write the database but does not hold
the key cannot forge a link. The facts of `registry_meta` (the key check and the sealed chain key)
are in the chain too (`action = 'meta'`, `row_id = 0`, digest of the whole table).

`audit_head` holds the last link. Cutting records from the end and moving the head back cannot be
seen from inside the database; it is seen against a head kept elsewhere: `divert registry head`
prints `SEQ:HASH`, `DIVERT_AUDIT_HEAD_LOG` appends it after every write, and
`verify --expect-head SEQ:HASH` (or the head log's file) requires the chain to hold that link.

`verify` checks the chain record by record, then compares every current row of every audited table
with the digest of its last audit record: a row edited, inserted or deleted behind the
application's back no longer matches. It streams both sides in id order, so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Connection, Date, DateTime, Table, select

from divert.errors import InputError
from divert.registry.models import AUDITED, AuditHead, AuditRecord, RegistryMeta

GENESIS = "0" * 64
META_TABLE = "registry_meta"
_log = AuditRecord.__table__
_head = AuditHead.__table__
_meta = RegistryMeta.__table__


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def image(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical image of a row: every column, as JSON-safe values."""
    out: dict[str, Any] = {}
    for col in table.columns:
        value = row[col.name]
        if value is not None and isinstance(col.type, Date | DateTime):
            value = value.isoformat()
        elif value is not None and isinstance(col.type, JSON):
            value = json.loads(canonical(value))
        out[col.name] = value
    return out


def canonical(data: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, dates as ISO text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def digest(table: Table, row: Mapping[str, Any]) -> str:
    """SHA-256 of the row's canonical image."""
    return hashlib.sha256(canonical(image(table, row)).encode("utf-8")).hexdigest()


def _body(prev_hash: str, rec: Mapping[str, Any]) -> bytes:
    body = canonical([rec["seq"], rec["at"].isoformat(), rec["actor"], rec["command"], rec["action"],
                      rec["table_name"], rec["row_id"], rec["before"], rec["after"],
                      rec["row_digest"]])
    return f"{prev_hash}|{body}".encode()


def link(key: bytes, prev_hash: str, rec: Mapping[str, Any]) -> str:
    """The hash of an audit record: HMAC-SHA256 under the chain key of its predecessor's hash and
    its own content."""
    return hmac.new(key, _body(prev_hash, rec), hashlib.sha256).hexdigest()


def legacy_link(prev_hash: str, rec: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 link of registries made before the keyed chain (read once, to rechain)."""
    return hashlib.sha256(_body(prev_hash, rec)).hexdigest()


def meta_image(conn: Connection) -> dict[str, str]:
    """Every fact of `registry_meta`, as one image."""
    return {k: v for k, v in conn.execute(select(_meta.c.key, _meta.c.value).order_by(_meta.c.key))}


def meta_digest(facts: Mapping[str, str]) -> str:
    """SHA-256 of the canonical image of `registry_meta`."""
    return hashlib.sha256(canonical(dict(facts)).encode()).hexdigest()


@dataclass(frozen=True)
class Head:
    """A link of the chain kept outside the database: record `seq` has hash `hash`."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


_HEAD = re.compile(r"^(\d{1,18}):([0-9a-f]{64})$")


def parse_head(text: str, source: str = "--expect-head") -> Head:
    """`SEQ:HASH` as printed by `divert registry head`, or the last line of a head log file."""
    raw = text.strip()
    if not _HEAD.match(raw):
        from pathlib import Path

        path = Path(raw)
        try:
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError, ValueError):
            lines = None
        if lines is None:
            raise InputError(f"{source}: {raw[:80]!r} is neither SEQ:HASH (as printed by `divert "
                             "registry head`: a number, ':', 64 hex digits) nor a readable head "
                             "log file") from None
        if not lines:
            raise InputError(f"{source}: {path} is empty; expected lines starting with SEQ:HASH")
        raw = lines[-1].split()[0]
        source = f"{source}: {path}: last line"
    m = _HEAD.match(raw)
    if not m:
        raise InputError(f"{source}: {raw[:80]!r} is not SEQ:HASH (a number, ':', 64 hex digits)")
    return Head(int(m.group(1)), m.group(2))


@dataclass
class Chain:
    """Appends audit records for one transaction, continuing from the locked head."""

    conn: Connection
    key: bytes
    actor: str
    command: str
    at: dt.datetime
    seq: int
    hash: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    written: int = 0

    def add(self, action: str, table: Table, row_id: int, before: dict[str, Any] | None,
            after: dict[str, Any] | None, row: Mapping[str, Any] | None) -> None:
        """Append one change; `row` is the whole row after it (None for a delete)."""
        self.add_text(action, table, row_id, None if before is None else canonical(before),
                      None if after is None else canonical(after),
                      None if row is None else digest(table, row))

    def add_insert(self, table: Table, row_id: int, row: Mapping[str, Any]) -> None:
        """Append the insert of `row` (its canonical image is both `after` and the digest's input)."""
        text = canonical(image(table, row))
        self.add_text("insert", table, row_id, None, text, hashlib.sha256(text.encode()).hexdigest())

    def add_text(self, action: str, table: Table, row_id: int, before: str | None, after: str | None,
                 row_digest: str | None) -> None:
        """Append one change given as canonical JSON texts and the row's digest."""
        self.seq += 1
        rec = {
            "seq": self.seq, "at": self.at, "actor": self.actor, "command": self.command,
            "action": action, "table_name": table.name, "row_id": row_id,
            "before": before, "after": after, "row_digest": row_digest, "prev_hash": self.hash,
        }
        rec["hash"] = self.hash = link(self.key, self.hash, rec)
        self.pending.append(rec)
        if len(self.pending) >= 5000:
            self.flush()

    def add_event(self, action: str, table_name: str, row_id: int, after: str) -> None:
        """Append an event that changes no row (an export): it carries no row digest."""
        self.seq += 1
        rec = {"seq": self.seq, "at": self.at, "actor": self.actor, "command": self.command,
               "action": action, "table_name": table_name, "row_id": row_id, "before": None,
               "after": after, "row_digest": None, "prev_hash": self.hash}
        rec["hash"] = self.hash = link(self.key, self.hash, rec)
        self.pending.append(rec)

    def add_meta(self, facts: Mapping[str, str]) -> None:
        """Append the state of `registry_meta` after a change to it (values of secrets left out)."""
        shown = {k: ("sealed" if k == "audit_key" else v) for k, v in facts.items()}
        self.seq += 1
        rec = {"seq": self.seq, "at": self.at, "actor": self.actor, "command": self.command,
               "action": "meta", "table_name": META_TABLE, "row_id": 0, "before": None,
               "after": canonical(shown), "row_digest": meta_digest(facts), "prev_hash": self.hash}
        rec["hash"] = self.hash = link(self.key, self.hash, rec)
        self.pending.append(rec)

    def flush(self) -> None:
        """Write pending records and move the head."""
        if not self.pending:
            return
        self.conn.execute(_log.insert(), self.pending)
        self.written += len(self.pending)
        self.pending = []
        self.conn.execute(_head.update().where(_head.c.id == 1).values(seq=self.seq, hash=self.hash))


@dataclass
class Problem:
    """One sign of tampering, naming the record or row."""

    kind: str  # chain | head | expected-head | meta | edited | inserted | deleted
    table: str
    row_id: int | None
    seq: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "table": self.table, "row_id": self.row_id, "seq": self.seq,
                "message": self.message}


@dataclass
class Report:
    """What `verify` found: counts, the head and every problem (the first is the one to fix first)."""

    records: int = 0
    rows: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"intact": self.intact, "records": self.records, "rows": self.rows,
                "head": {"seq": self.head_seq, "hash": self.head_hash},
                "problems": [p.to_json() for p in self.problems]}


def verify(conn: Connection, key: bytes, limit: int = 100, expect: Head | None = None) -> Report:
    """Check the chain under `key`, the head kept elsewhere (`expect`), `registry_meta` and every
    audited row against the chain; stop collecting after `limit` problems."""
    report = Report()
    last_meta = _verify_chain(conn, key, report, expect)
    _verify_meta(conn, report, last_meta)
    for table in AUDITED.values():
        if len(report.problems) >= limit:
            break
        _verify_rows(conn, table, report, limit)
    return report


def _verify_chain(conn: Connection, key: bytes, report: Report, expect: Head | None
                  ) -> tuple[int, str | None] | None:
    """Check every link; returns (seq, digest) of the last `registry_meta` record."""
    expected_seq, prev = 1, GENESIS
    last_meta: tuple[int, str | None] | None = None
    expect_seen = False
    rows = conn.execution_options(yield_per=5000).execute(select(_log).order_by(_log.c.seq))
    for rec in rows.mappings():
        seq = rec["seq"]
        if seq != expected_seq:
            what = "missing" if seq > expected_seq else "duplicated"
            report.problems.append(Problem("chain", rec["table_name"], rec["row_id"], expected_seq,
                                           f"audit record {expected_seq}: {what} "
                                           f"(the log jumps to record {seq})"))
            return
        if rec["prev_hash"] != prev:
            report.problems.append(Problem("chain", rec["table_name"], rec["row_id"], seq,
                                           f"audit record {seq}: does not link to record {seq - 1} "
                                           "(a record was removed, inserted or edited)"))
            return last_meta
        if not hmac.compare_digest(link(key, prev, rec), rec["hash"]):
            report.problems.append(Problem("chain", rec["table_name"], rec["row_id"], seq,
                                           f"audit record {seq}: its content does not match its "
                                           "keyed hash (edited, or rechained without the key)"))
            return last_meta
        if expect is not None and seq == expect.seq:
            expect_seen = True
            if not hmac.compare_digest(rec["hash"], expect.hash):
                report.problems.append(Problem(
                    "expected-head", rec["table_name"], rec["row_id"], seq,
                    f"audit record {seq}: its hash is not the head you kept ({expect}): the log was "
                    "rewritten at or before it"))
                return last_meta
        if rec["table_name"] == META_TABLE:
            last_meta = (seq, rec["row_digest"])
        prev, expected_seq = rec["hash"], seq + 1
        report.records += 1
    if expect is not None and not expect_seen:
        report.problems.append(Problem(
            "expected-head", "audit_log", None, report.records + 1,
            f"audit log ends at record {report.records} but the head you kept is record "
            f"{expect.seq}: records were cut from the end (or the database was rolled back)"))
    head = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
    report.head_seq, report.head_hash = report.records, prev
    if head is None or (head.seq, head.hash) != (report.records, prev):
        said = f"record {head.seq}" if head else "nothing"
        report.problems.append(Problem("head", "audit_log", None, report.records + 1,
                                       f"audit log ends at record {report.records} but its head "
                                       f"says {said}: records were cut from the end"))
    return last_meta


def _verify_meta(conn: Connection, report: Report, last: tuple[int, str | None] | None) -> None:
    facts = meta_image(conn)
    if last is None:
        if facts:
            report.problems.append(Problem("meta", META_TABLE, None, None,
                                           "registry_meta is not in the audit log (changed behind "
                                           "the application's back, or not initialised by `divert "
                                           "registry init`)"))
        return
    if meta_digest(facts) != last[1]:
        report.problems.append(Problem("meta", META_TABLE, 0, last[0],
                                       f"registry_meta differs from audit record {last[0]} (the key "
                                       "check or the sealed chain key changed behind the "
                                       "application's back)"))


def rechain_legacy(conn: Connection, key: bytes) -> int:
    """Re-link a registry's unkeyed SHA-256 chain under `key`, after checking it is intact;
    returns the number of records (`RegistryError`-free: an `InputError` names a broken link)."""
    prev_old, prev_new, n = GENESIS, GENESIS, 0
    rows = [dict(r) for r in conn.execute(select(_log).order_by(_log.c.seq)).mappings()]
    for n, rec in enumerate(rows, 1):
        if rec["seq"] != n or rec["prev_hash"] != prev_old or legacy_link(prev_old, rec) != rec["hash"]:
            raise InputError(f"audit record {rec['seq']}: the old (unkeyed) chain is broken there; "
                             "the registry is not upgraded: restore a backup and run "
                             "`divert registry init` again")
        prev_old = rec["hash"]
        new = link(key, prev_new, rec)
        conn.execute(_log.update().where(_log.c.seq == rec["seq"]).values(prev_hash=prev_new, hash=new))
        prev_new = new
    head = conn.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)).first()
    if head is not None and (head.seq, head.hash) != (n, prev_old):
        raise InputError(f"audit head says record {head.seq} but the log ends at {n}: records were "
                         "cut from the end; the registry is not upgraded")
    conn.execute(_head.update().where(_head.c.id == 1).values(seq=n, hash=prev_new))
    return n


def _last_digests(conn: Connection, table: Table) -> Iterator[tuple[int, int, str | None]]:
    """(row_id, seq, digest) of the last audit record of each row, in row id order."""
    q = (select(_log.c.row_id, _log.c.seq, _log.c.row_digest)
         .where(_log.c.table_name == table.name).order_by(_log.c.row_id, _log.c.seq))
    current: tuple[int, int, str | None] | None = None
    for row_id, seq, dig in conn.execution_options(yield_per=10000).execute(q):
        if current is not None and current[0] != row_id:
            yield current
        current = (row_id, seq, dig)
    if current is not None:
        yield current


def _verify_rows(conn: Connection, table: Table, report: Report, limit: int) -> None:
    rows = conn.execution_options(yield_per=10000).execute(select(table).order_by(table.c.id))
    logged = _last_digests(conn, table)
    expected = next(logged, None)

    def problem(kind: str, row_id: int, seq: int | None, text: str) -> None:
        report.problems.append(Problem(kind, table.name, row_id, seq, f"{table.name} row {row_id}: "
                                                                    f"{text}"))

    for row in rows.mappings():
        report.rows += 1
        rid = row["id"]
        while expected is not None and expected[0] < rid:
            if expected[2] is not None:
                problem("deleted", expected[0], expected[1], "deleted behind the application's back "
                        f"(last audit record {expected[1]})")
            expected = next(logged, None)
        if expected is None or expected[0] != rid:
            problem("inserted", rid, None, "not in the audit log (inserted behind the "
                    "application's back)")
        elif expected[2] is None:
            problem("inserted", rid, expected[1], "deleted by audit record "
                    f"{expected[1]} but present again (inserted behind the application's back)")
            expected = next(logged, None)
        else:
            if digest(table, row) != expected[2]:
                problem("edited", rid, expected[1], "differs from audit record "
                        f"{expected[1]} (edited behind the application's back)")
            expected = next(logged, None)
        if len(report.problems) >= limit:
            return
    while expected is not None:
        if expected[2] is not None:
            problem("deleted", expected[0], expected[1], "deleted behind the application's back "
                    f"(last audit record {expected[1]})")
            if len(report.problems) >= limit:
                return
        expected = next(logged, None)
