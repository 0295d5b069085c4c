"""Sessions, CSRF protection, role checks and the audit of views of identifying data.

The session is a signed cookie (Starlette's SessionMiddleware: HttpOnly, SameSite=Strict, Secure
unless served on loopback) holding the account id, the account's session epoch, when it was opened
and a CSRF token. The account is re-read on every request: a deactivated account, or a session
whose epoch is older than the account's (logout, deactivation, password change or reset bump it),
is out at once, and a session ends `SESSION_HOURS` after sign-in whatever its activity. Every
unsafe request (POST, PUT, PATCH, DELETE), forms and JSON alike, must echo the session's CSRF
token in the `csrf_token` form field or the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request

from divert.registry.store import Registry
from divert.web.accounts import CAPABILITIES, User, load_user

SECRET_ENV = "DIVERT_SESSION_SECRET"
SESSION_COOKIE = "divert_session"
SESSION_HOURS = 8
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """No valid session: pages redirect to the login form, the API answers 401."""


class Refused(Exception):
    """The signed-in role may not do this: 403 with the reason."""

    def __init__(self, user: User, capability: str) -> None:
        self.user, self.capability = user, capability
        super().__init__(f"the role {user.role!r} may not {CAPABILITIES.get(capability, capability)}")


def session_secret(path: Path | None = None) -> str:
    """`DIVERT_SESSION_SECRET`, else a random secret kept in a 0600 file beside the registry key."""
    named = os.environ.get(SECRET_ENV)
    if named:
        return named
    from divert.registry.crypto import key_file_path

    file = path or key_file_path().parent / "session.secret"
    if file.exists():
        return file.read_text().strip()
    file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (also for the anonymous login form)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token is missing or not the session's (403)."""
    if request.method not in UNSAFE:
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid: reload the page "
                            "and submit the form again")


def sign_in(request: Request, user: User, epoch: int | None = None) -> None:
    """Start a fresh session for `user` (a new CSRF token: no session fixation)."""
    request.session.clear()
    request.session["uid"] = user.id
    request.session["ep"] = user.epoch if epoch is None else epoch
    request.session["iat"] = int(time.time())
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.state.user = None


def sign_out(request: Request) -> None:
    """End every session of the signed-in account (its epoch moves on), then this one."""
    from divert.web.accounts import end_sessions

    user = optional_user(request)
    if user is not None:
        with registry_of(request).write(user.username, "web sign-out") as tx:
            end_sessions(tx, user.id)
    request.session.clear()


def registry_of(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def optional_user(request: Request) -> User | None:
    """The signed-in account, or None."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    uid, epoch, opened = (request.session.get(k) for k in ("uid", "ep", "iat"))
    if not isinstance(uid, int) or not isinstance(epoch, int) or not isinstance(opened, int):
        return None
    if not 0 <= time.time() - opened < SESSION_HOURS * 3600:
        request.session.clear()
        return None
    with registry_of(request).read() as conn:
        user = load_user(conn, uid, epoch)
    if user is None:
        request.session.clear()
        return None
    request.state.user = user
    return user


def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise NotSignedIn()
    return user


def require(capability: str) -> Callable[..., User]:
    """A dependency: the signed-in account, provided its role has `capability`."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")

    def dependency(user: User = Depends(current_user)) -> User:
        if not user.can(capability):
            raise Refused(user, capability)
        return user

    dependency.__name__ = f"require_{capability.replace('.', '_')}"
    return dependency


def record_view(registry: Registry, user: User, table: str, row_id: int, what: str) -> None:
    """Write a view of identifying data to the audit log (who, when, which row, what was shown).

    The record carries the row's current digest, so `divert registry verify` still checks the row.
    """
    record_views(registry, user, table, [row_id], what)


def record_views(registry: Registry, user: User, table: str, rows: Mapping[int, Any] | list[int],
                 what: str) -> None:
    """Several views in one audited transaction (a list page showing names)."""
    ids = list(rows)
    if not ids:
        return
    with registry.write(user.username, f"web view {what}"[:100]) as tx:
        tx.record_views(table, ids)


def record_export(registry: Registry, user: User, what: str, details: Mapping[str, Any]) -> None:
    """Write an export (aggregates shown or downloaded) to the audit log."""
    with registry.write(user.username, f"web export {what}"[:100]) as tx:
        tx.record_export(details)
