"""What the registry's pages and API share: the cipher, look-ups that answer 404, bounded input
types, and the reads (participant summary, suggestion after a result) both present."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import HTTPException, Request
from pydantic import AfterValidator, Field
from sqlalchemy import Connection

from divert.errors import InputError
from divert.registry import court, service
from divert.registry.crypto import FieldCipher
from divert.registry.store import Registry
from divert.web.accounts import User
from divert.web.security import registry_of

CODE = re.compile(r"^P-[0-9A-Z]{8}$")
MAX_ID = 2**31 - 1  # the database's integer ids (inputs.MAX_INT)
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def _in_range(value: dt.datetime) -> dt.datetime:
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


#: free text: no NUL characters (PostgreSQL refuses them), bounded
Text = Annotated[str, AfterValidator(_no_nul)]
Day = Annotated[dt.date, Field(ge=EARLIEST, le=LATEST)]
Moment = Annotated[dt.datetime, AfterValidator(_in_range)]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]


def cipher(request: Request) -> FieldCipher:
    """The registry's field cipher, loaded once per application (key checked against the registry)."""
    found = getattr(request.app.state, "court_cipher", None)
    if found is None:
        found = request.app.state.court_cipher = service.registry_cipher(registry_of(request))
    return found  # type: ignore[no-any-return]


def not_found(message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=message)


def _seen(user: User, programme_id: int | None, message: str) -> None:
    """404 (not 403: nothing says the record exists) outside the account's programmes."""
    if not user.sees(programme_id):
        raise not_found(message)


def participant_or_404(conn: Connection, code: str, user: User) -> dict[str, Any]:
    """The participant with this code, in one of the account's programmes; 404 naming the form of
    codes when there is none."""
    wanted = code.strip().upper()
    missing = f"participant: no participant {code[:40]!r} (codes look like P-7K2M9QXD)"
    if not CODE.match(wanted):
        raise not_found(missing)
    try:
        found = service.participant(conn, wanted)
    except InputError as exc:
        raise not_found(str(exc)) from None
    # the very message of a code that does not exist: nothing tells the two apart
    _seen(user, found["programme_id"], f"participant: no participant {wanted!r} (codes look like "
                                       "P-7K2M9QXD)")
    return found


def test_or_404(conn: Connection, test_id: int, user: User) -> dict[str, Any]:
    try:
        found = service.drug_test_row(conn, test_id)
    except InputError as exc:
        raise not_found(str(exc)) from None
    _seen(user, found["programme_id"], f"test: no drug test with id {test_id}")
    return found


def hearing_or_404(conn: Connection, hearing_id: int, user: User) -> dict[str, Any]:
    try:
        found = service.hearing_row(conn, hearing_id)
    except InputError as exc:
        raise not_found(str(exc)) from None
    _seen(user, found["programme_id"], f"hearing: no hearing with id {hearing_id}")
    return found


def advice_or_404(conn: Connection, advice_id: int, user: User) -> dict[str, Any]:
    """An advice snapshot of a participant in one of the account's programmes."""
    a, p = service.T["advice"], service.T["participants"]
    from sqlalchemy import select

    found = conn.execute(select(a, p.c.programme_id.label("programme_id"), p.c.code.label("code"))
                         .select_from(a.join(p, p.c.id == a.c.participant_id))
                         .where(a.c.id == advice_id)).mappings().first()
    if found is None or not user.sees(found["programme_id"]):
        raise not_found(f"advice: no advice {advice_id}")
    return dict(found)


def programme_for(conn: Connection, code: str | None, user: User) -> None:
    """Refuse (403) a new record in a programme outside the account's programmes."""
    if code is None:
        code = "default"
    try:
        prog = service.programme(conn, code)
    except InputError:
        return  # the service names the unknown programme
    if not user.sees(prog["id"]):
        raise HTTPException(status_code=403, detail=f"programme: your account may not add to "
                            f"programme {code!r}; ask an administrator to assign it")


def summary(conn: Connection, part: Mapping[str, Any]) -> dict[str, Any]:
    """A participant without identity: programme, status, active enrolment with its phase's name,
    the promotion criteria and the programme's jail cap."""
    prog = service._one(conn, "programmes", id=part["programme_id"]) or {}
    rules = service.rules_of(prog)
    out: dict[str, Any] = {
        "id": part["id"], "code": part["code"], "programme": prog.get("code"),
        "programme_name": prog.get("name"), "status": part["status"], "sex": part["sex"],
        "referred_on": part["referred_on"], "version": part["version"], "enrolment": None,
        "promotion": None, "jail_cap_days": rules.jail_cap_days}
    try:
        enr = service.active_enrolment(conn, part)
    except InputError:
        return out
    out["enrolment"] = {"id": enr["id"], "measure": enr["measure"], "quadrant": enr["quadrant"],
                        "phase": enr["phase"], "phase_name": rules.phase(enr["phase"]).name,
                        "phase_since": enr["phase_since"], "started_on": enr["started_on"],
                        "planned_end": enr["planned_end"], "version": enr["version"]}
    out["promotion"] = service.check_promotion(conn, part["code"])
    return out


def suggestion_after(reg: Registry, test: Mapping[str, Any]) -> dict[str, Any] | None:
    """The engine's suggested response to a recorded result (None for results that call for none,
    or when the enrolment has ended)."""
    if test["status"] not in (*court.VIOLATIONS, "negative"):
        return None
    try:
        with reg.read() as conn:
            return service.suggest_response(conn, test["participant"], test_id=test["id"])
    except InputError:
        return None


def identity_of(request: Request, part: Mapping[str, Any]) -> dict[str, Any]:
    """The decrypted identity (the caller audits the view)."""
    return service.identity(cipher(request), part)
