"""Practice: the simulation inputs a pack adds to its law, with defaults, units and uncertainty.

The law says which measures are open; practice says how often they are used, how many places they
have, how long they last, what they cost and what they change. Each practice parameter has a default
(generic, with its source and provenance) that a pack's `practice.yaml` overrides with its own
figures in the same format as `parameters.yaml`. Each may carry an uncertainty distribution for
probabilistic sensitivity analysis:

- `{dist: triangular, low: L, high: H}`: around the value (the mode), absolute bounds;
- `{dist: factor, low: a, high: b}`: the value (every entry of a table) times a factor drawn
  triangular on [a, b] with mode 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from divert.catalogue import CATALOGUE
from divert.errors import PackError
from divert.policy import Parameter, Policy
from divert.vocabulary import DISORDER_LEVELS, FIELDS, OFFENCE_TYPES, SUBSTANCES

V, U = "verified", "unverified"


@dataclass(frozen=True)
class Default:
    """A practice parameter: its default value, unit, meaning, source and uncertainty."""

    name: str
    value: Any
    unit: str
    description: str
    citation: str
    provenance: str = U
    keys: str | None = None
    uncertainty: Mapping[str, Any] | None = None


ASSUMPTION = "divert default assumption; replace with national data"
_T = {"dist": "factor", "low": 0.7, "high": 1.3}
_P = {"dist": "factor", "low": 0.8, "high": 1.2}

_DEFAULTS = [
    # population
    Default("population_size", 1_000_000, "persons",
            "people who use drugs in the jurisdiction (the simulated population)", ASSUMPTION),
    Default("female_share", 0.25, "share", "share of women", ASSUMPTION, uncertainty=_P),
    Default("age_mean_years", 32.0, "years", "mean age at the start", ASSUMPTION),
    Default("age_sd_years", 10.0, "years", "standard deviation of age", ASSUMPTION),
    Default("substance_share", {"cannabis_herb": 0.45, "heroin": 0.12, "cocaine": 0.12,
                                "crack": 0.04, "methamphetamine": 0.1, "amphetamine": 0.06,
                                "mdma": 0.04, "other": 0.07},
            "share", "primary substance", ASSUMPTION, keys="offence.substance"),
    Default("injecting_share", 0.08, "share", "share who inject", ASSUMPTION, uncertainty=_P),
    Default("disorder_share", {"none": 0.55, "mild": 0.15, "moderate": 0.15, "severe": 0.15},
            "share", "drug use disorder severity at the start", ASSUMPTION,
            keys="screening.disorder"),
    Default("high_risk_share", 0.3, "share", "share at high criminogenic risk", ASSUMPTION,
            uncertainty=_P),
    Default("prior_conviction_share", 0.3, "share", "share with a prior conviction", ASSUMPTION),
    Default("prior_drug_conviction_share", 0.15, "share", "share with a prior drug conviction",
            ASSUMPTION),
    Default("prior_incarceration_share", 0.1, "share", "share ever incarcerated", ASSUMPTION),
    Default("initial_treatment_share", 0.1, "share", "share in treatment at the start",
            "UNODC World Drug Report 2024: 1 in 11 people with drug use disorders treated",
            uncertainty=_P),
    Default("initial_prison_share", 0.01, "share", "share in prison at the start", ASSUMPTION,
            uncertainty=_P),
    Default("entrants_per_year", 0.05, "share per year",
            "new people who use drugs each year, as a share of the starting population",
            ASSUMPTION, uncertainty=_P),
    Default("exit_age_years", 75.0, "years", "age at which a person leaves the population",
            ASSUMPTION),
    # drug use and treatment
    Default("remission_rate_per_year", {"none": 0.163, "mild": 0.12, "moderate": 0.08,
                                        "severe": 0.062},
            "per year", "remission of active use, by severity",
            "Everingham & Rydell light/heavy user quit rates 0.163 and 0.062 a year (as used by "
            "Behrens et al. 1999); intermediate values interpolated", U,
            keys="screening.disorder", uncertainty=_T),
    Default("relapse_rate_per_year", 0.3, "per year", "return to active use after remission",
            ASSUMPTION, uncertainty=_T),
    Default("treatment_entry_rate_per_year", 0.08, "per year",
            "voluntary treatment entry of people with a moderate or severe disorder", ASSUMPTION,
            uncertainty=_T),
    Default("treatment_dropout_rate_per_year", 0.6, "per year", "leaving voluntary treatment",
            "White & Albert 2023 (arXiv 2311.05076): 51.3% completed treatment", U,
            uncertainty=_T),
    Default("treatment_remission_rr", 2.0, "ratio", "remission rate multiplier in treatment",
            ASSUMPTION, uncertainty=_T),
    Default("mortality_other_per_year", 0.006, "per year", "deaths from other causes",
            ASSUMPTION, uncertainty=_P),
    Default("overdose_death_rate_per_year", 0.003, "per year",
            "overdose deaths per person in active use (before substance multipliers)",
            "White & Albert 2023 (arXiv 2311.05076): yearly overdose deaths / prevalence about "
            "0.0027-0.0033", V, uncertainty=_T),
    Default("overdose_substance_rr", {"heroin": 4.0, "morphine": 4.0, "methadone": 3.0,
                                      "opium": 2.0, "cocaine": 1.0, "crack": 1.5,
                                      "methamphetamine": 1.2, "amphetamine": 0.6, "mdma": 0.2,
                                      "cannabis_herb": 0.02, "cannabis_resin": 0.02, "lsd": 0.02,
                                      "other": 1.0},
            "ratio", "overdose risk by primary substance", ASSUMPTION, keys="offence.substance"),
    Default("overdose_rr_injecting", 2.0, "ratio", "overdose risk multiplier for injecting",
            ASSUMPTION, uncertainty=_T),
    Default("overdose_rr_in_treatment", 0.5, "ratio", "overdose risk multiplier in treatment",
            ASSUMPTION, uncertainty=_T),
    Default("overdose_rr_remission", 0.2, "ratio", "overdose risk multiplier in remission",
            ASSUMPTION),
    Default("overdose_rr_in_prison", 0.1, "ratio", "overdose risk multiplier in custody",
            ASSUMPTION),
    Default("overdose_rr_release_first_month", 10.0, "ratio",
            "overdose risk multiplier in the first month after release",
            "Binswanger et al. 2007, NEJM 356:157-65: overdose death RR 129 (89-186) in the first "
            "2 weeks after release versus residents; multiplier relative to active use is a "
            "divert assumption", U, uncertainty={"dist": "triangular", "low": 4.0, "high": 20.0}),
    Default("overdose_rr_release_year", 2.0, "ratio",
            "overdose risk multiplier in months 2-12 after release",
            "Binswanger et al. 2013, Ann Intern Med 159:592: 167 overdose deaths per 100k "
            "person-years after release", U, uncertainty=_T),
    # offending and police
    Default("offence_rate_per_year", 0.6, "per year", "offences per person in active use",
            ASSUMPTION, uncertainty=_T),
    Default("offence_type_share", {"use": 0.25, "possession": 0.45, "possession_for_supply": 0.05,
                                   "supply": 0.07, "trafficking": 0.01, "cultivation": 0.03,
                                   "property": 0.1, "violent": 0.02, "other": 0.02},
            "share", "offence types", ASSUMPTION, keys="offence.type"),
    Default("quantity_median_g", {"heroin": 0.5, "morphine": 0.5, "methadone": 0.5, "opium": 5.0,
                                  "cocaine": 1.0, "crack": 0.3, "methamphetamine": 1.0,
                                  "amphetamine": 1.0, "mdma": 0.5, "cannabis_herb": 5.0,
                                  "cannabis_resin": 3.0, "lsd": 0.0001, "other": 1.0},
            "g", "median quantity held for personal use", ASSUMPTION, keys="offence.substance"),
    Default("quantity_sigma", 1.0, "log g", "spread of quantities (lognormal sigma)", ASSUMPTION),
    Default("supply_quantity_factor", {"possession_for_supply": 10.0, "supply": 20.0,
                                       "trafficking": 500.0},
            "ratio", "quantity multiplier for supply offences", ASSUMPTION, keys="offence.type"),
    Default("aggravator_prob", 0.05, "probability", "an offence has an aggravating circumstance",
            ASSUMPTION),
    Default("detection_prob", 0.15, "probability", "an offence leads to a police contact",
            ASSUMPTION, uncertainty=_T),
    Default("offence_rr_by_disorder", {"none": 0.6, "mild": 1.0, "moderate": 1.6, "severe": 2.2},
            "ratio", "offending multiplier by disorder severity",
            "divert assumption: people with a drug use disorder offend and are arrested more "
            "often (58% of state prisoners met criteria for drug abuse or dependence in 2007-09 "
            "against about 5% of adults, BJS); set so the share of prisoners with a disorder "
            "approaches that figure", U, keys="screening.disorder", uncertainty=_T),
    Default("offence_rr_high_risk", 2.0, "ratio", "offending multiplier for high risk",
            ASSUMPTION, uncertainty=_T),
    Default("offence_rr_in_treatment", 0.7, "ratio", "offending multiplier in treatment",
            ASSUMPTION, uncertainty=_T),
    Default("offence_rr_remission", 0.2, "ratio", "offending multiplier in remission",
            ASSUMPTION),
    # decisions
    Default("measure_weight", {"arrest_and_charge": 1.0, "prosecution": 1.0, "imprisonment": 1.0,
                               "fine": 1.0},
            "weight", "relative use of each open measure (discretion); 1 where not given",
            ASSUMPTION, keys="measure", uncertainty=_T),
    Default("consent_prob", 0.7, "probability", "a person consents to an alternative",
            ASSUMPTION, uncertainty=_P),
    Default("measure_capacity", {}, "places", "places in each measure (none: unlimited)",
            ASSUMPTION, keys="measure"),
    Default("measure_duration_months", {
        "administrative_referral": 3, "referral_to_health_services": 6, "compulsory_treatment": 12,
        "conditional_dismissal": 6, "diversion_programme": 9, "pre_judgment_probation": 12,
        "drug_treatment_court": 18, "suspended_sentence_with_treatment": 18,
        "probation_with_treatment": 18, "treatment_order": 12, "community_service": 4,
        "treatment_in_prison": 10, "early_release_with_treatment": 12,
        "release_with_aftercare": 6},
        "months", "time in each non-custodial measure",
        "WSIPP: drug court participation 12-26 months; therapeutic community average stay 9.8 "
        "months; others divert assumptions", U, keys="measure"),
    Default("measure_completion_prob", {
        "drug_treatment_court": 0.59, "diversion_programme": 0.6, "conditional_dismissal": 0.75,
        "pre_judgment_probation": 0.8, "probation_with_treatment": 0.6,
        "suspended_sentence_with_treatment": 0.6, "treatment_order": 0.55,
        "compulsory_treatment": 0.8, "early_release_with_treatment": 0.7},
        "probability", "completing a measure (1 where not given)",
        "NDCI: national average drug court graduation rate 59% (2014); others assumptions", U,
        keys="measure", uncertainty=_P),
    Default("measure_reoffence_rr", {
        "drug_treatment_court": 0.65, "diversion_programme": 0.76, "treatment_in_prison": 0.70,
        "treatment_order": 0.85, "probation_with_treatment": 0.9,
        "suspended_sentence_with_treatment": 0.9, "conditional_dismissal": 0.95,
        "referral_to_health_services": 0.9, "imprisonment": 1.0},
        "ratio", "reoffending (hazard) multiplier during a measure and 3 years after (1 where not "
        "given)", "Mitchell et al. 2012 (adult drug courts 50% -> 38%, a ratio of proportions of "
        "0.76, which takes a hazard multiplier of about 0.65 when 41% do not complete); DTAP 57% "
        "vs 75% rearrest "
        "(0.76); Perry et al. 2016 therapeutic community re-arrest RR 0.70; others assumptions",
        U, keys="measure", uncertainty=_T),
    Default("measure_cost_per_month", {
        "drug_treatment_court": 936.0, "diversion_programme": 700.0,
        "conditional_dismissal": 100.0, "pre_judgment_probation": 150.0,
        "probation_with_treatment": 400.0, "suspended_sentence_with_treatment": 400.0,
        "treatment_order": 500.0, "community_service": 150.0, "compulsory_treatment": 1500.0,
        "administrative_referral": 100.0, "referral_to_health_services": 50.0,
        "early_release_with_treatment": 400.0, "release_with_aftercare": 200.0},
        "currency per month", "running cost of each measure",
        "WSIPP adult drug court $11,227 a year (2003$) = 936 a month; others assumptions", U,
        keys="measure", uncertainty=_T),
    Default("measure_failure_to", {
        "administrative_referral": 0, "referral_to_health_services": 0, "compulsory_treatment": 0,
        "conditional_dismissal": 1, "diversion_programme": 1, "pre_judgment_probation": 1,
        "drug_treatment_court": 2, "suspended_sentence_with_treatment": 2,
        "probation_with_treatment": 2, "treatment_order": 2, "community_service": 2,
        "early_release_with_treatment": 2, "release_with_aftercare": 0},
        "route", "where failing a measure leads: 0 back to the community, 1 prosecution and "
        "court, 2 imprisonment (revocation)", ASSUMPTION, keys="measure"),
    Default("pretrial_detention_prob", 0.2, "probability", "detained before trial", ASSUMPTION,
            uncertainty=_P),
    Default("pretrial_detention_months", 2.0, "months", "time detained before trial",
            ASSUMPTION),
    Default("conviction_prob", 0.7, "probability", "a prosecution ends in conviction",
            ASSUMPTION, uncertainty=_P),
    Default("prison_sentence_months", {"use": 3, "possession": 6, "possession_for_supply": 24,
                                       "supply": 36, "trafficking": 96, "cultivation": 12,
                                       "property": 12, "violent": 36, "other": 12},
            "months", "prison time served by offence", ASSUMPTION, keys="offence.type",
            uncertainty=_T),
    # costs
    Default("police_cost_per_arrest", 1000.0, "currency", "police cost of an arrest", ASSUMPTION,
            uncertainty=_T),
    Default("court_cost_per_case", 3000.0, "currency", "prosecution and court cost of a case",
            ASSUMPTION, uncertainty=_T),
    Default("prison_cost_per_month", 2773.0, "currency per month", "cost of a prison place",
            "Vera Institute 2015: $33,274 per inmate-year (45 states) = 2,773 a month", V,
            uncertainty={"dist": "triangular", "low": 1232.0, "high": 5780.0}),
    Default("treatment_cost_per_month", 300.0, "currency per month",
            "cost of a month of community treatment",
            "SAMHSA ADSS 2002: outpatient $1,433 per admission; methadone $7,415 per admission",
            U, uncertainty=_T),
    Default("health_cost_per_overdose", 5000.0, "currency", "health care cost of an overdose",
            ASSUMPTION, uncertainty=_T),
    Default("victim_cost_per_offence", {"property": 3532.0, "violent": 42310.0, "other": 1000.0},
            "currency (2008 USD)", "cost of crime to victims per offence, by type (none for drug "
            "offences)", "McCollister, French & Fang 2010, Drug Alcohol Depend 108:98-109 "
            "(larceny/theft $3,532, robbery $42,310, 2008$), as recalled; other: assumption", U,
            keys="offence.type", uncertainty={"dist": "factor", "low": 0.5, "high": 1.5}),
    Default("productivity_per_month", 2000.0, "currency per month",
            "lost productivity per month in custody and per month of life lost", ASSUMPTION,
            uncertainty={"dist": "factor", "low": 0.5, "high": 1.5}),
    Default("price_year", 2023.0, "year", "price year of the pack's money values (no deflator "
            "is applied; parameters state their own price year in their unit)", ASSUMPTION),
    Default("discount_rate_per_year", 0.03, "per year", "discount rate for costs and life-years",
            "conventional 3% (US Panel on Cost-Effectiveness)", U),
    Default("life_expectancy_years", 78.0, "years", "life expectancy for life-years lost",
            ASSUMPTION),
]

DEFAULTS: dict[str, Default] = {d.name: d for d in _DEFAULTS}


@dataclass(frozen=True)
class PracticeValue:
    """A resolved practice value with where it came from."""

    name: str
    value: Any
    citation: str
    provenance: str
    source: str  # "pack" or "default"
    uncertainty: Mapping[str, Any] | None


def check_practice(policy: Policy) -> None:
    """Refuse practice parameters divert does not know, or of the wrong kind."""
    for name, p in policy.practice.items():
        where = str(policy.path / "practice.yaml")
        if name not in DEFAULTS:
            raise PackError(f"{name}: not a practice parameter; allowed: {', '.join(DEFAULTS)}",
                            where=where)
        default = DEFAULTS[name]
        is_table = isinstance(default.value, Mapping)
        if (p.kind == "table") != is_table:
            raise PackError(f"{name}: expected a {'table' if is_table else 'number'}",
                            where=where)
        if is_table and p.spec.keys != default.keys:
            raise PackError(f"{name}.keys: must be {default.keys}", where=where)


def resolve(policy: Policy, day: date) -> dict[str, PracticeValue]:
    """Every practice parameter's value on `day`: the pack's where it has one, else the default."""
    check_practice(policy)
    out: dict[str, PracticeValue] = {}
    for name, d in DEFAULTS.items():
        p: Parameter | None = policy.practice.get(name)
        value = p.at(day) if p is not None else None
        if value is None:
            out[name] = PracticeValue(name, d.value, d.citation, d.provenance, "default",
                                      d.uncertainty)
        else:
            out[name] = PracticeValue(name, value, p.spec.citation, p.spec.provenance, "pack",
                                      p.spec.uncertainty if p.spec.uncertainty else d.uncertainty)
    return out


def uncertainty_samples(rng: np.random.Generator) -> dict[str, float]:
    """One uniform per practice parameter, in the fixed order of DEFAULTS: a replication's draws."""
    return {name: float(rng.random()) for name in DEFAULTS}


