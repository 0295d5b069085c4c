"""One simulated run: a pack's population month by month under its law and practice.

`run()` draws the replication's practice values (probabilistic sensitivity analysis), synthesises
the population, then each month calls the kernel (deaths, use, treatment, timers, offences) and the
decision step (the pack's rules at every criminal-justice contact). It returns monthly series in
sample units, with the scale factor to the real population, and cohort outcomes by pathway.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from divert.law.policy import Policy
from divert.law.practice import draw, resolve, shares, table, uncertainty_samples
from divert.law.vocabulary import OFFENCE_TYPES, SUBSTANCES
from divert.simulation.decisions import SECTORS, T_COMMUNITY, T_RESIDENTIAL, Decider, Effects, Practice
from divert.simulation.kernel import FP, METRICS, KernelParams, M, step
from divert.simulation.oversampling import thin
from divert.simulation.population import (
    ALIVE,
    COMMUNITY,
    MEASURE,
    OPIOIDS,
    Population,
    extend,
    offence_profiles,
    schedule,
    synthesise,
    weight_of,
)
from divert.simulation.prison_care import (
    PrisonCare,
    after_decisions,
    after_step,
    in_prison_treatment,
    treated_in_prison,
    treated_outside,
    voluntary_in_prison,
)

COST_SECTORS = ("police", "courts", "prison", "probation", "treatment", "health")
COURT_PHASES = 4
VICTIM_TYPES = ("property", "violent", "other")
SERIES = (*METRICS, *(f"treatment_court_phase_{k}" for k in range(1, COURT_PHASES + 1)),
          "in_prison_treatment",
          *(f"cost_{s}" for s in COST_SECTORS), "cost_total", "cost_victims")
"""Monthly series: the kernel's and decisions' counters, treatment-court phases, prisoners in
treatment in prison, public costs by sector and their total, and the costs of crime to victims (a
cost to society, not in the total)."""
COHORT_YEARS = (1, 2, 3)


def monthly(rate_per_year: float) -> float:
    """A yearly rate as a monthly probability."""
    return 1.0 - math.exp(-max(rate_per_year, 0.0) / 12.0)


def add_months(start: date, months: int) -> date:
    """The first day of the month `months` after `start`'s month."""
    y, m = divmod(start.month - 1 + months, 12)
    return date(start.year + y, m + 1, 1)


def stream_key(seed: int, replication: int, purpose: int) -> int:
    """A 64-bit key for one replication and purpose, the same in every scenario."""
    return int(np.random.SeedSequence([seed, replication, purpose]).generate_state(1, np.uint64)[0])


@dataclass
class RunResult:
    """A run's monthly series (sample units), cohort outcomes and final state."""

    scenario: str
    replication: int
    persons: int
    months: int
    start: date
    scale: float
    series: np.ndarray                        # months x len(SERIES)
    cohort: np.ndarray                        # len(pathways) x (1 + len(COHORT_YEARS)) counts
    final: dict[str, float] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    pathways: tuple[str, ...] = ()            # cohort rows: the run's measures, then no_sanction
    burn_in: int = 0                          # months simulated before the reported start
    start_alive: float = 0.0                  # people alive when the report starts (sample)

    def metric(self, name: str) -> np.ndarray:
        return self.series[:, SERIES.index(name)]


def offending_multipliers(values: dict[str, Any]) -> np.ndarray:
    """Offending multiplier by disorder severity (rows) and primary substance (columns): the
    severity's `offence_rr_by_disorder` times the substance's `offence_rr_by_substance`, the
    latter divided by its mean over the pack's substance shares, so the population's offending
    (and the arrests fitted to it) keeps its level while people who use crack or heroin offend
    more than people who use cannabis."""
    by_substance = table(values, "offence_rr_by_substance", 1.0)
    mean = float(shares(values, "substance_share") @ by_substance)
    relative = by_substance / mean if mean > 0 else np.ones_like(by_substance)
    return np.outer(table(values, "offence_rr_by_disorder", 1.0), relative)


