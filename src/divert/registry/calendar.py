"""A court's calendar: the weekdays it sits and the days it is closed, and what may be booked when.

Pure functions over plain data. Status hearings are booked only on sitting days that are not
closed (public holidays, closures; a `yearly` closed day recurs on its month and day every year).
Nothing is booked in the past: a hearing, a drug test or a treatment session is booked for today
or later. Random drug tests themselves fall on any day (court.py): they are not court sittings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from divert.errors import InputError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_SITTING = (0, 1, 2, 3, 4)
#: how far a booking looks for the next sitting day before giving up (a calendar with no sitting day)
SEARCH_DAYS = 366


@dataclass(frozen=True)
class Closed:
    """A closed day: `day` (a yearly one recurs on its month and day), and why."""

    day: dt.date
    reason: str
    yearly: bool = False


@dataclass(frozen=True)
class CourtCalendar:
    """The weekdays a court sits (0 Monday .. 6 Sunday) and its closed days."""

    sitting: tuple[int, ...] = DEFAULT_SITTING
    closed: tuple[Closed, ...] = field(default_factory=tuple)

    def closure(self, day: dt.date) -> Closed | None:
        """The closed day that `day` falls on, if any."""
        for c in self.closed:
            if c.day == day or (c.yearly and (c.day.month, c.day.day) == (day.month, day.day)):
                return c
        return None

    def why_not_sitting(self, day: dt.date) -> str | None:
        """None on a sitting day; else why the court does not sit (in words)."""
        closed = self.closure(day)
        if closed is not None:
            return f"the court is closed on {day} ({closed.reason})"
        if day.weekday() not in self.sitting:
            return (f"the court does not sit on {WEEKDAYS[day.weekday()].capitalize()}s "
                    f"(sitting days: {sitting_words(self.sitting)})")
        return None

    def sits(self, day: dt.date) -> bool:
        return self.why_not_sitting(day) is None

    def next_sitting(self, day: dt.date) -> dt.date:
        """`day` if the court sits then, else the next day it does; InputError if none in a year."""
        for n in range(SEARCH_DAYS):
            candidate = day + dt.timedelta(days=n)
            if self.sits(candidate):
                return candidate
        raise InputError(f"calendar: no sitting day within {SEARCH_DAYS} days of {day}; set the "
                         "programme's sitting weekdays")


def sitting_words(days: Iterable[int]) -> str:
    return ", ".join(WEEKDAYS[d].capitalize() for d in sorted(days)) or "none"


def parse_weekdays(values: Iterable[Any], where: str = "sitting_weekdays") -> tuple[int, ...]:
    """Weekdays given as 0-6 or names (monday, mon); at least one; InputError naming the field."""
    out: set[int] = set()
    for v in values:
        text = str(v).strip().lower()
        if not text:
            continue
        if text.isdigit() and int(text) < 7:
            out.add(int(text))
            continue
        match = [i for i, name in enumerate(WEEKDAYS) if len(text) >= 3 and name.startswith(text)]
        if len(match) != 1:
            raise InputError(f"{where}: {text[:20]!r} is not a weekday; allowed: "
                             f"{', '.join(WEEKDAYS)} (or 0-6 from Monday)")
        out.add(match[0])
    if not out:
        raise InputError(f"{where}: give at least one sitting weekday")
    return tuple(sorted(out))


def from_rows(calendar: Mapping[str, Any] | None, closed: Iterable[Mapping[str, Any]]
              ) -> CourtCalendar:
    """The calendar of a programme from its stored rows (no calendar row: Monday to Friday)."""
    sitting = tuple(calendar["sitting_weekdays"]) if calendar else DEFAULT_SITTING
    return CourtCalendar(sitting, tuple(Closed(c["day"], c["reason"], bool(c["yearly"]))
                                        for c in closed))


def not_in_past(day: dt.date, today: dt.date, field_name: str, what: str) -> None:
    """InputError when `day` is before `today`: nothing is booked in the past."""
    if day < today:
        raise InputError(f"{field_name}: {day} is in the past; {what} can be booked from today "
                         f"({today}) on")


def check_hearing_day(cal: CourtCalendar, day: dt.date, today: dt.date, field_name: str = "on"
                      ) -> None:
    """InputError unless a status hearing may be booked on `day` (not past, a sitting day)."""
    not_in_past(day, today, field_name, "a hearing")
    why = cal.why_not_sitting(day)
    if why:
        raise InputError(f"{field_name}: {why}; the next sitting day is {cal.next_sitting(day)}")


def hearing_days(cal: CourtCalendar, interval_days: int, last: dt.date, until: dt.date,
                 today: dt.date) -> list[dt.date]:
    """Hearing days after `last` up to `until`, every `interval_days`, each moved to the next
    sitting day when the interval lands on a day the court does not sit, and none in the past
    (a booking that would fall before `today` goes to the first sitting day from today)."""
    out: list[dt.date] = []
    day = last
    step = dt.timedelta(days=interval_days)
    while True:
        target = max(day + step, today)
        booked = cal.next_sitting(target)
        if booked > until:
            return out
        out.append(booked)
        day = booked


def month_grid(year: int, month: int) -> list[list[dt.date | None]]:
    """The weeks (Monday first) of a month; days outside the month are None."""
    first = dt.date(year, month, 1)
    after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    day = first - dt.timedelta(days=first.weekday())
    weeks: list[list[dt.date | None]] = []
    while day < after:
        week = [day + dt.timedelta(days=i) for i in range(7)]
        weeks.append([d if d.month == month else None for d in week])
        day += dt.timedelta(days=7)
    return weeks


def week_of(day: dt.date) -> list[dt.date]:
    """The seven days (Monday first) of the week holding `day`."""
    start = day - dt.timedelta(days=day.weekday())
    return [start + dt.timedelta(days=i) for i in range(7)]
