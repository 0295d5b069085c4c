"""The case vocabulary: the one set of names shared by case files, rules, the population and the registry.

Each field has a type (number, bool, category, set) and, for categories and sets, the allowed values in a
fixed order whose index is the value's integer code in arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from divert.i18n import N_

FieldType = Literal["number", "bool", "category", "set"]

OFFENCE_TYPES = (
    "use", "possession", "possession_for_supply", "supply", "trafficking", "cultivation",
    "property", "violent", "other",
)
SUBSTANCES = (
    "heroin", "morphine", "opium", "methadone", "cocaine", "crack", "amphetamine",
    "methamphetamine", "mdma", "cannabis_herb", "cannabis_resin", "lsd", "other",
    # appended after "other" so that the integer codes of the earlier values do not change
    "fentanyl", "fentanyl_analogue",
)
AGGRAVATORS = (
    "organised_group", "violence", "weapons", "minors", "near_school_or_prison", "public_office",
    "prior_similar_conviction", "public_nuisance",
)
SEXES = ("female", "male", "other")
DISORDER_LEVELS = ("none", "mild", "moderate", "severe")
LEVELS = ("low", "high")
QUADRANTS = ("HR/HN", "LR/HN", "HR/LN", "LR/LN")
STAGES = ("police", "prosecution", "court", "post_sentence")


@dataclass(frozen=True)
class Field:
    """One name of the vocabulary: its type, allowed values, unit and meaning."""

    name: str
    type: FieldType
    description: str
    values: tuple[str, ...] = ()
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    fallback: str | None = None  # a number field whose value stands in where this one is missing

    def code(self, value: str) -> int:
        """Integer code of a category or set member (its index in `values`)."""
        return self.values.index(value)


_FIELDS = [
    Field("person.age", "number", N_("age in years on the decision date"), unit="years",
          minimum=0, maximum=120),
    Field("person.age_at_offence", "number",
          N_("age in years on the date of the offence (youth justice turns on it); when a case "
          "gives only person.age, that age is taken as the age at the offence"), unit="years",
          minimum=0, maximum=120, fallback="person.age"),
    Field("person.sex", "category", N_("sex"), SEXES),
    Field("person.in_treatment", "bool",
          N_("currently registered in drug treatment (e.g. holds a treatment card)")),
    Field("person.acknowledges_drug_problem", "bool",
          N_("the person acknowledges a drug problem and is willing to work on it")),
    Field("offence.type", "category", N_("type of the current offence"), OFFENCE_TYPES),
    Field("offence.substance", "category", N_("principal substance involved"), SUBSTANCES),
    Field("offence.quantity_g", "number", N_("quantity of the substance, grams"), unit="g",
          minimum=0),
    Field("offence.plants", "number", N_("number of cannabis plants"), unit="plants", minimum=0),
    Field("offence.aggravators", "set",
          N_("aggravating circumstances (1988 Convention art. 3(5) and national law)"), AGGRAVATORS),
    Field("offence.linked_to_drug_use", "bool",
          N_("the offence is rooted in the person's drug use (e.g. acquisitive crime to fund use)")),
    Field("offence.admitted", "bool", N_("the person admits the offence")),
    Field("offence.leader_or_organiser", "bool",
          N_("the person organised, led, managed or supervised others in the offence")),
    Field("offence.death_or_serious_injury", "bool",
          N_("the offence resulted in death or serious bodily injury to any person")),
    Field("offence.truthful_disclosure", "bool",
          N_("by sentencing the person truthfully gave the prosecution all they know of the offence")),
    Field("offence.substantial_assistance_motion", "bool",
          N_("the prosecution moved for a sentence below a minimum for substantial assistance")),
    Field("history.prior_convictions", "number", N_("prior convictions of any kind"), minimum=0),
    Field("history.prior_drug_convictions", "number", N_("prior drug convictions"), minimum=0),
    Field("history.prior_violent_convictions", "number", N_("prior violent convictions"), minimum=0),
    Field("history.prior_incarcerations", "number", N_("prior sentences to incarceration"),
          minimum=0),
    Field("history.prior_diversion_failures", "number",
          N_("prior diversions or treatment orders not completed"), minimum=0),
    Field("history.prior_diversions", "number",
          N_("prior diversions, conditional dismissals or administrative referrals"), minimum=0),
    Field("history.prior_drug_arrests", "number", N_("prior arrests for drug offences"), minimum=0),
    Field("history.pending_charge", "bool", N_("a charge was pending at the time of the offence")),
    Field("history.fta_past_2_years", "number", N_("failures to appear in the past 2 years"),
          minimum=0),
    Field("history.criminal_history_points", "number",
          N_("criminal history points (U.S. Sentencing Guidelines ch. 4)"), minimum=0),
    Field("history.prior_3_point_offences", "number",
          N_("prior offences scoring 3 criminal history points (sentences over 13 months)"), minimum=0),
    Field("history.prior_2_point_violent_offences", "number",
          N_("prior violent offences scoring 2 criminal history points"), minimum=0),
    Field("history.prior_serious_drug_felonies", "number",
          N_("prior final convictions for a serious drug felony (21 U.S.C. 802(57))"), minimum=0),
    Field("history.longest_prior_prison_sentence_months", "number",
          N_("the longest prison sentence imposed on the person before, months (0: none)"),
          unit="months", minimum=0),
    Field("history.fta_older", "number", N_("failures to appear more than 2 years ago"), minimum=0),
    Field("sentence.months", "number", N_("custodial sentence imposed, months"), unit="months",
          minimum=0),
    Field("sentence.served_months", "number", N_("months of the sentence served"), unit="months",
          minimum=0),
    Field("screening.disorder", "category",
          N_("drug use disorder severity (DSM-5 criteria count, or mapped from screening)"),
          DISORDER_LEVELS),
    Field("screening.injecting", "bool", N_("injecting drug use (ASSIST Q8 or stated)")),
    Field("triage.risk", "category", N_("criminogenic risk"), LEVELS),
    Field("triage.need", "category", N_("clinical need"), LEVELS),
    Field("triage.quadrant", "category", N_("risk/need quadrant"), QUADRANTS),
    Field("consent", "bool", N_("informed consent to the alternative has been recorded")),
]

FIELDS: dict[str, Field] = {f.name: f for f in _FIELDS}


def field(name: str) -> Field:
    """The vocabulary field called `name`; KeyError if it is not in the vocabulary."""
    return FIELDS[name]
