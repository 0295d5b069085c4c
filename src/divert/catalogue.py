"""The measure catalogue: stable ids shared by every pack (more may be added, none renamed).

`treatment` and `supervision` are intensities 0-3 used to fit a measure to a risk/need quadrant;
`involves_treatment` marks measures that place a person in treatment, which need informed consent;
`recommendable` is false for acts of clemency that no practitioner's advice can ask for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["alternative", "conventional", "coercive"]


@dataclass(frozen=True)
class Measure:
    """A catalogue entry: what the measure is, wherever a pack offers it."""

    id: str
    stage: str
    kind: Kind
    label: str
    treatment: int
    supervision: int
    involves_treatment: bool = False
    custodial: bool = False
    recommendable: bool = True


_MEASURES = [
    # police
    Measure("no_further_action", "police", "alternative", "No further action", 0, 0),
    Measure("warning", "police", "alternative", "Warning or caution", 0, 0),
    Measure("police_registration", "police", "alternative",
            "Simplified police registration, no prosecution", 0, 0),
    Measure("referral_to_health_services", "police", "alternative",
            "Referral to health or social services", 1, 0, involves_treatment=True),
    Measure("administrative_referral", "police", "alternative",
            "Referral to an administrative (non-criminal) body", 1, 1),
    Measure("compulsory_treatment", "police", "coercive",
            "Compulsory detention for treatment", 2, 3, custodial=True),
    Measure("arrest_and_charge", "police", "conventional", "Arrest and charge", 0, 1),
    # prosecution
    Measure("conditional_dismissal", "prosecution", "alternative",
            "Conditional dismissal or suspension of prosecution", 1, 1, involves_treatment=True),
    Measure("diversion_programme", "prosecution", "alternative",
            "Diversion programme with treatment", 2, 1, involves_treatment=True),
    Measure("prosecution", "prosecution", "conventional", "Prosecution", 0, 1),
    # court
    Measure("pre_judgment_probation", "court", "alternative",
            "Probation without entry of judgment", 1, 2, involves_treatment=True),
    Measure("drug_treatment_court", "court", "alternative", "Drug treatment court", 3, 3,
            involves_treatment=True),
    Measure("suspended_sentence_with_treatment", "court", "alternative",
            "Suspended or deferred sentence with a treatment condition", 2, 2,
            involves_treatment=True),
    Measure("probation_with_treatment", "court", "alternative",
            "Probation with a treatment condition", 2, 2, involves_treatment=True),
    Measure("treatment_order", "court", "alternative", "Treatment order (therapeutic order)",
            2, 1, involves_treatment=True),
    Measure("fine", "court", "conventional", "Fine", 0, 0),
    Measure("community_service", "court", "conventional", "Community service order", 0, 1),
    Measure("imprisonment", "court", "conventional", "Imprisonment", 0, 3, custodial=True),
    Measure("corporal_punishment", "court", "coercive", "Corporal punishment", 0, 0),
    Measure("death_penalty", "court", "coercive", "Death penalty", 0, 3, custodial=True),
    # post_sentence
    Measure("treatment_in_prison", "post_sentence", "alternative", "Treatment in prison", 2, 3,
            involves_treatment=True, custodial=True),
    Measure("early_release_with_treatment", "post_sentence", "alternative",
            "Early or conditional release with treatment", 2, 2, involves_treatment=True),
    Measure("release_with_aftercare", "post_sentence", "alternative",
            "Release with aftercare", 1, 1, involves_treatment=True),
    Measure("pardon_or_remission", "post_sentence", "alternative", "Pardon or remission", 0, 0,
            recommendable=False),
]

CATALOGUE: dict[str, Measure] = {m.id: m for m in _MEASURES}
"""Every catalogue measure by id, in stage order."""


def measures_of(stage: str) -> list[Measure]:
    """Catalogue measures of one stage, in catalogue order."""
    return [m for m in _MEASURES if m.stage == stage]
