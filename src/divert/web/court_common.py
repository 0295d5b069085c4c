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
from divert.web.security import registry_of

CODE = re.compile(r"^P-[0-9A-Z]{8}$")
MAX_ID = 2**62
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


def participant_or_404(conn: Connection, code: str) -> dict[str, Any]:
    """The participant with this code; 404 naming the form of codes when there is none."""
    wanted = code.strip().upper()
    if not CODE.match(wanted):
        raise not_found(f"participant: no participant {code[:40]!r} (codes look like P-7K2M9QXD)")
    try:
        return service.participant(conn, wanted)
    except InputError as exc:
        raise not_found(str(exc)) from None


def test_or_404(conn: Connection, test_id: int) -> dict[str, Any]:
    try:
        return service.drug_test_row(conn, test_id)
    except InputError as exc:
        raise not_found(str(exc)) from None


def hearing_or_404(conn: Connection, hearing_id: int) -> dict[str, Any]:
    try:
        return service.hearing_row(conn, hearing_id)
    except InputError as exc:
        raise not_found(str(exc)) from None


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
