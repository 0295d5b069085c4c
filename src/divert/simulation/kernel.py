"""The monthly kernel: ageing, deaths, drug use, treatment, timers and offences for every person.

Two implementations with identical results: `step_numba` (compiled, the hot path) and `step_numpy`
(vectorised NumPy, the reference the tests check the kernel against). Random numbers come from a
counter-based generator: uniform k of person i in month t is a hash of (key, i, t, k), so results do
not depend on the order people are processed, the number of workers, or which other draws were
made: replication r of every scenario sees the same numbers (common random numbers).

Decisions at criminal-justice contacts are not made here: the kernel sets a flag, and
`divert.simulation.decisions` applies the pack's compiled rules to everyone flagged, vectorised.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import get_num_threads, njit, prange

from divert.simulation.population import (
    ALIVE,
    COMMUNITY,
    COMPULSORY,
    DEAD,
    EXITED,
    IN_PRISON,
    MEASURE,
    NO_TREATMENT,
    OAT,
    OUTPATIENT,
    PRETRIAL,
    PRISON,
    UNBORN,
    Population,
)

# flags set for the decision step
F_NONE, F_CONTACT, F_FAILED, F_PRETRIAL_END, F_RELEASE, F_IN_PRISON = 0, 1, 2, 3, 4, 5

# per-month counters written by the kernel (and by the decision step for CJ flows)
METRICS = (
    "alive", "active_use", "active_disorder", "in_prison", "in_prison_drug_offence", "in_treatment",
    "in_community_treatment", "in_measure", "in_compulsory_treatment", "offences",
    "police_contacts", "arrests", "prosecutions", "convictions", "diversions",
    "prison_admissions", "prison_releases", "overdose_deaths", "overdose_deaths_after_release",
    "deaths", "exits", "entrants", "completions", "failures", "waitlisted", "life_months_lost",
    "corporal_punishments", "death_sentences", "compulsory_admissions", "treatment_entries",
    "overdose_deaths_first_month_after_release", "offences_property", "offences_violent",
    "offences_other", "exits_ceased",
)
M = {name: i for i, name in enumerate(METRICS)}

# scalar parameters, by index into the `fp` vector
FP = ("rr_injecting", "rr_in_treatment", "rr_remission", "rr_custody", "rr_release_first_month",
      "rr_release_year", "p_other_death", "p_relapse", "p_treatment_entry", "p_dropout",
      "treatment_remission_rr", "p_offence", "rr_offence_high_risk", "rr_offence_treatment",
      "rr_offence_remission", "p_detection", "exit_age_months", "life_expectancy_months",
      "cessation_months", "p_dropout_oat")
FPI = {name: i for i, name in enumerate(FP)}

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
C_MONTH = np.uint64(0xD1B54A32D192ED03)
C_STREAM = np.uint64(0x8CB92BA72F3D8DD7)
TO_UNIT = 2.0 ** -32

S_DEATH_USE, S_TREAT_TIMER, S_OFFENCE, S_TYPE = 1, 2, 3, 4
EFFECT_MONTHS = 36
NEVER_UNTIL = 32000


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _hash(key: np.uint64, i: int, month: int, stream: int) -> np.uint64:
    return _mix(key + np.uint64(i) * GOLDEN + np.uint64(month) * C_MONTH
                + np.uint64(stream) * C_STREAM)


def hash_numpy(key: int, ids: np.ndarray, month: int, stream: int) -> np.ndarray:
    """The generator's 64-bit output for persons `ids` (NumPy; equal to the kernel's)."""
    with np.errstate(over="ignore"):
        z = (np.uint64(key) + ids.astype(np.uint64) * GOLDEN + np.uint64(month) * C_MONTH
             + np.uint64(stream) * C_STREAM)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniforms(key: int, ids: np.ndarray, month: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent uniforms in [0, 1) per person from one hash (high and low 32 bits)."""
    return _uniforms(np.uint64(key), ids.astype(np.int64), month, stream)


