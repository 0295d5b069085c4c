"""Projected outcomes for one person under each open measure: a decision aid, never the decision.

`project(case, policy, values, stage, day, measures, conventional)` simulates `copies` copies of
the person assessed under each measure with the pack's calibrated simulation (the kernel, the
decisions and the measures' effects of `divert simulate`), for `horizon_months` months, and
summarises each measure's distribution of outcomes: rearrest, months in custody, overdose death
and public cost at 1, 2 and 3 years, each with its interval and Monte Carlo error, beside the
conventional path at that stage (the open conventional measures as the pack's practice chooses
among them; at the post-sentence stage, the sentence going on).

Common random numbers: copy i draws the same numbers under every measure (the simulation's
counter-based streams, keyed by the seed and the copy's index), so a difference between two
measures is the measure's, not noise, and a measure whose effect is `none` in the catalogue or
the pack follows the conventional path exactly, as the tests check; it is reported as having no
simulated effect instead of a difference. The measure's effect is read from data (the catalogue
and the pack's practice); nothing here names a measure.

The case's facts enter the simulation's person arrays through the shared vocabulary; a fact the
case does not give is drawn, copy by copy, from the pack's population (and named in the result).
The practice values are the pack's central values on the decision date (parameter uncertainty is
not drawn), and measures are taken to have places (capacity is not modelled for one person).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from divert.advice.case import Case
from divert.advice.pathways import Advice, prepare
from divert.errors import InputError
from divert.i18n import N_
from divert.law.policy import Policy
from divert.law.practice import draw, resolve
from divert.law.rules import TRUE, UNKNOWN, encode_batch
from divert.law.vocabulary import FIELDS, OFFENCE_TYPES, STAGES
from divert.simulation.decisions import (
    CONTACT_STAGES,
    DRUG_TYPES,
    P_NEXT,
    P_NONE,
    S_STAGE,
    T_COMMUNITY,
    T_RESIDENTIAL,
    Decider,
    Effects,
    Practice,
)
from divert.simulation.kernel import F_CONTACT, F_FAILED, M, step, uniforms
from divert.simulation.population import (
    ALIVE,
    COMMUNITY,
    COMPULSORY,
    DEAD,
    IN_PRISON,
    MEASURE,
    NO_TREATMENT,
    NONDRUG,
    OAT,
    OPIOIDS,
    OUTPATIENT,
    PRETRIAL,
    PRISON,
    ROLE_OFFENCES,
    ROLES,
    Population,
    offence_profiles,
    synthesise,
)
from divert.simulation.prison_care import PrisonCare, after_decisions, after_step, treated_in_prison
from divert.simulation.prison_care import treated_outside as _treated_outside
from divert.simulation.run import kernel_inputs, kernel_params, stream_key

OUTCOMES = ("rearrest", "prison_months", "overdose_death", "cost")
"""What each projection reports: the share rearrested (a first police contact after the
decision), mean months in custody, the share dead of an overdose, and mean public cost."""
S_POST_SENTENCE = 29
"""The stream of a sentence's unknown length and time served (the decision step uses 20-28)."""
COUNTS = ("prior_convictions", "prior_drug_convictions", "prior_violent_convictions",
          "prior_incarcerations", "prior_diversion_failures", "prior_diversions",
          "prior_drug_arrests")
CODED = {"person.sex": "sex", "offence.substance": "substance", "screening.disorder": "severity",
         "triage.risk": "risk"}
"""Case facts stored in a person array as their vocabulary code."""


@dataclass(frozen=True)
class Settings:
    """How many copies, for how long, from which seed (all in the stamp, to replay a result)."""

    copies: int = 2000
    horizon_months: int = 36
    seed: int = 1
    engine: str = "numba"

    def __post_init__(self) -> None:
        if not 10 <= self.copies <= 1_000_000:
            raise InputError(f"copies: {self.copies} is out of range; allowed: 10 to 1000000")
        if not 12 <= self.horizon_months <= 120 or self.horizon_months % 12:
            raise InputError(f"horizon: {self.horizon_months} months; allowed: whole years, "
                             "12 to 120 months")

    @property
    def years(self) -> int:
        return self.horizon_months // 12


