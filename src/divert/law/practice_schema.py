"""The practice schema: every simulation input a pack may set in practice.yaml, with its default.

Part of the pack's schema (checked when a pack loads, so `divert policy validate` refuses an
unknown practice parameter or measure id with file and line). Each parameter has a default
(generic, with its source and provenance), a unit and optionally an uncertainty distribution.
The defaults of the tables keyed by measure come from each measure's effect in the catalogue
(`catalogue.yaml`, or a pack's `measures.yaml`); a pack's table overrides them entry by entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from divert.errors import PackError
from divert.i18n import N_
from divert.law.catalogue import CATALOGUE, ROUTES, Measure
from divert.law.yaml_source import line_of

V, U = "verified", "unverified"


@dataclass(frozen=True)
class Default:
    """A practice parameter: its default value, unit, meaning, source and uncertainty."""

    name: str
    value: Any
    unit: str
    description: str
    citation: str
    provenance: str = "unverified"
    keys: str | None = None
    uncertainty: Mapping[str, Any] | None = None


def effect_table(name: str, measures: Mapping[str, Measure]) -> dict[str, float]:
    """The defaults of practice table `name` (keyed by measure) from the measures' effects."""
    out: dict[str, float] = {}
    for mid, m in measures.items():
        e = m.effect
        if e is None:
            continue
        if name == "measure_duration_months" and e.duration_months is not None:
            out[mid] = float(e.duration_months)
        elif name == "measure_completion_prob":
            out[mid] = e.completion_prob
        elif name == "measure_reoffence_rr":
            out[mid] = e.reoffence_rr
        elif name == "measure_cost_per_month":
            out[mid] = e.cost_per_month
        elif name == "measure_failure_to":
            out[mid] = float(ROUTES.index(e.on_failure))
        elif name == "measure_weight":
            out[mid] = 1.0
    return out


EFFECT_SOURCE = "the measure's effect in the catalogue (catalogue.yaml), with its source"
_MEASURE_TABLES = {
    "measure_weight": Default(
        "measure_weight", effect_table("measure_weight", CATALOGUE), "weight",
        N_("relative use of each open measure (discretion); 1 where not given; for a post-sentence "
        "measure, the probability that an eligible person who consents takes it up"),
        "divert default assumption; replace with national data", keys="measure",
        uncertainty={"dist": "factor", "low": 0.7, "high": 1.3}),
    "measure_duration_months": Default(
        "measure_duration_months", effect_table("measure_duration_months", CATALOGUE), "months",
        N_("time in each non-custodial measure"), EFFECT_SOURCE, keys="measure"),
    "measure_completion_prob": Default(
        "measure_completion_prob", effect_table("measure_completion_prob", CATALOGUE),
        "probability", N_("completing a measure"), EFFECT_SOURCE, keys="measure",
        uncertainty={"dist": "factor", "low": 0.8, "high": 1.2}),
    "measure_reoffence_rr": Default(
        "measure_reoffence_rr", effect_table("measure_reoffence_rr", CATALOGUE), "ratio",
        N_("reoffending (hazard) multiplier during a measure and 3 years after"), EFFECT_SOURCE,
        keys="measure", uncertainty={"dist": "factor", "low": 0.7, "high": 1.3}),
    "measure_cost_per_month": Default(
        "measure_cost_per_month", effect_table("measure_cost_per_month", CATALOGUE),
        "currency per month", N_("running cost of each measure"), EFFECT_SOURCE, keys="measure",
        uncertainty={"dist": "factor", "low": 0.7, "high": 1.3}),
    "measure_failure_to": Default(
        "measure_failure_to", effect_table("measure_failure_to", CATALOGUE), "route",
        N_("where failing a measure leads: 0 back to the community, 1 prosecution and court, "
        "2 imprisonment (revocation)"), EFFECT_SOURCE, keys="measure"),
}
MEASURE_TABLES = tuple(_MEASURE_TABLES)
"""Practice tables whose defaults come from the measures' effects."""



ASSUMPTION = "divert default assumption; replace with national data"
_T = {"dist": "factor", "low": 0.7, "high": 1.3}
_P = {"dist": "factor", "low": 0.8, "high": 1.2}

