"""`divert serve` (the web application) and `divert admin` (accounts of the web application)."""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from divert.errors import InputError

admin_app = typer.Typer(no_args_is_help=True, help="Accounts of the web application.")

Db = Annotated[str | None, typer.Option("--db", help="registry URL or SQLite file (default: "
                                        "$DIVERT_DATABASE_URL, else ./divert-registry.db)")]


Programmes = Annotated[list[str] | None, typer.Option(
    "--programme", help="a programme the account may see (repeat for several)")]
AllProgrammes = Annotated[bool, typer.Option(
    "--all-programmes", help="the account sees every programme (programme-wide)")]


def _scope(codes: list[str] | None, every: bool, role: str) -> list[str] | None:
    """The programmes an account sees: the codes, or None for every programme."""
    if codes and every:
        raise InputError("--programme and --all-programmes: give one or the other")
    if every or (not codes and role == "admin"):
        return None
    if not codes:
        raise InputError("--programme: which programmes may the account see? give --programme CODE "
                         "(repeatable) or --all-programmes")
    return codes


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on", min=1, max=65535)] = 8000,
    db: Db = None,
    work_dir: Annotated[Path, typer.Option("--work-dir", help="where comparison jobs write their "
                                           "outputs")] = Path("divert-web"),
    secure_cookies: Annotated[bool | None, typer.Option(
        "--secure-cookies/--no-secure-cookies",
        help="send the session cookie over HTTPS only (default: on unless serving on loopback; "
             "put divert behind a TLS-terminating proxy in production)")] = None,
) -> None:
    """Serve the web application and the REST API (/api/v1) on http://HOST:PORT."""
    import uvicorn

    from divert.registry.store import Registry
    from divert.web.app import create_app

    reg = Registry(db)
    with reg.read():  # refuses a missing or outdated registry with one line, before listening
        pass
    reg.dispose()
    https_only = (not _loopback(host)) if secure_cookies is None else secure_cookies
    app = create_app(db, https_only=https_only, work_dir=work_dir)
    sys.stderr.write(f"divert: serving http://{host}:{port} (registry {reg.url.split('://')[0]}; "
                     "Ctrl+C stops)\n")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _read_password(stdin: bool, username: str) -> str:
    if stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin: nothing on standard input")
        return line.rstrip("\n")
    return str(typer.prompt(f"Password for {username}", hide_input=True, confirmation_prompt=True))


@admin_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="login name (lower case)")],
    role: Annotated[str, typer.Option("--role", help="judge, prosecutor, defence, clinician, "
                                      "case_manager, analyst or admin")],
    name: Annotated[str | None, typer.Option("--name", help="full name shown in the pages")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="read the password from standard input "
                                                      "(else it is asked for, twice)")] = False,
    programme: Programmes = None, all_programmes: AllProgrammes = False,
    db: Db = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create an account (the first admin too). There is no default account or password. Every
    role but admin needs --programme CODE (repeatable) or --all-programmes."""
    from divert.registry.store import Registry
    from divert.web import accounts

    accounts.check_username(username)
    accounts.check_role(role)
    scope = _scope(programme, all_programmes, role)
    password = _read_password(password_stdin, username)
    accounts.check_password(password, username)
    reg = Registry(db)
    try:
        with reg.write(username if role == "admin" else None, "admin create-user") as tx:
            row = accounts.create_user(tx, username, password, role, name, programmes=scope)
    finally:
        reg.dispose()
    if as_json:
        sys.stdout.write(json.dumps(row, default=str) + "\n")
    else:
        sys.stdout.write(f"created {username} ({role})\n")


@admin_app.command("list-users")
def list_users(db: Db = None,
               as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List the accounts (never their password hashes)."""
    from divert.registry.store import Registry
    from divert.web import accounts

    reg = Registry(db)
    try:
        with reg.read() as conn:
            rows = accounts.list_users(conn)
    finally:
        reg.dispose()
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, indent=2) + "\n")
        return
    for r in rows:
        scope = r["programmes"] if r["programmes"] == "all" else ",".join(r["programmes"]) or "none"
        sys.stdout.write(f"{r['username']:<24} {r['role']:<13} "
                         f"{'active' if r['active'] else 'inactive':<9} {scope}\n")


@admin_app.command("deactivate")
def deactivate(username: Annotated[str, typer.Argument()], db: Db = None) -> None:
    """Deactivate an account: its sessions end at their next request (and stay ended if it is
    reactivated)."""
    from divert.registry.store import Registry
    from divert.web import accounts

    reg = Registry(db)
    try:
        with reg.write(None, "admin deactivate") as tx:
            accounts.set_active(tx, username, False)
    finally:
        reg.dispose()
    sys.stdout.write(f"deactivated {username}\n")


@admin_app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="read the new password from standard input "
                                                      "(else it is asked for, twice)")] = False,
    db: Db = None,
) -> None:
    """Set a new password for an account; every session of the account ends."""
    from divert.registry.store import Registry
    from divert.web import accounts

    accounts.check_username(username)
    password = _read_password(password_stdin, username)
    reg = Registry(db)
    try:
        with reg.write(None, "admin reset-password") as tx:
            accounts.reset_password(tx, username, password)
    finally:
        reg.dispose()
    sys.stdout.write(f"password of {username} reset; its sessions have ended\n")


@admin_app.command("set-programmes")
def set_programmes(username: Annotated[str, typer.Argument()], programme: Programmes = None,
                   all_programmes: AllProgrammes = False, db: Db = None) -> None:
    """Assign the programmes an account may see (--programme CODE ..., or --all-programmes)."""
    from divert.registry.store import Registry
    from divert.web import accounts

    scope = _scope(programme, all_programmes, "")
    reg = Registry(db)
    try:
        with reg.write(None, "admin set-programmes") as tx:
            out = accounts.set_programmes(tx, username, scope)
    finally:
        reg.dispose()
    shown = out["programmes"] if scope is None else ", ".join(out["programmes"])
    sys.stdout.write(f"{username} sees {shown}\n")