def involvement(pop: Population, ids: np.ndarray, values: dict[str, Any]) -> np.ndarray:
    """How likely each of `ids` is to meet the justice system again, relative: their offending
    (disorder, substance, criminogenic risk) times their record (one plus drug arrests,
    convictions and incarcerations), tripled while they are held or in a measure. A record
    predicts the next arrest better than any trait (BJS, *Recidivism of Prisoners Released in
    24 States in 2008*, 2021: rearrest within 10 years rose with the number of prior arrests)."""
    rate = offending_multipliers(values)[pop.severity[ids], pop.substance[ids]]
    rate = np.where(pop.risk[ids] == 1, rate * float(values["offence_rr_high_risk"]), rate)
    record = (1.0 + pop.prior_drug_arrests[ids].astype(np.float64)
              + pop.prior_convictions[ids] + pop.prior_incarcerations[ids])
    held: np.ndarray = np.where(pop.cj[ids] != COMMUNITY, 3.0, 1.0)
    size: np.ndarray = rate * record * held
    return size


def kernel_inputs(values: dict[str, Any]) -> dict[str, Any]:
    """Practice values as the kernel's vectors of monthly probabilities and multipliers."""
    v = values
    fp = np.zeros(len(FP))
    put = {
        "rr_injecting": v["overdose_rr_injecting"], "rr_in_treatment": v["overdose_rr_in_treatment"],
        "rr_remission": v["overdose_rr_remission"], "rr_custody": v["overdose_rr_in_prison"],
        "rr_release_first_month": v["overdose_rr_release_first_month"],
        "rr_release_year": v["overdose_rr_release_year"],
        "p_other_death": monthly(v["mortality_other_per_year"]),
        "p_relapse": monthly(v["relapse_rate_per_year"]),
        "p_treatment_entry": monthly(v["treatment_entry_rate_per_year"]),
        "p_dropout": monthly(v["treatment_dropout_rate_per_year"]),
        "treatment_remission_rr": v["treatment_remission_rr"],
        "p_offence": monthly(v["offence_rate_per_year"]),
        "rr_offence_high_risk": v["offence_rr_high_risk"],
        "rr_offence_treatment": v["offence_rr_in_treatment"],
        "rr_offence_remission": v["offence_rr_remission"],
        "p_detection": min(max(float(v["detection_prob"]), 0.0), 1.0),
        "exit_age_months": float(v["exit_age_years"]) * 12,
        "life_expectancy_months": round(float(v["life_expectancy_years"]) * 12),
        "cessation_months": float(v["cessation_months"]),
        "p_dropout_oat": monthly(float(v["treatment_dropout_rate_per_year"])
                                 * float(v["opioid_agonist_dropout_rr"])),
    }
    for name, value in put.items():
        fp[FP.index(name)] = float(value)
    od_rr = table(v, "overdose_substance_rr", 1.0)
    p_od = np.array([monthly(float(v["overdose_death_rate_per_year"]) * r) for r in od_rr])
    remit = table(v, "remission_rate_per_year", 0.1)
    profiles = offence_profiles(v)
    victim = v["victim_cost_per_offence"]
    return {
        "fp": fp, "p_od": p_od, "p_remit": np.array([monthly(r) for r in remit]),
        "off_sev": offending_multipliers(v),
        "type_cum": profiles.type_cum, "profile_rate": profiles.rate,
        "type_counter": np.array([M[f"offences_{t}"] if t in VICTIM_TYPES else -1
                                  for t in OFFENCE_TYPES], dtype=np.int64),
        "victim_cost": np.array([float(victim.get(t, 0.0)) for t in VICTIM_TYPES]),
        "opioid": np.isin(np.arange(len(SUBSTANCES)), OPIOIDS),
        "p_entry": np.array([monthly(float(v["treatment_entry_rate_per_year"]) * r)
                             for r in table(v, "treatment_entry_rr_by_substance", 1.0)]),
    }


def kernel_params(k: dict[str, Any], practice: Practice, effects: Effects) -> KernelParams:
    """The kernel's parameters: `kernel_inputs` (`k`) and, per measure, the practice
    (reoffending, completion, duration) and effects (OAT's overdose protection)."""
    return KernelParams(
        fp=k["fp"], p_od=k["p_od"], p_remit=k["p_remit"], off_sev=k["off_sev"],
        type_cum=k["type_cum"], profile_rate=k["profile_rate"], type_counter=k["type_counter"],
        measure_rr=practice.reoffence_rr, measure_completion=practice.completion,
        opioid=k["opioid"], measure_duration=practice.duration, oat_rr=effects.oat_overdose_rr,
        oat_months=effects.oat_overdose_months, p_entry=k["p_entry"])


WARM_UP_MIN, WARM_UP_MAX = 36, 120


