"""Accounts and roles: who may see and do what in the web application.

Passwords are kept only as argon2id hashes (argon2-cffi's defaults). Each role holds the
capabilities its work needs and nothing more: analysts see only de-identified aggregates; clinical
notes are for clinicians and case managers; identity (name, birth date, contact) for the people
who deal with the person. There is no default account and no default password: the first admin is
made with `divert admin create-user`.

Every account sees only the programmes it is assigned to (`user_programmes`), or every programme
when it is programme-wide (a row with no programme); an account with neither sees no participant.
Sessions carry the account's session epoch: logout, deactivation, a password change or a reset
bump it, which ends every session of the account at its next request. Sign-ins are throttled per
account and per address (`Throttle`).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, select

from divert.errors import InputError
from divert.registry.models import AUDITED
from divert.registry.store import Tx, utcnow
from divert.web.lang import N_

ROLES: tuple[str, ...] = ("judge", "prosecutor", "defence", "clinician", "case_manager", "analyst",
                          "admin")

#: capability -> what it allows (shown on the accounts page and in refusals)
CAPABILITIES: dict[str, str] = {
    "assess": N_("screen a person and see the advice the law allows"),
    "book": N_("read the policy book"),
    "simulate": N_("run and read country comparisons"),
    "registry.read": N_("see participants by pseudonymous code, their timeline and today's calendar"),
    "registry.identify": N_("see a participant's name, birth date and contact"),
    "registry.aggregates": N_("see de-identified aggregates of the registry"),
    "tests.record": N_("schedule drug tests and record their results"),
    "responses.record": N_("record incentives, sanctions and therapeutic adjustments"),
    "hearings.record": N_("record hearings and hearing notes"),
    "notes.clinical": N_("read and write clinical notes"),
    "participants.manage": N_("add participants, record consent, enrol, save assessments and record "
                           "rearrests"),
    "enrolment.decide": N_("move phases and end enrolments (graduate, terminate, withdraw)"),
    "advice.confirm": N_("confirm advice with the decision taken (the decision maker: judge, prosecutor "
                      "or case manager)"),
    "users.manage": N_("create and deactivate accounts, reset passwords, assign programmes"),
}

ALL_PRACTICE = {"assess", "book"}
PERMISSIONS: dict[str, frozenset[str]] = {
    "judge": frozenset(ALL_PRACTICE | {"registry.read", "registry.identify", "registry.aggregates",
                                       "responses.record", "hearings.record",
                                       "enrolment.decide", "advice.confirm"}),
    "prosecutor": frozenset(ALL_PRACTICE | {"registry.read", "registry.identify",
                                            "registry.aggregates", "advice.confirm"}),
    "defence": frozenset(ALL_PRACTICE | {"registry.read", "registry.identify"}),
    "clinician": frozenset(ALL_PRACTICE | {"registry.read", "registry.identify", "tests.record",
                                           "notes.clinical"}),
    "case_manager": frozenset(ALL_PRACTICE | {"registry.read", "registry.identify",
                                              "registry.aggregates", "tests.record",
                                              "responses.record", "notes.clinical",
                                              "participants.manage", "enrolment.decide",
                                              "advice.confirm"}),
    "analyst": frozenset(ALL_PRACTICE | {"simulate", "registry.aggregates"}),
    "admin": frozenset(ALL_PRACTICE | {"simulate", "registry.aggregates", "users.manage"}),
}

MIN_PASSWORD = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
_hasher = PasswordHasher()
#: verified against when a username is unknown, so a login takes as long either way
_DUMMY = _hasher.hash("divert-no-such-user-timing-guard")


@dataclass(frozen=True)
class User:
    """The signed-in account, as the application sees it."""

    id: int
    username: str
    role: str
    display_name: str | None = None
    #: ids of the programmes the account may see; None: every programme (programme-wide)
    programmes: frozenset[int] | None = frozenset()
    epoch: int = 0
    #: the language the account chose for its pages; None: the browser's (Accept-Language)
    locale: str | None = None

    def can(self, capability: str) -> bool:
        return capability in PERMISSIONS.get(self.role, frozenset())

    @property
    def capabilities(self) -> frozenset[str]:
        return PERMISSIONS.get(self.role, frozenset())

    def sees(self, programme_id: int | None) -> bool:
        """Whether the account may see records of this programme."""
        return self.programmes is None or programme_id in self.programmes


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"role: unknown {role!r}; allowed: {', '.join(ROLES)}")
    return role


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise InputError(f"username: {username!r} is not allowed; use 2-63 lower-case letters, digits, "
                         "'.', '_' or '-', starting with a letter or digit")
    return username


def check_password(password: str, username: str = "") -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: too short ({len(password)} characters); at least {MIN_PASSWORD}")
    if username and username.lower() in password.lower():
        raise InputError("password: must not contain the username")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _from_row(conn: Connection, row: Any) -> User:
    uid = int(row["id"])
    return User(uid, row["username"], row["role"], row["display_name"], programmes_of(conn, uid),
                session_epoch(conn, uid), locale_of(conn, uid))


def locale_of(conn: Connection, user_id: int) -> str | None:
    """The language the account chose (None: none chosen, the browser's applies)."""
    t = AUDITED["user_settings"]
    found = conn.execute(select(t.c.locale).where(t.c.user_id == user_id)).scalar()
    return str(found) if found else None


def set_locale(tx: Tx, user_id: int, locale: str | None) -> None:
    """Keep the account's language (a code of `divert.i18n.LOCALES`, checked by the caller)."""
    t = AUDITED["user_settings"]
    row = tx.conn.execute(select(t).where(t.c.user_id == user_id)).mappings().first()
    if row is None:
        tx.insert("user_settings", {"user_id": user_id, "locale": locale})
    elif row["locale"] != locale:
        tx.update("user_settings", dict(row), {"locale": locale})


def programmes_of(conn: Connection, user_id: int) -> frozenset[int] | None:
    """The programme ids the account may see (None: every programme)."""
    t = AUDITED["user_programmes"]
    ids = [r.programme_id for r in conn.execute(select(t.c.programme_id).where(t.c.user_id == user_id))]
    if any(i is None for i in ids):
        return None
    return frozenset(int(i) for i in ids)


def session_epoch(conn: Connection, user_id: int) -> int:
    t = AUDITED["session_epochs"]
    found = conn.execute(select(t.c.epoch).where(t.c.user_id == user_id)).scalar()
    return int(found or 0)


def end_sessions(tx: Tx, user_id: int) -> int:
    """Bump the account's session epoch (every open session ends); returns the new epoch."""
    t = AUDITED["session_epochs"]
    row = tx.conn.execute(select(t).where(t.c.user_id == user_id)).mappings().first()
    if row is None:
        tx.insert("session_epochs", {"user_id": user_id, "epoch": 1})
        return 1
    new = tx.update("session_epochs", dict(row), {"epoch": int(row["epoch"]) + 1})
    return int(new["epoch"])


def _programme_ids(tx: Tx, codes: Sequence[str]) -> list[int]:
    t = AUDITED["programmes"]
    known = {r.code: int(r.id) for r in tx.conn.execute(select(t.c.id, t.c.code))}
    out = []
    for code in codes:
        if code not in known:
            raise InputError(f"programme: unknown {code!r}; known: {', '.join(sorted(known)) or 'none'}")
        out.append(known[code])
    return out


def set_programmes(tx: Tx, username: str, codes: Sequence[str] | None) -> dict[str, Any]:
    """Assign the programmes an account may see (None: every programme); audited."""
    row = _user_row(tx.conn, username)
    wanted: list[int | None] = [None] if codes is None else list(_programme_ids(tx, codes))
    t = AUDITED["user_programmes"]
    current = {r["programme_id"]: dict(r) for r in
               tx.conn.execute(select(t).where(t.c.user_id == row["id"])).mappings()}
    for pid, old in current.items():
        if pid not in wanted:
            tx.delete("user_programmes", old)
    add = [{"user_id": row["id"], "programme_id": pid} for pid in dict.fromkeys(wanted)
           if pid not in current]
    tx.insert_many("user_programmes", add)
    return {"username": username, "programmes": "all" if codes is None else sorted(set(codes))}


def create_user(tx: Tx, username: str, password: str, role: str,
                display_name: str | None = None, *, programmes: Sequence[str] | None
                ) -> dict[str, Any]:
    """Add an account (audited) seeing `programmes` (codes; None: every programme); refuses a taken
    username, an unknown role or programme, a weak password."""
    check_username(username)
    check_role(role)
    check_password(password, username)
    t = AUDITED["users"]
    if tx.conn.execute(select(t.c.id).where(t.c.username == username)).first() is not None:
        raise InputError(f"username: {username!r} is taken")
    row = tx.insert("users", {"username": username, "display_name": display_name, "role": role,
                              "password_hash": hash_password(password), "active": True,
                              "created_at": utcnow()})
    set_programmes(tx, username, programmes)
    return {k: v for k, v in row.items() if k != "password_hash"}


def _user_row(conn: Connection, username: str) -> dict[str, Any]:
    t = AUDITED["users"]
    row = conn.execute(select(t).where(t.c.username == username)).mappings().first()
    if row is None:
        raise InputError(f"username: no account {username!r}")
    return dict(row)


def set_active(tx: Tx, username: str, active: bool) -> dict[str, Any]:
    """Activate or deactivate an account; either way its open sessions end."""
    row = _user_row(tx.conn, username)
    new = tx.update("users", row, {"active": active})
    end_sessions(tx, row["id"])
    return {k: v for k, v in new.items() if k != "password_hash"}


def reset_password(tx: Tx, username: str, password: str) -> None:
    """An administrator sets a new password; every session of the account ends."""
    check_password(password, username)
    row = _user_row(tx.conn, username)
    tx.update("users", row, {"password_hash": hash_password(password)})
    end_sessions(tx, row["id"])


def change_password(tx: Tx, user: User, current: str, new: str) -> int:
    """The account's own change: the current password is checked; every session ends (the caller
    signs the current one in again). Returns the new session epoch."""
    row = _user_row(tx.conn, user.username)
    try:
        _hasher.verify(row["password_hash"], current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise InputError("current_password: wrong password") from None
    if current == new:
        raise InputError("new_password: the same as the current one")
    check_password(new, user.username)
    tx.update("users", row, {"password_hash": hash_password(new)})
    return end_sessions(tx, row["id"])


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The account when the password matches an active account; None otherwise (same timing)."""
    t = AUDITED["users"]
    row = conn.execute(select(t).where(t.c.username == username)).mappings().first()
    if row is None:
        try:
            _hasher.verify(_DUMMY, password + "x")
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(row["password_hash"], password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if not row["active"]:
        return None
    return _from_row(conn, row)


def load_user(conn: Connection, user_id: int, epoch: int | None = None) -> User | None:
    """The active account with this id, provided its session epoch is still `epoch` (sessions are
    re-checked on every request)."""
    t = AUDITED["users"]
    row = conn.execute(select(t).where(t.c.id == user_id)).mappings().first()
    if row is None or not row["active"]:
        return None
    user = _from_row(conn, row)
    if epoch is not None and user.epoch != epoch:
        return None
    return user


def list_users(conn: Connection) -> list[dict[str, Any]]:
    t, up, g = AUDITED["users"], AUDITED["user_programmes"], AUDITED["programmes"]
    rows = [dict(r) for r in conn.execute(select(t.c.id, t.c.username, t.c.display_name, t.c.role,
                                                 t.c.active, t.c.created_at).order_by(t.c.username))
            .mappings()]
    scopes: dict[int, list[str]] = {}
    for r in conn.execute(select(up.c.user_id, g.c.code).select_from(
            up.outerjoin(g, g.c.id == up.c.programme_id)).order_by(g.c.code)):
        scopes.setdefault(r.user_id, []).append(r.code or "all")
    for r in rows:
        found = scopes.get(r["id"], [])
        r["programmes"] = "all" if "all" in found else found
    return rows


class Throttle:
    """Failed sign-ins in a sliding window, per account and per address: past the limit, sign-in
    is refused (even with the right password) until the oldest failure leaves the window."""

    def __init__(self, per_account: int = 5, per_address: int = 20, window_s: float = 900.0,
                 clock: Any = time.monotonic) -> None:
        self.limits = {"account": per_account, "address": per_address}
        self.window_s, self.clock = window_s, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def blocked(self, username: str, address: str) -> str | None:
        """Why a sign-in is refused now (None: it may be tried)."""
        now = self.clock()
        with self._lock:
            for kind, value in (("account", username.lower()), ("address", address)):
                q = self._recent((kind, value), now)
                if len(q) >= self.limits[kind]:
                    wait = max(1, round((q[0] + self.window_s - now) / 60))
                    what = "this account" if kind == "account" else "this address"
                    return (f"too many failed sign-ins for {what} ({len(q)} in "
                            f"{round(self.window_s / 60)} minutes): try again in {wait} minute"
                            f"{'s' * (wait != 1)}, or ask an administrator to reset the password")
        return None

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (("account", username.lower()), ("address", address)):
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # bounded memory under a spray of names
                for key in [k for k, q in self._failures.items() if not q]:
                    del self._failures[key]

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("account", username.lower()), None)
