"""The synthetic population: people who use drugs, as a struct of compact NumPy arrays.

One slot per person, including the entrants who join during the run (they wait in slots marked
`UNBORN` until their month comes), so a person's id is their slot index and a replication's people
are the same in every scenario (common random numbers). About 50 bytes per person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from divert.errors import PackError
from divert.law.practice import shares
from divert.law.vocabulary import OFFENCE_TYPES, SUBSTANCES

# life status
UNBORN, ALIVE, DEAD, EXITED = 0, 1, 2, 3
# criminal-justice position
COMMUNITY, PRETRIAL, MEASURE, PRISON, COMPULSORY = 0, 1, 2, 3, 4
CJ_STATES = ("community", "pretrial_detention", "in_measure", "prison", "compulsory_centre")
# treatment
NO_TREATMENT, OUTPATIENT, OAT, RESIDENTIAL, IN_PRISON = 0, 1, 2, 3, 4
TREATMENTS = ("none", "outpatient", "opioid_agonist", "residential", "in_prison")
NEVER = np.int16(32767)
UNSCHEDULED = 32767
"""entry_month of an entrant's slot not yet given a month (the run schedules entrants)."""
OPIOIDS = np.array([SUBSTANCES.index(s) for s in ("heroin", "morphine", "opium", "methadone")])
# persistent traits: the role in the drug market and the propensity for non-drug offending
ROLES = ("user", "user_dealer", "dealer")
ROLE_OFFENCES = {"user": ("use", "possession"),
                 "user_dealer": ("possession_for_supply", "supply"),
                 "dealer": ("trafficking", "cultivation")}
NONDRUG = ("none", "property", "violent", "other")
PROFILES = len(ROLES) * len(NONDRUG)
"""A person's offending profile: role * len(NONDRUG) + non-drug propensity."""


@dataclass(frozen=True)
class OffenceProfiles:
    """Who commits which offences: trait shares and, per profile, the offence rate multiplier and
    the cumulative distribution of offence types (in the order of OFFENCE_TYPES)."""

    role_share: np.ndarray      # len(ROLES)
    nondrug_share: np.ndarray   # len(NONDRUG), "none" first
    rate: np.ndarray            # PROFILES: offences a year relative to offence_rate_per_year
    type_cum: np.ndarray        # PROFILES x len(OFFENCE_TYPES)


def offence_profiles(values: Mapping[str, Any]) -> OffenceProfiles:
    """Offending by trait from the pack's practice.

    Drug offences: a person's role decides their offence types; the roles' shares are those of
    their offence types in `offence_type_share` (so the population's drug offences keep the pack's
    mix), and within a role the types keep their relative shares. Non-drug offences: a person with
    a propensity (`nondrug_offender_share`) also commits offences of that type at
    `nondrug_offence_rate_per_year`. Every person commits drug offences at `offence_rate_per_year`.
    """
    from divert.law.practice import table

    mix = table(values, "offence_type_share", 0.0)
    role_share = np.zeros(len(ROLES))
    within = np.zeros((len(ROLES), len(OFFENCE_TYPES)))
    for r, role in enumerate(ROLES):
        idx = [OFFENCE_TYPES.index(t) for t in ROLE_OFFENCES[role]]
        role_share[r] = mix[idx].sum()
        if role_share[r] > 0:
            within[r, idx] = mix[idx] / role_share[r]
    if role_share.sum() <= 0:
        raise PackError("offence_type_share: give at least one drug offence type a share")
    role_share /= role_share.sum()
    nd = table(values, "nondrug_offender_share", 0.0)
    nd_types = [OFFENCE_TYPES.index(t) for t in NONDRUG[1:]]
    nondrug_share = np.concatenate([[0.0], nd[nd_types]])
    if nondrug_share.sum() > 1:
        raise PackError("nondrug_offender_share: the shares add up to more than 1")
    nondrug_share[0] = 1.0 - nondrug_share.sum()
    base = float(values["offence_rate_per_year"])
    nd_rate = table(values, "nondrug_offence_rate_per_year", 0.0)
    rate = np.ones(PROFILES)
    type_cum = np.zeros((PROFILES, len(OFFENCE_TYPES)))
    for r in range(len(ROLES)):
        for k in range(len(NONDRUG)):
            weights = base * within[r]
            if k:
                weights = weights.copy()
                weights[nd_types[k - 1]] += nd_rate[nd_types[k - 1]]
            total = weights.sum()
            j = r * len(NONDRUG) + k
            rate[j] = total / base if base > 0 else 0.0
            type_cum[j] = np.cumsum(weights / total) if total > 0 else np.linspace(0, 1, len(
                OFFENCE_TYPES))
            type_cum[j, -1] = 1.0
    return OffenceProfiles(role_share, nondrug_share, rate, type_cum)


