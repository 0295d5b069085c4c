"""Scheduling and the judge's pages: the week and month calendar with booking (hearings, drug
tests, treatment sessions), the court calendar (sitting weekdays, closed days), reminders, and the
docket with each participant's progress since the last hearing (with a print view).

The rules are the registry's (`registry.calendar`): nothing booked in the past, hearings only on
sitting days. A refused booking comes back with the error beside its field and the form kept.
Names appear only for roles that may identify people, and each such view is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from divert.errors import InputError
from divert.registry import calendar, court, docket, inputs, scheduling, service
from divert.registry.store import ConflictError
from divert.web.accounts import User
from divert.web.court_common import participant_or_404
from divert.web.court_pages import _day, _flash, _form, _names, _page, _said
from divert.web.lang import N_, _, ngettext
from divert.web.security import Refused, registry_of, require
from divert.web.terms import term

router = APIRouter(prefix="/registry", include_in_schema=False)

#: who may book what (any one of the capabilities)
BOOKERS: dict[str, tuple[str, ...]] = {
    "hearing": ("hearings.record", "participants.manage"),
    "test": ("tests.record",),
    "session": ("participants.manage", "notes.clinical"),
}
CALENDAR_KEEPERS = ("hearings.record", "participants.manage")
WHAT = {"hearing": N_("Status hearing"), "test": N_("Drug test (for cause)"),
        "session": N_("Treatment session")}
FIELDS = ("code", "what", "on", "method", "kind")


def may(user: User, caps: tuple[str, ...]) -> bool:
    return any(user.can(c) for c in caps)


def field_errors(exc: InputError, fields: tuple[str, ...], aliases: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """The error keyed by the form field it names (`on: ...` -> on), else under `form`."""
    message = str(exc)
    head = message.split(":", 1)[0].strip()
    name = (aliases or {}).get(head, head)
    return {name if name in fields else "form": message}


def _programmes(request: Request, user: User) -> list[tuple[str, str, int]]:
    with registry_of(request).read() as conn:
        return [(r.code, r.name, r.id) for r in conn.execute(service.T["programmes"].select()
                                                              .order_by(service.T["programmes"].c.id))
                if user.sees(r.id)]


def _programme(request: Request, user: User, wanted: str) -> str | None:
    """The programme a calendar page shows: the one asked for (if the account sees it), else the
    account's first."""
    progs = _programmes(request, user)
    codes = [c for c, _, _ in progs]
    if wanted.strip() in codes:
        return wanted.strip()
    return codes[0] if codes else None


# ---- the week and month calendar --------------------------------------------------------------------

@router.get("/schedule", response_class=HTMLResponse)
def schedule(request: Request, day: str = "", view: str = "week", programme: str = "",
             code: str = "", what: str = "", user: User = Depends(require("registry.read"))
             ) -> Response:
    """The week (or month) of a programme: what is booked each day, closed days marked; forms to
    book a hearing, a test or a session."""
    values = {"code": code.strip()[:16], "what": what if what in WHAT else "hearing",
              "on": "", "method": "", "kind": "treatment"}
    return _schedule_page(request, user, _day(day), view, programme, values, {})


def _schedule_page(request: Request, user: User, when: dt.date, view: str, programme: str,
                   values: Mapping[str, str], errors: Mapping[str, str]) -> Response:
    view = "month" if view == "month" else "week"
    prog = _programme(request, user, programme)
    if view == "month":
        grid = calendar.month_grid(when.year, when.month)
        first = next(d for d in grid[0] if d is not None)
        last = next(d for d in reversed(grid[-1]) if d is not None)
        prev = (first - dt.timedelta(days=1)).replace(day=1)
        nxt = last + dt.timedelta(days=1)
    else:
        week = calendar.week_of(when)
        grid, first, last = [week], week[0], week[-1]
        prev, nxt = first - dt.timedelta(days=7), first + dt.timedelta(days=7)
    with registry_of(request).read() as conn:
        booked = scheduling.agenda(conn, first, last, prog, within=user.programmes) if prog else \
            {"days": {}}
        cal = scheduling.calendar_rows(conn, prog)["calendar"] if prog else calendar.CourtCalendar()
    today = service.today()
    closed = {d: cal.why_not_sitting(d) for week in grid for d in week if d is not None}
    bookable = [w for w in WHAT if may(user, BOOKERS[w])]
    return _page(request, "court/schedule.html", status_code=400 if errors else 200, view=view,
                 day=when, grid=grid, first=first, last=last, booked=booked["days"], closed=closed,
                 prev=prev, next=nxt, today=today, programme=prog,
                 programmes=_programmes(request, user), values=values, errors=errors,
                 bookable=bookable, what_labels=WHAT, methods=court.METHODS,
                 session_kinds=scheduling.SESSION_KINDS,
                 may_record_sessions=may(user, BOOKERS["session"]),
                 may_draw=user.can("tests.record"), draw_to=today + dt.timedelta(days=27),
                 link=lambda **kw: "/registry/schedule?" + urlencode(
                     {"view": view, "day": when.isoformat(), "programme": prog or "", **kw}))


