"""The measure catalogue: stable ids shared by every pack (more may be added, none renamed).

The catalogue is data (`catalogue.yaml` beside this module): each measure's stage, kind,
intensities and its simulated **effect** (where the person goes, for how long, what treatment it
carries, what it costs and what completion and failure lead to), with sources. A pack may add
measures of its own in `measures.yaml`, in the same schema. The simulation reads effects; it never
branches on a measure id.

`treatment` and `supervision` are intensities 0-3 used to fit a measure to a risk/need quadrant;
`involves_treatment` marks measures that place a person in treatment, which need informed consent;
`recommendable` is false for acts of clemency that no practitioner's advice can ask for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ruamel.yaml import YAML

Kind = Literal["alternative", "conventional", "coercive"]
Placement = Literal["next_stage", "community", "programme", "custody", "compulsory_centre",
                    "stay_in_custody", "none"]
Decided = Literal["at_contact", "at_admission", "monthly", "at_release"]
TreatmentForm = Literal["none", "community", "residential", "in_prison"]
Route = Literal["community", "prosecution", "custody"]
ROUTES: tuple[Route, ...] = ("community", "prosecution", "custody")
"""Failure routes in the order of the practice table `measure_failure_to` (0, 1, 2)."""
STAGE_NAMES = ("police", "prosecution", "court", "post_sentence")


class Effect(BaseModel):
    """What a measure does to a simulated person (see catalogue.yaml for each field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    placement: Placement
    decided: Decided = "at_contact"
    releases: bool = False
    treatment: TreatmentForm = "none"
    court_programme: bool = False
    conviction: bool = False
    sentence: Literal["by_offence", "fixed"] = "by_offence"
    event: Literal["corporal_punishments", "death_sentences"] | None = None
    duration_months: float | None = Field(None, gt=0)
    completion_prob: float = Field(1.0, ge=0, le=1)
    reoffence_rr: float = Field(1.0, ge=0)
    cost_per_month: float = Field(0.0, ge=0)
    cost_sector: Literal["probation", "treatment", "prison"] = "probation"
    cost_includes_treatment: bool = False
    on_failure: Route = "community"
    oat_overdose_rr: float | None = Field(None, ge=0)
    oat_overdose_rr_months: int = Field(0, ge=0)
    note: str | None = None
    citation: str = Field(min_length=1)
    provenance: Literal["verified", "unverified"]

    @model_validator(mode="after")
    def _consistent(self) -> Effect:
        if self.placement in ("programme", "compulsory_centre") and self.duration_months is None:
            raise ValueError(f"duration_months: a {self.placement} needs its length in months")
        if self.sentence == "fixed" and self.duration_months is None:
            raise ValueError("duration_months: a fixed sentence needs its length in months")
        if self.releases and self.decided != "monthly":
            raise ValueError("releases: only a measure decided monthly can end a sentence early")
        return self


class MeasureEntry(BaseModel):
    """One catalogue entry as written in catalogue.yaml or a pack's measures.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Kind
    label: str = Field(min_length=1)
    treatment: int = Field(ge=0, le=3)
    supervision: int = Field(ge=0, le=3)
    involves_treatment: bool = False
    custodial: bool = False
    recommendable: bool = True
    effect: Effect


@dataclass(frozen=True)
class Measure:
    """A catalogue entry: what the measure is, wherever a pack offers it, and its effect."""

    id: str
    stage: str
    kind: Kind
    label: str
    treatment: int
    supervision: int
    involves_treatment: bool = False
    custodial: bool = False
    recommendable: bool = True
    effect: Effect | None = None


def measure_of(entry: MeasureEntry, stage: str) -> Measure:
    """The catalogue measure of a validated entry at `stage`."""
    if entry.effect.decided != "at_contact" and stage != "post_sentence":
        raise ValueError(f"effect.decided: {entry.effect.decided} is for post_sentence measures")
    if stage == "post_sentence" and entry.effect.decided == "at_contact":
        raise ValueError("effect.decided: a post_sentence measure is decided at_admission, "
                         "monthly or at_release")
    return Measure(entry.id, stage, entry.kind, entry.label, entry.treatment, entry.supervision,
                   entry.involves_treatment, entry.custodial, entry.recommendable, entry.effect)


def _load(path: Path) -> list[Measure]:
    data: Mapping[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    out: list[Measure] = []
    for stage in STAGE_NAMES:
        for item in data.get(stage) or []:
            out.append(measure_of(MeasureEntry.model_validate(item), stage))
    return out


_MEASURES = _load(Path(__file__).with_name("catalogue.yaml"))

CATALOGUE: dict[str, Measure] = {m.id: m for m in _MEASURES}
"""Every catalogue measure by id, in stage order."""


def measures_of(stage: str, catalogue: Mapping[str, Measure] | None = None) -> list[Measure]:
    """Measures of one stage, in catalogue order (the shared catalogue unless one is given)."""
    return [m for m in (catalogue or CATALOGUE).values() if m.stage == stage]
