"""A case as practitioners enter it: the person, the offence, the history, consent and screening.

Field names are the case vocabulary (divert.law.vocabulary); values are checked against it, and an
unknown field or an out-of-range value is refused with a message naming the field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from divert.errors import InputError
from divert.law.vocabulary import (
    AGGRAVATORS,
    DISORDER_LEVELS,
    FIELDS,
    LEVELS,
    OFFENCE_TYPES,
    SEXES,
    SUBSTANCES,
)
from divert.law.yaml_source import read_yaml, validate_model

OffenceType = Literal[OFFENCE_TYPES]  # type: ignore[valid-type]
Substance = Literal[SUBSTANCES]  # type: ignore[valid-type]
Aggravator = Literal[AGGRAVATORS]  # type: ignore[valid-type]
Sex = Literal[SEXES]  # type: ignore[valid-type]
Level = Literal[LEVELS]  # type: ignore[valid-type]
Disorder = Literal[DISORDER_LEVELS]  # type: ignore[valid-type]
Count = int | None


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Person(_Part):
    age: float | None = Field(None, ge=0, le=120)
    age_at_offence: float | None = Field(None, ge=0, le=120)
    sex: Sex | None = None
    in_treatment: bool | None = None
    acknowledges_drug_problem: bool | None = None


class Offence(_Part):
    type: OffenceType | None = None
    substance: Substance | None = None
    quantity_g: float | None = Field(None, ge=0, le=1e9)
    plants: int | None = Field(None, ge=0, le=1_000_000)
    date: dt.date | None = None
    aggravators: list[Aggravator] = []
    linked_to_drug_use: bool | None = None
    admitted: bool | None = None
    leader_or_organiser: bool | None = None
    death_or_serious_injury: bool | None = None
    truthful_disclosure: bool | None = None
    substantial_assistance_motion: bool | None = None


class History(_Part):
    prior_convictions: int | None = Field(None, ge=0, le=1_000_000)
    prior_drug_convictions: int | None = Field(None, ge=0, le=1_000_000)
    prior_violent_convictions: int | None = Field(None, ge=0, le=1_000_000)
    prior_incarcerations: int | None = Field(None, ge=0, le=1_000_000)
    prior_diversion_failures: int | None = Field(None, ge=0, le=1_000_000)
    prior_diversions: int | None = Field(None, ge=0, le=1_000_000)
    prior_drug_arrests: int | None = Field(None, ge=0, le=1_000_000)
    pending_charge: bool | None = None
    fta_past_2_years: int | None = Field(None, ge=0, le=1_000_000)
    fta_older: int | None = Field(None, ge=0, le=1_000_000)
    criminal_history_points: int | None = Field(None, ge=0, le=1_000_000)
    prior_3_point_offences: int | None = Field(None, ge=0, le=1_000_000)
    prior_2_point_violent_offences: int | None = Field(None, ge=0, le=1_000_000)
    prior_serious_drug_felonies: int | None = Field(None, ge=0, le=1_000_000)
    longest_prior_prison_sentence_months: float | None = Field(None, ge=0, le=12_000)


class Sentence(_Part):
    months: float | None = Field(None, ge=0)
    served_months: float | None = Field(None, ge=0)


class Case(_Part):
    """One case; every fact optional (an absent fact is unknown, never assumed)."""

    person: Person = Person()
    offence: Offence = Offence()
    history: History = History()
    sentence: Sentence = Sentence()
    consent: bool | None = None
    need: Level | None = None
    risk: Level | None = None
    disorder: Disorder | None = None
    injecting: bool | None = None
    screening: dict[str, dict[str, Any]] = {}

    @field_validator("screening")
    @classmethod
    def _known_instruments(cls, v: dict[str, Any]) -> dict[str, Any]:
        from divert.advice.screening import INSTRUMENTS

        for name in v:
            if name not in INSTRUMENTS:
                raise ValueError(f"unknown instrument {name!r}; allowed: {', '.join(INSTRUMENTS)}")
        return v

    def facts(self) -> dict[str, Any]:
        """Flat vocabulary facts of the case (screening and triage are added by pathways)."""
        out: dict[str, Any] = {}
        for part in ("person", "offence", "history", "sentence"):
            for key, value in getattr(self, part).model_dump().items():
                name = f"{part}.{key}"
                if name in FIELDS:
                    out[name] = value
        if out.get("person.age_at_offence") is None:
            out["person.age_at_offence"] = self.person.age  # an age given alone: at the offence
        out["consent"] = self.consent
        return out


def parse_case(data: Any, source: Path | str = "case") -> Case:
    """Validate case data; InputError names the field (and the line when read from a file)."""
    if not isinstance(data, dict):
        raise InputError("a case must be a mapping with person, offence, history ...",
                         where=str(source))
    return validate_model(Case, data, source, error=InputError)


def load_case(path: Path | str) -> Case:
    """Read and validate a case file."""
    return parse_case(read_yaml(Path(path)), path)
