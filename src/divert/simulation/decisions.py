"""Criminal-justice decisions in the simulation, vectorised over everyone deciding in a month.

At each stage the pack's compiled rules are evaluated through `Policy.evaluate`, the same path
`divert assess` takes for one case, on a batch built from the synthetic people's facts, triaged
with the pack's cut-offs (`triage.triage_batch`). Practice then chooses among the open measures
(discretion weights, consent, capacity: a full measure sends the excess to their next choice and
counts them as waitlisted), and the chosen measure's **effect** (catalogue data, `Effects`) says
what happens: the case goes on to the next stage, ends, or the person starts a programme, a
custodial sentence or a compulsory centre. Nothing here names a measure: a pack that adds one
needs no code. When nothing is open at a stage, the person leaves the system there.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, get_args

import numpy as np

from divert.advice.triage import TriageConfig, triage_batch
from divert.law.catalogue import CATALOGUE, Decided, Measure, Placement, TreatmentForm
from divert.law.policy import Policy, Rule
from divert.law.practice import table
from divert.law.rules import FALSE, TRUE, UNKNOWN
from divert.law.vocabulary import AGGRAVATORS, OFFENCE_TYPES
from divert.simulation.kernel import (
    F_CONTACT,
    F_FAILED,
    F_IN_PRISON,
    F_PRETRIAL_END,
    F_RELEASE,
    M,
    flagged_slots,
    uniforms,
)
from divert.simulation.population import (
    COMMUNITY,
    COMPULSORY,
    IN_PRISON,
    MEASURE,
    NO_TREATMENT,
    OAT,
    OPIOIDS,
    OUTPATIENT,
    PRETRIAL,
    PRISON,
    RESIDENTIAL,
    Population,
    weight_of,
)

MEASURE_IDS = tuple(CATALOGUE)
"""The shared catalogue's ids, in index order (a run's own ids: `Effects.ids`)."""
NO_MEASURE = -1
PATHWAYS = (*MEASURE_IDS, "no_sanction")  # cohort pathways of a pack without measures of its own
DRUG_TYPES = np.array([OFFENCE_TYPES.index(t) for t in (
    "use", "possession", "possession_for_supply", "supply", "trafficking", "cultivation")])
_IS_DRUG = np.isin(np.arange(-1, len(OFFENCE_TYPES)), DRUG_TYPES)  # by offence type + 1 (0: none)
VIOLENT = OFFENCE_TYPES.index("violent")
CULTIVATION = OFFENCE_TYPES.index("cultivation")
CONTACT_STAGES = ("police", "prosecution", "court")

PLACEMENTS: tuple[str, ...] = get_args(Placement)
P_NEXT, P_COMMUNITY, P_PROGRAMME, P_CUSTODY, P_COMPULSORY, P_STAY, P_NONE = (
    PLACEMENTS.index(p) for p in ("next_stage", "community", "programme", "custody",
                                  "compulsory_centre", "stay_in_custody", "none"))
DECIDED: tuple[str, ...] = get_args(Decided)
TREATMENT_FORMS: tuple[str, ...] = get_args(TreatmentForm)
T_NONE, T_COMMUNITY, T_RESIDENTIAL, T_IN_PRISON = range(4)
SECTORS = ("probation", "treatment", "prison")
ROUTE_COMMUNITY, ROUTE_PROSECUTION, ROUTE_CUSTODY = 0, 1, 2

# random streams of the decision step (the kernel uses 1-4); post-sentence uptake uses a stream of
# each measure's own, keyed by its id (`post_stream`)
S_CONSENT, S_POLICE, S_PROSECUTION, S_COURT, S_PRETRIAL, S_CONVICTION = 20, 21, 22, 23, 24, 25
S_QUANTITY, S_OFFENCE_FACTS, S_SENTENCE = 26, 27, 28
S_STAGE = {"police": S_POLICE, "prosecution": S_PROSECUTION, "court": S_COURT}
S_POST_BASE = 1000


def post_stream(measure_id: str) -> int:
    """The random stream of a post-sentence measure's uptake, from its id alone: adding a measure
    to the catalogue (which shifts every later index) leaves every other measure's draws as they
    were, so a pack's results do not move when another pack's law grows."""
    return S_POST_BASE + zlib.crc32(measure_id.encode("utf-8")) % (1 << 24)


@dataclass(frozen=True)
class Effects:
    """A run's measures (the catalogue and the pack's own, in index order) and their effects as
    arrays by measure index, ready for vectorised decisions."""

    ids: tuple[str, ...]
    measures: tuple[Measure, ...]
    placement: np.ndarray       # int8 index into PLACEMENTS
    decided: np.ndarray         # int8 index into DECIDED
    releases: np.ndarray        # bool
    treatment: np.ndarray       # int8 index into TREATMENT_FORMS
    court_programme: np.ndarray  # bool
    conviction: np.ndarray      # bool
    fixed_sentence: np.ndarray  # bool
    event: list[str | None]
    sector: np.ndarray          # int8 index into SECTORS
    cost_includes_treatment: np.ndarray  # bool
    alternative: np.ndarray     # bool
    oat_overdose_rr: np.ndarray  # float, 1 where none
    oat_overdose_months: np.ndarray  # float, 0 where none
    stream: np.ndarray          # int64 post-sentence uptake stream (`post_stream`)

    @classmethod
    def of(cls, policy: Policy) -> Effects:
        ms = tuple(policy.measures.values())
        effects = [m.effect for m in ms]
        for m, e in zip(ms, effects, strict=True):
            if e is None:
                raise ValueError(f"measure {m.id} has no effect")
        es = [e for e in effects if e is not None]
        return cls(
            ids=tuple(m.id for m in ms), measures=ms,
            placement=np.array([PLACEMENTS.index(e.placement) for e in es], dtype=np.int8),
            decided=np.array([DECIDED.index(e.decided) for e in es], dtype=np.int8),
            releases=np.array([e.releases for e in es], dtype=bool),
            treatment=np.array([TREATMENT_FORMS.index(e.treatment) for e in es], dtype=np.int8),
            court_programme=np.array([e.court_programme for e in es], dtype=bool),
            conviction=np.array([e.conviction for e in es], dtype=bool),
            fixed_sentence=np.array([e.sentence == "fixed" for e in es], dtype=bool),
            event=[e.event for e in es],
            sector=np.array([SECTORS.index(e.cost_sector) for e in es], dtype=np.int8),
            cost_includes_treatment=np.array([e.cost_includes_treatment for e in es], dtype=bool),
            alternative=np.array([m.kind == "alternative" for m in ms], dtype=bool),
            oat_overdose_rr=np.array([1.0 if e.oat_overdose_rr is None else e.oat_overdose_rr
                                      for e in es]),
            oat_overdose_months=np.array([float(e.oat_overdose_rr_months) for e in es]),
            stream=np.array([post_stream(m.id) for m in ms], dtype=np.int64))

    def index(self, rules: list[Rule]) -> np.ndarray:
        """Measure indices of `rules`, in their order."""
        pos = {mid: i for i, mid in enumerate(self.ids)}
        return np.array([pos[r.id] for r in rules], dtype=np.int64)

    @property
    def pathways(self) -> tuple[str, ...]:
        """Cohort pathways: each measure, then `no_sanction` (the case ended without one)."""
        return (*self.ids, "no_sanction")


@dataclass
class Practice:
    """Practice values of one replication as vectors by measure index, ready for decisions."""

    values: dict[str, Any]
    scale: float
    ids: tuple[str, ...] = MEASURE_IDS
    weight: np.ndarray = field(init=False)
    capacity: np.ndarray = field(init=False)
    duration: np.ndarray = field(init=False)
    completion: np.ndarray = field(init=False)
    reoffence_rr: np.ndarray = field(init=False)
    cost: np.ndarray = field(init=False)
    quantity_median: np.ndarray = field(init=False)
    supply_factor: np.ndarray = field(init=False)
    sentence: np.ndarray = field(init=False)
    failure_to: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        v, ids = self.values, self.ids
        self.weight = table(v, "measure_weight", 1.0, ids)
        cap = table(v, "measure_capacity", np.inf, ids)
        self.capacity = np.floor(cap / self.scale)
        self.duration = np.maximum(1.0, np.round(table(v, "measure_duration_months", 6.0, ids)))
        self.completion = table(v, "measure_completion_prob", 1.0, ids)
        self.reoffence_rr = table(v, "measure_reoffence_rr", 1.0, ids)
        self.cost = table(v, "measure_cost_per_month", 0.0, ids)
        self.quantity_median = table(v, "quantity_median_g", 1.0)
        self.supply_factor = table(v, "supply_quantity_factor", 1.0)
        self.sentence = table(v, "prison_sentence_months", 6.0)
        self.failure_to = np.rint(table(v, "measure_failure_to", 0.0, ids)).astype(np.int64)


def _is_drug(types: np.ndarray) -> np.ndarray:
    """Whether each offence type (-1: none) is a drug offence."""
    return _IS_DRUG[types.astype(np.int64) + 1]


def consents(key: int, ids: np.ndarray, month: int, practice: Practice) -> np.ndarray:
    """Whether each of `ids` consents to an alternative this month (one draw per person and
    month: the facts' `consent`, and the post-sentence candidates' filter)."""
    return uniforms(key, ids, month, S_CONSENT)[0] < float(practice.values["consent_prob"])


def facts_batch(pop: Population, ids: np.ndarray, month: int, key: int,
                practice: Practice, triage: TriageConfig | None = None) -> dict[str, np.ndarray]:
    """Vocabulary facts of persons `ids` this month, in the encoding of `rules.encode_batch`.

    Offence facts (quantity, plants, aggravators, admission) are drawn here for the offence that
    brought the contact; consent to an alternative is drawn once per person and month. Sentence
    facts are those of a person in prison, or released from prison this month (decided at
    release, before they leave); for anyone else `sentence.months` is the prison term the offence
    would bring this month (what a court weighs when it may suspend or replace a short term).
    Triage follows the pack's cut-offs (`triage`).
    """
    n = ids.shape[0]
    batch: dict[str, np.ndarray] = {}
    p = pop
    v = practice.values
    sev = p.severity[ids]
    off = p.off_type[ids].astype(np.int16)
    sub = p.substance[ids].astype(np.int16)
    z1, z2 = uniforms(key, ids, month, S_QUANTITY)
    normal = np.sqrt(-2.0 * np.log(np.maximum(z1, 1e-300))) * np.cos(2.0 * np.pi * z2)
    quantity = (practice.quantity_median[sub] * np.exp(float(v["quantity_sigma"]) * normal)
                * practice.supply_factor[np.maximum(off, 0)])
    u_agg, u_which = uniforms(key, ids, month, S_OFFENCE_FACTS)
    which = np.minimum((u_which * len(AGGRAVATORS)).astype(np.int64), len(AGGRAVATORS) - 1)
    aggravators = np.where(u_agg < float(v["aggravator_prob"]),
                           np.left_shift(np.uint32(1), which.astype(np.uint32)), 0)
    _, u_admit = uniforms(key, ids, month, S_CONSENT)

    def truth(mask: np.ndarray) -> np.ndarray:
        return np.where(mask, TRUE, FALSE).astype(np.int8)

    batch["person.age"] = p.age_m[ids] / 12.0
    batch["person.sex"] = p.sex[ids].astype(np.int16)
    batch["person.in_treatment"] = truth(p.treatment[ids] != NO_TREATMENT)
    batch["person.acknowledges_drug_problem"] = truth(sev >= 2)
    batch["offence.type"] = off
    batch["offence.substance"] = sub
    batch["offence.quantity_g"] = quantity
    batch["offence.plants"] = np.where(off == CULTIVATION, 1.0 + np.floor(u_which * 3), 0.0)
    batch["offence.aggravators"] = aggravators.astype(np.uint32)
    batch["offence.linked_to_drug_use"] = truth(p.active[ids] == 1)
    batch["offence.admitted"] = truth(u_admit < 0.6)
    for name in ("prior_convictions", "prior_drug_convictions", "prior_violent_convictions",
                 "prior_incarcerations", "prior_diversion_failures", "prior_diversions",
                 "prior_drug_arrests"):
        batch[f"history.{name}"] = getattr(p, name)[ids].astype(np.float64)
    batch["history.pending_charge"] = truth(p.cj[ids] == MEASURE)
    batch["history.fta_past_2_years"] = np.zeros(n)
    batch["history.fta_older"] = np.zeros(n)
    in_prison = (p.cj[ids] == PRISON) | (p.flag[ids] == F_RELEASE)
    # Before the sentence (a court deciding whether to suspend a prison term or replace it with
    # community work) the prison term is the one the person would serve for the offence this
    # month: the same draw `Decider._sentence_months` imposes, so the rule and the prison agree.
    u_sentence, _ = uniforms(key, ids, month, S_SENTENCE)
    prospective = np.round(practice.sentence[np.maximum(off, 0)] * (0.5 + u_sentence))
    batch["sentence.months"] = np.where(in_prison, p.sentence_m[ids],
                                        prospective).astype(np.float64)
    batch["sentence.served_months"] = np.where(in_prison, p.served_m[ids],
                                               np.nan).astype(np.float64)
    batch["screening.disorder"] = sev.astype(np.int16)
    batch["screening.injecting"] = truth(p.injecting[ids] == 1)
    batch["consent"] = truth(consents(key, ids, month, practice))
    batch.update(triage_batch(triage or TriageConfig(), batch, n))
    return batch


def open_measures(policy: Policy, stage: str, day: date, batch: dict[str, np.ndarray],
                  n: int) -> tuple[list[Rule], np.ndarray]:
    """The rules in force at `stage` and, per person, which of them are open (n x k booleans):
    eligible under the law (`Policy.evaluate`, precedence included) and, for an alternative
    that needs consent, consented to."""
    rules = policy.rules_in_force(stage, day)
    if not rules or n == 0:
        return rules, np.zeros((n, len(rules)), dtype=bool)
    truth = policy.evaluate(stage, day, batch, n)
    open_ = np.stack([truth[r.id] == TRUE for r in rules], axis=1)
    consent = batch["consent"] == TRUE
    for j, r in enumerate(rules):
        if r.needs_consent:
            open_[:, j] &= consent
    return rules, open_


def choose(policy: Policy, stage: str, day: date, batch: dict[str, np.ndarray], n: int,
           u: np.ndarray, practice: Practice, occ: np.ndarray, counters: np.ndarray,
           effects: Effects, weight: np.ndarray) -> np.ndarray:
    """Each person's measure at `stage` (measure index, -1 where none is open), by practice
    weights; a measure at capacity sends the excess to their next choice (waitlisted). Places
    and the waitlist count the people each person stands for (`weight`)."""
    rules, open_ = open_measures(policy, stage, day, batch, n)
    if not rules:
        return np.full(n, NO_MEASURE, dtype=np.int64)
    cat = effects.index(rules)
    weights = open_ * practice.weight[cat][None, :]
    pick = _pick(weights, u)
    for j in np.flatnonzero(np.isfinite(practice.capacity[cat])):
        m = cat[j]
        chosen = np.flatnonzero(pick == j)
        fit = fitting(weight[chosen], practice.capacity[m] - occ[m])
        if chosen.shape[0] > fit:
            excess = chosen[fit:]
            counters[M["waitlisted"]] += weight[excess].sum()
            weights[excess, j] = 0.0
            pick[excess] = _pick(weights[excess], u[excess])
        occ[m] += weight[chosen[:fit]].sum()
    return np.where(pick >= 0, cat[np.maximum(pick, 0)], NO_MEASURE)


def fitting(weight: np.ndarray, free: float) -> int:
    """How many of the people in line (the people each stands for, in order) fit in `free`
    places: the longest leading run whose total is at most `free`."""
    if free <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(weight, dtype=np.float64), free + 1e-9, side="right"))


def _pick(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the column chosen for each row with probability proportional to its weight."""
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1]
    pick = (cum > (u * total)[:, None]).argmax(axis=1)
    return np.where(total > 0, pick, NO_MEASURE)


