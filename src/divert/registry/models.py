"""The registry's tables (SQLAlchemy 2). Every domain table has an integer `id` and a `version`.

`version` is the optimistic lock: every update says which version it read and bumps it; a write
against a stale version is a conflict, never a silent overwrite. Identifying fields of a participant
are stored encrypted (`*_enc`, see `crypto`), and so are free text and case references
(`freetext.FIELDS`, bound to their row); everything else is pseudonymous. The audit log and its
head are not domain tables: they record the domain tables (`AUDITED`).

Migrations in `migrations/versions/` mirror these tables; a change here needs a new revision.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Id = Integer


class Base(DeclarativeBase):
    """Declarative base of the registry schema."""


def _version() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=1)


class RegistryMeta(Base):
    """Key/value facts about the registry itself (e.g. the encryption key's check value)."""

    __tablename__ = "registry_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class Programme(Base):
    """A diversion programme or treatment court, with its rules (phases, testing, responses)."""

    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    schedule_seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    version: Mapped[int] = _version()


class Participant(Base):
    """A person in a programme, known by a pseudonymous code; identity encrypted at rest."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), nullable=False)
    name_enc: Mapped[str | None] = mapped_column(Text)
    birth_date_enc: Mapped[str | None] = mapped_column(Text)
    contact_enc: Mapped[str | None] = mapped_column(Text)
    sex: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="referred")
    referred_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    version: Mapped[int] = _version()


class Case(Base):
    """The case that brought a participant in: facts in the case vocabulary (divert.advice.case)."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), nullable=False,
                                                index=True)
    # encrypted (`freetext`): longer than its 100 plain characters; SQLite ignores the bound
    reference: Mapped[str | None] = mapped_column(String(100).with_variant(Text(), "postgresql"))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    version: Mapped[int] = _version()


class Screening(Base):
    """A screening instrument's responses as given and its scores, with the instrument version."""

    __tablename__ = "screenings"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), nullable=False,
                                                index=True)
    instrument: Mapped[str] = mapped_column(String(32), nullable=False)
    instrument_version: Mapped[str] = mapped_column(String(64), nullable=False)
    administered_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    responses: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    version: Mapped[int] = _version()


class AdviceSnapshot(Base):
    """The advice divert gave on a case (with its trace and pack hash) and what people decided."""

    __tablename__ = "advice"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), nullable=False,
                                                index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False)
    jurisdiction: Mapped[str] = mapped_column(String(64), nullable=False)
    pack_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    divert_version: Mapped[str] = mapped_column(String(32), nullable=False)
    decided_for: Mapped[dt.date] = mapped_column(Date, nullable=False)
    quadrant: Mapped[str | None] = mapped_column(String(8))
    advice: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_on: Mapped[dt.date | None] = mapped_column(Date)
    final_decision: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()


class Consent(Base):
    """Informed consent given or withdrawn, with its date and the measure it concerns."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), nullable=False,
                                                index=True)
    measure: Mapped[str | None] = mapped_column(String(64))
    given: Mapped[bool] = mapped_column(Boolean, nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()


class Enrolment(Base):
    """A participant's place in a programme: measure, current phase, dates, how it ended."""

    __tablename__ = "enrolments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), nullable=False,
                                                index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), nullable=False)
    measure: Mapped[str] = mapped_column(String(64), nullable=False)
    quadrant: Mapped[str | None] = mapped_column(String(8))
    phase: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    phase_since: Mapped[dt.date] = mapped_column(Date, nullable=False)
    started_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    planned_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()

    __table_args__ = (Index("ix_enrolments_status", "status", "programme_id"),)


class Attendance(Base):
    """Attendance at a treatment session (attended, missed or excused)."""

    __tablename__ = "attendance"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="treatment")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()

    __table_args__ = (Index("ix_attendance_enrolment", "enrolment_id", "day"),)


class DrugTest(Base):
    """A drug test: scheduled (random or for cause), the window it is due in, and its result."""

    __tablename__ = "drug_tests"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False)
    scheduled_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="random")
    method: Mapped[str] = mapped_column(String(16), nullable=False, default="urine")
    phase: Mapped[int] = mapped_column(Integer, nullable=False)
    notified_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    due_by: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="scheduled")
    collected_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    substances: Mapped[list[str] | None] = mapped_column(JSON)
    awaiting_response: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    version: Mapped[int] = _version()

    # The daily dashboard reads only these small partial, covering indexes: open tests (scheduled,
    # a month or so ahead) by day and by deadline, and tests awaiting a response.
    __table_args__ = (
        Index("ix_tests_enrolment_day", "enrolment_id", "scheduled_on"),
        Index("ix_tests_open_day", "scheduled_on", "due_by", "id", "enrolment_id", "method",
              sqlite_where=text("status = 'scheduled'"), postgresql_where=text("status = 'scheduled'")),
        Index("ix_tests_open_due", "due_by", "id", "scheduled_on", "enrolment_id", "method",
              sqlite_where=text("status = 'scheduled'"), postgresql_where=text("status = 'scheduled'")),
        Index("ix_tests_awaiting", "scheduled_on", "id", "enrolment_id", "method", "due_by", "status",
              sqlite_where=text("awaiting_response"), postgresql_where=text("awaiting_response")),
    )