@dataclass
class Paths:
    """Each copy's simulated outcomes under one measure (copies x years, cumulative by year)."""

    rearrested: np.ndarray      # bool: a police contact by the end of each year
    prison_months: np.ndarray   # float: months in custody up to the end of each year
    dead: np.ndarray            # bool: dead (any cause) by the end of each year
    cost: np.ndarray            # float: public cost up to the end of each year
    overdose_deaths: np.ndarray  # float per year, cumulative: overdose deaths among the copies

    def arrays(self) -> dict[str, np.ndarray]:
        return {"rearrested": self.rearrested, "prison_months": self.prison_months,
                "dead": self.dead, "cost": self.cost, "overdose_deaths": self.overdose_deaths}

    def same_as(self, other: Paths) -> bool:
        """Bit-identical paths."""
        return all(np.array_equal(a, b) for a, b in zip(self.arrays().values(),
                                                        other.arrays().values(), strict=True))


@dataclass
class StageProjection:
    """The projections at one stage: each projected measure's and the conventional path's."""

    stage: str
    date: date
    reference: dict[str, Any]
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)


# --- the person's copies ---------------------------------------------------------------------------


def _known(name: str, value: Any) -> bool:
    f = FIELDS[name]
    if f.type == "number":
        return not math.isnan(float(value))
    if f.type == "bool":
        return int(value) != UNKNOWN
    if f.type == "category":
        return int(value) >= 0
    return True


def case_batch(case: Case, policy: Policy) -> dict[str, np.ndarray]:
    """The case's facts (screening and triage included) as a batch of one, vocabulary-encoded."""
    return encode_batch([prepare(case, policy).facts])


def copies_of(batch: Mapping[str, np.ndarray], values: Mapping[str, Any], copies: int,
              seed: int) -> tuple[Population, list[str]]:
    """`copies` simulated people who are the person of `batch`: the pack's population drawn
    from `seed`, then every fact the case gives written over the draw. Returns the population
    and the facts drawn because the case does not give them."""
    pop = synthesise(copies, 0, values, np.random.default_rng([seed, 0, 1]))
    drawn: list[str] = []

    def fact(name: str) -> Any:
        value = batch[name][0]
        if _known(name, value):
            return value
        drawn.append(name)
        return None

    age = fact("person.age")
    if age is not None:
        top = float(values["exit_age_years"]) * 12 - 1
        pop.age_m[:] = int(min(max(round(float(age) * 12), 12 * 12), top))
    for name, attr in CODED.items():
        code = fact(name)
        if code is not None:
            getattr(pop, attr)[:] = int(code)
    injecting = fact("screening.injecting")
    if injecting is not None:
        pop.injecting[:] = int(injecting == TRUE)
    own = np.random.default_rng([seed, 0, 2])  # draws of this module, after the population's
    u_treated, u_type = own.random(copies), own.random(copies)
    opioid = np.isin(pop.substance, OPIOIDS)
    form = np.where(opioid, OAT, OUTPATIENT)
    treated = fact("person.in_treatment")
    if treated is not None:
        pop.treatment[:] = np.where(int(treated) == TRUE, form, NO_TREATMENT)
    else:  # as the population is drawn, for the person's own disorder
        share = float(values["initial_treatment_share"])
        pop.treatment[:] = np.where((u_treated < share) & (pop.severity >= 2), form,
                                    NO_TREATMENT)
    for name in COUNTS:
        count = fact(f"history.{name}")
        if count is not None:
            getattr(pop, name)[:] = int(min(float(count), 100))
    off = fact("offence.type")
    if off is not None:
        kind = OFFENCE_TYPES[int(off)]
        pop.off_type[:] = int(off)
        for r, role in enumerate(ROLES):
            if kind in ROLE_OFFENCES[role]:
                nondrug = pop.profile.astype(np.int16) % len(NONDRUG)
                pop.profile[:] = (r * len(NONDRUG) + nondrug).astype(np.int8)
        if kind in NONDRUG:
            role_of = pop.profile.astype(np.int16) // len(NONDRUG)
            pop.profile[:] = (role_of * len(NONDRUG) + NONDRUG.index(kind)).astype(np.int8)
    else:  # the offence each copy's offending profile makes likely, as the kernel draws it
        cum = offence_profiles(values).type_cum[pop.profile]
        pick = (u_type[:, None] >= cum).sum(axis=1)
        pop.off_type[:] = np.minimum(pick, len(OFFENCE_TYPES) - 1)
    pop.cj[:] = COMMUNITY
    pop.cj_timer[:] = 0
    pop.sentence_m[:] = 0
    pop.drug_prisoner[:] = 0
    pop.cohort_month[:] = 0  # the decision: the kernel records the first contact after it
    pop.cohort_path[:] = 0
    return pop, sorted(set(drawn))