@router.post("/schedule", response_class=HTMLResponse)
async def book(request: Request, user: User = Depends(require("registry.read"))) -> Response:
    """Book a hearing, a test or a session for a participant; refused bookings keep the form."""
    form = await _form(request)
    values = {k: form.get(k, "").strip() for k in FIELDS}
    view, programme = form.get("view", "week"), form.get("programme", "")
    what = values["what"]
    errors: dict[str, str] = {}
    if what not in WHAT:
        errors["what"] = f"what: choose one of {', '.join(WHAT)}"
    elif not may(user, BOOKERS[what]):
        raise Refused(user, BOOKERS[what][0])
    shown, part, row = service.today(), None, None
    if not errors:
        reg = registry_of(request)
        try:
            if not values["on"]:
                raise InputError("on: choose the day to book")
            shown = _day(values["on"], "on")
            if not values["code"]:
                raise InputError("code: give the participant's code (P-XXXXXXXX)")
            with reg.read() as conn:
                part = participant_or_404(conn, values["code"], user)
            with reg.write(user.username, f"web book {what}") as tx:
                row = _book(tx, part["code"], what, shown, values)
        except InputError as exc:
            errors = field_errors(exc, FIELDS, {"participant": "code", "until": "on"})
        except HTTPException as exc:  # an unknown (or unseen) code: beside its field
            if exc.status_code != 404:
                raise
            errors = {"code": str(exc.detail)}
    if errors or part is None or row is None:
        return _schedule_page(request, user, shown, view, programme, values, errors)
    _flash(request, _said(_("%(what)s booked for %(code)s on %(day)s."), what=_(WHAT[what]),
                          code=part["code"], day=row["day"]))
    target = "/registry/schedule?" + urlencode({"view": view, "day": row["day"].isoformat(),
                                               "programme": programme})
    return RedirectResponse(target, status_code=303)


def _book(tx: Any, code: str, what: str, on: dt.date, values: Mapping[str, str]) -> dict[str, Any]:
    if what == "hearing":
        row = scheduling.book_hearing(tx, code, inputs.BookIn(on=on))
        return {**row, "day": row["scheduled_on"]}
    if what == "test":
        method = values.get("method") or None
        data = inputs.validate(inputs.DrugTestIn, {"on": on.isoformat(),
                                                   **({"method": method} if method else {})})
        row = service.add_test(tx, code, data)
        return {**row, "day": row["scheduled_on"]}
    data_s = inputs.validate(inputs.SessionIn, {"on": on.isoformat(),
                                                "kind": values.get("kind") or "treatment"})
    return scheduling.book_session(tx, code, data_s)


@router.post("/schedule/random", response_class=HTMLResponse)
async def draw_random(request: Request, user: User = Depends(require("tests.record"))) -> Response:
    """Draw the programme's random drug tests for a range of days (from today on), as
    `registry tests schedule` does: each day equally likely, reproducible from the seed."""
    form = await _form(request)
    view, programme = form.get("view", "week"), form.get("programme", "")
    values = {"draw_from": form.get("draw_from", "").strip(), "draw_to": form.get("draw_to", "").strip()}
    try:
        prog = _seen_programme(request, user, programme)
        first = _day(values["draw_from"] or None, "from")
        last = _day(values["draw_to"], "to") if values["draw_to"] else None
        if last is None:
            raise InputError("to: choose the last day to draw tests for")
        with registry_of(request).write(user.username, "web tests schedule") as tx:
            out = service.schedule_tests(tx, prog, first, last)
    except InputError as exc:
        errors = field_errors(exc, ("from", "to", "programme"))
        errors = {{"from": "draw_from", "to": "draw_to"}.get(k, k): v for k, v in errors.items()}
        return _schedule_page(request, user, service.today(), view, programme,
                              {"what": "hearing", "code": "", "on": "", "method": "",
                               "kind": "treatment", **values}, errors)
    _flash(request, _said(_("%(tests)s random tests drawn for %(people)s participants from "
                            "%(start)s to %(end)s (seed %(seed)s)."), tests=out["tests"],
                          people=out["enrolments"], start=out["from"], end=out["to"],
                          seed=out["seed"]))
    return RedirectResponse("/registry/schedule?" + urlencode(
        {"view": view, "day": out["from"], "programme": prog}), status_code=303)