class Hearing(Base):
    """A status hearing before the judge: when it is due, whether it was held and attended."""

    __tablename__ = "hearings"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False)
    scheduled_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="scheduled")
    held_on: Mapped[dt.date | None] = mapped_column(Date)
    minutes: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()

    __table_args__ = (Index("ix_hearings_day", "scheduled_on", "status"),
                      Index("ix_hearings_enrolment", "enrolment_id", "scheduled_on"))


class Response(Base):
    """An incentive, a sanction or a therapeutic adjustment, and the behaviour it answers."""

    __tablename__ = "responses"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False,
                                              index=True)
    drug_test_id: Mapped[int | None] = mapped_column(ForeignKey("drug_tests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    level: Mapped[int | None] = mapped_column(Integer)
    jail_days: Mapped[int | None] = mapped_column(Integer)
    behaviour: Mapped[str | None] = mapped_column(String(64))
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="imposed")
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()


class PhaseChange(Base):
    """A move between phases (promotion or return), with the criteria as they stood."""

    __tablename__ = "phase_changes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), nullable=False,
                                              index=True)
    from_phase: Mapped[int] = mapped_column(Integer, nullable=False)
    to_phase: Mapped[int] = mapped_column(Integer, nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = _version()


class Rearrest(Base):
    """A new arrest of a participant, during or after the programme."""

    __tablename__ = "rearrests"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), nullable=False,
                                                index=True)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    offence_type: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()


class ScheduleRun(Base):
    """One generation of random test schedules: the range, the seed and what it produced."""

    __tablename__ = "schedule_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), nullable=False)
    first_day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    last_day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    enrolments: Mapped[int] = mapped_column(Integer, nullable=False)
    tests: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = _version()


class CourtCalendar(Base):
    """A programme's sitting weekdays (0 Monday .. 6 Sunday); no row: Monday to Friday."""

    __tablename__ = "court_calendars"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), unique=True,
                                              nullable=False)
    sitting_weekdays: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    version: Mapped[int] = _version()


class ClosedDay(Base):
    """A day the court does not sit (a public holiday, a closure); `yearly`: that day every year."""

    __tablename__ = "closed_days"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    yearly: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = _version()

    __table_args__ = (UniqueConstraint("programme_id", "day"),)


class ResultEntry(Base):
    """One entry of a drug test's result history: the result, its state (pending, confirmed,
    contested, lab-confirmed), who recorded it, when and why. Entries are only ever added; the
    test's `status` is the latest entry's result."""

    __tablename__ = "test_results"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    drug_test_id: Mapped[int] = mapped_column(ForeignKey("drug_tests.id"), nullable=False)
    result: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    substances: Mapped[list[str] | None] = mapped_column(JSON)
    collected_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100), nullable=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    version: Mapped[int] = _version()

    __table_args__ = (Index("ix_test_results_test", "drug_test_id", "id"),)


class User(Base):
    """An account of the web application: a role and an argon2 password hash (never the password)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    version: Mapped[int] = _version()


class Note(Base):
    """A note on a participant; clinical notes are encrypted at rest like identifying fields."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), nullable=False,
                                                index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    text_enc: Mapped[str] = mapped_column(Text, nullable=False)
    author: Mapped[str] = mapped_column(String(100), nullable=False)
    written_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    version: Mapped[int] = _version()


class SessionEpoch(Base):
    """An account's session epoch: sessions signed with an older epoch are over (logout,
    deactivation, password change or reset bump it). No row: epoch 0."""

    __tablename__ = "session_epochs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True, nullable=False)
    epoch: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = _version()


class UserProgramme(Base):
    """A programme an account may see (`programme_id` NULL: every programme, programme-wide)."""

    __tablename__ = "user_programmes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    version: Mapped[int] = _version()

    __table_args__ = (UniqueConstraint("user_id", "programme_id"),
                      Index("ix_user_programmes_user", "user_id"))


class UserSetting(Base):
    """An account's own settings: the language of its pages (none: the browser's). A table of its
    own, so that adding it left the rows of `users` and their audit digests unchanged."""

    __tablename__ = "user_settings"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True, nullable=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    version: Mapped[int] = _version()


class AuditRecord(Base):
    """One change, hash-chained to the one before: who, when, what, before and after."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    command: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(8), nullable=False)
    table_name: Mapped[str] = mapped_column(String(32), nullable=False)
    row_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    row_digest: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (Index("ix_audit_row", "table_name", "row_id", "seq"),)


class AuditHead(Base):
    """The last link of the audit chain (one row), locked by every writing transaction."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


def _table(model: type[Base]) -> Table:
    return model.__table__  # type: ignore[return-value]


#: the tables whose every row is recorded in the audit log, in dependency order
AUDITED: dict[str, Table] = {
    m.__tablename__: _table(m) for m in (
        Programme, Participant, Case, Screening, AdviceSnapshot, Consent, Enrolment, Attendance,
        DrugTest, Hearing, Response, PhaseChange, Rearrest, ScheduleRun, User, Note, SessionEpoch,
        UserProgramme, CourtCalendar, ClosedDay, ResultEntry, UserSetting)
}

metadata = Base.metadata