def _in_prison(pop: Population, batch: Mapping[str, np.ndarray], practice: Practice,
               key: int) -> list[str]:
    """Put the copies in prison serving the case's sentence (post-sentence stage); a sentence
    or time served the case does not give is drawn as the simulation draws time served."""
    ids = np.arange(pop.size)
    drawn = []
    u, v = uniforms(key, ids, 0, S_POST_SENTENCE)
    months = float(batch["sentence.months"][0])
    if math.isnan(months):
        drawn.append("sentence.months")
        mean = practice.sentence[np.maximum(pop.off_type, 0)]
        total = np.maximum(np.round(mean * (0.5 + u)), 1)
    else:
        total = np.full(pop.size, max(months, 1.0))
    served = float(batch["sentence.served_months"][0])
    if math.isnan(served):
        drawn.append("sentence.served_months")
        done = np.floor(v * total)
    else:
        done = np.full(pop.size, served)
    done = np.minimum(done, total - 1)
    pop.cj[:] = PRISON
    pop.sentence_m[:] = total.astype(np.int16)
    pop.served_m[:] = done.astype(np.int16)
    pop.cj_timer[:] = (total - done).astype(np.int16)
    pop.drug_prisoner[:] = np.isin(pop.off_type, DRUG_TYPES).astype(np.int8)
    pop.treatment[pop.treatment != NO_TREATMENT] = NO_TREATMENT
    return drawn


class _CaseDecider(Decider):
    """The simulation's decisions, with the case's own facts at the decision (month 0) and, at
    the post-sentence stage, the projected measure taken when its time comes."""

    def __init__(self, policy: Policy, practice: Practice, key: int, effects: Effects,
                 batch: Mapping[str, np.ndarray], copies: int) -> None:
        super().__init__(policy, practice, key, effects)
        self.case = {k: v for k, v in batch.items() if _known(k, v[0])}
        self.forced: int | None = None
        self.forced_when = ""
        self.pending = np.zeros(copies, dtype=bool)

    def facts(self, pop: Population, ids: np.ndarray, month: int) -> dict[str, np.ndarray]:
        batch = super().facts(pop, ids, month)
        if month == 0:
            for name, value in self.case.items():
                batch[name] = np.full(ids.shape[0], value[0], dtype=value.dtype)
        return batch

    def _post_sentence(self, pop: Population, ids: np.ndarray, month: int, when: str,
                       counters: np.ndarray) -> None:
        if self.forced is not None and when == self.forced_when and ids.shape[0]:
            take = ids[self.pending[ids]]
            if when == "monthly":
                take = take[pop.cj[take] == PRISON]
            self.pending[take] = False
            self._occ[self.forced] += take.shape[0]
            self._apply_post(pop, take, self.forced, month, counters)
            ids = ids[~np.isin(ids, take)]
        super()._post_sentence(pop, ids, month, when, counters)


# --- one measure -----------------------------------------------------------------------------------


def has_effect(policy: Policy, measure: str) -> bool:
    """Whether the pack simulates an effect of `measure` (its effect's placement is not none)."""
    effect = policy.measures[measure].effect
    return effect is not None and effect.placement != "none"


