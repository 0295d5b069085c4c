"""Accounts and roles: who may see and do what in the web application.

Passwords are kept only as argon2id hashes (argon2-cffi's defaults). Each role holds the
capabilities its work needs and nothing more: analysts see only de-identified aggregates; clinical
notes are for clinicians and case managers; identity (name, birth date, contact) for the people
who deal with the person. There is no default account and no default password: the first admin is
made with `divert admin create-user`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, select

from divert.errors import InputError
from divert.registry.models import AUDITED
from divert.registry.store import Tx, utcnow

ROLES: tuple[str, ...] = ("judge", "prosecutor", "defence", "clinician", "case_manager", "analyst",
                          "admin")

#: capability -> what it allows (shown on the accounts page and in refusals)
CAPABILITIES: dict[str, str] = {
    "assess": "screen a person and see the advice the law allows",
    "book": "read the policy book",
    "simulate": "run and read country comparisons",
    "registry.read": "see participants by pseudonymous code, their timeline and today's calendar",
    "registry.identify": "see a participant's name, birth date and contact",
    "registry.aggregates": "see de-identified aggregates of the registry",
    "tests.record": "schedule drug tests and record their results",
    "responses.record": "record incentives, sanctions and therapeutic adjustments",
    "hearings.record": "record hearings and hearing notes",
    "notes.clinical": "read and write clinical notes",
    "participants.manage": "add participants, record consent, enrol, save assessments and record "
                           "rearrests",
    "enrolment.decide": "move phases and end enrolments (graduate, terminate, withdraw)",
    "advice.confirm": "confirm advice with the decision taken (the decision maker: judge, prosecutor "
                      "or case manager)",
    "users.manage": "create and deactivate accounts",
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

    def can(self, capability: str) -> bool:
        return capability in PERMISSIONS.get(self.role, frozenset())

    @property
    def capabilities(self) -> frozenset[str]:
        return PERMISSIONS.get(self.role, frozenset())


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


def _from_row(row: Any) -> User:
    return User(int(row["id"]), row["username"], row["role"], row["display_name"])


def create_user(tx: Tx, username: str, password: str, role: str,
                display_name: str | None = None) -> dict[str, Any]:
    """Add an account (audited); refuses a taken username, an unknown role, a weak password."""
    check_username(username)
    check_role(role)
    check_password(password, username)
    t = AUDITED["users"]
    if tx.conn.execute(select(t.c.id).where(t.c.username == username)).first() is not None:
        raise InputError(f"username: {username!r} is taken")
    row = tx.insert("users", {"username": username, "display_name": display_name, "role": role,
                              "password_hash": hash_password(password), "active": True,
                              "created_at": utcnow()})
    return {k: v for k, v in row.items() if k != "password_hash"}


def set_active(tx: Tx, username: str, active: bool) -> dict[str, Any]:
    t = AUDITED["users"]
    row = tx.conn.execute(select(t).where(t.c.username == username)).mappings().first()
    if row is None:
        raise InputError(f"username: no account {username!r}")
    new = tx.update("users", dict(row), {"active": active})
    return {k: v for k, v in new.items() if k != "password_hash"}


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
    return _from_row(row)


def load_user(conn: Connection, user_id: int) -> User | None:
    """The active account with this id (sessions are re-checked on every request)."""
    t = AUDITED["users"]
    row = conn.execute(select(t).where(t.c.id == user_id)).mappings().first()
    if row is None or not row["active"]:
        return None
    return _from_row(row)


def list_users(conn: Connection) -> list[dict[str, Any]]:
    t = AUDITED["users"]
    rows = conn.execute(select(t.c.id, t.c.username, t.c.display_name, t.c.role, t.c.active,
                               t.c.created_at).order_by(t.c.username)).mappings()
    return [dict(r) for r in rows]