def warm_up_months(values: dict[str, Any]) -> int:
    """The burn-in before the reported start: three times the longest mean stay in the stocks
    (time served by the offence mix, the longest non-custodial measure, a spell of voluntary
    treatment in its longest-kept form), in whole years, within 3 and 10 years, so that prison
    and treatment stocks and criminal histories have settled when the report begins."""
    mix = shares(values, "offence_type_share")
    served = float(mix @ table(values, "prison_sentence_months", 6.0))
    longest_measure = max([float(x) for x in values["measure_duration_months"].values()] or [0])
    dropout = float(values["treatment_dropout_rate_per_year"]) * min(
        1.0, float(values["opioid_agonist_dropout_rr"]))
    treatment = 12.0 / max(dropout, 1e-9)
    months = 3.0 * max(served, min(longest_measure, 60.0), min(treatment, 60.0))
    return int(min(max(12 * math.ceil(months / 12), WARM_UP_MIN), WARM_UP_MAX))


def run(policy: Policy, persons: int, months: int, start: date, seed: int, replication: int,
        *, scenario: str = "", engine: str = "numba", uncertainty: bool = True,
        warm_up: int | None = None, oversample: float = 1.0) -> RunResult:
    """Simulate `persons` people for `months` months from `start` (replication `replication`).

    A burn-in of `warm_up` months (None: `warm_up_months`, chosen from the pack's practice) is
    simulated first, under the law and practice of the start date, with entrants replacing
    every exit, so that the first reported month is in the steady state; over the report,
    entrants are the burn-in's last year of exits a month, grown by `population_trend_per_year`
    (the same numbers in every scenario whose changes start at or after `start`). Without a
    burn-in (`warm_up=0`) entrants come at `entrants_per_year` of the starting population.
    """
    samples = (uncertainty_samples(np.random.default_rng([seed, replication, 7]))
               if uncertainty else None)
    values = draw(resolve(policy, start), samples)
    burn = warm_up_months(values) if warm_up is None else max(0, int(warm_up))
    # the burn-in runs under the law and practice in force just before the start (unchanged law),
    # so it is the same in every scenario whose changes take effect at or after the start
    before = add_months(start, -1)
    if burn:
        values = draw(resolve(policy, before), samples)
    report_values = draw(resolve(policy, start), samples)
    scale = float(report_values["population_size"]) / persons
    balanced = burn > 0
    if oversample > 1.0 and not balanced:
        raise ValueError("--oversample: needs the burn-in (entrants are then drawn as exits "
                         "happen); allowed: 1 without it")
    # oversampling: the burn-in runs `oversample` times the persons, each standing for
    # 1/oversample; at the start `persons` of them are kept by their record (`thin`)
    many = math.ceil(persons * oversample) if oversample > 1.0 else persons
    burn_weight = persons / many
    next_slot = many
    cache_key = (_burn_key(policy, before, persons, seed, replication, burn, engine, uncertainty,
                           oversample) if burn else "")
    hit = bool(cache_key) and cache_key in _BURN_CACHE
    slots_rng = np.random.default_rng([seed, replication, 1])
    if hit:
        pop = _BURN_CACHE[cache_key][0].copy()
    elif balanced:  # slots for about 0.4% of the people entering a month; more are added
        pop = synthesise(many, 0, values, slots_rng,
                         entrant_slots=max(256, int(many * 0.004 * (burn + months))))
        pop.weight[:] = burn_weight
    else:
        pop = synthesise(persons, months, values, slots_rng)
    key = stream_key(seed, replication, 3)
    effects = Effects.of(policy)
    total = burn + months
    series_all = np.zeros((total, len(SERIES)))
    occ = np.zeros(len(effects.ids))
    court = np.flatnonzero(effects.court_programme)
    # by measure index + 1 (0: no measure): whether it is a treatment court's programme
    is_court = np.concatenate([[False], effects.court_programme])
    sector_of = effects.sector
    # a measure whose cost includes its treatment (a drug court's, WSIPP) is not charged community
    # treatment on top for its participants
    pays_treatment = effects.cost_includes_treatment & np.isin(effects.treatment,
                                                               (T_COMMUNITY, T_RESIDENTIAL))
    start_values = values
    start_alive = float(persons)
    resolved = None
    trend = 0.0
    per_month = 0.0
    carry = 0.0
    blocks = 0
    first_month = 0
    if hit:
        _, cached_series, next_slot, blocks = _BURN_CACHE[cache_key]
        series_all[:burn] = cached_series
        first_month = burn
    for t in range(first_month, total):
        month = t + 1
        if cache_key and t == burn and first_month == 0:
            _BURN_CACHE.clear()  # one burn-in held: the replication's other scenarios branch
            _BURN_CACHE[cache_key] = (pop.copy(), series_all[:burn].copy(), next_slot, blocks)
        if many > persons and t == burn:
            alive = np.flatnonzero(pop.status[:next_slot] == ALIVE)
            pop, next_slot = thin(pop, alive, next_slot, involvement(pop, alive, values),
                                  persons / many, np.random.default_rng([seed, replication, 9]))
        day = before if t < burn else add_months(start, t - burn)
        now = resolve(policy, day)  # from the start, law and practice follow the date
        if now != resolved:
            resolved = now
            values = draw(resolved, samples)
            practice = Practice(values, scale, effects.ids)
            k = kernel_inputs(values)
            kp = kernel_params(k, practice, effects)
            decider = Decider(policy, practice, key, effects)
            care = PrisonCare.of(values)
        initiation = float(values["initiation_rr"]) if t >= burn else 1.0
        if balanced:
            if t < burn:
                want = 0 if t == 0 else int((series_all[t - 1, M["deaths"]]
                                             + series_all[t - 1, M["exits"]]) / burn_weight)
            else:
                if t == burn:
                    _start_report(pop)
                    last = series_all[max(0, burn - 12):burn]
                    per_month = float((last[:, M["deaths"]] + last[:, M["exits"]]).mean())
                    trend = float(values["population_trend_per_year"])
                    start_alive = (weight_of(pop, pop.status == ALIVE) if many > persons
                                   else float(series_all[burn - 1, M["alive"]]))
                carry += per_month * (1.0 + trend) ** ((t - burn) / 12.0) * initiation
                want = int(carry)
                carry -= want
            while next_slot + want > pop.size:
                blocks += 1
                more = synthesise(0, 0, start_values, np.random.default_rng(
                    [seed, replication, 1, blocks]), entrant_slots=max(256, pop.size // 4))
                if t < burn:
                    more.weight[:] = burn_weight
                pop = extend(pop, more)
            next_slot = schedule(pop, month, want, next_slot)
        counters = series_all[t]
        occ[:] = 0
        were_treated = treated_in_prison(pop) if care.active else None
        step(pop, month, key, kp, counters, occ, engine=engine)
        in_kernel = occ.copy()  # occupancy as the kernel counted it (decisions add new starts)
        if were_treated is not None:
            after_step(pop, care, were_treated, month, key, counters)
            were_treated = treated_outside(pop)
        decider.month(pop, month, day, counters, occ)
        if were_treated is not None:
            after_decisions(pop, care, were_treated, month, key)
        if court.shape[0] and occ[court].any():
            in_measure = np.flatnonzero(pop.cj == MEASURE)
            in_measure = in_measure[pop.status[in_measure] == ALIVE]
            in_court = in_measure[is_court[pop.measure[in_measure].astype(np.int64) + 1]]
            length = practice.duration[pop.measure[in_court]]
            elapsed = np.clip(length - pop.cj_timer[in_court], 0, length - 1)
            phase = (elapsed * COURT_PHASES // length).astype(np.int64)
            counts = np.bincount(phase, weights=pop.weight[in_court].astype(np.float64),
                                 minlength=COURT_PHASES)
            first = SERIES.index("treatment_court_phase_1")
            counters[first:first + COURT_PHASES] = counts[:COURT_PHASES]
        counters[SERIES.index("in_prison_treatment")] = in_prison_treatment(pop)
        measure_cost = occ * practice.cost
        by_sector = {s: float(measure_cost[sector_of == i].sum()) for i, s in enumerate(SECTORS)}
        counters[SERIES.index("cost_police")] = counters[M["arrests"]] * float(
            values["police_cost_per_arrest"])
        counters[SERIES.index("cost_courts")] = counters[M["prosecutions"]] * float(
            values["court_cost_per_case"])
        counters[SERIES.index("cost_prison")] = counters[M["in_prison"]] * float(
            values["prison_cost_per_month"]) + by_sector["prison"]
        counters[SERIES.index("cost_probation")] = by_sector["probation"]
        community_treated = max(counters[M["in_community_treatment"]]
                                - float(in_kernel[pays_treatment].sum()), 0.0)
        counters[SERIES.index("cost_treatment")] = (
            community_treated * float(values["treatment_cost_per_month"])
            + by_sector["treatment"]
            + (voluntary_in_prison(pop) * float(values["treatment_cost_per_month"])
               if care.active else 0.0)
            + float(values["prevention_cost_per_year"]) / 12.0 / scale)
        counters[SERIES.index("cost_health")] = counters[M["overdose_deaths"]] * float(
            values["health_cost_per_overdose"])
        counters[SERIES.index("cost_total")] = sum(
            counters[SERIES.index(f"cost_{s}")] for s in COST_SECTORS)
        counters[SERIES.index("cost_victims")] = float(
            counters[[M[f"offences_{t}"] for t in VICTIM_TYPES]] @ k["victim_cost"])
    return RunResult(scenario, replication, persons, months, start, scale,
                     series_all[burn:].copy(),
                     cohort_table(pop, total, len(effects.pathways), burn), final_state(pop),
                     report_values, effects.pathways, burn, start_alive)


_BURN_CACHE: dict[str, tuple[Any, np.ndarray, int, int]] = {}
"""The last burn-in simulated in this process (population, series, slot pointers), by the digest
of everything it depends on: a scenario of the same replication branches from it."""


def _burn_key(policy: Policy, day: date, persons: int, seed: int, replication: int, burn: int,
              engine: str, uncertainty: bool, oversample: float = 1.0) -> str:
    """Digest of what a burn-in depends on: the law (rules and bars, less the dates they are in
    force, which only decide whether they are), parameters in force, effects and practice on
    `day`, the sizes and the seeds. A scenario whose changes start after `day` (a rule ended or
    a parameter set from the start) has the same digest as its baseline, so it branches."""
    from divert.law.vocabulary import STAGES

    def law(spec: Any) -> str:
        return str(spec.model_dump_json(exclude={"in_force"}))

    parts = [policy.meta.model_dump_json(),
             repr(sorted((k, v) for k, v in policy.params_at(day).items() if v is not None)),
             *(r.stage + law(r.spec) for st in STAGES for r in policy.rules_in_force(st, day)),
             *("bar:" + law(b.spec) for b in policy.bars_in_force(day)),
             *(m.id + (m.effect.model_dump_json() if m.effect else "")
               for m in policy.measures.values()),
             *(f"{k}={pv.value!r}|{pv.uncertainty!r}" for k, pv in sorted(
                 resolve(policy, day).items())),
             repr((persons, seed, replication, burn, engine, uncertainty)
                  + ((oversample,) if oversample > 1.0 else ()))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _start_report(pop: Any) -> None:
    """At the reported start, cohorts begin afresh: the first decision in the report counts."""
    pop.cohort_month[:] = -1
    pop.cohort_path[:] = -1
    pop.rearrest_month[:] = -1


def cohort_table(pop: Any, months: int, pathways: int, burn: int = 0) -> np.ndarray:
    """Per pathway (`pathways` rows, the last `no_sanction`): people first decided in the report
    (after the `burn` months of burn-in) at least 3 years before the end, and how many were
    rearrested within 1, 2 and 3 years."""
    out = np.zeros((pathways, 1 + len(COHORT_YEARS)))
    horizon = 12 * max(COHORT_YEARS)
    decided = (pop.cohort_month > burn) & (pop.cohort_month <= months - horizon)
    path = pop.cohort_path[decided].astype(np.int64)
    path[path < 0] = pathways - 1
    gap = (pop.rearrest_month[decided] - pop.cohort_month[decided]).astype(np.int64)
    again = pop.rearrest_month[decided] > 0
    w = pop.weight[decided].astype(np.float64)
    np.add.at(out[:, 0], path, w)
    for j, years in enumerate(COHORT_YEARS):
        np.add.at(out[:, 1 + j], path, w * (again & (gap <= 12 * years)))
    return out


def final_state(pop: Any) -> dict[str, float]:
    """Stocks at the end of the run (sample units)."""
    from divert.simulation.population import NO_TREATMENT, PRETRIAL, PRISON

    alive = pop.status == ALIVE
    return {
        "alive": weight_of(pop, alive),
        "in_prison": weight_of(pop, alive & ((pop.cj == PRISON) | (pop.cj == PRETRIAL))),
        "in_treatment": weight_of(pop, alive & (pop.treatment != NO_TREATMENT)),
    }