def simulate(batch: Mapping[str, np.ndarray], policy: Policy, values: Mapping[str, Any],
             stage: str, day: date, measure: str | None, conventional: Sequence[str],
             settings: Settings) -> tuple[Paths, list[str]]:
    """The copies' paths when `measure` is decided at `stage` on `day` (None, or a measure
    without a simulated effect: the conventional path, `conventional` being the open
    conventional measures practice chooses among). Returns the paths and the facts drawn."""
    if stage not in STAGES:
        raise InputError(f"stage: unknown {stage!r}; allowed: {', '.join(STAGES)}")
    for mid in (*conventional, *([measure] if measure is not None else [])):
        if mid not in policy.measures:
            raise InputError(f"measure: unknown {mid!r} in pack {policy.code}; allowed: "
                             f"{', '.join(policy.measures)}")
    n, horizon = settings.copies, settings.horizon_months
    key = stream_key(settings.seed, 0, 3)
    effects = Effects.of(policy)
    plain = dict(values)
    practice = Practice(plain, 1.0, effects.ids)
    practice.capacity = np.full_like(practice.capacity, np.inf)
    k = kernel_inputs(plain)
    care = PrisonCare.of(plain)
    pop, drawn = copies_of(batch, plain, n, settings.seed)
    decider = _CaseDecider(policy, practice, key, effects, batch, n)
    decider.day = day
    counters = np.zeros((horizon + 1, len(M)))
    ids = np.arange(n)
    onward = np.zeros(n, dtype=bool)
    chosen = measure if measure is not None and has_effect(policy, measure) else None
    if stage == "post_sentence":
        drawn += _in_prison(pop, batch, practice, key)
        if chosen is not None:
            m = effects.ids.index(chosen)
            effect = effects.measures[m].effect
            assert effect is not None
            decider.forced, decider.forced_when = m, effect.decided
            decider.pending[:] = True
            if decider.forced_when != "at_release":
                decider._post_sentence(pop, ids, 0, decider.forced_when, counters[0])
    else:
        pick = _reference(conventional, ids, key, stage, practice, effects)
        if chosen is not None:
            pick[:] = effects.ids.index(chosen)
        onward = _decide(decider, pop, stage, pick, counters[0])
    return _run(pop, decider, practice, effects, k, care, plain, key, counters, onward,
                settings), sorted(set(drawn))


def _reference(conventional: Sequence[str], ids: np.ndarray, key: int, stage: str,
               practice: Practice, effects: Effects) -> np.ndarray:
    """Each copy's conventional measure (index), by practice weights; -1 where none is open."""
    open_ = [effects.ids.index(mid) for mid in conventional]
    if not open_:
        return np.full(ids.shape[0], -1, dtype=np.int64)
    cat = np.array(open_)
    u, _ = uniforms(key, ids, 0, S_STAGE[stage])
    weights = practice.weight[cat]
    cum = np.cumsum(weights)
    if cum[-1] <= 0:
        cum = np.arange(1, cat.shape[0] + 1, dtype=float)
    j = np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), cat.shape[0] - 1)
    chosen: np.ndarray = cat[j]
    return chosen


def _decide(decider: _CaseDecider, pop: Population, stage: str, pick: np.ndarray,
            counters: np.ndarray) -> np.ndarray:
    """Apply each copy's measure at a contact stage: its effect, or the case going on. Returns
    the copies whose case went on (they share the decision's police and court costs)."""
    ef = decider.effects
    onward = np.zeros(pick.shape[0], dtype=bool)
    for m in np.unique(pick):
        ids = np.flatnonzero(pick == m)
        if m < 0:
            continue
        if ef.placement[m] == P_NEXT:
            after = CONTACT_STAGES[CONTACT_STAGES.index(stage) + 1:]
            if after:
                decider._walk(pop, ids, after[0], 0, counters)
                onward[ids] = True
        elif ef.placement[m] != P_NONE:
            decider._dispose(pop, ids, np.full(ids.shape[0], m), 0, counters)
    return onward