@router.post("/sessions/{session_id}", response_class=HTMLResponse)
async def record_session(request: Request, session_id: int,
                         user: User = Depends(require("registry.read"))) -> Response:
    """Record a booked session attended, missed or excused."""
    if not may(user, BOOKERS["session"]):
        raise Refused(user, BOOKERS["session"][0])
    form = await _form(request)
    if not 1 <= session_id <= 2**31 - 1:
        raise InputError("session: no such session")
    try:
        data = inputs.validate(inputs.SessionResultIn, {k: v for k, v in form.items()
                                                        if k in ("status", "version") and v})
        with registry_of(request).write(user.username, "web session record") as tx:
            row = scheduling.record_session(tx, session_id, data, form, user.programmes)
        _flash(request, _said(_("Session %(id)s: %(status)s."), id=session_id,
                              status=term(row["status"])))
    except ConflictError:
        _flash(request, _said(_("Session %(id)s was recorded by someone else meanwhile; nothing "
                                "was stored."), id=session_id), "warn")
        row = None
    except InputError as exc:
        _flash(request, str(exc), "warn")
        row = None
    day = row["day"] if row else service.today()
    return RedirectResponse("/registry/schedule?" + urlencode(
        {"view": form.get("view", "week"), "day": day.isoformat(),
         "programme": form.get("programme", "")}) + f"#day-{day}", status_code=303)


# ---- the court calendar ------------------------------------------------------------------------------

@router.get("/court-calendar", response_class=HTMLResponse)
def court_calendar(request: Request, programme: str = "",
                   user: User = Depends(require("registry.read"))) -> Response:
    """The programme's sitting weekdays and closed days (public holidays, closures)."""
    return _calendar_page(request, user, programme, {}, {})


def _calendar_page(request: Request, user: User, programme: str, values: Mapping[str, str],
                   errors: Mapping[str, str]) -> Response:
    prog = _programme(request, user, programme)
    with registry_of(request).read() as conn:
        rows = scheduling.calendar_rows(conn, prog) if prog else None
    return _page(request, "court/court_calendar.html", status_code=400 if errors else 200,
                 cal=rows, programme=prog, programmes=_programmes(request, user), values=values,
                 errors=errors, weekdays=calendar.WEEKDAYS, today=service.today(),
                 may_edit=may(user, CALENDAR_KEEPERS))


def _keeper(user: User) -> None:
    if not may(user, CALENDAR_KEEPERS):
        raise Refused(user, CALENDAR_KEEPERS[0])


def _seen_programme(request: Request, user: User, code: str) -> str:
    prog = _programme(request, user, code)
    if prog is None or prog != code.strip():
        raise InputError(f"programme: unknown {code[:64]!r}")
    return prog


@router.post("/court-calendar/sitting", response_class=HTMLResponse)
async def set_sitting(request: Request, user: User = Depends(require("registry.read"))) -> Response:
    """Set the weekdays the court sits."""
    _keeper(user)
    form = await request.form()
    prog = _seen_programme(request, user, str(form.get("programme", "")))
    days = [str(v) for v in form.getlist("weekday")]
    try:
        with registry_of(request).write(user.username, "web court calendar") as tx:
            row = scheduling.set_sitting_days(tx, prog, calendar.parse_weekdays(days, "weekday"))
    except InputError as exc:
        return _calendar_page(request, user, prog, {}, {"weekday": str(exc)})
    moved = row["moved"]
    _flash(request, _said(ngettext("Sitting weekdays saved; %(num)s hearing moved to the next "
                                   "sitting day.", "Sitting weekdays saved; %(num)s hearings "
                                   "moved to the next sitting day.", len(moved)), num=len(moved))
           if moved else _("Sitting weekdays saved."))
    return RedirectResponse(f"/registry/court-calendar?programme={prog}", status_code=303)