_DEFAULTS = [
    # population
    Default("population_size", 1_000_000, "persons",
            N_("people who use drugs in the jurisdiction (the simulated population)"), ASSUMPTION),
    Default("female_share", 0.25, "share", N_("share of women"), ASSUMPTION, uncertainty=_P),
    Default("age_mean_years", 32.0, "years", N_("mean age at the start"), ASSUMPTION),
    Default("age_sd_years", 10.0, "years", N_("standard deviation of age"), ASSUMPTION),
    Default("substance_share", {"cannabis_herb": 0.45, "heroin": 0.12, "cocaine": 0.12,
                                "crack": 0.04, "methamphetamine": 0.1, "amphetamine": 0.06,
                                "mdma": 0.04, "other": 0.07},
            "share", N_("primary substance"), ASSUMPTION, keys="offence.substance"),
    Default("injecting_share", 0.08, "share", N_("share who inject"), ASSUMPTION, uncertainty=_P),
    Default("disorder_share", {"none": 0.55, "mild": 0.15, "moderate": 0.15, "severe": 0.15},
            "share", N_("drug use disorder severity at the start"), ASSUMPTION,
            keys="screening.disorder"),
    Default("injecting_share_by_substance", {}, "share",
            N_("share who inject among people whose primary substance is each listed substance (the "
            "others share the rest of injecting_share, which holds for the population); none "
            "listed: injecting does not depend on the substance"),
            "divert default: no conditional shares (injecting drawn independently of the "
            "substance); a pack cites its own", U, keys="offence.substance"),
    Default("disorder_share_by_substance", {}, "share",
            N_("share with a drug use disorder (mild, moderate or severe, split as in "
            "disorder_share) among people whose primary substance is each listed substance (the "
            "others share the rest, so the population's disorder share holds); none listed: the "
            "disorder does not depend on the substance"),
            "divert default: no conditional shares (disorder drawn independently of the "
            "substance); a pack cites its own", U, keys="offence.substance"),
    Default("high_risk_share", 0.3, "share", N_("share at high criminogenic risk"), ASSUMPTION,
            uncertainty=_P),
    Default("prior_conviction_share", 0.3, "share", N_("share with a prior conviction"), ASSUMPTION),
    Default("prior_drug_conviction_share", 0.15, "share", N_("share with a prior drug conviction"),
            ASSUMPTION),
    Default("prior_incarceration_share", 0.1, "share", N_("share ever incarcerated"), ASSUMPTION),
    Default("initial_treatment_share", 0.1, "share", N_("share in treatment at the start"),
            "UNODC World Drug Report 2024: 1 in 11 people with drug use disorders treated",
            uncertainty=_P),
    Default("initial_prison_share", 0.01, "share", N_("share in prison at the start"), ASSUMPTION,
            uncertainty=_P),
    Default("entrants_per_year", 0.05, "share per year",
            N_("new people who use drugs each year, as a share of the starting population, in a run "
            "without a warm-up (with one, entrants balance the exits: population_trend_per_year)"),
            ASSUMPTION, uncertainty=_P),
    Default("initiation_rr", 1.0, "ratio",
            N_("people starting to use drugs (entrants) relative to unchanged law, from the date it "
            "is set (a prevention scenario lowers it); applies in runs with a warm-up, whose "
            "entrants balance the exits"),
            "divert default: 1, no change in initiation", U),
    Default("prevention_cost_per_year", 0.0, "currency per year",
            N_("yearly cost of prevention and drug education programmes that a scenario adds "
            "(counted with treatment as programme spending)"),
            "divert default: 0, no programme added", U),
    Default("exit_age_years", 75.0, "years", N_("age at which a person leaves the population"),
            ASSUMPTION),
    Default("cessation_months", 12.0, "months",
            N_("months of remission without a break after which a person has stopped using drugs and "
            "leaves the simulated population (0: never)"),
            "American Psychiatric Association 2013, DSM-5: a substance use disorder is in "
            "sustained remission after 12 months or longer with no criterion met (craving "
            "excepted)", U),
    Default("population_trend_per_year", 0.0, "share per year",
            N_("trend of the number of people who use drugs under unchanged law (entrants follow "
            "the population's exits times this growth); 0: stationary"),
            "divert assumption: a stationary population unless the pack cites a trend", U),
    # drug use and treatment
    Default("remission_rate_per_year", {"none": 0.163, "mild": 0.12, "moderate": 0.08,
                                        "severe": 0.062},
            "per year", N_("remission of active use, by severity"),
            "Everingham & Rydell light/heavy user quit rates 0.163 and 0.062 a year (as used by "
            "Behrens et al. 1999); intermediate values interpolated", U,
            keys="screening.disorder", uncertainty=_T),
    Default("relapse_rate_per_year", 0.3, "per year", N_("return to active use after remission"),
            ASSUMPTION, uncertainty=_T),
    Default("treatment_entry_rate_per_year", 0.08, "per year",
            N_("voluntary treatment entry of people with a moderate or severe disorder"), ASSUMPTION,
            uncertainty=_T),
    Default("treatment_dropout_rate_per_year", 0.6, "per year", N_("leaving voluntary treatment"),
            "White & Albert 2023 (arXiv 2311.05076): 51.3% completed treatment", U,
            uncertainty=_T),
    Default("treatment_entry_rr_by_substance", {}, "ratio",
            N_("voluntary treatment entry multiplier by primary substance (relative to "
            "treatment_entry_rate_per_year); none listed: entry does not depend on the substance"),
            "divert default: no difference by substance; a pack cites its own (the primary drug "
            "of treatment entrants against that of people with a disorder)", U,
            keys="offence.substance"),
    Default("opioid_agonist_dropout_rr", 1.0, "ratio",
            N_("leaving opioid agonist (substitution) treatment relative to "
            "treatment_dropout_rate_per_year (the other forms); 1: the same dropout"),
            "divert default: the same dropout for every form; a pack cites its own (O'Connor et "
            "al. 2020, PLOS ONE 15(5):e0232086: median retention in opioid substitution "
            "treatment 57% at 12 months, 38.4% at three years)", U),
    Default("prison_treatment_entry_rr", 0.0, "ratio",
            N_("voluntary treatment entry in prison (active moderate or severe disorder) relative to "
            "the community's treatment_entry_rate_per_year, with the community's dropout; 0: no "
            "treatment in prison outside the pack's post-sentence measures"),
            "divert default: treatment in prison only through the pack's measures (UNODC/WHO "
            "2019, Treatment and care for people with drug use disorders in contact with the "
            "criminal justice system: services in prison are often absent or interrupted)", U),
    Default("prison_treatment_continuity", 0.0, "probability",
            N_("a person in community treatment when imprisoned continues it in prison; 0: treatment "
            "stops at imprisonment"), "divert default: treatment is interrupted at imprisonment",
            U),
    Default("release_treatment_continuity", 0.0, "probability",
            N_("a prisoner in treatment in prison continues it in the community at release; 0: it "
            "stops at release (outside the pack's release measures)"),
            "divert default: treatment is interrupted at release", U),
    Default("treatment_remission_rr", 2.0, "ratio", N_("remission rate multiplier in treatment"),
            ASSUMPTION, uncertainty=_T),
    Default("mortality_other_per_year", 0.006, "per year", N_("deaths from other causes"),
            ASSUMPTION, uncertainty=_P),
    Default("overdose_death_rate_per_year", 0.003, "per year",
            N_("overdose deaths per person in active use (before substance multipliers)"),
            "White & Albert 2023 (arXiv 2311.05076): yearly overdose deaths / prevalence about "
            "0.0027-0.0033", V, uncertainty=_T),
    Default("overdose_substance_rr", {"heroin": 4.0, "morphine": 4.0, "methadone": 3.0,
                                      "opium": 2.0, "cocaine": 1.0, "crack": 1.5,
                                      "methamphetamine": 1.2, "amphetamine": 0.6, "mdma": 0.2,
                                      "cannabis_herb": 0.02, "cannabis_resin": 0.02, "lsd": 0.02,
                                      "other": 1.0},
            "ratio", N_("overdose risk by primary substance"), ASSUMPTION, keys="offence.substance"),
    Default("overdose_rr_injecting", 2.0, "ratio", N_("overdose risk multiplier for injecting"),
            ASSUMPTION, uncertainty=_T),
    Default("overdose_rr_in_treatment", 0.5, "ratio", N_("overdose risk multiplier in treatment"),
            ASSUMPTION, uncertainty=_T),
    Default("overdose_rr_remission", 0.2, "ratio", N_("overdose risk multiplier in remission"),
            ASSUMPTION),
    Default("overdose_rr_in_prison", 0.1, "ratio", N_("overdose risk multiplier in custody"),
            ASSUMPTION),
    Default("overdose_rr_release_first_month", 10.0, "ratio",
            N_("overdose risk multiplier in the first month after release"),
            "Binswanger et al. 2007, NEJM 356:157-65: overdose death RR 129 (89-186) in the first "
            "2 weeks after release versus residents; multiplier relative to active use is a "
            "divert assumption", U, uncertainty={"dist": "triangular", "low": 4.0, "high": 20.0}),
    Default("overdose_rr_release_year", 2.0, "ratio",
            N_("overdose risk multiplier in months 2-12 after release"),
            "Binswanger et al. 2013, Ann Intern Med 159:592: 167 overdose deaths per 100k "
            "person-years after release", U, uncertainty=_T),
    # offending and police
    Default("offence_rate_per_year", 0.6, "per year", N_("offences per person in active use"),
            ASSUMPTION, uncertainty=_T),
    Default("offence_type_share", {"use": 0.3, "possession": 0.53, "possession_for_supply": 0.05,
                                   "supply": 0.08, "trafficking": 0.01, "cultivation": 0.03},
            "share", N_("types of drug offence (the drug market roles of the people are drawn from "
            "it: use and possession by users, possession for supply and supply by user-dealers, "
            "trafficking and cultivation by dealers); non-drug offences are "
            "nondrug_offender_share and nondrug_offence_rate_per_year"), ASSUMPTION,
            keys="offence.type"),
    Default("nondrug_offender_share", {"property": 0.05, "violent": 0.02, "other": 0.03},
            "share", N_("people who use drugs with a propensity for non-drug offending of each type "
            "(a persistent trait drawn at synthesis; one type a person)"),
            "Hough, McSweeney & Turnbull 2001 (Drugs and crime: what are the links?, evidence to "
            "the Home Affairs Committee): fewer than 5% of people who use drugs in Britain are "
            "dependent users with chaotic lifestyles, about 100,000 of 4 million (2.5%) finance "
            "their use through crime, most of it property crime; violent and other shares divert "
            "assumptions", U, keys="offence.type",
            uncertainty={"dist": "factor", "low": 0.5, "high": 1.5}),
    Default("nondrug_offence_rate_per_year", {"property": 4.0, "violent": 0.5, "other": 1.0},
            "per year", N_("non-drug offences a year of a person with that propensity, in active "
            "use (the same multipliers for risk, treatment, remission and measures as drug "
            "offences)"),
            "Bennett, Holloway & Farrington 2008, Aggress Violent Behav 13:107-18 (30 studies): "
            "odds of offending 2.8-3.8 times higher for people who use drugs, about 6 for crack "
            "and 3 for heroin, highest for shoplifting; Hough et al. 2001: criminally involved "
            "problem users commit very large amounts of shoplifting and burglary; the rates are "
            "divert assumptions", U, keys="offence.type",
            uncertainty={"dist": "factor", "low": 0.5, "high": 1.5}),
    Default("quantity_median_g", {"heroin": 0.5, "morphine": 0.5, "methadone": 0.5, "opium": 5.0,
                                  "cocaine": 1.0, "crack": 0.3, "methamphetamine": 1.0,
                                  "amphetamine": 1.0, "mdma": 0.5, "cannabis_herb": 5.0,
                                  "cannabis_resin": 3.0, "lsd": 0.0001, "other": 1.0},
            "g", N_("median quantity held for personal use"), ASSUMPTION, keys="offence.substance"),
    Default("quantity_sigma", 1.0, "log g", N_("spread of quantities (lognormal sigma)"), ASSUMPTION),
    Default("supply_quantity_factor", {"possession_for_supply": 10.0, "supply": 20.0,
                                       "trafficking": 500.0},
            "ratio", N_("quantity multiplier for supply offences"), ASSUMPTION, keys="offence.type"),
    Default("aggravator_prob", 0.05, "probability", N_("an offence has an aggravating circumstance"),
            ASSUMPTION),
    Default("detection_prob", 0.15, "probability", N_("an offence leads to a police contact"),
            ASSUMPTION, uncertainty=_T),
    Default("offence_rr_by_disorder", {"none": 0.6, "mild": 1.0, "moderate": 1.6, "severe": 2.2},
            "ratio", N_("offending multiplier by disorder severity"),
            "divert assumption: people with a drug use disorder offend and are arrested more "
            "often (58% of state prisoners met criteria for drug abuse or dependence in 2007-09 "
            "against about 5% of adults, BJS); set so the share of prisoners with a disorder "
            "approaches that figure", U, keys="screening.disorder", uncertainty=_T),
    Default("offence_rr_by_substance", {}, "ratio",
            N_("offending multiplier by primary substance, relative to the unlisted substances "
            "(1); divided by its mean over substance_share, so the population's offending keeps "
            "its level; none listed: offending does not depend on the substance"),
            "divert default: no difference by substance; a pack cites its own (Bennett, "
            "Holloway & Farrington 2008 give odds of offending by drug type)", U,
            keys="offence.substance"),
    Default("offence_rr_high_risk", 2.0, "ratio", N_("offending multiplier for high risk"),
            ASSUMPTION, uncertainty=_T),
    Default("offence_rr_in_treatment", 0.7, "ratio", N_("offending multiplier in treatment"),
            ASSUMPTION, uncertainty=_T),
    Default("offence_rr_remission", 0.2, "ratio", N_("offending multiplier in remission"),
            ASSUMPTION),
    # decisions
    _MEASURE_TABLES["measure_weight"],
    Default("consent_prob", 0.7, "probability", N_("a person consents to an alternative"),
            ASSUMPTION, uncertainty=_P),
    Default("measure_capacity", {}, "places", N_("places in each measure (none: unlimited)"),
            ASSUMPTION, keys="measure"),
    _MEASURE_TABLES["measure_duration_months"],
    _MEASURE_TABLES["measure_completion_prob"],
    _MEASURE_TABLES["measure_reoffence_rr"],
    _MEASURE_TABLES["measure_cost_per_month"],
    _MEASURE_TABLES["measure_failure_to"],
    Default("pretrial_detention_prob", 0.2, "probability", N_("detained before trial"), ASSUMPTION,
            uncertainty=_P),
    Default("pretrial_detention_months", 2.0, "months", N_("time detained before trial"),
            ASSUMPTION),
    Default("conviction_prob", 0.7, "probability", N_("a prosecution ends in conviction"),
            ASSUMPTION, uncertainty=_P),
    Default("prison_sentence_months", {"use": 3, "possession": 6, "possession_for_supply": 24,
                                       "supply": 36, "trafficking": 96, "cultivation": 12,
                                       "property": 12, "violent": 36, "other": 12},
            "months", N_("prison time served by offence"), ASSUMPTION, keys="offence.type",
            uncertainty=_T),
    # costs
    Default("police_cost_per_arrest", 1000.0, "currency", N_("police cost of an arrest"), ASSUMPTION,
            uncertainty=_T),
    Default("court_cost_per_case", 3000.0, "currency", N_("prosecution and court cost of a case"),
            ASSUMPTION, uncertainty=_T),
    Default("prison_cost_per_month", 2773.0, "currency per month", N_("cost of a prison place"),
            "Vera Institute 2015: $33,274 per inmate-year (45 states) = 2,773 a month", V,
            uncertainty={"dist": "triangular", "low": 1232.0, "high": 5780.0}),
    Default("treatment_cost_per_month", 300.0, "currency per month",
            N_("cost of a month of community treatment"),
            "SAMHSA ADSS 2002: outpatient $1,433 per admission; methadone $7,415 per admission",
            U, uncertainty=_T),
    Default("health_cost_per_overdose", 5000.0, "currency", N_("health care cost of an overdose"),
            ASSUMPTION, uncertainty=_T),
    Default("victim_cost_per_offence", {"property": 3532.0, "violent": 42310.0, "other": 1000.0},
            "currency (2008 USD)", N_("cost of crime to victims per offence, by type (none for drug "
            "offences)"), "McCollister, French & Fang 2010, Drug Alcohol Depend 108:98-109 "
            "(larceny/theft $3,532, robbery $42,310, 2008$), as recalled; other: assumption", U,
            keys="offence.type", uncertainty={"dist": "factor", "low": 0.5, "high": 1.5}),
    Default("productivity_per_month", 2000.0, "currency per month",
            N_("lost productivity per month in custody and per month of life lost"), ASSUMPTION,
            uncertainty={"dist": "factor", "low": 0.5, "high": 1.5}),
    Default("price_year", 2023.0, "year", N_("price year of the pack's money values (no deflator "
            "is applied; parameters state their own price year in their unit)"), ASSUMPTION),
    Default("discount_rate_per_year", 0.03, "per year", N_("discount rate for costs and life-years"),
            "conventional 3% (US Panel on Cost-Effectiveness)", U),
    Default("life_expectancy_years", 78.0, "years", N_("life expectancy for life-years lost"),
            ASSUMPTION),
]

DEFAULTS: dict[str, Default] = {d.name: d for d in _DEFAULTS}


def check_practice(practice: Mapping[str, Any], data: Any, file: Path | str,
                   measures: Mapping[str, Measure] | None = None) -> None:
    """Refuse practice parameters divert does not know, or of the wrong kind (file and line).

    `practice` holds the pack's parsed practice parameters (`policy.Parameter`); the measure
    keys of tables were already checked against `measures` when they were parsed.
    """
    for name, p in practice.items():
        where = f"{file}:{line_of(data, (name,))}" if data is not None else str(file)
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
        if name == "measure_failure_to":
            for day, table in p.spec.values.items():
                for key, value in table.items():
                    if value not in (0, 1, 2):
                        raise PackError(f"{name}.values.{day}.{key}: {value:g} is not allowed; "
                                        "allowed: 0, 1, 2", where=where)