def _run(pop: Population, decider: _CaseDecider, practice: Practice, effects: Effects,
         k: dict[str, Any], care: PrisonCare, values: Mapping[str, Any], key: int,
         counters: np.ndarray, onward: np.ndarray, settings: Settings) -> Paths:
    """Months 1..horizon of the simulation for the copies, with each copy's costs and custody."""
    kp = kernel_params(k, practice, effects)
    n, horizon, years = settings.copies, settings.horizon_months, settings.years
    prison_cost = float(values["prison_cost_per_month"])
    treatment_cost = float(values["treatment_cost_per_month"])
    pays = effects.cost_includes_treatment & np.isin(effects.treatment, (T_COMMUNITY,
                                                                        T_RESIDENTIAL))
    custody_m = np.zeros(n)
    cost = np.zeros(n)
    prison_by_year = np.zeros((n, years))
    cost_by_year = np.zeros((n, years))
    dead_by_year = np.zeros((n, years), dtype=bool)
    rearrest_by_year = np.zeros((n, years), dtype=bool)
    od_by_year = np.zeros(years)
    od = 0.0
    occ = np.zeros(len(effects.ids))
    # the decision's own police and court costs, shared by the copies whose case went on
    if onward.any():
        cost[onward] += (counters[0, M["arrests"]] * float(values["police_cost_per_arrest"])
                         + counters[0, M["prosecutions"]] * float(values["court_cost_per_case"])
                         ) / onward.sum()
    for month in range(1, horizon + 1):
        row = counters[month]
        alive = pop.status == ALIVE
        custody = alive & ((pop.cj == PRISON) | (pop.cj == PRETRIAL))
        custody_m += custody
        cost += _state_cost(pop, alive, custody, practice, pays, prison_cost, treatment_cost,
                            care.active)
        occ[:] = 0
        were = treated_in_prison(pop) if care.active else None
        was_alive = alive
        step(pop, month, key, kp, row, occ, engine=settings.engine)
        if were is not None:
            after_step(pop, care, were, month, key, row)
            were = _treated_outside(pop)
        deciding = (pop.flag == F_CONTACT) | (pop.flag == F_FAILED)
        before = row.copy()
        decider.month(pop, month, decider.day, row, occ)
        if were is not None:
            after_decisions(pop, care, were, month, key)
        share = np.flatnonzero(deciding)
        events = ((row[M["arrests"]] - before[M["arrests"]])
                  * float(values["police_cost_per_arrest"])
                  + (row[M["prosecutions"]] - before[M["prosecutions"]])
                  * float(values["court_cost_per_case"]))
        if share.shape[0]:
            cost[share] += events / share.shape[0]
        died = np.flatnonzero(was_alive & (pop.status == DEAD))
        if died.shape[0]:
            cost[died] += row[M["overdose_deaths"]] * float(
                values["health_cost_per_overdose"]) / died.shape[0]
        od += row[M["overdose_deaths"]]
        if month % 12 == 0:
            y = month // 12 - 1
            prison_by_year[:, y] = custody_m
            cost_by_year[:, y] = cost
            dead_by_year[:, y] = pop.status == DEAD
            rearrest_by_year[:, y] = (pop.rearrest_month > 0) & (pop.rearrest_month <= month)
            od_by_year[y] = od
    return Paths(rearrest_by_year, prison_by_year, dead_by_year, cost_by_year, od_by_year)


def _state_cost(pop: Population, alive: np.ndarray, custody: np.ndarray, practice: Practice,
                pays: np.ndarray, prison_cost: float, treatment_cost: float,
                care: bool) -> np.ndarray:
    """Each copy's public cost of the month from where it is: custody, a measure's running
    cost, community treatment (unless the measure's cost includes it), as the simulation costs
    the stocks."""
    m = np.maximum(pop.measure, 0).astype(np.int64)
    has = alive & (pop.measure >= 0) & ((pop.cj == MEASURE) | (pop.cj == COMPULSORY)
                                        | (pop.cj == PRISON))
    out = np.where(custody, prison_cost, 0.0) + np.where(has, practice.cost[m], 0.0)
    community = (alive & (pop.treatment != NO_TREATMENT) & (pop.treatment != IN_PRISON)
                 & (pop.cj != COMPULSORY) & ~(has & pays[m]))
    out += np.where(community, treatment_cost, 0.0)
    if care:
        voluntary = alive & (pop.cj == PRISON) & (pop.treatment == IN_PRISON) & (pop.measure < 0)
        out += np.where(voluntary, treatment_cost, 0.0)
    return out


