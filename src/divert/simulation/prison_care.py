"""Treatment around and in prison as practice: continuity at imprisonment, voluntary entry in
prison, continuity at release.

Three practice parameters (defaults 0: a person's treatment stops at imprisonment, no treatment
is started in prison outside the pack's post-sentence measures, and treatment in prison stops at
release) let a scenario express equivalence of care (treatment in prison at the community's
coverage and effect, UN Nelson Mandela Rules, rule 24) as data. At the defaults nothing here
runs, so results are unchanged bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from divert.simulation.kernel import M, uniforms
from divert.simulation.population import (
    ALIVE,
    COMMUNITY,
    IN_PRISON,
    NO_TREATMENT,
    OAT,
    OPIOIDS,
    OUTPATIENT,
    PRETRIAL,
    PRISON,
    Population,
    weight_of,
)

S_ENTRY, S_DROPOUT, S_CONTINUE_IN, S_CONTINUE_OUT = 40, 41, 42, 43
NO_MEASURE = -1


def monthly(rate_per_year: float) -> float:
    """A yearly rate as a monthly probability."""
    return 1.0 - float(np.exp(-max(rate_per_year, 0.0) / 12.0))


@dataclass(frozen=True)
class PrisonCare:
    """The month's probabilities of treatment entry, dropout and continuity for prisoners."""

    entry: float           # voluntary entry in prison, a month
    dropout: float         # leaving voluntary treatment in prison, a month
    continuity_in: float   # community treatment continued at imprisonment
    continuity_out: float  # treatment in prison continued in the community at release

    @classmethod
    def of(cls, values: dict[str, Any]) -> PrisonCare:
        rr = float(values.get("prison_treatment_entry_rr", 0.0))
        return cls(
            entry=monthly(float(values["treatment_entry_rate_per_year"]) * rr),
            dropout=monthly(float(values["treatment_dropout_rate_per_year"])) if rr > 0 else 0.0,
            continuity_in=float(values.get("prison_treatment_continuity", 0.0)),
            continuity_out=float(values.get("release_treatment_continuity", 0.0)))

    @property
    def active(self) -> bool:
        return self.entry > 0 or self.continuity_in > 0 or self.continuity_out > 0


def community_form(pop: Population, ids: np.ndarray) -> np.ndarray:
    """The community treatment a person starts: opioid agonist for opioids, else outpatient."""
    return np.where(np.isin(pop.substance[ids], OPIOIDS), OAT, OUTPATIENT).astype(
        pop.treatment.dtype)


def treated_in_prison(pop: Population) -> np.ndarray:
    """Prisoners in treatment in prison (before the month's step)."""
    treated: np.ndarray = (pop.cj == PRISON) & (pop.treatment == IN_PRISON)
    return treated


def treated_outside(pop: Population) -> np.ndarray:
    """People outside prison in treatment (before the month's decisions)."""
    treated: np.ndarray = (pop.cj != PRISON) & (pop.treatment != NO_TREATMENT) & (pop.treatment != IN_PRISON)
    return treated


def after_step(pop: Population, care: PrisonCare, were_treated: np.ndarray, month: int,
               key: int, counters: np.ndarray) -> None:
    """After the kernel: released prisoners keep treatment, prisoners enter or leave it."""
    if care.continuity_out > 0:
        ids = np.flatnonzero(were_treated & (pop.status == ALIVE) & (pop.cj == COMMUNITY)
                             & (pop.treatment == NO_TREATMENT))
        u, _ = uniforms(key, ids, month, S_CONTINUE_OUT)
        keep = ids[u < care.continuity_out]
        pop.treatment[keep] = community_form(pop, keep)
        counters[M["treatment_entries"]] += weight_of(pop, keep)
    if care.entry > 0:
        inside = (pop.status == ALIVE) & (pop.cj == PRISON)
        ids = np.flatnonzero(inside & (pop.treatment == NO_TREATMENT) & (pop.active == 1)
                             & (pop.severity >= 2))
        u, _ = uniforms(key, ids, month, S_ENTRY)
        enter = ids[u < care.entry]
        pop.treatment[enter] = IN_PRISON
        counters[M["treatment_entries"]] += weight_of(pop, enter)
        voluntary = np.flatnonzero(inside & (pop.treatment == IN_PRISON)
                                   & (pop.measure == NO_MEASURE))
        voluntary = np.setdiff1d(voluntary, enter, assume_unique=True)
        u, _ = uniforms(key, voluntary, month, S_DROPOUT)
        pop.treatment[voluntary[u < care.dropout]] = NO_TREATMENT


def after_decisions(pop: Population, care: PrisonCare, were_treated: np.ndarray, month: int,
                    key: int) -> None:
    """After the month's decisions: the newly imprisoned keep their treatment in prison."""
    if care.continuity_in <= 0:
        return
    ids = np.flatnonzero(were_treated & (pop.cj == PRISON) & (pop.treatment == NO_TREATMENT))
    u, _ = uniforms(key, ids, month, S_CONTINUE_IN)
    pop.treatment[ids[u < care.continuity_in]] = IN_PRISON


def in_prison_treatment(pop: Population) -> float:
    """People in custody in treatment in prison (any route)."""
    ids = np.flatnonzero(pop.treatment == IN_PRISON)  # few slots: the other tests on them only
    cj = pop.cj[ids]
    return weight_of(pop, ids[(pop.status[ids] == ALIVE) & ((cj == PRISON) | (cj == PRETRIAL))])


def voluntary_in_prison(pop: Population) -> float:
    """Prisoners in treatment in prison outside a post-sentence measure (costed as treatment)."""
    ids = np.flatnonzero(pop.treatment == IN_PRISON)
    return weight_of(pop, ids[(pop.status[ids] == ALIVE) & (pop.cj[ids] == PRISON)
                              & (pop.measure[ids] == NO_MEASURE)])
