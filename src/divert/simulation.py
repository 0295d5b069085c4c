"""One simulated run: a pack's population month by month under its law and practice.

`run()` draws the replication's practice values (probabilistic sensitivity analysis), synthesises
the population, then each month calls the kernel (deaths, use, treatment, timers, offences) and the
decision step (the pack's rules at every criminal-justice contact). It returns monthly series in
sample units, with the scale factor to the real population, and cohort outcomes by pathway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from divert.decisions import SECTORS, Decider, Effects, Practice
from divert.kernel import FP, METRICS, M, step
from divert.policy import Policy
from divert.population import MEASURE, OPIOIDS, offence_profiles, synthesise
from divert.practice import draw, resolve, table, uncertainty_samples
from divert.vocabulary import OFFENCE_TYPES, SUBSTANCES

COST_SECTORS = ("police", "courts", "prison", "probation", "treatment", "health")
COURT_PHASES = 4
VICTIM_TYPES = ("property", "violent", "other")
SERIES = (*METRICS, *(f"treatment_court_phase_{k}" for k in range(1, COURT_PHASES + 1)),
          *(f"cost_{s}" for s in COST_SECTORS), "cost_total", "cost_victims")
"""Monthly series: the kernel's and decisions' counters, treatment-court phases, public costs by
sector and their total, and the costs of crime to victims (a cost to society, not in the total)."""
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

    def metric(self, name: str) -> np.ndarray:
        return self.series[:, SERIES.index(name)]


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
        "off_sev": table(v, "offence_rr_by_disorder", 1.0),
        "type_cum": profiles.type_cum, "profile_rate": profiles.rate,
        "type_counter": np.array([M[f"offences_{t}"] if t in VICTIM_TYPES else -1
                                  for t in OFFENCE_TYPES], dtype=np.int64),
        "victim_cost": np.array([float(victim.get(t, 0.0)) for t in VICTIM_TYPES]),
        "opioid": np.isin(np.arange(len(SUBSTANCES)), OPIOIDS),
    }


def run(policy: Policy, persons: int, months: int, start: date, seed: int, replication: int,
        *, scenario: str = "", engine: str = "numba", uncertainty: bool = True) -> RunResult:
    """Simulate `persons` people for `months` months from `start` (replication `replication`)."""
    resolved = resolve(policy, start)
    samples = (uncertainty_samples(np.random.default_rng([seed, replication, 7]))
               if uncertainty else None)
    values = draw(resolved, samples)
    scale = float(values["population_size"]) / persons
    pop = synthesise(persons, months, values, np.random.default_rng([seed, replication, 1]))
    key = stream_key(seed, replication, 3)
    effects = Effects.of(policy)
    practice = Practice(values, scale, effects.ids)
    k = kernel_inputs(values)
    decider = Decider(policy, practice, key, effects)
    start_values = values
    series = np.zeros((months, len(SERIES)))
    occ = np.zeros(len(effects.ids))
    court = np.flatnonzero(effects.court_programme)
    sector_of = effects.sector
    for t in range(months):
        month = t + 1
        day = add_months(start, t)
        if t:  # practice follows the date (e.g. a country's arrest rate before and after a reform)
            now = resolve(policy, day)
            if now != resolved:
                resolved = now
                values = draw(resolved, samples)
                practice = Practice(values, scale, effects.ids)
                k = kernel_inputs(values)
                decider = Decider(policy, practice, key, effects)
        counters = series[t]
        occ[:] = 0
        step(pop, month, key, k["fp"], k["p_od"], k["p_remit"], k["off_sev"], k["type_cum"],
             k["profile_rate"], k["type_counter"], practice.reoffence_rr, practice.completion,
             k["opioid"], practice.duration, effects.oat_overdose_rr,
             effects.oat_overdose_months, counters, occ, engine=engine)
        decider.month(pop, month, day, counters, occ)
        if court.shape[0] and occ[court].any():
            in_court = np.flatnonzero(np.isin(pop.measure, court) & (pop.status == 1)
                                      & (pop.cj == MEASURE))
            length = practice.duration[pop.measure[in_court]]
            elapsed = np.clip(length - pop.cj_timer[in_court], 0, length - 1)
            phase = (elapsed * COURT_PHASES // length).astype(np.int64)
            counts = np.bincount(phase, minlength=COURT_PHASES)
            first = SERIES.index("treatment_court_phase_1")
            counters[first:first + COURT_PHASES] = counts[:COURT_PHASES]
        measure_cost = occ * practice.cost
        by_sector = {s: float(measure_cost[sector_of == i].sum()) for i, s in enumerate(SECTORS)}
        counters[SERIES.index("cost_police")] = counters[M["arrests"]] * float(
            values["police_cost_per_arrest"])
        counters[SERIES.index("cost_courts")] = counters[M["prosecutions"]] * float(
            values["court_cost_per_case"])
        counters[SERIES.index("cost_prison")] = counters[M["in_prison"]] * float(
            values["prison_cost_per_month"]) + by_sector["prison"]
        counters[SERIES.index("cost_probation")] = by_sector["probation"]
        counters[SERIES.index("cost_treatment")] = (
            counters[M["in_community_treatment"]] * float(values["treatment_cost_per_month"])
            + by_sector["treatment"])
        counters[SERIES.index("cost_health")] = counters[M["overdose_deaths"]] * float(
            values["health_cost_per_overdose"])
        counters[SERIES.index("cost_total")] = sum(
            counters[SERIES.index(f"cost_{s}")] for s in COST_SECTORS)
        counters[SERIES.index("cost_victims")] = float(
            counters[[M[f"offences_{t}"] for t in VICTIM_TYPES]] @ k["victim_cost"])
    return RunResult(scenario, replication, persons, months, start, scale, series,
                     cohort_table(pop, months, len(effects.pathways)), final_state(pop),
                     start_values, effects.pathways)


def cohort_table(pop: Any, months: int, pathways: int) -> np.ndarray:
    """Per pathway (`pathways` rows, the last `no_sanction`): people decided at least 3 years
    before the end, and how many were rearrested within 1, 2 and 3 years."""
    out = np.zeros((pathways, 1 + len(COHORT_YEARS)))
    horizon = 12 * max(COHORT_YEARS)
    decided = (pop.cohort_month > 0) & (pop.cohort_month <= months - horizon)
    path = pop.cohort_path[decided].astype(np.int64)
    path[path < 0] = pathways - 1
    gap = (pop.rearrest_month[decided] - pop.cohort_month[decided]).astype(np.int64)
    again = pop.rearrest_month[decided] > 0
    np.add.at(out[:, 0], path, 1)
    for j, years in enumerate(COHORT_YEARS):
        np.add.at(out[:, 1 + j], path, (again & (gap <= 12 * years)).astype(np.float64))
    return out


def final_state(pop: Any) -> dict[str, float]:
    """Stocks at the end of the run (sample units)."""
    from divert.population import ALIVE, NO_TREATMENT, PRETRIAL, PRISON

    alive = pop.status == ALIVE
    return {
        "alive": float(alive.sum()),
        "in_prison": float((alive & ((pop.cj == PRISON) | (pop.cj == PRETRIAL))).sum()),
        "in_treatment": float((alive & (pop.treatment != NO_TREATMENT)).sum()),
    }