@njit(cache=True)
def _uniforms(key: np.uint64, ids: np.ndarray, month: int,
              stream: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    hi = np.empty(ids.shape[0])
    lo = np.empty(ids.shape[0])
    for j in range(ids.shape[0]):
        h = _hash(key, ids[j], month, stream)
        hi[j] = np.float64(h >> np.uint64(32)) * TO_UNIT
        lo[j] = np.float64(h & np.uint64(0xFFFFFFFF)) * TO_UNIT
    return hi, lo




@njit(cache=True)
def flagged_slots(flag: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The slots the month's step flagged for a decision (nonzero `flag`), in order: what
    `np.flatnonzero(flag)` gives, in one counting and one filling pass over the int8 flags."""
    n = 0
    for i in range(flag.shape[0]):
        if flag[i] != 0:
            n += 1
    out = np.empty(n, dtype=np.int64)
    j = 0
    for i in range(flag.shape[0]):
        if flag[i] != 0:
            out[j] = i
            j += 1
    return out

class PersonArrays(NamedTuple):
    """The person attributes the kernel reads and writes: views of a `Population`'s arrays (the
    compiled kernel takes a tuple of arrays, not the dataclass)."""

    status: np.ndarray
    entry_month: np.ndarray
    age_m: np.ndarray
    substance: np.ndarray
    injecting: np.ndarray
    severity: np.ndarray
    active: np.ndarray
    remission_m: np.ndarray
    risk: np.ndarray
    profile: np.ndarray
    treatment: np.ndarray
    cj: np.ndarray
    cj_timer: np.ndarray
    measure: np.ndarray
    since_release: np.ndarray
    drug_prisoner: np.ndarray
    effect_measure: np.ndarray
    effect_until: np.ndarray
    prior_diversion_failures: np.ndarray
    served_m: np.ndarray
    flag: np.ndarray
    off_type: np.ndarray
    cohort_month: np.ndarray
    rearrest_month: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, pop: Population) -> PersonArrays:
        """The kernel's view of `pop` (no copy: the kernel writes into the population)."""
        return cls(*(getattr(pop, name) for name in cls._fields))


class KernelParams(NamedTuple):
    """What the kernel reads besides the persons, for one month's law and practice: monthly
    probabilities and multipliers from the pack's values (`divert.simulation.run.kernel_params`)
    and, per measure (catalogue index), the practice and effects of the decisions."""

    fp: np.ndarray                  # float64 scalars, by the `FP` names
    p_od: np.ndarray                # monthly overdose death probability, by substance
    p_remit: np.ndarray             # monthly remission probability, by severity
    off_sev: np.ndarray             # offending multiplier, [severity, substance]
    type_cum: np.ndarray            # cumulative offence-type shares, [profile, offence type]
    profile_rate: np.ndarray        # offending rate multiplier, by profile
    type_counter: np.ndarray        # int64: the METRICS row counting an offence type, -1 none
    measure_rr: np.ndarray          # reoffending multiplier, by measure
    measure_completion: np.ndarray  # completion probability, by measure
    opioid: np.ndarray              # bool: the substance is an opioid
    measure_duration: np.ndarray    # months a measure lasts, by measure
    oat_rr: np.ndarray              # overdose multiplier early in a measure with OAT, by measure
    oat_months: np.ndarray          # months that multiplier lasts, by measure
    p_entry: np.ndarray             # monthly voluntary treatment entry probability, by substance


CHUNKS = 64
# below this many person slots one thread is faster than two (measured on 2 cores: 590,000 slots
# 4.3 s serial against 5.3 s in parallel, 2 million 12.4 s against 11.7 s; bench/README.md)
PARALLEL_MIN = 2_000_000


@njit(cache=True, parallel=True)
def step_numba(a, month, key, kp, counters, occ):  # pragma: no cover
    """One month for every person (compiled, in parallel chunks). See the module docstring.

    `a` is a `PersonArrays`, `kp` a `KernelParams`. Each chunk (its bounds set by the population's
    size alone) adds its persons' weights into its own row; rows are added in a fixed order
    afterwards, so the totals do not depend on the number of threads.
    """
    n = a.status.shape[0]
    size = (n + CHUNKS - 1) // CHUNKS
    local = np.zeros((CHUNKS, counters.shape[0]))
    local_occ = np.zeros((CHUNKS, occ.shape[0]))
    for c in prange(CHUNKS):
        _persons(c * size, min(n, (c + 1) * size), a, month, key, kp, local[c], local_occ[c])
    for c in range(CHUNKS):
        counters += local[c]
        occ += local_occ[c]


@njit(cache=True)
def step_numba_serial(a, month, key, kp, counters, occ):  # pragma: no cover
    """One month for every person on one thread (small populations: no thread start-up)."""
    _persons(0, a.status.shape[0], a, month, key, kp, counters, occ)


@njit(cache=True)
def _persons(lo, hi, a, month, key, kp, counters, occ):  # pragma: no cover
    """The monthly step for persons lo..hi-1 (`a` a `PersonArrays`, `kp` a `KernelParams`)."""
    (status, entry_month, age_m, substance, injecting, severity, active, remission_m, risk, profile,
     treatment, cj, cj_timer, measure, since_release, drug_prisoner, effect_measure, effect_until,
     prior_diversion_failures, served_m, flag, off_type, cohort_month, rearrest_month, weight) = a
    (fp, p_od, p_remit, off_sev, type_cum, profile_rate, type_counter, measure_rr,
     measure_completion, opioid, measure_duration, oat_rr, oat_months, p_entry) = kp
    key = np.uint64(key)
    for i in range(lo, hi):
        flag[i] = F_NONE
        w = float(weight[i])
        s = status[i]
        if s == UNBORN:
            if entry_month[i] != month:
                continue
            status[i] = ALIVE
            counters[M_ENTRANTS] += w
        elif s != ALIVE:
            continue
        age_m[i] += 1
        if age_m[i] >= fp[FP_EXIT_AGE]:
            status[i] = EXITED
            counters[M_EXITS] += w
            continue
        c = cj[i]
        custody = c == PRISON or c == PRETRIAL or c == COMPULSORY
        if not custody and since_release[i] < NEVER_UNTIL:
            since_release[i] += 1
        # deaths
        h = _hash(key, i, month, S_DEATH_USE)
        u_death = float(h >> np.uint64(32)) * TO_UNIT
        u_use = float(h & np.uint64(0xFFFFFFFF)) * TO_UNIT
        rr = 1.0
        if custody:
            rr = fp[FP_RR_CUSTODY]
        else:
            if active[i] == 0:
                rr *= fp[FP_RR_REMISSION]
            if treatment[i] != NO_TREATMENT:
                m = measure[i]
                if (c == MEASURE and treatment[i] == OAT
                        and measure_duration[m] - cj_timer[i] < oat_months[m]):
                    rr *= oat_rr[m]
                else:
                    rr *= fp[FP_RR_TREAT]
            if injecting[i] == 1:
                rr *= fp[FP_RR_INJ]
            sr = since_release[i]
            if sr == 0:
                rr *= fp[FP_RR_REL1]
            elif sr > 0 and sr < 12:
                rr *= fp[FP_RR_RELY]
        p_overdose = p_od[substance[i]] * rr
        if u_death < p_overdose:
            status[i] = DEAD
            counters[M_OD] += w
            counters[M_DEATHS] += w
            if since_release[i] >= 0 and since_release[i] < 12:
                counters[M_OD_RELEASE] += w
                if since_release[i] == 0:
                    counters[M_OD_RELEASE1] += w
            lost = fp[FP_LE] - age_m[i]
            if lost > 0:
                counters[M_LYL] += lost * w
            continue
        if u_death < p_overdose + fp[FP_P_OTHER]:
            status[i] = DEAD
            counters[M_DEATHS] += w
            lost = fp[FP_LE] - age_m[i]
            if lost > 0:
                counters[M_LYL] += lost * w
            continue
        # drug use
        t = treatment[i]
        if active[i] == 1:
            p = p_remit[severity[i]]
            if t != NO_TREATMENT:
                p *= fp[FP_TREAT_REMIT]
            if u_use < p:
                active[i] = 0
        elif not custody and u_use < fp[FP_P_RELAPSE]:
            active[i] = 1
        if active[i] == 0:
            if remission_m[i] < NEVER_UNTIL:
                remission_m[i] += 1
            # sustained remission: no longer a person who uses drugs; not while on opioid agonist
            # maintenance (DSM-5: "in sustained remission, on maintenance therapy")
            if (c == COMMUNITY and fp[FP_CESSATION] > 0 and remission_m[i] >= fp[FP_CESSATION]
                    and t != OAT):
                status[i] = EXITED
                counters[M_EXITS] += w
                counters[M_CEASED] += w
                continue
        else:
            remission_m[i] = 0
        # voluntary treatment and timers
        h = _hash(key, i, month, S_TREAT_TIMER)
        u_treat = float(h >> np.uint64(32)) * TO_UNIT
        u_timer = float(h & np.uint64(0xFFFFFFFF)) * TO_UNIT
        if c == COMMUNITY:
            if t == NO_TREATMENT:
                if active[i] == 1 and severity[i] >= 2 and u_treat < p_entry[substance[i]]:
                    treatment[i] = OAT if opioid[substance[i]] else OUTPATIENT
                    counters[M_TREAT_ENTRIES] += w
            elif u_treat < (fp[FP_P_DROPOUT_OAT] if t == OAT else fp[FP_P_DROPOUT]):
                treatment[i] = NO_TREATMENT
        if c != COMMUNITY and cj_timer[i] > 0:
            cj_timer[i] -= 1
            if c == PRISON:
                served_m[i] += 1
            if cj_timer[i] == 0:
                if c == PRETRIAL:
                    flag[i] = F_PRETRIAL_END
                elif c == PRISON:
                    cj[i] = COMMUNITY
                    since_release[i] = -1
                    drug_prisoner[i] = 0
                    if treatment[i] == IN_PRISON:
                        treatment[i] = NO_TREATMENT
                    if effect_until[i] > month + EFFECT_MONTHS:
                        effect_until[i] = month + EFFECT_MONTHS
                    if measure[i] >= 0:  # a measure served in custody: its effect follows
                        effect_measure[i] = measure[i]
                        effect_until[i] = month + EFFECT_MONTHS
                        measure[i] = -1
                    counters[M_RELEASES] += w
                    flag[i] = F_RELEASE
                else:
                    m = measure[i]
                    if c == COMPULSORY:
                        cj[i] = COMMUNITY
                        since_release[i] = -1
                        treatment[i] = NO_TREATMENT
                    if u_timer < measure_completion[m]:
                        cj[i] = COMMUNITY
                        effect_measure[i] = m
                        effect_until[i] = month + EFFECT_MONTHS
                        measure[i] = -1
                        counters[M_COMPLETIONS] += w
                    else:
                        cj[i] = COMMUNITY
                        if prior_diversion_failures[i] < 100:
                            prior_diversion_failures[i] += 1
                        counters[M_FAILURES] += w
                        flag[i] = F_FAILED
        # offences
        c = cj[i]
        if flag[i] == F_NONE and (c == COMMUNITY or c == MEASURE):
            prof = profile[i]
            p = fp[FP_P_OFFENCE] * profile_rate[prof] * off_sev[severity[i], substance[i]]
            if risk[i] == 1:
                p *= fp[FP_RR_HIGH]
            if treatment[i] != NO_TREATMENT:
                p *= fp[FP_RR_TREAT_OFF]
            if active[i] == 0:
                p *= fp[FP_RR_REMIT_OFF]
            if c == MEASURE:
                p *= measure_rr[measure[i]]
            elif effect_measure[i] >= 0 and month < effect_until[i]:
                p *= measure_rr[effect_measure[i]]
            h = _hash(key, i, month, S_OFFENCE)
            if float(h >> np.uint64(32)) * TO_UNIT < min(p, 1.0):
                counters[M_OFFENCES] += w
                h2 = _hash(key, i, month, S_TYPE)
                u_type = float(h2 >> np.uint64(32)) * TO_UNIT
                k = 0
                while k < type_cum.shape[1] - 1 and u_type >= type_cum[prof, k]:
                    k += 1
                if type_counter[k] >= 0:
                    counters[type_counter[k]] += w
                if float(h & np.uint64(0xFFFFFFFF)) * TO_UNIT < fp[FP_P_DETECT]:
                    off_type[i] = k
                    flag[i] = F_CONTACT
                    counters[M_CONTACTS] += w
                    if cohort_month[i] >= 0 and rearrest_month[i] < 0:
                        rearrest_month[i] = month
        # stocks
        c = cj[i]
        if c == PRISON and flag[i] == F_NONE:
            flag[i] = F_IN_PRISON  # listed for the month's post-sentence decisions
        counters[M_ALIVE] += w
        if active[i] == 1:
            counters[M_ACTIVE] += w
            if severity[i] >= 2:
                counters[M_ACTIVE_DISORDER] += w
        if c == PRISON or c == PRETRIAL:
            counters[M_IN_PRISON] += w
            if drug_prisoner[i] == 1:
                counters[M_IN_PRISON_DRUG] += w
        if treatment[i] != NO_TREATMENT:
            counters[M_IN_TREATMENT] += w
            if treatment[i] != IN_PRISON and c != COMPULSORY:
                counters[M_IN_COMMUNITY_TREATMENT] += w
        if c == PRISON and measure[i] >= 0:
            occ[measure[i]] += w
        if c == MEASURE:
            counters[M_IN_MEASURE] += w
            occ[measure[i]] += w
        elif c == COMPULSORY:
            counters[M_IN_COMPULSORY] += w
            occ[measure[i]] += w


# index constants the compiled kernel reads as globals
M_ENTRANTS, M_EXITS, M_OD, M_DEATHS = M["entrants"], M["exits"], M["overdose_deaths"], M["deaths"]
M_OD_RELEASE, M_LYL = M["overdose_deaths_after_release"], M["life_months_lost"]
M_OD_RELEASE1 = M["overdose_deaths_first_month_after_release"]
M_TREAT_ENTRIES, M_RELEASES = M["treatment_entries"], M["prison_releases"]
M_COMPLETIONS, M_FAILURES, M_OFFENCES = M["completions"], M["failures"], M["offences"]
M_CONTACTS, M_ALIVE, M_ACTIVE = M["police_contacts"], M["alive"], M["active_use"]
M_ACTIVE_DISORDER = M["active_disorder"]
M_IN_PRISON, M_IN_PRISON_DRUG = M["in_prison"], M["in_prison_drug_offence"]
M_IN_TREATMENT, M_IN_COMMUNITY_TREATMENT = M["in_treatment"], M["in_community_treatment"]
M_IN_MEASURE, M_IN_COMPULSORY = M["in_measure"], M["in_compulsory_treatment"]
FP_RR_INJ, FP_RR_TREAT, FP_RR_REMISSION = FPI["rr_injecting"], FPI["rr_in_treatment"], \
    FPI["rr_remission"]
FP_RR_CUSTODY, FP_RR_REL1, FP_RR_RELY = FPI["rr_custody"], FPI["rr_release_first_month"], \
    FPI["rr_release_year"]
FP_P_OTHER, FP_P_RELAPSE, FP_P_ENTRY = FPI["p_other_death"], FPI["p_relapse"], \
    FPI["p_treatment_entry"]
FP_P_DROPOUT, FP_TREAT_REMIT, FP_P_OFFENCE = FPI["p_dropout"], FPI["treatment_remission_rr"], \
    FPI["p_offence"]
FP_RR_HIGH, FP_RR_TREAT_OFF = FPI["rr_offence_high_risk"], FPI["rr_offence_treatment"]
FP_RR_REMIT_OFF, FP_P_DETECT = FPI["rr_offence_remission"], FPI["p_detection"]
FP_EXIT_AGE, FP_LE = FPI["exit_age_months"], FPI["life_expectancy_months"]
FP_CESSATION, FP_P_DROPOUT_OAT = FPI["cessation_months"], FPI["p_dropout_oat"]
M_CEASED = M["exits_ceased"]


def step_numpy(pop: Population, month: int, key: int, kp: KernelParams, counters: np.ndarray,
               occ: np.ndarray) -> None:
    """One month for every person, vectorised with NumPy: the reference for `step_numba`."""
    (fp, p_od, p_remit, off_sev, type_cum, profile_rate, type_counter, measure_rr,
     measure_completion, opioid, measure_duration, oat_rr, oat_months, p_entry) = kp
    p = pop
    p.flag[:] = F_NONE
    ids = np.arange(p.size)
    w = p.weight.astype(np.float64)
    born = (p.status == UNBORN) & (p.entry_month == month)
    p.status[born] = ALIVE
    counters[M_ENTRANTS] += w[born].sum()
    live = p.status == ALIVE
    p.age_m[live] += 1
    leaving = live & (p.age_m >= fp[FP_EXIT_AGE])
    p.status[leaving] = EXITED
    counters[M_EXITS] += w[leaving].sum()
    live &= ~leaving
    c = p.cj.copy()
    custody = (c == PRISON) | (c == PRETRIAL) | (c == COMPULSORY)
    bump = live & ~custody & (p.since_release < NEVER_UNTIL)
    p.since_release[bump] += 1
    u_death, u_use = uniforms(key, ids, month, S_DEATH_USE)
    rr = np.ones(p.size)
    free = ~custody
    rr[custody] = fp[FP_RR_CUSTODY]
    rr[free & (p.active == 0)] *= fp[FP_RR_REMISSION]
    m_now = np.maximum(p.measure, 0)
    oat_first = ((c == MEASURE) & (p.treatment == OAT)
                 & (measure_duration[m_now] - p.cj_timer < oat_months[m_now]))
    treated_free = free & (p.treatment != NO_TREATMENT)
    rr[treated_free & oat_first] *= oat_rr[m_now[treated_free & oat_first]]
    rr[treated_free & ~oat_first] *= fp[FP_RR_TREAT]
    rr[free & (p.injecting == 1)] *= fp[FP_RR_INJ]
    sr = p.since_release
    rr[free & (sr == 0)] *= fp[FP_RR_REL1]
    rr[free & (sr > 0) & (sr < 12)] *= fp[FP_RR_RELY]
    p_overdose = p_od[p.substance] * rr
    overdose = live & (u_death < p_overdose)
    other = live & ~overdose & (u_death < p_overdose + fp[FP_P_OTHER])
    died = overdose | other
    counters[M_OD] += w[overdose].sum()
    counters[M_OD_RELEASE] += w[overdose & (sr >= 0) & (sr < 12)].sum()
    counters[M_OD_RELEASE1] += w[overdose & (sr == 0)].sum()
    counters[M_DEATHS] += w[died].sum()
    lost = (fp[FP_LE] - p.age_m[died]) * w[died]
    counters[M_LYL] += lost[lost > 0].sum()
    p.status[died] = DEAD
    live &= ~died
    # drug use
    t = p.treatment.copy()
    was_active = p.active == 1
    p_r = p_remit[p.severity] * np.where(t != NO_TREATMENT, fp[FP_TREAT_REMIT], 1.0)
    p.active[live & was_active & (u_use < p_r)] = 0
    p.active[live & ~was_active & ~custody & (u_use < fp[FP_P_RELAPSE])] = 1
    quiet = live & (p.active == 0)
    p.remission_m[quiet & (p.remission_m < NEVER_UNTIL)] += 1
    p.remission_m[live & (p.active == 1)] = 0
    ceased = (quiet & (c == COMMUNITY) & (fp[FP_CESSATION] > 0)
              & (p.remission_m >= fp[FP_CESSATION]) & (t != OAT))
    p.status[ceased] = EXITED
    counters[M_EXITS] += w[ceased].sum()
    counters[M_CEASED] += w[ceased].sum()
    live &= ~ceased
    # voluntary treatment and timers
    u_treat, u_timer = uniforms(key, ids, month, S_TREAT_TIMER)
    comm = live & (c == COMMUNITY)
    enter = (comm & (t == NO_TREATMENT) & (p.active == 1) & (p.severity >= 2)
             & (u_treat < p_entry[p.substance]))
    p.treatment[enter] = np.where(opioid[p.substance[enter]], OAT, OUTPATIENT)
    counters[M_TREAT_ENTRIES] += w[enter].sum()
    p_drop = np.where(t == OAT, fp[FP_P_DROPOUT_OAT], fp[FP_P_DROPOUT])
    p.treatment[comm & (t != NO_TREATMENT) & (u_treat < p_drop)] = NO_TREATMENT
    ticking = live & (c != COMMUNITY) & (p.cj_timer > 0)
    p.cj_timer[ticking] -= 1
    p.served_m[ticking & (c == PRISON)] += 1
    ends = ticking & (p.cj_timer == 0)
    p.flag[ends & (c == PRETRIAL)] = F_PRETRIAL_END
    release = ends & (c == PRISON)
    p.cj[release] = COMMUNITY
    p.since_release[release] = -1
    p.drug_prisoner[release] = 0
    p.treatment[release & (p.treatment == IN_PRISON)] = NO_TREATMENT
    cap = release & (p.effect_until > month + EFFECT_MONTHS)
    p.effect_until[cap] = month + EFFECT_MONTHS
    served = release & (p.measure >= 0)
    p.effect_measure[served] = p.measure[served]
    p.effect_until[served] = month + EFFECT_MONTHS
    p.measure[served] = -1
    counters[M_RELEASES] += w[release].sum()
    p.flag[release] = F_RELEASE
    finish = ends & ((c == MEASURE) | (c == COMPULSORY))
    from_compulsory = finish & (c == COMPULSORY)
    p.since_release[from_compulsory] = -1
    p.treatment[from_compulsory] = NO_TREATMENT
    m = np.where(finish, p.measure, 0)
    success = finish & (u_timer < measure_completion[m])
    failure = finish & ~success
    p.cj[finish] = COMMUNITY
    p.effect_measure[success] = p.measure[success]
    p.effect_until[success] = month + EFFECT_MONTHS
    p.measure[success] = -1
    counters[M_COMPLETIONS] += w[success].sum()
    bumpf = failure & (p.prior_diversion_failures < 100)
    p.prior_diversion_failures[bumpf] += 1
    counters[M_FAILURES] += w[failure].sum()
    p.flag[failure] = F_FAILED
    # offences
    c = p.cj
    can = live & (p.flag == F_NONE) & ((c == COMMUNITY) | (c == MEASURE))
    po = fp[FP_P_OFFENCE] * profile_rate[p.profile] * off_sev[p.severity, p.substance]
    po[p.risk == 1] *= fp[FP_RR_HIGH]
    po[p.treatment != NO_TREATMENT] *= fp[FP_RR_TREAT_OFF]
    po[p.active == 0] *= fp[FP_RR_REMIT_OFF]
    in_m = c == MEASURE
    po[in_m] *= measure_rr[p.measure[in_m]]
    eff = ~in_m & (p.effect_measure >= 0) & (month < p.effect_until)
    po[eff] *= measure_rr[p.effect_measure[eff]]
    u_off, u_det = uniforms(key, ids, month, S_OFFENCE)
    offend = can & (u_off < np.minimum(po, 1.0))
    counters[M_OFFENCES] += w[offend].sum()
    contact = offend & (u_det < fp[FP_P_DETECT])
    u_type, _ = uniforms(key, ids, month, S_TYPE)
    cum = type_cum[p.profile]
    k = np.minimum((u_type[:, None] >= cum).sum(axis=1), type_cum.shape[1] - 1)
    counted = offend & (type_counter[k] >= 0)
    np.add.at(counters, type_counter[k[counted]], w[counted])
    p.off_type[contact] = k[contact]
    p.flag[contact] = F_CONTACT
    counters[M_CONTACTS] += w[contact].sum()
    first = contact & (p.cohort_month >= 0) & (p.rearrest_month < 0)
    p.rearrest_month[first] = month
    # stocks
    c = p.cj
    p.flag[live & (c == PRISON) & (p.flag == F_NONE)] = F_IN_PRISON
    counters[M_ALIVE] += w[live].sum()
    counters[M_ACTIVE] += w[live & (p.active == 1)].sum()
    counters[M_ACTIVE_DISORDER] += w[live & (p.active == 1) & (p.severity >= 2)].sum()
    jail = live & ((c == PRISON) | (c == PRETRIAL))
    counters[M_IN_PRISON] += w[jail].sum()
    counters[M_IN_PRISON_DRUG] += w[jail & (p.drug_prisoner == 1)].sum()
    treated = live & (p.treatment != NO_TREATMENT)
    counters[M_IN_TREATMENT] += w[treated].sum()
    counters[M_IN_COMMUNITY_TREATMENT] += w[treated & (p.treatment != IN_PRISON)
                                             & (c != COMPULSORY)].sum()
    held = live & (c == PRISON) & (p.measure >= 0)
    np.add.at(occ, p.measure[held], w[held])
    in_measure = live & (c == MEASURE)
    in_comp = live & (c == COMPULSORY)
    counters[M_IN_MEASURE] += w[in_measure].sum()
    counters[M_IN_COMPULSORY] += w[in_comp].sum()
    np.add.at(occ, p.measure[in_measure | in_comp], w[in_measure | in_comp])


def step(pop: Population, month: int, key: int, kp: KernelParams, counters: np.ndarray,
         occ: np.ndarray, engine: str = "numba") -> None:
    """One month with the chosen engine: `numba` (compiled) or `numpy` (reference)."""
    if engine == "numpy":
        step_numpy(pop, month, key, kp, counters, occ)
        return
    # a worker process of a pool runs on one thread: there the chunked kernel only costs
    parallel = pop.size >= PARALLEL_MIN and get_num_threads() > 1
    kernel = step_numba if parallel else step_numba_serial
    kernel(PersonArrays.of(pop), month, np.uint64(key), kp, counters, occ)
