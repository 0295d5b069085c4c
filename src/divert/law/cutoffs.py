"""Screening and triage cut-offs: the pack data (`screening:`, `triage:`) that advice reads.

They are law-layer types because a pack is validated against them when it loads
(`divert.law.policy`); the instruments' scoring (`divert.advice.screening`) and triage
(`divert.advice.triage`) take them as parameters. Each default carries its source in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from divert.errors import PackError

# ==================================================================================================
# Cut-offs (pack data)
# ==================================================================================================


class _Model(BaseModel):
    """Base for cut-off models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _rising(model: BaseModel, names: Sequence[str], low: int, high: int) -> None:
    """Check that the named cut-offs never decrease and stay within `low`..`high`.

    Equal cut-offs leave a band empty (e.g. the AUDIT reading 8-14 hazardous/harmful, >= 15 likely
    dependence: harmful_min = dependence_likely_min = 15)."""
    values = [getattr(model, n) for n in names]
    pairs = zip(values, values[1:], strict=False)
    if values[0] < low or values[-1] > high or any(a > b for a, b in pairs):
        shown = ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))
        raise ValueError(
            f"{', '.join(names)} must not decrease and lie within {low}-{high}; got {shown}")


class AssistCutoffs(_Model):
    """ASSIST SSI risk bands: alcohol 0-10/11-26/27+, every other substance 0-3/4-26/27+."""

    alcohol_moderate_min: StrictInt = 11
    alcohol_high_min: StrictInt = 27
    other_moderate_min: StrictInt = 4
    other_high_min: StrictInt = 27

    @model_validator(mode="after")
    def _check(self) -> AssistCutoffs:
        _rising(self, ("alcohol_moderate_min", "alcohol_high_min"), 1, 39)
        _rising(self, ("other_moderate_min", "other_high_min"), 1, 39)
        return self


class Dast10Cutoffs(_Model):
    """DAST-10 bands: none 0, low 1-2, moderate 3-5, substantial 6-8, severe 9-10."""

    low_min: StrictInt = 1
    moderate_min: StrictInt = 3
    substantial_min: StrictInt = 6
    severe_min: StrictInt = 9

    @model_validator(mode="after")
    def _check(self) -> Dast10Cutoffs:
        _rising(self, ("low_min", "moderate_min", "substantial_min", "severe_min"), 1, 10)
        return self


class AuditCutoffs(_Model):
    """AUDIT zones: I 0-7, II 8-15, III 16-19, IV 20-40; `override` raises the zone by one when
    any of Q4-Q6 scores >= 2 or Q9/Q10 scores 4."""

    hazardous_min: StrictInt = 8
    harmful_min: StrictInt = 16
    dependence_likely_min: StrictInt = 20
    override: StrictBool = True

    @model_validator(mode="after")
    def _check(self) -> AuditCutoffs:
        _rising(self, ("hazardous_min", "harmful_min", "dependence_likely_min"), 1, 40)
        return self


class CrafftCutoffs(_Model):
    """CRAFFT 2.1 Part B: positive at >= 2 yes answers."""

    positive_min: StrictInt = Field(2, ge=1, le=6)


class CageAidCutoffs(_Model):
    """CAGE-AID: positive at >= 1 (some programmes use 2)."""

    positive_min: StrictInt = Field(1, ge=1, le=4)


class UncopeCutoffs(_Model):
    """UNCOPE: positive at >= 2."""

    positive_min: StrictInt = Field(2, ge=1, le=6)


class Dsm5Cutoffs(_Model):
    """DSM-5 SUD severity by criteria count: mild 2-3, moderate 4-5, severe 6+."""

    mild_min: StrictInt = 2
    moderate_min: StrictInt = 4
    severe_min: StrictInt = 6

    @model_validator(mode="after")
    def _check(self) -> Dsm5Cutoffs:
        _rising(self, ("mild_min", "moderate_min", "severe_min"), 1, 11)
        return self


class PsaCutoffs(_Model):
    """PSA: the NVCA violence flag is raised at raw >= 4."""

    nvca_flag_min: StrictInt = Field(4, ge=1, le=7)


class ScreeningCutoffs(_Model):
    """All instruments' cut-offs, defaults from the manuals; a pack's `screening:` overrides."""

    citation: str | None = None
    provenance: Literal["verified", "unverified"] | None = None
    assist: AssistCutoffs = Field(default_factory=AssistCutoffs)
    dast10: Dast10Cutoffs = Field(default_factory=Dast10Cutoffs)
    audit: AuditCutoffs = Field(default_factory=AuditCutoffs)
    crafft: CrafftCutoffs = Field(default_factory=CrafftCutoffs)
    cage_aid: CageAidCutoffs = Field(default_factory=CageAidCutoffs)
    uncope: UncopeCutoffs = Field(default_factory=UncopeCutoffs)
    dsm5: Dsm5Cutoffs = Field(default_factory=Dsm5Cutoffs)
    psa: PsaCutoffs = Field(default_factory=PsaCutoffs)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any] | None, where: str = "screening"
    ) -> ScreeningCutoffs:
        """Build from a pack's `screening:` mapping; a bad value raises a one-line `PackError`."""
        try:
            return cls.model_validate({} if data is None else data)
        except ValidationError as exc:
            raise PackError(validation_message(exc, cls, where)) from None


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside an annotation (plain or Optional), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, UnionType):
        for arg in get_args(annotation):
            found = _submodel(arg)
            if found is not None:
                return found
    return None