# --- summaries -------------------------------------------------------------------------------------

Z95 = 1.959963984540054


def _share(hits: float, n: int) -> dict[str, float]:
    """A share with its Wilson 95% interval and Monte Carlo standard error."""
    p = hits / n
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return {"value": p, "low": max(0.0, centre - half), "high": min(1.0, centre + half),
            "mc_error": math.sqrt(p * (1 - p) / n)}


def _mean(x: np.ndarray) -> dict[str, float]:
    """A mean with its 95% interval and Monte Carlo error, and the copies' 5th-95th percentiles."""
    n = x.shape[0]
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    mean = float(x.mean())
    p5, p95 = np.percentile(x, [5, 95])
    return {"value": mean, "low": mean - Z95 * se, "high": mean + Z95 * se, "mc_error": se,
            "p5": float(p5), "p95": float(p95)}


def _difference(value: float, se: float) -> dict[str, Any]:
    """A paired difference with its 95% interval; `resolved` when the interval excludes 0."""
    value, se = float(value), float(se)
    return {"value": value, "low": value - Z95 * se, "high": value + Z95 * se, "mc_error": se,
            "resolved": bool(abs(value) > Z95 * se)}


def summarise(paths: Paths, reference: Paths | None = None) -> dict[str, Any]:
    """Each outcome by year (`1y`, `2y`, ...), and its difference from `reference` (paired
    copy by copy: common random numbers) when given."""
    n, years = paths.cost.shape
    out: dict[str, Any] = {o: {} for o in OUTCOMES}
    diff: dict[str, Any] = {o: {} for o in OUTCOMES}
    for y in range(years):
        label = f"{y + 1}y"
        out["rearrest"][label] = _share(float(paths.rearrested[:, y].sum()), n)
        out["prison_months"][label] = _mean(paths.prison_months[:, y])
        out["overdose_death"][label] = _share(float(paths.overdose_deaths[y]), n)
        out["cost"][label] = _mean(paths.cost[:, y])
        if reference is None:
            continue
        for name, a, b in (("rearrest", paths.rearrested[:, y], reference.rearrested[:, y]),
                           ("prison_months", paths.prison_months[:, y],
                            reference.prison_months[:, y]),
                           ("cost", paths.cost[:, y], reference.cost[:, y])):
            d = a.astype(float) - b.astype(float)
            diff[name][label] = _difference(float(d.mean()),
                                            float(d.std(ddof=1) / math.sqrt(n)))
        p1, p0 = float(paths.overdose_deaths[y]) / n, float(reference.overdose_deaths[y]) / n
        # causes of death are not recorded copy by copy: the unpaired error (larger)
        se = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / n)
        diff["overdose_death"][label] = _difference(p1 - p0, se)
    return {"outcomes": out, **({"versus_conventional": diff} if reference is not None else {})}


# --- the advice ------------------------------------------------------------------------------------


def practice_values(policy: Policy, day: date) -> dict[str, Any]:
    """The pack's practice on `day` at its central values (what `project` takes)."""
    return draw(resolve(policy, day), None)


