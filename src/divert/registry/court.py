"""The treatment court engine, after the NADCP standards (shared/reference/domain-rules.md §4).

Pure functions over a programme's `ProgrammeRules`; the registry stores what they produce.

* **Random testing.** Each active participant is tested on any day, weekends and holidays included,
  with the same probability `tests_per_week / 7` (2 a week by default, per phase), drawn day by day
  and never in weekly blocks. The draw for (participant's enrolment, day) is a counter-based hash of
  the programme's recorded `schedule_seed`, the enrolment id and the day (`draws`), so a schedule
  can be re-derived by anyone with the seed, for any range, in any order: reproducible and auditable.
* **Sample window.** Notified at `notify_time` on the test day, the sample is due within
  `window_hours` (8 h by default, 4 h for oral fluid).
* **Phases.** Promotion on objective criteria: days in phase, days abstinent (since the last
  positive, missed, dilute, adulterated or refused test), treatment attendance rate, no sanction
  pending.
* **Graduated responses.** Incentives for compliance escalate with the run of negative tests;
  sanctions escalate with the sanctions of the past `sanction_lookback_days`, proximal goals
  (showing up, giving a valid sample) starting a step higher than distal ones (abstinence); a
  positive test in an early phase suggests a therapeutic adjustment and a low sanction, never jail.
  Jail is capped (`jail_cap_days`, default 5): suggestions never exceed it, a larger one is warned.
  Therapeutic adjustments are clinical, listed apart, never counted as sanctions.
* **Status hearings.** Every `hearing_interval_days` of the phase (14 in phase 1 by default), never
  more than `max_hearing_gap_days` (42: 6 weeks) apart before the final phase.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from divert.errors import InputError

METHODS = ("urine", "oral_fluid", "sweat_patch", "breath", "blood", "hair")
RESULTS = ("negative", "positive", "dilute", "adulterated", "refused", "missed", "excused",
           "collected")
VIOLATIONS = ("positive", "dilute", "adulterated", "refused", "missed")
PROXIMAL = ("missed", "dilute", "adulterated", "refused", "missed_hearing", "missed_session")
BEHAVIOURS = ("positive_test", "missed_test", "invalid_sample", "missed_hearing", "missed_session",
              "new_arrest", "negative_test", "attendance", "milestone", "other")
RESPONSE_KINDS = ("incentive", "sanction", "therapeutic")
RESULT_STATES = ("pending", "confirmed", "contested", "lab_confirmed")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Promotion(_Strict):
    """Objective criteria to leave a phase (for the final phase: to graduate)."""

    days_abstinent: int = Field(30, ge=0)
    attendance_rate: float = Field(0.9, ge=0, le=1)
    no_pending_sanction: bool = True


class Phase(_Strict):
    """One phase: how often to test and to see the judge, and how to move on."""

    name: str
    tests_per_week: float = Field(2.0, gt=0, le=7)
    test_method: Literal[METHODS] = "urine"  # type: ignore[valid-type]
    hearing_interval_days: int = Field(14, ge=1, le=90)
    min_days: int = Field(0, ge=0)
    promotion: Promotion = Promotion()


class SanctionStep(_Strict):
    """A rung of the sanction ladder."""

    type: str
    jail_days: int | None = Field(None, ge=1)


def _default_phases() -> list[Phase]:
    return [
        Phase(name="stabilisation", tests_per_week=3, hearing_interval_days=14, min_days=60,
              promotion=Promotion(days_abstinent=30)),
        Phase(name="intensive treatment", tests_per_week=2, hearing_interval_days=21, min_days=90,
              promotion=Promotion(days_abstinent=60)),
        Phase(name="transition", tests_per_week=2, hearing_interval_days=28, min_days=90,
              promotion=Promotion(days_abstinent=90)),
        Phase(name="maintenance", tests_per_week=2, hearing_interval_days=42, min_days=90,
              promotion=Promotion(days_abstinent=120)),
    ]


class ProgrammeRules(_Strict):
    """A programme's schedule of testing, hearings and responses (defaults follow NADCP)."""

    phases: list[Phase] = Field(default_factory=_default_phases, min_length=1)
    notify_time: dt.time = dt.time(6, 0)
    window_hours: dict[str, int] = Field(default_factory=lambda: {"default": 8, "oral_fluid": 4})
    max_hearing_gap_days: int = Field(42, ge=1, le=42)
    jail_cap_days: int = Field(5, ge=1, le=30)  # NADCP: short jail sanctions of a few days
    jail_from_phase: int = Field(2, ge=1)
    sanction_lookback_days: int = Field(90, ge=1)
    incentives: list[str] = Field(default_factory=lambda: [
        "verbal praise", "applause in court", "reduced reporting", "gift card",
        "curfew relaxed", "phase certificate"], min_length=1)
    negatives_per_incentive_step: int = Field(3, ge=1)
    sanctions: list[SanctionStep] = Field(default_factory=lambda: [
        SanctionStep(type="verbal warning"), SanctionStep(type="essay or journal"),
        SanctionStep(type="increased reporting"), SanctionStep(type="community service"),
        SanctionStep(type="curfew"), SanctionStep(type="jail", jail_days=2),
        SanctionStep(type="jail", jail_days=5)], min_length=1)
    therapeutic: dict[str, list[str]] = Field(default_factory=lambda: {
        "positive_test": ["clinical reassessment", "review of treatment intensity or medication"],
        "missed_session": ["review of barriers to attendance (transport, work, childcare)"],
    })

    @model_validator(mode="after")
    def _check(self) -> ProgrammeRules:
        for i, phase in enumerate(self.phases[:-1]):
            if phase.hearing_interval_days > self.max_hearing_gap_days:
                raise ValueError(
                    f"phases.{i}.hearing_interval_days: {phase.hearing_interval_days} is more than "
                    f"max_hearing_gap_days ({self.max_hearing_gap_days}); status hearings may be no "
                    "more than 4-6 weeks apart before the final phase (NADCP)")
        for method in self.window_hours:
            if method != "default" and method not in METHODS:
                raise ValueError(f"window_hours.{method}: unknown method; allowed: default, "
                                 f"{', '.join(METHODS)}")
        if "default" not in self.window_hours:
            raise ValueError("window_hours.default: required (8 hours by NADCP)")
        return self

    def warnings(self) -> list[str]:
        """What departs from the standards without being forbidden."""
        out = []
        for i, phase in enumerate(self.phases):
            if phase.tests_per_week < 2:
                out.append(f"phases.{i}.tests_per_week: {phase.tests_per_week} is under 2 a week "
                           "(NADCP: at least twice a week throughout)")
        for i, step in enumerate(self.sanctions):
            if step.jail_days and step.jail_days > self.jail_cap_days:
                out.append(f"sanctions.{i}.jail_days: {step.jail_days} exceeds jail_cap_days "
                           f"({self.jail_cap_days}); suggestions are capped")
        for method, hours in self.window_hours.items():
            limit = 4 if method == "oral_fluid" else 8
            if hours > limit:
                out.append(f"window_hours.{method}: {hours} h is longer than {limit} h (NADCP)")
        return out

    def phase(self, number: int) -> Phase:
        """Phase `number` (1-based), the last one for numbers past the end."""
        return self.phases[min(max(number, 1), len(self.phases)) - 1]

    def window(self, method: str) -> dt.timedelta:
        return dt.timedelta(hours=self.window_hours.get(method, self.window_hours["default"]))