def validation_message(exc: ValidationError, model: type[BaseModel], where: str) -> str:
    """One line for the first error of a pydantic validation: `where.field: what is wrong`."""
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    path = where
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    if error["type"] == "extra_forbidden":
        parent: type[BaseModel] | None = model
        for part in loc[:-1]:
            info = parent.model_fields.get(part) if parent is not None else None
            parent = _submodel(info.annotation) if info is not None else None
        allowed = ", ".join(parent.model_fields) if parent is not None else "?"
        return f"{path}: unknown key; allowed: {allowed}"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if error["type"] == "value_error" or not loc:
        return f"{path}: {message}"
    return f"{path}: {message} (got {show_value(error.get('input'))})"


def show_value(value: Any) -> str:
    """A short rendering of a bad value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ==================================================================================================
# Triage (pack data)
# ==================================================================================================

IndicatorName = Literal[
    "young_age", "prior_diversion_failures", "prior_incarcerations", "prior_convictions",
    "pending_charge", "fta_past_2_years",
]

#: prognostic-risk indicators the case vocabulary can show, each with its source
INDICATORS: dict[str, str] = {
    "young_age": "person.age < young_age_below (25): Marlowe, prognostic risk 'current age "
                 "< 25' (domain-rules §2.2) [V]",
    "prior_diversion_failures": "history.prior_diversion_failures > 0: Marlowe, 'prior "
                                "rehabilitation failures' (§2.2); RANT 'prior treatment/diversion "
                                "failures' (§2.3) [V]",
    "prior_incarcerations": "history.prior_incarcerations > 0: PSA NCA factor 'prior sentence "
                            "to incarceration' (§2.1) [V]",
    "prior_convictions": "history.prior_convictions >= prior_convictions_min (3): RANT 'prior "
                         "felonies/serious misdemeanors' (§2.3) [V]; the threshold 3 is ours [U]",
    "pending_charge": "history.pending_charge: PSA factor 'pending charge at the time of the "
                      "offense', FTA, NCA and NVCA (§2.1) [V]",
    "fta_past_2_years": "history.fta_past_2_years > 0: PSA FTA and NCA factor 'prior failure "
                        "to appear in past 2 years' (§2.1) [V]",
}


class NeedCutoffs(_Model):
    """When clinical need is high; null switches a criterion off."""

    assist_drug_score_min: StrictInt | None = Field(27, ge=0, le=39)
    assist_alcohol_score_min: StrictInt | None = Field(None, ge=0, le=39)
    dast10_score_min: StrictInt | None = Field(6, ge=0, le=10)
    dsm5_criteria_min: StrictInt | None = Field(4, ge=0, le=11)
    audit_score_min: StrictInt | None = Field(20, ge=0, le=40)
    crafft_score_min: StrictInt | None = Field(None, ge=0, le=6)
    cage_aid_score_min: StrictInt | None = Field(None, ge=0, le=4)
    uncope_score_min: StrictInt | None = Field(None, ge=0, le=6)
    injecting: StrictBool = True
    disorder_min: Literal["mild", "moderate", "severe"] | None = "moderate"


class RiskCutoffs(_Model):
    """When criminogenic risk is high; null switches a criterion off."""

    psa_nca_scaled_min: StrictInt | None = Field(4, ge=1, le=6)
    psa_fta_scaled_min: StrictInt | None = Field(None, ge=1, le=6)
    psa_nvca_flag: StrictBool = False
    prognostic_indicators_min: StrictInt | None = Field(2, ge=1, le=len(INDICATORS))
    indicators: tuple[IndicatorName, ...] = tuple(INDICATORS)  # type: ignore[arg-type]
    young_age_below: StrictInt = Field(25, ge=1, le=120)
    prior_convictions_min: StrictInt = Field(3, ge=1)


class TriageConfig(_Model):
    """A pack's `triage:` mapping: need and risk cut-offs with their citation and provenance."""

    citation: str = ("Marlowe 2012, NDCI Fact Sheet VII(2) (four risk/need quadrants); cut-offs "
                     "proposed in domain-rules.md §6.2")
    provenance: Literal["verified", "unverified"] = "unverified"
    need_high: NeedCutoffs = Field(default_factory=NeedCutoffs)
    risk_high: RiskCutoffs = Field(default_factory=RiskCutoffs)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "triage") -> TriageConfig:
        """Build from a pack's `triage:` mapping; a bad value raises a one-line `PackError`."""
        try:
            return cls.model_validate({} if data is None else data)
        except ValidationError as exc:
            raise PackError(validation_message(exc, cls, where)) from None