def effect_of(policy: Policy, measure: str, values: Mapping[str, Any],
              day: date) -> dict[str, Any]:
    """What the simulation does with `measure`: its effect with the practice figures in use and
    their sources."""
    m = policy.measures[measure]
    e = m.effect
    assert e is not None
    out: dict[str, Any] = {"placement": e.placement, "treatment": e.treatment,
                           "citation": e.citation, "provenance": e.provenance}
    for name, key in (("measure_duration_months", "duration_months"),
                      ("measure_completion_prob", "completion_prob"),
                      ("measure_reoffence_rr", "reoffence_rr"),
                      ("measure_cost_per_month", "cost_per_month")):
        table = values.get(name) or {}
        if measure in table and e.placement not in ("next_stage", "none"):
            out[key] = float(table[measure])
        spec = policy.practice.get(name)
        if spec is not None and measure in (spec.at(day) or {}):
            out.setdefault("practice", []).append(
                {"parameter": name, "citation": spec.spec.citation,
                 "provenance": spec.spec.provenance})
    if e.note:
        out["note"] = e.note
    return out


def stamp(policy: Policy, stage: str, day: date, measure: str | None,
          conventional: Sequence[str], settings: Settings) -> dict[str, Any]:
    """What replays a projection bit for bit (`replay`)."""
    from divert import __version__

    return {"divert": __version__, "pack": policy.code, "pack_hash": policy.hash,
            "overlays": list(policy.overlays), "stage": stage, "date": day.isoformat(),
            "measure": measure, "conventional": list(conventional), "seed": settings.seed,
            "copies": settings.copies,
            "horizon_months": settings.horizon_months, "engine": settings.engine,
            "practice": "central values"}


def project(case: Case, policy: Policy, values: Mapping[str, Any], stage: str, day: date,
            measures: Sequence[str], conventional: Sequence[str],
            settings: Settings = Settings()) -> StageProjection:
    """Projections of `measures` (open at `stage` on `day`) and of the conventional path
    (`conventional`: the open conventional measures), from practice `values`."""
    batch = case_batch(case, policy)
    ref_paths, drawn = simulate(batch, policy, values, stage, day, None, conventional, settings)
    ref_name = (", ".join(conventional) if conventional and stage != "post_sentence"
                else SENTENCE_GOES_ON if stage == "post_sentence" else CASE_ENDS)
    reference = {"path": ref_name, "conventional": list(conventional),
                 **summarise(ref_paths), "drawn": drawn,
                 "stamp": stamp(policy, stage, day, None, conventional, settings)}
    out = StageProjection(stage, day, reference)
    cached: dict[str | None, Paths] = {None: ref_paths}
    for mid in measures:
        simulated = has_effect(policy, mid)
        # a single conventional measure is the conventional path itself
        # the only open conventional measure is the conventional path itself
        itself = simulated and stage != "post_sentence" and list(conventional) == [mid]
        if itself or not simulated:
            paths = ref_paths
        else:
            paths = cached.get(mid) or simulate(batch, policy, values, stage, day, mid,
                                                conventional, settings)[0]
        cached[mid] = paths
        entry = {"projected": True, "simulated_effect": simulated,
                 "conventional_path": itself,
                 "effect": effect_of(policy, mid, values, day),
                 **summarise(paths, ref_paths), "drawn": drawn,
                 "stamp": stamp(policy, stage, day, mid, conventional, settings)}
        if not simulated:
            entry["note"] = NO_EFFECT_NOTE
        out.measures[mid] = entry
    return out


def projectable(advice_stage: Any) -> tuple[list[str], list[str]]:
    """The measures to project at a stage (eligible, not coercive: divert never offers a
    coercive measure as an option) and the eligible conventional measures."""
    open_ = [m.id for m in advice_stage.measures if m.eligible and m.kind != "coercive"]
    conventional = [m.id for m in advice_stage.measures
                    if m.eligible and m.kind == "conventional"]
    return open_, conventional


def project_advice(advice: Advice, case: Case, policy: Policy,
                   settings: Settings = Settings()) -> Advice:
    """The advice with each open measure's projection and each stage's conventional path."""
    for s in advice.stages:
        measures, conventional = projectable(s)
        for m in s.measures:
            if m.eligible and m.kind == "coercive":
                m.projection = {"projected": False, "note": COERCIVE_NOTE}
        if not measures:
            continue
        result = project(case, policy, practice_values(policy, s.date), s.stage, s.date,
                         measures, conventional, settings)
        s.projection_reference = result.reference
        for m in s.measures:
            if m.id in result.measures:
                m.projection = result.measures[m.id]
    return advice