@router.post("/court-calendar/closed", response_class=HTMLResponse)
async def add_closed(request: Request, user: User = Depends(require("registry.read"))) -> Response:
    """Close the court on a day (a public holiday, every year if `yearly`)."""
    _keeper(user)
    form = await _form(request)
    prog = _seen_programme(request, user, form.get("programme", ""))
    values = {k: form.get(k, "").strip() for k in ("day", "reason", "yearly")}
    try:
        data = inputs.validate(inputs.ClosedDayIn, {
            "day": values["day"] or None, "reason": values["reason"] or None,
            "yearly": values["yearly"] == "on"})
        with registry_of(request).write(user.username, "web court calendar") as tx:
            row = scheduling.close_day(tx, prog, data)
    except InputError as exc:
        return _calendar_page(request, user, prog, values,
                              field_errors(exc, ("day", "reason", "yearly")))
    moved = row["moved"]
    _flash(request, _said(ngettext("Closed on %(day)s (%(reason)s); %(num)s hearing moved to the "
                                   "next sitting day.", "Closed on %(day)s (%(reason)s); %(num)s "
                                   "hearings moved to the next sitting day.", len(moved)),
                          day=row["day"], reason=row["reason"], num=len(moved))
           if moved else _said(_("Closed on %(day)s (%(reason)s)."), day=row["day"],
                               reason=row["reason"]))
    return RedirectResponse(f"/registry/court-calendar?programme={prog}", status_code=303)


@router.post("/court-calendar/closed/{closed_id}/delete", response_class=HTMLResponse)
async def remove_closed(request: Request, closed_id: int,
                        user: User = Depends(require("registry.read"))) -> Response:
    """Open the court again on a closed day."""
    _keeper(user)
    form = await _form(request)
    if not 1 <= closed_id <= 2**31 - 1:
        raise InputError("closed_day: no such day")
    with registry_of(request).write(user.username, "web court calendar") as tx:
        row = scheduling.reopen_day(tx, closed_id, user.programmes)
    _flash(request, _said(_("%(day)s is no longer closed."), day=row["day"]))
    return RedirectResponse(f"/registry/court-calendar?programme={form.get('programme', '')}",
                            status_code=303)


# ---- reminders ---------------------------------------------------------------------------------------

REMINDER_TITLES = (
    ("hearings_due", N_("Status hearings in the next 7 days")),
    ("sessions_due", N_("Treatment sessions in the next 7 days")),
    ("tests_missed", N_("Test window closed, no result")),
    ("hearings_unrecorded", N_("Hearings past with nothing recorded")),
    ("sessions_unrecorded", N_("Sessions past with no attendance recorded")),
    ("needs_response", N_("Tests awaiting a response")),
    ("sanctions_pending", N_("Sanctions still pending")),
    ("results_unconfirmed", N_("Results pending confirmation or contested")),
    ("planned_end_passed", N_("Planned end passed, still active")),
)


@router.get("/reminders", response_class=HTMLResponse)
def reminders(request: Request, user: User = Depends(require("registry.read"))) -> Response:
    """What is due in the next days, what is overdue or missed, and passed planned ends."""
    with registry_of(request).read() as conn:
        found = scheduling.reminders(conn, service.today(), service.local_now(),
                                     within=user.programmes)
    return _page(request, "court/reminders.html", found=found, titles=REMINDER_TITLES,
                 today=service.today())


# ---- the docket --------------------------------------------------------------------------------------

@router.get("/docket", response_class=HTMLResponse)
def docket_page(request: Request, day: str = "", view: str = "day", programme: str = "",
                print_view: str = "", user: User = Depends(require("registry.read"))) -> Response:
    """The judge's docket of a day or a week: each hearing with the participant's progress since
    their last hearing. `print_view=1`: the same on plain paper."""
    when = _day(day)
    view = "week" if view == "week" else "day"
    first, last = (calendar.week_of(when)[0], calendar.week_of(when)[-1]) if view == "week" \
        else (when, when)
    prog = programme.strip() or None
    with registry_of(request).read() as conn:
        rows = docket.docket(conn, first, last, prog, within=user.programmes)
    what = f"names on the docket {first}" + (f" to {last}" if last != first else "")
    names = _names(request, user, rows, "participant_id", what)
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for r in rows:
        by_day.setdefault(r["scheduled_on"], []).append(r)
    step = dt.timedelta(days=7 if view == "week" else 1)
    return _page(request, "court/docket_print.html" if print_view else "court/docket.html",
                 day=when, view=view, first=first, last=last, by_day=by_day, names=names,
                 total=len(rows), prev=when - step, next=when + step, today=service.today(),
                 programme=prog or "", print_link="/registry/docket?" + urlencode(
                     {"day": when.isoformat(), "view": view, "programme": prog or "",
                      "print_view": 1}))