class Decider:
    """Applies the pack's decisions to the people flagged by the kernel in one month."""

    def __init__(self, policy: Policy, practice: Practice, key: int,
                 effects: Effects | None = None) -> None:
        self.policy = policy
        self.practice = practice
        self.key = key
        self.effects = effects or Effects.of(policy)
        self.triage = TriageConfig.model_validate(policy.meta.triage or {})
        self.opioid = np.isin(np.arange(32), OPIOIDS)
        self.day = date.min
        self._occ = np.zeros(len(self.effects.ids))

    def facts(self, pop: Population, ids: np.ndarray, month: int) -> dict[str, np.ndarray]:
        """The vocabulary facts of `ids` this month (see `facts_batch`)."""
        return facts_batch(pop, ids, month, self.key, self.practice, self.triage)

    # -- state changes ---------------------------------------------------------------------------

    def _start(self, pop: Population, ids: np.ndarray, m: np.ndarray,
               counters: np.ndarray) -> None:
        """Start measure `m[i]` for person `ids[i]`: a programme in the community or a compulsory
        centre, with the treatment the measure carries."""
        if ids.shape[0] == 0:
            return
        ef, pr = self.effects, self.practice
        place = ef.placement[m]
        compulsory = place == P_COMPULSORY
        pop.cj[ids] = np.where(compulsory, COMPULSORY, MEASURE)
        pop.measure[ids] = m
        pop.cj_timer[ids] = pr.duration[m].astype(np.int16)
        counters[M["compulsory_admissions"]] += weight_of(pop, ids[compulsory])
        form = ef.treatment[m]
        resid = ids[form == T_RESIDENTIAL]
        new_resid = resid[pop.treatment[resid] == NO_TREATMENT]
        pop.treatment[resid] = RESIDENTIAL
        comm = ids[form == T_COMMUNITY]
        form_now = pop.treatment[comm]
        start = comm[(form_now == NO_TREATMENT) | (form_now == IN_PRISON)]
        pop.treatment[start] = np.where(self.opioid[pop.substance[start]], OAT, OUTPATIENT)
        counters[M["treatment_entries"]] += weight_of(pop, start) + weight_of(pop, new_resid)

    def _imprison(self, pop: Population, ids: np.ndarray, months: np.ndarray, month: int,
                  counters: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        pop.cj[ids] = PRISON
        pop.cj_timer[ids] = np.clip(months, 1, 32000).astype(np.int16)
        pop.sentence_m[ids] = pop.cj_timer[ids]
        pop.served_m[ids] = 0
        pop.measure[ids] = NO_MEASURE
        pop.drug_prisoner[ids] = _is_drug(pop.off_type[ids])
        pop.treatment[ids] = NO_TREATMENT
        _bump(pop.prior_incarcerations, ids)
        counters[M["prison_admissions"]] += weight_of(pop, ids)
        self._post_sentence(pop, ids, month, "at_admission", counters)

    def _sentence_months(self, pop: Population, ids: np.ndarray, m: np.ndarray,
                         month: int) -> np.ndarray:
        """Custodial time: fixed by the measure, or the pack's time served for the offence
        (uniform on [0.5, 1.5] x its mean)."""
        u, _ = uniforms(self.key, ids, month, S_SENTENCE)
        mean = self.practice.sentence[np.maximum(pop.off_type[ids], 0)]
        by_offence = np.round(mean * (0.5 + u)).astype(np.int64)
        fixed = self.practice.duration[m].astype(np.int64)
        months: np.ndarray = np.where(self.effects.fixed_sentence[m], fixed, by_offence)
        return months

    def _dispose(self, pop: Population, ids: np.ndarray, m: np.ndarray, month: int,
                 counters: np.ndarray, detained: np.ndarray | None = None,
                 pre_months: int = 0) -> None:
        """Apply the effect of measure `m[i]` chosen for person `ids[i]` (the case does not go
        on): record, counted events, and where the person goes. `detained` people wait in
        pre-trial detention before a non-custodial disposition starts."""
        if ids.shape[0] == 0:
            return
        ef = self.effects
        alt = ef.alternative[m]
        counters[M["diversions"]] += weight_of(pop, ids[alt])
        _bump(pop.prior_diversions, ids[alt])
        convicted = ids[ef.conviction[m]]
        counters[M["convictions"]] += weight_of(pop, convicted)
        _bump(pop.prior_convictions, convicted)
        _bump(pop.prior_drug_convictions, convicted[_is_drug(pop.off_type[convicted])])
        _bump(pop.prior_violent_convictions, convicted[pop.off_type[convicted] == VIOLENT])
        for k in np.unique(m):
            event = ef.event[k]
            if event is not None:
                counters[M[event]] += weight_of(pop, ids[m == k])
        place = ef.placement[m]
        custody = place == P_CUSTODY
        people, mm = ids[custody], m[custody]
        self._imprison(pop, people, self._sentence_months(pop, people, mm, month), month,
                       counters)
        starts = (place == P_PROGRAMME) | (place == P_COMPULSORY)
        wait = detained if detained is not None else np.zeros(ids.shape[0], dtype=bool)
        wait = wait & ~custody
        now = starts & ~wait
        self._start(pop, ids[now], m[now], counters)
        self._detain(pop, ids[wait], np.where(starts[wait], m[wait], NO_MEASURE), pre_months)

    def _detain(self, pop: Population, ids: np.ndarray, next_measure: np.ndarray,
                months: int) -> None:
        if ids.shape[0] == 0:
            return
        pop.cj[ids] = PRETRIAL
        pop.cj_timer[ids] = months
        pop.next_measure[ids] = next_measure
        pop.measure[ids] = NO_MEASURE
        pop.drug_prisoner[ids] = _is_drug(pop.off_type[ids])  # held for the offence charged

    # -- the month -------------------------------------------------------------------------------

    def month(self, pop: Population, month: int, day: date, counters: np.ndarray,
              occ: np.ndarray) -> None:
        """Every decision of the month, in a fixed order (contacts, failures, pre-trial ends,
        releases, decisions during sentences)."""
        self.day = day
        self._occ = occ
        flagged = flagged_slots(pop.flag)
        kinds = pop.flag[flagged]
        self._contacts(pop, flagged[kinds == F_CONTACT], month, counters)
        self._failures(pop, flagged[kinds == F_FAILED], month, counters)
        self._pretrial_end(pop, flagged[kinds == F_PRETRIAL_END], counters)
        self._post_sentence(pop, flagged[kinds == F_RELEASE], month, "at_release", counters)
        self._post_sentence(pop, flagged[kinds == F_IN_PRISON], month, "monthly", counters)

    def _contacts(self, pop: Population, ids: np.ndarray, month: int,
                  counters: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        final = self._walk(pop, ids, "police", month, counters)
        first = pop.cohort_month[ids] < 0
        pop.cohort_path[ids[first]] = final[first]
        pop.cohort_month[ids[first]] = month

    def _walk(self, pop: Population, ids: np.ndarray, stage: str, month: int,
              counters: np.ndarray) -> np.ndarray:
        """Decide the case of each of `ids` from `stage` on (police, prosecution, court): each
        stage's measure either sends the case on or ends it with its effect; where nothing is
        open the person leaves the system. Returns each person's final pathway index."""
        ef, pr = self.effects, self.practice
        n_ids = ids.shape[0]
        final = np.full(n_ids, len(ef.ids), dtype=np.int64)  # no_sanction
        batch = self.facts(pop, ids, month)
        pos = np.arange(n_ids)
        for s in CONTACT_STAGES[CONTACT_STAGES.index(stage):]:
            if pos.shape[0] == 0:
                break
            people = ids[pos]
            if s == "prosecution":
                counters[M["arrests"]] += weight_of(pop, people)
                _bump(pop.prior_drug_arrests, people[_is_drug(pop.off_type[people])])
            detained = None
            pre_months = 0
            if s == "court":
                counters[M["prosecutions"]] += weight_of(pop, people)
                u_conv, u_pre = uniforms(self.key, people, month, S_CONVICTION)
                convicted = u_conv < float(pr.values["conviction_prob"])
                pos, people, u_pre = pos[convicted], people[convicted], u_pre[convicted]
                detained = u_pre < float(pr.values["pretrial_detention_prob"])
                pre_months = max(1, int(round(float(pr.values["pretrial_detention_months"]))))
            sub = batch if pos.shape[0] == n_ids else {k: v[pos] for k, v in batch.items()}
            u, _ = uniforms(self.key, people, month, S_STAGE[s])
            chosen = choose(self.policy, s, self.day, sub, pos.shape[0], u, pr, self._occ,
                            counters, ef, pop.weight[people].astype(np.float64))
            has = chosen >= 0
            onward = has & (ef.placement[np.maximum(chosen, 0)] == P_NEXT)
            ends = has & ~onward
            final[pos[ends]] = chosen[ends]
            self._dispose(pop, people[ends], chosen[ends], month, counters,
                          None if detained is None else detained[ends], pre_months)
            pos = pos[onward]
        return final

    def _failures(self, pop: Population, ids: np.ndarray, month: int,
                  counters: np.ndarray) -> None:
        """A failed measure leads where its effect (or the pack's `measure_failure_to`) says:
        back to the community, to prosecution and court, or to prison."""
        if ids.shape[0] == 0:
            return
        m = pop.measure[ids].astype(np.int64)
        route = np.where(m >= 0, self.practice.failure_to[np.maximum(m, 0)], ROUTE_COMMUNITY)
        pop.measure[ids] = NO_MEASURE
        self._walk(pop, ids[route == ROUTE_PROSECUTION], "prosecution", month, counters)
        revoked = ids[route == ROUTE_CUSTODY]
        u, _ = uniforms(self.key, revoked, month, S_SENTENCE)
        mean = self.practice.sentence[np.maximum(pop.off_type[revoked], 0)]
        self._imprison(pop, revoked, np.round(mean * (0.5 + u)).astype(np.int64), month,
                       counters)

    def _pretrial_end(self, pop: Population, ids: np.ndarray, counters: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        nxt = pop.next_measure[ids].astype(np.int64)
        pop.cj[ids] = COMMUNITY
        pop.drug_prisoner[ids] = 0
        pop.since_release[ids] = -1
        go = nxt >= 0
        self._start(pop, ids[go], nxt[go], counters)
        pop.next_measure[ids] = NO_MEASURE

    def _post_sentence(self, pop: Population, ids: np.ndarray, month: int, when: str,
                       counters: np.ndarray) -> None:
        """Post-sentence measures decided `when` (at_admission, monthly, at_release) for the
        prisoners `ids`, with the facts of their sentence: each open measure, in the pack's order,
        is taken up by those who consent with probability `measure_weight`, within capacity."""
        if ids.shape[0] == 0:
            return
        ef, pr = self.effects, self.practice
        code = DECIDED.index(when)
        in_force = self.policy.rules_in_force("post_sentence", self.day)
        chosen_rules = [(r, int(m)) for r, m in zip(in_force, ef.index(in_force), strict=True)
                        if ef.decided[m] == code and ef.placement[m] != P_NONE]
        if not chosen_rules:
            return
        rules = [r for r, _ in chosen_rules]
        cats = [m for _, m in chosen_rules]
        if when == "monthly":
            ids = ids[pop.cj[ids] == PRISON]
        draws = [uniforms(self.key, ids, month, int(ef.stream[m]))[0] < pr.weight[m] for m in cats]
        if any(r.needs_consent for r in rules):  # the consent `facts_batch` draws for them
            consent = consents(self.key, ids, month, pr)
            draws = [d & consent if r.needs_consent else d
                     for r, d in zip(rules, draws, strict=True)]
        # Only a prisoner who would take up some measure if it were open (and consents where it
        # needs consent) needs the law's answer; the draws are per person, so leaving the others
        # out changes nothing.
        candidate = np.logical_or.reduce(draws)
        ids = ids[candidate]
        if ids.shape[0] == 0:
            return
        batch = self.facts(pop, ids, month)
        all_rules, open_ = open_measures(self.policy, "post_sentence", self.day, batch,
                                         ids.shape[0])
        taken = np.zeros(ids.shape[0], dtype=bool)
        for r, m, draw in zip(rules, cats, draws, strict=True):
            j = all_rules.index(r)
            take = open_[:, j] & ~taken & draw[candidate]
            chosen = np.flatnonzero(take)
            if np.isfinite(pr.capacity[m]):
                fit = fitting(pop.weight[ids[chosen]], pr.capacity[m] - self._occ[m])
                if chosen.shape[0] > fit:
                    counters[M["waitlisted"]] += weight_of(pop, ids[chosen[fit:]])
                    chosen = chosen[:fit]
            self._occ[m] += weight_of(pop, ids[chosen])
            taken[chosen] = True
            self._apply_post(pop, ids[chosen], m, month, counters)

    def _apply_post(self, pop: Population, ids: np.ndarray, m: int, month: int,
                    counters: np.ndarray) -> None:
        """The effect of post-sentence measure `m` on prisoners (or people just released)."""
        if ids.shape[0] == 0:
            return
        ef = self.effects
        counters[M["diversions"]] += weight_of(pop, ids) if ef.alternative[m] else 0.0
        place = ef.placement[m]
        if place == P_STAY:
            if ef.treatment[m] == T_IN_PRISON:
                pop.treatment[ids] = IN_PRISON
                counters[M["treatment_entries"]] += weight_of(pop, ids)
            pop.measure[ids] = m
            return
        if ef.releases[m]:
            in_prison = ids[pop.cj[ids] == PRISON]
            pop.cj[in_prison] = COMMUNITY
            pop.since_release[in_prison] = -1
            pop.drug_prisoner[in_prison] = 0
            had = in_prison[pop.measure[in_prison] >= 0]
            pop.effect_measure[had] = pop.measure[had]
            pop.effect_until[had] = month + 36
            pop.treatment[in_prison[pop.treatment[in_prison] == IN_PRISON]] = NO_TREATMENT
            counters[M["prison_releases"]] += weight_of(pop, in_prison)
        if place in (P_PROGRAMME, P_COMPULSORY):
            self._start(pop, ids, np.full(ids.shape[0], m), counters)


def _bump(counts: np.ndarray, ids: np.ndarray) -> None:
    """Add one to int8 counts, capped at 100."""
    if ids.shape[0]:
        counts[ids] = np.minimum(counts[ids].astype(np.int16) + 1, 100).astype(counts.dtype)


__all__ = ["Decider", "Effects", "Practice", "facts_batch", "open_measures", "choose",
           "MEASURE_IDS", "PATHWAYS", "UNKNOWN", "F_CONTACT"]