@dataclass
class Population:
    """Every simulated person's state, one array per attribute (struct of arrays)."""

    status: np.ndarray          # int8: UNBORN, ALIVE, DEAD, EXITED
    entry_month: np.ndarray     # int16: month the person joins (0 for the starting population)
    age_m: np.ndarray           # int16: age in months
    sex: np.ndarray             # int8: vocabulary code of person.sex
    substance: np.ndarray       # int8: vocabulary code of offence.substance (primary substance)
    injecting: np.ndarray       # int8: 0/1
    severity: np.ndarray        # int8: 0 none, 1 mild, 2 moderate, 3 severe
    active: np.ndarray          # int8: 1 active use, 0 remission
    remission_m: np.ndarray     # int16: months in remission without a break
    risk: np.ndarray            # int8: 0 low, 1 high criminogenic risk
    profile: np.ndarray         # int8: offending profile (role x non-drug propensity), persistent
    treatment: np.ndarray       # int8: NO_TREATMENT .. IN_PRISON
    cj: np.ndarray              # int8: COMMUNITY .. COMPULSORY
    cj_timer: np.ndarray        # int16: months left in the current position
    measure: np.ndarray         # int8: catalogue index of the current measure, -1 none
    next_measure: np.ndarray    # int8: disposition waiting for the end of pre-trial detention
    next_timer: np.ndarray      # int16
    since_release: np.ndarray   # int16: months since leaving custody (NEVER if not)
    drug_prisoner: np.ndarray   # int8: in custody for a drug offence
    effect_measure: np.ndarray  # int8: measure whose effect on reoffending applies, -1 none
    effect_until: np.ndarray    # int16: month until which that effect applies
    prior_convictions: np.ndarray        # int8 counts (capped at 100)
    prior_drug_convictions: np.ndarray
    prior_violent_convictions: np.ndarray
    prior_incarcerations: np.ndarray
    prior_diversion_failures: np.ndarray
    prior_diversions: np.ndarray
    prior_drug_arrests: np.ndarray
    sentence_m: np.ndarray      # int16: custodial sentence, months
    served_m: np.ndarray        # int16: months served
    flag: np.ndarray            # int8: decision needed this month (see simulation)
    off_type: np.ndarray        # int8: type of the offence that brought the last police contact
    cohort_path: np.ndarray     # int8: disposition at the first decision in the run, -1 none
    cohort_month: np.ndarray    # int16: month of that decision
    rearrest_month: np.ndarray  # int16: first police contact after it, -1 none
    weight: np.ndarray          # float32: people this slot stands for, relative (1 unless the
    #                             sample oversamples, `divert.simulation.oversampling`)

    @property
    def size(self) -> int:
        return int(self.status.shape[0])

    def nbytes(self) -> int:
        """Memory held by the population's arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    def copy(self) -> Population:
        return Population(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


def weight_of(pop: Population, ids: np.ndarray) -> float:
    """The people the slots `ids` (indices or a mask) stand for."""
    return float(pop.weight[ids].sum(dtype=np.float64))


def capacity(persons: int, months: int, values: Mapping[str, Any]) -> tuple[int, int]:
    """Slots needed: the starting persons and the entrants over `months` (per month, rounded)."""
    per_month = entrants_per_month(persons, values)
    return persons + per_month * months, per_month


def entrants_per_month(persons: int, values: Mapping[str, Any]) -> int:
    """Entrants each month for a sample of `persons` (rate x sample size / 12, rounded)."""
    return int(round(persons * float(values["entrants_per_year"]) / 12.0))


def _choice(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(probs).astype(np.float32)
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(n, dtype=np.float32), side="right").astype(np.int8)


def conditional_shares(values: Mapping[str, Any], name: str, marginal: float,
                       substance_share: np.ndarray) -> np.ndarray | None:
    """P(trait | primary substance) for every substance, or None where the pack gives none.

    The substances in the table `name` (keyed by substance) have their sourced shares; the
    others share the rest of the population's `marginal` share equally, so the population's
    share holds (capped to 0-1 where the listed substances alone exceed or cannot reach it).
    """
    from divert.law.practice import table

    given: Mapping[str, Any] = values.get(name) or {}
    if not given:
        return None
    listed = np.array([s in given for s in SUBSTANCES])
    cond = table(values, name, 0.0)
    rest = float(substance_share[~listed].sum())
    remainder = marginal - float((substance_share * cond)[listed].sum())
    other = min(1.0, max(0.0, remainder / rest)) if rest > 0 else 0.0
    return np.clip(np.where(listed, cond, other), 0.0, 1.0)


def severity_given(severity_share: np.ndarray, disorder_by: np.ndarray) -> np.ndarray:
    """Severity shares by substance (rows, in the order of SUBSTANCES): none for 1 - P(disorder
    | substance), and the population's split among mild, moderate and severe for the rest."""
    split = severity_share[1:] / max(float(severity_share[1:].sum()), 1e-12)
    return np.column_stack([1.0 - disorder_by, disorder_by[:, None] * split[None, :]])


