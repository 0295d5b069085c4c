"""Observed runs: a simulation run with the person-level counts its monthly series do not carry.

`observe_run` is `divert.simulation.run.run` with an observer called after every month's decisions
(who was treated in prison, disorder among prisoners, ...); `EXTRA` names those counts. Validation
checks and calibration targets both read them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from divert.law.policy import Policy
from divert.law.practice import resolve
from divert.law.vocabulary import OFFENCE_TYPES
from divert.simulation import run as simulation
from divert.simulation.decisions import Decider
from divert.simulation.population import (
    ALIVE,
    COMMUNITY,
    COMPULSORY,
    IN_PRISON,
    MEASURE,
    NO_TREATMENT,
    OAT,
    PRETRIAL,
    PRISON,
    Population,
)
from divert.simulation.run import RunResult, add_months

POSSESSION_TYPES = np.array([OFFENCE_TYPES.index(t) for t in ("use", "possession")])


Observer = Callable[[Population, int], None]


@dataclass
class Observed:
    """A run with what its series do not carry: monthly person-level counts and the final state."""

    result: RunResult
    extra: dict[str, np.ndarray]      # monthly counts (sample units), see `EXTRA`
    pop: Population                   # the final state of every person slot
    tip_month: np.ndarray             # month each person was first treated in prison, -1 never
    at_risk: np.ndarray | None = None  # months free to offend after the cohort decision, to the
    #                                    first rearrest (see `_Recorder`)
    free_months: np.ndarray | None = None  # months each person was alive outside custody

    def series(self, name: str) -> np.ndarray:
        """A monthly series of the run or of the extra counts (sample units)."""
        if name in self.extra:
            return self.extra[name]
        return self.result.metric(name)


EXTRA = {
    "with_disorder": "people alive with a drug use disorder (mild, moderate or severe)",
    "in_prison_with_disorder": "people in prison or pre-trial detention with a drug use disorder",
    "treated_past_year_with_disorder": "people with a disorder, not in custody, in treatment at "
                                       "some time in the past 12 months (outside prison)",
    "drug_arrests": "arrests for a drug offence (use, possession, supply, trafficking, cultivation)",
    "drug_arrests_possession": "arrests for use or possession",
    "in_opioid_agonist_treatment": "people in opioid agonist (substitution) treatment",
    "treatment_services_past_year": "people alive who were in treatment outside prison or held "
                                    "in a compulsory treatment centre at some time in the past "
                                    "12 months (wherever they are now)",
}


class _Recorder:
    """Monthly person-level counts taken after each month's decisions."""

    def __init__(self, months: int) -> None:
        self.extra = {name: np.zeros(months) for name in EXTRA}
        self.pop: Population | None = None
        self.tip_month: np.ndarray | None = None
        self.last_treated: np.ndarray | None = None
        self.last_served: np.ndarray | None = None
        self.arrests_before: np.ndarray | None = None
        self.at_risk: np.ndarray | None = None
        self.free_months: np.ndarray | None = None

    def __call__(self, pop: Population, month: int) -> None:
        if month == 0:  # the synthesised population, before the first month
            self.pop = pop
            self.tip_month = np.full(pop.size, -1, dtype=np.int32)
            self.last_treated = np.full(pop.size, -1000, dtype=np.int32)
            self.last_served = np.full(pop.size, -1000, dtype=np.int32)
            self.arrests_before = pop.prior_drug_arrests.astype(np.int16)
            self.at_risk = np.zeros(pop.size, dtype=np.int16)
            self.free_months = np.zeros(pop.size, dtype=np.int16)
            return
        assert self.tip_month is not None and self.last_treated is not None
        assert self.last_served is not None
        assert self.arrests_before is not None and self.at_risk is not None
        assert self.free_months is not None
        self.pop = pop
        grown = pop.size - self.tip_month.shape[0]
        if grown > 0:  # a burn-in adds slots for entrants as it goes
            self.at_risk = np.concatenate([self.at_risk, np.zeros(grown, np.int16)])
            self.free_months = np.concatenate([self.free_months, np.zeros(grown, np.int16)])
            self.tip_month = np.concatenate([self.tip_month, np.full(grown, -1, np.int32)])
            self.last_treated = np.concatenate([self.last_treated,
                                                np.full(grown, -1000, np.int32)])
            self.last_served = np.concatenate([self.last_served, np.full(grown, -1000, np.int32)])
            self.arrests_before = np.concatenate([self.arrests_before,
                                                  pop.prior_drug_arrests[-grown:].astype(np.int16)])
        t = month - 1
        alive = pop.status == ALIVE
        disorder = alive & (pop.severity >= 1)
        custody = (pop.cj == PRISON) | (pop.cj == PRETRIAL)
        treated_now = (pop.treatment != NO_TREATMENT) & (pop.treatment != IN_PRISON)
        self.last_treated[treated_now] = month
        self.last_served[treated_now | (pop.cj == COMPULSORY)] = month
        tip = (pop.treatment == IN_PRISON) & (self.tip_month < 0)
        self.tip_month[tip] = month
        arrests = pop.prior_drug_arrests.astype(np.int16)
        new = arrests > self.arrests_before
        self.arrests_before = arrests
        # time at risk: a person decided in the cohort, not yet rearrested, alive and free to
        # offend (in the community or a community measure) at the end of this month is at risk
        # next month; the count stops at the first rearrest (that month included)
        free = alive & ((pop.cj == COMMUNITY) | (pop.cj == MEASURE))
        self.free_months[free] += 1
        self.at_risk[free & (pop.cohort_month > 0) & (pop.rearrest_month < 0)] += 1
        e = self.extra
        e["with_disorder"][t] = disorder.sum()
        e["in_prison_with_disorder"][t] = (disorder & custody).sum()
        e["treated_past_year_with_disorder"][t] = (
            disorder & ~custody & (pop.cj != COMPULSORY) & (self.last_treated > month - 12)).sum()
        e["drug_arrests"][t] = new.sum()
        e["drug_arrests_possession"][t] = (new & np.isin(pop.off_type, POSSESSION_TYPES)).sum()
        e["in_opioid_agonist_treatment"][t] = (alive & (pop.treatment == OAT)).sum()
        e["treatment_services_past_year"][t] = (alive & (self.last_served > month - 12)).sum()


