"""The assessment form filled from what the registry already knows of a participant: their latest
case and screenings, sex, age (from the encrypted birth date, for roles that may read it; the
reading is audited), the informed consent on record and the jurisdiction of their programme.

Nothing is assumed: a fact the registry does not hold stays empty (unknown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request

from divert.registry import service
from divert.web.accounts import User
from divert.web.assess_view import case_values, screening_values
from divert.web.book import pack_codes
from divert.web.court_common import identity_of, participant_or_404
from divert.web.lang import _
from divert.web.security import record_view, registry_of

Prefill = tuple[dict[str, str], dict[str, list[str]], list[str]]


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in whole years on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def latest_consent(rows: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The latest consent given or withdrawn (to any measure)."""
    return max(rows, key=lambda c: (c["day"], c["id"])) if rows else None


def prefill(request: Request, user: User, code: str) -> Prefill:
    """The form's values and checked choices for participant `code`, and what was filled, in
    words. A participant the account may not see fills nothing (and says nothing of them)."""
    reg = registry_of(request)
    try:
        with reg.read() as conn:
            part = participant_or_404(conn, code, user)
            prog = service._one(conn, "programmes", id=part["programme_id"]) or {}
            cases = service._rows(conn, "cases", participant_id=part["id"])
            screenings = service._rows(conn, "screenings", participant_id=part["id"])
            consent = latest_consent(service._rows(conn, "consents", participant_id=part["id"]))
    except HTTPException:
        return {"jurisdiction": "model"}, {}, []
    values, sets = case_values(cases[-1]["facts"]) if cases else ({}, {})
    notes = [_("the answers of the latest case kept for them")] if cases else []
    latest: dict[str, Mapping[str, Any]] = {s["instrument"]: s for s in screenings}
    for name, row in latest.items():
        values.update(screening_values(name, row["responses"]))
        notes.append(_("the %(instrument)s screening of %(date)s")
                     % {"instrument": name, "date": row["administered_on"]})
    jurisdiction = prog.get("jurisdiction")
    if jurisdiction in pack_codes():
        values["jurisdiction"] = str(jurisdiction)
        notes.append(_("the jurisdiction of programme %(programme)s")
                     % {"programme": prog.get("name") or prog.get("code")})
    else:
        values.setdefault("jurisdiction", "model")
    if part["sex"] and not values.get("person.sex"):
        values["person.sex"] = str(part["sex"])
        notes.append(_("sex as recorded"))
    wanted = [k for k in ("person.age", "person.age_at_offence") if not values.get(k)]
    if user.can("registry.identify") and wanted:
        birth = identity_of(request, part).get("birth_date")
        if birth:
            born = dt.date.fromisoformat(str(birth))
            record_view(reg, user, "participants", part["id"],
                        f"birth date (as the age on the assessment form) {part['code']}")
            if "person.age" in wanted:
                values["person.age"] = str(age_on(born, service.today()))
                notes.append(_("age today, from the birth date"))
            offence = _day(values.get("offence.date"))
            if "person.age_at_offence" in wanted and offence and offence >= born:
                values["person.age_at_offence"] = str(age_on(born, offence))
                notes.append(_("age at the offence, from the birth date"))
    if consent is not None:
        values["consent"] = "yes" if consent["given"] else "no"
        given = _("informed consent given") if consent["given"] else _("informed consent withdrawn")
        measure = (" " + _("to %(measure)s") % {"measure": str(consent["measure"]).replace("_", " ")}
                   if consent["measure"] else "")
        notes.append(given + measure + " " + _("on %(date)s") % {"date": consent["day"]})
    return values, sets, notes