def draw(values: Mapping[str, PracticeValue],
         source: np.random.Generator | Mapping[str, float] | None) -> dict[str, Any]:
    """Plain values, each drawn from its uncertainty distribution when a source is given.

    `source` is a generator, or the uniforms of `uncertainty_samples` (so that the same
    replication's draws apply to values that change with the date); None gives central values.
    """
    samples = uncertainty_samples(source) if isinstance(source, np.random.Generator) else source
    out: dict[str, Any] = {}
    for name in DEFAULTS:
        pv = values[name]
        u = pv.uncertainty
        sample = samples[name] if samples is not None else None
        if u is None or sample is None:
            out[name] = pv.value
            continue
        if u.get("dist") == "factor":
            factor = _triangular(sample, float(u["low"]), 1.0, float(u["high"]))
            out[name] = ({k: v * factor for k, v in pv.value.items()}
                         if isinstance(pv.value, Mapping) else pv.value * factor)
        elif u.get("dist") == "triangular" and not isinstance(pv.value, Mapping):
            out[name] = _triangular(sample, float(u["low"]), float(pv.value), float(u["high"]))
        else:
            raise PackError(f"{name}.uncertainty: allowed: {{dist: factor|triangular, low, high}}")
    return out


def _triangular(u: float, low: float, mode: float, high: float) -> float:
    """Inverse CDF of the triangular distribution at u (low <= mode <= high)."""
    if high <= low:
        return mode
    mode = min(max(mode, low), high)
    cut = (mode - low) / (high - low)
    if u < cut:
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1 - u) * (high - low) * (high - mode))


def table(values: Mapping[str, Any], name: str, default: float = 0.0) -> np.ndarray:
    """A keyed practice table as a float64 vector in the order of its key field's values."""
    d = DEFAULTS[name]
    keys: tuple[str, ...]
    if d.keys == "measure":
        keys = tuple(CATALOGUE)
    else:
        assert d.keys is not None
        keys = FIELDS[d.keys].values
    raw = values[name]
    return np.array([float(raw.get(k, default)) for k in keys])


def shares(values: Mapping[str, Any], name: str) -> np.ndarray:
    """A share table normalised to sum to 1."""
    vec = table(values, name)
    total = vec.sum()
    if total <= 0:
        raise PackError(f"{name}: shares must add up to more than 0")
    return vec / total


__all__ = ["DEFAULTS", "Default", "PracticeValue", "resolve", "draw", "uncertainty_samples",
           "table", "shares",
           "DISORDER_LEVELS", "OFFENCE_TYPES", "SUBSTANCES"]