def _choice_by(rng: np.random.Generator, probs: np.ndarray, group: np.ndarray) -> np.ndarray:
    """A draw per person from the row of `probs` of their group (one uniform each, as `_choice`)."""
    u = np.asarray(rng.random(group.shape[0], dtype=np.float32))
    out = np.zeros(group.shape[0], dtype=np.int8)
    for g in np.unique(group):
        rows = group == g
        cum = np.cumsum(probs[g]).astype(np.float32)
        cum[-1] = 1.0
        out[rows] = np.searchsorted(cum, u[rows], side="right")
    return out


def synthesise(persons: int, months: int, values: Mapping[str, Any],
               rng: np.random.Generator, entrant_slots: int | None = None) -> Population:
    """A population of `persons` people plus slots for entrants, drawn from the pack.

    Without `entrant_slots`, the entrants of `months` months at `entrants_per_year`, each with
    its month; with it, that many entrant slots whose months the run schedules (`schedule`).
    Entrants are younger (mean age 22) and start without a record. Draws are single precision
    and temporaries short-lived, so the peak memory stays near the population's own arrays.
    """
    if persons <= 0 and not entrant_slots:
        raise ValueError("persons must be positive")
    if entrant_slots is None:
        total, per_month = capacity(persons, months, values)
    else:
        total, per_month = persons + entrant_slots, 0
    f32 = np.float32

    def uniform() -> np.ndarray:
        return rng.random(total, dtype=f32)

    status = np.zeros(total, dtype=np.int8)
    status[:persons] = ALIVE
    entry = np.zeros(total, dtype=np.int16)
    if per_month:
        entry[persons:] = 1 + np.arange(total - persons, dtype=np.int32) // per_month
    if entrant_slots is not None:
        entry[persons:] = UNSCHEDULED
    exit_age = float(values["exit_age_years"]) - 1
    age_y = rng.standard_normal(total, dtype=f32)
    age_y[:persons] = age_y[:persons] * f32(values["age_sd_years"]) + f32(values["age_mean_years"])
    age_y[persons:] = age_y[persons:] * f32(float(values["age_sd_years"]) * 0.5) + f32(22.0)
    np.clip(age_y, 12.0, exit_age, out=age_y)
    age_m = (age_y * 12).astype(np.int16)
    del age_y
    sex = (uniform() >= f32(values["female_share"])).astype(np.int8)
    substance_share = shares(values, "substance_share")
    substance = _choice(rng, substance_share, total)
    # injecting and disorder depend on the substance where the pack gives conditional shares
    # (people who use heroin inject and are dependent far more often than people who use
    # cannabis); the same uniforms as the independent draws, so packs without them are unchanged
    inject_by = conditional_shares(values, "injecting_share_by_substance",
                                   float(values["injecting_share"]), substance_share)
    injecting = (uniform() < (f32(values["injecting_share"]) if inject_by is None
                              else inject_by.astype(f32)[substance])).astype(np.int8)
    severity_share = shares(values, "disorder_share")
    disorder_by = conditional_shares(values, "disorder_share_by_substance",
                                     float(1.0 - severity_share[0]), substance_share)
    if disorder_by is None:
        severity = _choice(rng, severity_share, total)
    else:
        severity = _choice_by(rng, severity_given(severity_share, disorder_by), substance)
    risk = (uniform() < f32(values["high_risk_share"])).astype(np.int8)
    profiles = offence_profiles(values)
    role = _choice(rng, profiles.role_share, total)
    nondrug = _choice(rng, profiles.nondrug_share, total)
    profile = (role.astype(np.int16) * len(NONDRUG) + nondrug).astype(np.int8)
    del role, nondrug

    def record(share: str) -> np.ndarray:
        out = (uniform() < f32(values[share])).astype(np.int8)
        out[persons:] = 0
        return out

    prior_conv = record("prior_conviction_share")
    extra = (uniform() < f32(0.3)).astype(np.int8)
    prior_drug = np.minimum(prior_conv, record("prior_drug_conviction_share") + (prior_conv & extra))
    del extra
    prior_inc = np.minimum(prior_conv, record("prior_incarceration_share"))
    treated = uniform() < f32(values["initial_treatment_share"])
    treated[persons:] = False
    treated &= severity >= 2
    opioid = np.isin(substance, OPIOIDS)
    treatment = np.where(treated, np.where(opioid, OAT, OUTPATIENT), NO_TREATMENT).astype(np.int8)
    del treated, opioid
    jailed = uniform() < f32(values["initial_prison_share"])
    jailed[persons:] = False
    cj = np.where(jailed, PRISON, COMMUNITY).astype(np.int8)
    timer = np.where(jailed, 1 + (uniform() * 24).astype(np.int16), 0).astype(np.int16)
    treatment[jailed] = NO_TREATMENT
    n = total
    return Population(
        status=status, entry_month=entry, age_m=age_m, sex=sex, substance=substance,
        injecting=injecting, severity=severity, active=np.ones(n, dtype=np.int8),
        remission_m=np.zeros(n, dtype=np.int16), risk=risk,
        profile=profile,
        treatment=treatment, cj=cj, cj_timer=timer, measure=np.full(n, -1, dtype=np.int8),
        next_measure=np.full(n, -1, dtype=np.int8), next_timer=np.zeros(n, dtype=np.int16),
        since_release=np.full(n, NEVER, dtype=np.int16), drug_prisoner=jailed.astype(np.int8),
        effect_measure=np.full(n, -1, dtype=np.int8), effect_until=np.zeros(n, dtype=np.int16),
        prior_convictions=np.maximum(prior_conv, prior_inc).astype(np.int8),
        prior_drug_convictions=prior_drug.astype(np.int8),
        prior_violent_convictions=np.zeros(n, dtype=np.int8),
        prior_incarcerations=prior_inc.astype(np.int8),
        prior_diversion_failures=np.zeros(n, dtype=np.int8),
        prior_diversions=np.zeros(n, dtype=np.int8),
        prior_drug_arrests=prior_drug.astype(np.int8),
        sentence_m=timer.copy(), served_m=np.zeros(n, dtype=np.int16),
        flag=np.zeros(n, dtype=np.int8), off_type=np.full(n, -1, dtype=np.int8),
        cohort_path=np.full(n, -1, dtype=np.int8), cohort_month=np.full(n, -1, dtype=np.int16),
        rearrest_month=np.full(n, -1, dtype=np.int16), weight=np.ones(n, dtype=np.float32),
    )


def extend(pop: Population, more: Population) -> Population:
    """The population with the slots of `more` (entrant slots) added at the end."""
    return Population(**{f.name: np.concatenate([getattr(pop, f.name), getattr(more, f.name)])
                         for f in fields(pop)})


def schedule(pop: Population, month: int, count: int, next_slot: int) -> int:
    """Give the next `count` unscheduled entrant slots from `next_slot` on the month `month`;
    returns the next free slot (the caller extends the population first if there are too few)."""
    end = next_slot + count
    assert end <= pop.size
    pop.entry_month[next_slot:end] = month
    return end