def _observing_decider(observer: Observer) -> type[Decider]:
    started: list[bool] = []

    class ObservingDecider(Decider):
        def month(self, pop: Population, month: int, day: date, counters: np.ndarray,
                  occ: np.ndarray) -> None:
            if not started:  # month 1 has not changed the population yet: show it as month 0
                started.append(True)
                observer(pop, 0)
            super().month(pop, month, day, counters, occ)
            observer(pop, month)

    return ObservingDecider


def observe_run(policy: Policy, persons: int, months: int, start: date, seed: int,
                replication: int = 0, *, uncertainty: bool = False,
                warm_up: int | None = 0) -> Observed:
    """`divert.simulation.run` with person-level counts taken after every month's decisions.

    Without a burn-in by default: the checks are cohort experiments that set who is where at the
    start. `warm_up=None` takes the simulation's automatic burn-in (the baseline as `divert
    simulate` reports it; the counts are of the reported months only).

    The simulation is run unchanged. Where `run` takes an `observe(pop, month)` callback (called
    with month 0 after synthesis, then after each month's decisions) it is used; until then the
    observer is attached by substituting an observing Decider for the duration of the call (month
    0 is shown before the first month's decisions, when the kernel has aged the people once but
    made no decision).
    """
    burn = 0
    if warm_up != 0:
        values = {name: pv.value for name, pv in resolve(policy, add_months(start, -1)).items()}
        burn = simulation.warm_up_months(values) if warm_up is None else max(0, int(warm_up))
        simulation._BURN_CACHE.clear()  # the observer must see the burn-in's months too
    recorder = _Recorder(burn + months)
    if "observe" in inspect.signature(simulation.run).parameters:
        result = simulation.run(policy, persons, months, start, seed, replication,
                                uncertainty=uncertainty, observe=recorder,  # type: ignore[call-arg]
                                warm_up=burn)
    else:
        original = getattr(simulation, "Decider")  # noqa: B009 - the module attribute is swapped
        setattr(simulation, "Decider", _observing_decider(recorder))  # noqa: B010
        try:
            result = simulation.run(policy, persons, months, start, seed, replication,
                                    uncertainty=uncertainty, warm_up=burn)
        finally:
            setattr(simulation, "Decider", original)  # noqa: B010
    assert recorder.pop is not None and recorder.tip_month is not None
    extra = {k: v[burn:] for k, v in recorder.extra.items()}
    tip = recorder.tip_month if not burn else np.where(recorder.tip_month > 0,
                                                        recorder.tip_month - burn, -1)
    return Observed(result, extra, recorder.pop, tip, recorder.at_risk, recorder.free_months)