def parse_rules(data: Any, where: str = "rules") -> ProgrammeRules:
    """Validate programme rules; an error names the field and what is allowed."""
    try:
        return ProgrammeRules.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(msg if not loc else f"{loc}: {msg}", where=where) from None


# ---- random testing -------------------------------------------------------------------------------

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective, well-mixing hash of 64-bit words."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def draws(seed: int, enrolment_ids: np.ndarray | Sequence[int], days: np.ndarray | Sequence[int]
          ) -> np.ndarray:
    """Uniform draws in [0, 1) for each (enrolment, day ordinal) pair, from the programme's seed.

    u = mix(mix(mix(seed + golden) ^ enrolment) ^ day) / 2**64; broadcasting applies.
    """
    with np.errstate(over="ignore"):
        s = _mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + _GOLDEN)
        e = np.asarray(enrolment_ids, dtype=np.uint64)
        d = np.asarray(days, dtype=np.uint64)
        x = _mix(_mix(s ^ e) ^ d)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def drawn_days(seed: int, enrolment_ids: np.ndarray, rates_per_week: np.ndarray, first: dt.date,
              last: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """(enrolment ids, day ordinals) drawn for testing in [first, last]: each day has probability
    rate/7 for each enrolment, independently of the weekday."""
    days = np.arange(first.toordinal(), last.toordinal() + 1, dtype=np.int64)
    u = draws(seed, enrolment_ids[:, None], days[None, :])
    hit = u < (np.asarray(rates_per_week, dtype=np.float64)[:, None] / 7.0)
    rows, cols = np.nonzero(hit)
    return enrolment_ids[rows], days[cols]


def due_window(rules: ProgrammeRules, day: dt.date, method: str) -> tuple[dt.datetime, dt.datetime]:
    """(notified at, due by) for a test on `day` by `method`."""
    notified = dt.datetime.combine(day, rules.notify_time)
    return notified, notified + rules.window(method)


# ---- phases ---------------------------------------------------------------------------------------

def days_abstinent(tests: Iterable[dict[str, Any]], since: dt.date, on: dt.date) -> int:
    """Days from the last violating test (positive, missed, invalid), or from `since`, to `on`."""
    bad = [t["scheduled_on"] for t in tests if t["status"] in VIOLATIONS and t["scheduled_on"] <= on]
    return max(0, (on - max([since, *bad])).days)


def promotion_check(rules: ProgrammeRules, enrolment: dict[str, Any], tests: Sequence[dict[str, Any]],
                    attendance: Sequence[dict[str, Any]], responses: Sequence[dict[str, Any]],
                    on: dt.date) -> dict[str, Any]:
    """Whether the enrolment meets its phase's criteria on `on`, criterion by criterion."""
    phase = rules.phase(enrolment["phase"])
    crit = phase.promotion
    since = enrolment["phase_since"]
    in_phase = (on - since).days
    abstinent = days_abstinent(tests, enrolment["started_on"], on)
    sessions = [a for a in attendance if a["day"] >= since and a["status"] in ("attended", "missed")]
    attended = sum(a["status"] == "attended" for a in sessions)
    rate = attended / len(sessions) if sessions else None
    pending = [r["id"] for r in responses if r["kind"] == "sanction" and r["status"] == "imposed"]
    criteria = [
        {"name": "days_in_phase", "required": phase.min_days, "actual": in_phase,
         "met": in_phase >= phase.min_days},
        {"name": "days_abstinent", "required": crit.days_abstinent, "actual": abstinent,
         "met": abstinent >= crit.days_abstinent},
        {"name": "attendance_rate", "required": crit.attendance_rate,
         "actual": None if rate is None else round(rate, 3),
         "met": (rate if rate is not None else (1.0 if crit.attendance_rate == 0 else -1.0))
         >= crit.attendance_rate},
    ]
    if crit.no_pending_sanction:
        criteria.append({"name": "no_pending_sanction", "required": True, "actual": pending,
                         "met": not pending})
    final = enrolment["phase"] >= len(rules.phases)
    return {"phase": enrolment["phase"], "phase_name": phase.name, "final_phase": final,
            "next": "graduation" if final else enrolment["phase"] + 1,
            "eligible": all(c["met"] for c in criteria), "criteria": criteria}


# ---- graduated responses --------------------------------------------------------------------------

def behaviour_of_test(status: str) -> str:
    """The behaviour a test result shows."""
    return {"positive": "positive_test", "missed": "missed_test", "negative": "negative_test",
            "excused": "other"}.get(status, "invalid_sample")


def suggest(rules: ProgrammeRules, phase: int, behaviour: str, responses: Sequence[dict[str, Any]],
            tests: Sequence[dict[str, Any]], on: dt.date) -> dict[str, Any]:
    """The programme's suggested response to `behaviour` on `on`: an incentive or a sanction (and
    apart from either, therapeutic adjustments). It advises; the judge decides."""
    out: dict[str, Any] = {"behaviour": behaviour, "phase": phase, "incentive": None, "sanction": None,
                           "therapeutic": list(rules.therapeutic.get(behaviour, [])), "notes": []}
    if behaviour in ("negative_test", "attendance", "milestone"):
        streak = 0
        for t in sorted(tests, key=lambda t: t["scheduled_on"], reverse=True):
            if t["scheduled_on"] > on or t["status"] in ("scheduled", "collected", "excused"):
                continue
            if t["status"] != "negative":
                break
            streak += 1
        level = min(len(rules.incentives), 1 + max(streak - 1, 0) // rules.negatives_per_incentive_step)
        out["incentive"] = {"type": rules.incentives[level - 1], "level": level,
                            "negative_streak": streak}
        return out
    if behaviour not in BEHAVIOURS:
        raise InputError(f"behaviour: unknown {behaviour!r}; allowed: {', '.join(BEHAVIOURS)}")
    window_start = on - dt.timedelta(days=rules.sanction_lookback_days)
    recent = [r for r in responses if r["kind"] == "sanction" and r["status"] != "cancelled"
              and window_start <= r["day"] <= on]
    proximal = behaviour in ("missed_test", "invalid_sample", "missed_hearing", "missed_session")
    level = 1 + len(recent) + (1 if proximal else 0)
    ladder = rules.sanctions
    if behaviour == "positive_test" and phase < rules.jail_from_phase:
        non_jail = [i for i, s in enumerate(ladder) if not s.jail_days]
        level = min(level, (non_jail[-1] + 1) if non_jail else 1)
        out["notes"].append(f"phase {phase}: abstinence is a distal goal early on; a low sanction "
                            "and a therapeutic adjustment, not jail (NADCP)")
    level = min(level, len(ladder))
    step = ladder[level - 1]
    jail = step.jail_days
    if jail and jail > rules.jail_cap_days:
        out["notes"].append(f"jail capped at {rules.jail_cap_days} days (the ladder says {jail})")
        jail = rules.jail_cap_days
    out["sanction"] = {"type": step.type, "level": level, "jail_days": jail,
                       "recent_sanctions": len(recent), "proximal": proximal}
    return out


def jail_warning(rules: ProgrammeRules, jail_days: int | None) -> str | None:
    """A warning when a jail sanction exceeds the programme's cap."""
    if jail_days and jail_days > rules.jail_cap_days:
        return (f"jail sanction of {jail_days} days exceeds the cap of {rules.jail_cap_days} days: "
                "jail beyond 3-5 days brings diminishing returns and worse outcomes (NADCP)")
    return None


# ---- status hearings ------------------------------------------------------------------------------

def hearing_dates(rules: ProgrammeRules, phase: int, last: dt.date, until: dt.date) -> list[dt.date]:
    """Hearing dates after `last` up to `until`, every interval of `phase`."""
    step = dt.timedelta(days=rules.phase(phase).hearing_interval_days)
    out, day = [], last + step
    while day <= until:
        out.append(day)
        day += step
    return out