# the words of a projection (English in --json; the command line translates them, cli catalogue)
COERCIVE_NOTE = N_("not projected: a coercive measure is reported as a fact of the law, never "
                   "offered as an option")
NO_EFFECT_NOTE = N_("no simulated effect in the pack: the catalogue and the pack give this "
                    "measure no effect, so it is projected as the conventional path and no "
                    "difference is shown")
#: the conventional path where no conventional measure is open: after sentence, at other stages
SENTENCE_GOES_ON = N_("the sentence goes on")
CASE_ENDS = N_("the case ends here (no conventional measure is open)")


def replay(case: Case, stamped: Mapping[str, Any]) -> dict[str, Any]:
    """The outcomes of a stamped projection simulated again, from its stamp alone (the pack
    must be the one it names, unchanged)."""
    from divert.law import policy as policies

    st = stamped["stamp"]
    pack = policies.load(st["pack"])
    if st["overlays"]:
        raise InputError(f"stamp.overlays: {', '.join(st['overlays'])}: replay loads the pack "
                         "without overlays; apply them with the pack to replay this projection")
    if pack.hash != st["pack_hash"]:
        raise InputError(f"stamp.pack_hash: the pack {st['pack']} has changed since the "
                         "projection was made; it cannot be replayed")
    day = date.fromisoformat(st["date"])
    settings = Settings(st["copies"], st["horizon_months"], st["seed"], st["engine"])
    paths, _ = simulate(case_batch(case, pack), pack, practice_values(pack, day), st["stage"],
                        day, st["measure"], st["conventional"], settings)
    return summarise(paths)


# --- display ---------------------------------------------------------------------------------------

LABELS = {"rearrest": "rearrested", "prison_months": "months in custody",
          "overdose_death": "overdose death", "cost": "public cost"}
SHORT = {"rearrest": "rearrest", "prison_months": "custody", "overdose_death": "overdose",
         "cost": "cost"}
NO_EFFECT = "no simulated effect in the pack: projected as the conventional path"


def show(outcome: str, summary: Mapping[str, Any], currency: str = "") -> str:
    """An outcome as text: the value and its 95% interval and, for a mean, the range of the
    middle 90% of the copies (how much one person's outcome may vary)."""
    v, lo, hi = summary["value"], summary["low"], summary["high"]
    if outcome in ("rearrest", "overdose_death"):
        return f"{100 * v:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"
    if outcome == "cost":
        return (f"{currency + ' ' if currency else ''}{v:,.0f} ({lo:,.0f}-{hi:,.0f}); "
                f"90% of copies {summary['p5']:,.0f}-{summary['p95']:,.0f}")
    return (f"{v:.1f} ({lo:.1f}-{hi:.1f}); 90% of copies {summary['p5']:.0f}-"
            f"{summary['p95']:.0f}")


def show_difference(outcome: str, d: Mapping[str, Any]) -> str:
    """A difference from the conventional path as text, or 'not resolved' when its 95%
    interval includes zero."""
    if not d["resolved"]:
        return "not resolved"
    v = d["value"]
    if outcome in ("rearrest", "overdose_death"):
        return f"{100 * v:+.1f} pts"
    if outcome == "cost":
        return f"{v:+,.0f}"
    return f"{v:+.1f} mo"


def show_error(outcome: str, d: Mapping[str, Any]) -> str:
    """A Monte Carlo error in the unit of its outcome."""
    e = d["mc_error"]
    if outcome in ("rearrest", "overdose_death"):
        return f"{100 * e:.1f} pts"
    if outcome == "cost":
        return f"{e:,.0f}"
    return f"{e:.2f} mo"


def horizon_label(entry: Mapping[str, Any]) -> str:
    """The last year reported (`3y` for a 36-month horizon)."""
    return f"{entry['stamp']['horizon_months'] // 12}y"
