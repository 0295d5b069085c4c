"""What the registry's commands accept: checked models whose errors name the field.

The same models check `--json` input, command-line options and each record of an import file.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from divert.errors import InputError
from divert.law.vocabulary import OFFENCE_TYPES, QUADRANTS, SEXES
from divert.registry.court import BEHAVIOURS, METHODS, RESPONSE_KINDS, RESULT_STATES

M = TypeVar("M", bound=BaseModel)

Method = Literal[METHODS]  # type: ignore[valid-type]
Quadrant = Literal[QUADRANTS]  # type: ignore[valid-type]
Sex = Literal[SEXES]  # type: ignore[valid-type]
Behaviour = Literal[BEHAVIOURS]  # type: ignore[valid-type]
Kind = Literal[RESPONSE_KINDS]  # type: ignore[valid-type]
OffenceType = Literal[OFFENCE_TYPES]  # type: ignore[valid-type]
TestResult = Literal["negative", "positive", "dilute", "adulterated", "refused", "missed", "excused",
                     "collected"]
ResultState = Literal[RESULT_STATES]  # type: ignore[valid-type]
HearingStatus = Literal["held", "missed", "cancelled", "scheduled"]
AttendanceStatus = Literal["attended", "missed", "excused"]
ExitKind = Literal["graduated", "terminated", "withdrawn"]

#: ids, versions and levels fit the database's integer columns
MAX_INT = 2**31 - 1
EARLIEST = dt.date(1900, 1, 1)


def _born(value: dt.date) -> dt.date:
    if not EARLIEST <= value <= dt.date.today():
        raise ValueError(f"must be between {EARLIEST} and today")
    return value


BirthDate = Annotated[dt.date, AfterValidator(_born)]


class In(BaseModel):
    """Strict input: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _allowed(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return f"; allowed: {ctx['expected']}"
    return ""


def validate(model: type[M], data: Any, where: str = "") -> M:
    """Check `data` against `model`; the error names the field (`where.field.sub`)."""
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object, got {type(data).__name__}", where=where or None)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"] if "[" not in str(p))  # not union tags
        path = ".".join(p for p in (where, loc) if p)
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields)
            raise InputError(f"unknown field; allowed: {allowed}", where=path) from None
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(msg + ("" if "Input should be" in msg else _allowed(err)),
                         where=path or None) from None


class ParticipantIn(In):
    """A new participant: identity (encrypted), programme and, optionally, the case."""

    name: str = Field(min_length=1, max_length=200)
    birth_date: BirthDate | None = None
    contact: str | None = Field(None, max_length=500)
    sex: Sex | None = None
    programme: str = "default"
    referred_on: dt.date | None = None
    case: dict[str, Any] | None = None
    case_reference: str | None = Field(None, max_length=100)


class ParticipantUpdate(In):
    """Changes to a participant's identity or sex; `version` is the one you read."""

    name: str | None = Field(None, min_length=1, max_length=200)
    birth_date: BirthDate | None = None
    contact: str | None = Field(None, max_length=500)
    sex: Sex | None = None
    version: int | None = Field(None, ge=1, le=MAX_INT)


class CaseIn(In):
    """A case in the case vocabulary (see README: case files)."""

    facts: dict[str, Any]
    reference: str | None = Field(None, max_length=100)


class ScreeningIn(In):
    instrument: str
    responses: dict[str, Any]
    on: dt.date | None = None


class AdviceIn(In):
    jurisdiction: str
    case_id: int | None = None
    on: dt.date | None = None


class ConfirmIn(In):
    decision: str
    note: str | None = None
    on: dt.date | None = None
    version: int | None = Field(None, ge=1, le=MAX_INT)


class ConsentIn(In):
    given: bool
    measure: str | None = None
    on: dt.date | None = None
    note: str | None = None


class EnrolIn(In):
    measure: str = "drug_treatment_court"
    on: dt.date | None = None
    planned_end: dt.date | None = None
    quadrant: Quadrant | None = None


class AttendanceIn(In):
    status: AttendanceStatus
    on: dt.date | None = None
    kind: str = Field("treatment", max_length=32)
    note: str | None = None


class DrugTestIn(In):
    """A for-cause (or otherwise added) test for a participant."""

    on: dt.date | None = None
    method: Method | None = None
    kind: Literal["for_cause", "random"] = "for_cause"


class ResultIn(In):
    """The result of one test."""

    test: int = Field(ge=1, le=MAX_INT)
    result: TestResult
    substances: list[str] = []
    collected_at: dt.datetime | None = None
    #: pending (awaiting confirmation), confirmed, contested, lab_confirmed; default by result
    state: ResultState | None = None
    #: why a recorded result or its state changes (required then; kept in the history)
    reason: str | None = Field(None, max_length=2000)
    version: int | None = Field(None, ge=1, le=MAX_INT)


class ResponseIn(In):
    """An incentive, sanction or therapeutic adjustment; `test` links the test it answers."""

    kind: Kind
    type: str = Field(min_length=1, max_length=64)
    behaviour: Behaviour | None = None
    level: int | None = Field(None, ge=1, le=MAX_INT)
    jail_days: int | None = Field(None, ge=1, le=365)
    test: int | None = Field(None, ge=1, le=MAX_INT)
    on: dt.date | None = None
    completed_on: dt.date | None = None
    note: str | None = None


class HearingIn(In):
    hearing: int = Field(ge=1, le=MAX_INT)
    status: HearingStatus = "held"
    held_on: dt.date | None = None
    minutes: int | None = Field(None, ge=0, le=600)
    note: str | None = None
    version: int | None = Field(None, ge=1, le=MAX_INT)


class BookIn(In):
    """A day to book a status hearing on."""

    on: dt.date


class SessionIn(In):
    """A treatment session to book (its attendance is recorded on the day)."""

    on: dt.date
    kind: str = Field("treatment", min_length=1, max_length=32)
    note: str | None = Field(None, max_length=5000)


class SessionResultIn(In):
    """How a booked session went; `version` is the session's version as read."""

    status: AttendanceStatus
    version: int | None = Field(None, ge=1, le=MAX_INT)


class ClosedDayIn(In):
    """A day the court does not sit (`yearly`: on that month and day every year)."""

    day: dt.date
    reason: str = Field(min_length=1, max_length=200)
    yearly: bool = False


class PhaseIn(In):
    """A phase change: promotion by default; `to` an earlier phase is a return (needs a reason)."""

    to: int | None = Field(None, ge=1, le=MAX_INT)
    on: dt.date | None = None
    reason: str | None = None
    override: str | None = None
    version: int | None = Field(None, ge=1, le=MAX_INT)


class ExitIn(In):
    on: dt.date | None = None
    reason: str | None = None
    override: str | None = None
    version: int | None = Field(None, ge=1, le=MAX_INT)


class RearrestIn(In):
    on: dt.date
    offence_type: OffenceType | None = None
    note: str | None = None


class ProgrammeIn(In):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=200)
    jurisdiction: str | None = None

    @field_validator("jurisdiction")
    @classmethod
    def _known_pack(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from divert.law.policy import pack_dirs

        known = sorted(p.name for p in pack_dirs())
        if value not in known:
            raise ValueError(f"unknown jurisdiction {value!r}; allowed: {', '.join(known)}")
        return value
    rules: dict[str, Any] = {}
