"""Criminal-justice decisions in the simulation, vectorised over everyone deciding in a month.

At each stage the pack's compiled rules are evaluated through `Policy.evaluate`, the same path
`divert assess` takes for one case, on a batch built from the synthetic people's state. Practice then
decides among the open measures: discretion weights, consent, capacity (a full measure sends the
excess to their next choice and counts them as waitlisted). Random numbers come from the same
counter-based generator as the kernel, in streams of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from divert.catalogue import CATALOGUE
from divert.kernel import M, uniforms
from divert.policy import Policy
from divert.population import (
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
)
from divert.practice import table
from divert.rules import FALSE, TRUE, UNKNOWN
from divert.vocabulary import AGGRAVATORS, OFFENCE_TYPES, QUADRANTS

MEASURE_IDS = tuple(CATALOGUE)
MI = {m: i for i, m in enumerate(MEASURE_IDS)}
NO_MEASURE = -1
PATHWAYS = (*MEASURE_IDS, "no_sanction")  # cohort pathways: final disposition at first decision
NO_SANCTION = len(MEASURE_IDS)
DRUG_TYPES = np.array([OFFENCE_TYPES.index(t) for t in (
    "use", "possession", "possession_for_supply", "supply", "trafficking", "cultivation")])
VIOLENT = OFFENCE_TYPES.index("violent")
CULTIVATION = OFFENCE_TYPES.index("cultivation")
SUPPLY_TYPES = ("possession_for_supply", "supply", "trafficking")
DEATH_ROW_MONTHS = 600

# random streams of the decision step (the kernel uses 1-4)
S_CONSENT, S_POLICE, S_PROSECUTION, S_COURT, S_PRETRIAL, S_CONVICTION = 20, 21, 22, 23, 24, 25
S_QUANTITY, S_OFFENCE_FACTS, S_SENTENCE, S_POST, S_RELEASE = 26, 27, 28, 29, 30


@dataclass
class Practice:
    """Practice values of one replication as vectors by catalogue measure, ready for decisions."""

    values: dict[str, Any]
    scale: float
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
        v = self.values
        self.weight = table(v, "measure_weight", 1.0)
        cap = table(v, "measure_capacity", np.inf)
        self.capacity = np.floor(cap / self.scale)
        self.duration = np.maximum(1.0, np.round(table(v, "measure_duration_months", 6.0)))
        self.completion = table(v, "measure_completion_prob", 1.0)
        self.reoffence_rr = table(v, "measure_reoffence_rr", 1.0)
        self.cost = table(v, "measure_cost_per_month", 0.0)
        self.quantity_median = table(v, "quantity_median_g", 1.0)
        self.supply_factor = table(v, "supply_quantity_factor", 1.0)
        self.sentence = table(v, "prison_sentence_months", 6.0)
        self.failure_to = np.rint(table(v, "measure_failure_to", 0.0)).astype(np.int64)


def facts_batch(pop: Population, ids: np.ndarray, month: int, key: int,
                practice: Practice) -> dict[str, np.ndarray]:
    """Vocabulary facts of persons `ids` this month, in the encoding of `rules.encode_batch`.

    Offence facts (quantity, plants, aggravators, admission) are drawn here for the offence that
    brought the contact; consent to an alternative is drawn once per person and month.
    """
    n = ids.shape[0]
    batch: dict[str, np.ndarray] = {}
    p = pop
    v = practice.values
    sev = p.severity[ids]
    risk = p.risk[ids]
    need_high = sev >= 2
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
    u_consent, u_admit = uniforms(key, ids, month, S_CONSENT)

    def truth(mask: np.ndarray) -> np.ndarray:
        return np.where(mask, TRUE, FALSE).astype(np.int8)

    batch["person.age"] = p.age_m[ids] / 12.0
    batch["person.sex"] = p.sex[ids].astype(np.int16)
    batch["person.in_treatment"] = truth(p.treatment[ids] != NO_TREATMENT)
    batch["person.acknowledges_drug_problem"] = truth(need_high)
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
    in_prison = p.cj[ids] == PRISON
    batch["sentence.months"] = np.where(in_prison, p.sentence_m[ids], np.nan).astype(np.float64)
    batch["sentence.served_months"] = np.where(in_prison, p.served_m[ids],
                                               np.nan).astype(np.float64)
    batch["screening.disorder"] = sev.astype(np.int16)
    batch["screening.injecting"] = truth(p.injecting[ids] == 1)
    batch["triage.risk"] = risk.astype(np.int16)
    batch["triage.need"] = need_high.astype(np.int16)
    quadrant = np.where(risk == 1, np.where(need_high, 0, 2), np.where(need_high, 1, 3))
    assert QUADRANTS == ("HR/HN", "LR/HN", "HR/LN", "LR/LN")
    batch["triage.quadrant"] = quadrant.astype(np.int16)
    batch["consent"] = truth(u_consent < float(v["consent_prob"]))
    return batch


def eligibility(policy: Policy, stage: str, day: date, batch: dict[str, np.ndarray],
                n: int) -> tuple[list[str], np.ndarray]:
    """Measure ids in force at `stage` and their truth codes (n x k), through Policy.evaluate."""
    rules = policy.rules_in_force(stage, day)
    if not rules or n == 0:
        return [r.id for r in rules], np.zeros((n, len(rules)), dtype=np.int8)
    truth = policy.evaluate(stage, day, batch, n)
    ids = [r.id for r in rules]
    return ids, np.stack([truth[i] for i in ids], axis=1)


def choose(policy: Policy, stage: str, day: date, batch: dict[str, np.ndarray], n: int,
           u: np.ndarray, practice: Practice, occ: np.ndarray,
           counters: np.ndarray) -> np.ndarray:
    """Each person's measure at `stage` (catalogue index, -1 none open), by practice weights.

    Alternatives needing consent are open only to those who consent; a measure at capacity sends
    the excess to their next choice (counted as waitlisted).
    """
    ids, codes = eligibility(policy, stage, day, batch, n)
    if not ids:
        return np.full(n, NO_MEASURE, dtype=np.int64)
    open_ = codes == TRUE
    consent = batch["consent"] == TRUE
    rules = policy.rules_in_force(stage, day)
    for j, r in enumerate(rules):
        if r.spec.consent_required and r.measure.kind == "alternative":
            open_[:, j] &= consent
    cat = np.array([MI[i] for i in ids])
    weights = open_ * practice.weight[cat][None, :]
    pick = _pick(weights, u)
    for j in np.flatnonzero(np.isfinite(practice.capacity[cat])):
        m = cat[j]
        free = int(max(practice.capacity[m] - occ[m], 0))
        chosen = np.flatnonzero(pick == j)
        if chosen.shape[0] > free:
            excess = chosen[free:]
            counters[M["waitlisted"]] += excess.shape[0]
            weights[excess, j] = 0.0
            pick[excess] = _pick(weights[excess], u[excess])
        occ[m] += min(chosen.shape[0], free)
    return np.where(pick >= 0, cat[np.maximum(pick, 0)], NO_MEASURE)


def _pick(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the column chosen for each row with probability proportional to its weight."""
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1]
    pick = (cum > (u * total)[:, None]).argmax(axis=1)
    return np.where(total > 0, pick, NO_MEASURE)


class Decider:
    """Applies the pack's decisions to the people flagged by the kernel in one month."""

    def __init__(self, policy: Policy, practice: Practice, key: int) -> None:
        self.policy = policy
        self.practice = practice
        self.key = key
        self.opioid = np.isin(np.arange(32), OPIOIDS)

    # -- state changes ---------------------------------------------------------------------------

    def _start_measure(self, pop: Population, ids: np.ndarray, m: np.ndarray, month: int,
                       counters: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        pr = self.practice
        compulsory = np.array([CATALOGUE[MEASURE_IDS[k]].kind == "coercive" for k in m], dtype=bool)
        treats = np.array([CATALOGUE[MEASURE_IDS[k]].involves_treatment for k in m], dtype=bool)
        pop.cj[ids] = np.where(compulsory, COMPULSORY, MEASURE)
        pop.measure[ids] = m
        pop.cj_timer[ids] = pr.duration[m].astype(np.int16)
        counters[M["compulsory_admissions"]] += compulsory.sum()
        pop.treatment[ids[compulsory]] = RESIDENTIAL
        start = ids[treats & ~compulsory & (pop.treatment[ids] == NO_TREATMENT)]
        pop.treatment[start] = np.where(self.opioid[pop.substance[start]], OAT, OUTPATIENT)
        counters[M["treatment_entries"]] += start.shape[0] + compulsory.sum()

    def _imprison(self, pop: Population, ids: np.ndarray, months: np.ndarray, month: int,
                  counters: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        pop.cj[ids] = PRISON
        pop.cj_timer[ids] = np.maximum(1, months).astype(np.int16)
        pop.sentence_m[ids] = pop.cj_timer[ids]
        pop.served_m[ids] = 0
        pop.measure[ids] = NO_MEASURE
        pop.drug_prisoner[ids] = np.isin(pop.off_type[ids], DRUG_TYPES)
        pop.treatment[ids] = NO_TREATMENT
        _bump(pop.prior_incarcerations, ids)
        counters[M["prison_admissions"]] += ids.shape[0]
        self._prison_treatment(pop, ids, month, counters)

    def _sentence_months(self, pop: Population, ids: np.ndarray, month: int) -> np.ndarray:
        u, _ = uniforms(self.key, ids, month, S_SENTENCE)
        mean = self.practice.sentence[np.maximum(pop.off_type[ids], 0)]
        return np.round(mean * (0.5 + u)).astype(np.int64)  # uniform on [0.5, 1.5] x mean

    def _prison_treatment(self, pop: Population, ids: np.ndarray, month: int,
                          counters: np.ndarray) -> None:
        """Post-sentence rules at admission: treatment in prison where open, with uptake."""
        chosen = self._uptake(pop, ids, "treatment_in_prison", month, S_POST, 0, counters,
                              self._occ)
        pop.treatment[chosen] = IN_PRISON
        pop.effect_measure[chosen] = MI["treatment_in_prison"]
        pop.effect_until[chosen] = 32000
        counters[M["treatment_entries"]] += chosen.shape[0]

    def _uptake(self, pop: Population, ids: np.ndarray, mid: str, month: int, stream: int,
                half: int, counters: np.ndarray, occ: np.ndarray) -> np.ndarray:
        """Those of `ids` who take up post-sentence measure `mid`: open under the rules, consenting,
        drawn with probability `measure_weight` (uniform `half` of `stream`), within capacity."""
        day = self.day
        if ids.shape[0] == 0 or not any(r.id == mid for r in self.policy.rules_in_force(
                "post_sentence", day)):
            return ids[:0]
        batch = facts_batch(pop, ids, month, self.key, self.practice)
        mids, codes = eligibility(self.policy, "post_sentence", day, batch, ids.shape[0])
        j = mids.index(mid)
        m = MI[mid]
        u = uniforms(self.key, ids, month, stream)[half]
        take = (codes[:, j] == TRUE) & (batch["consent"] == TRUE) & (u < self.practice.weight[m])
        chosen = ids[take]
        if np.isfinite(self.practice.capacity[m]):
            free = int(max(self.practice.capacity[m] - occ[m], 0))
            if chosen.shape[0] > free:
                counters[M["waitlisted"]] += chosen.shape[0] - free
                chosen = chosen[:free]
        occ[m] += chosen.shape[0]
        return chosen

    # -- the month -------------------------------------------------------------------------------

    def month(self, pop: Population, month: int, day: date, counters: np.ndarray,
              occ: np.ndarray) -> None:
        """Every decision of the month, in a fixed order (contacts, failures, pre-trial, releases,
        early release)."""
        from divert.kernel import F_CONTACT, F_FAILED, F_IN_PRISON, F_PRETRIAL_END, F_RELEASE

        self.day = day
        self._occ = occ
        flagged = np.flatnonzero(pop.flag)
        kinds = pop.flag[flagged]
        contacts = flagged[kinds == F_CONTACT]
        failed = flagged[kinds == F_FAILED]
        pretrial_end = flagged[kinds == F_PRETRIAL_END]
        released = flagged[kinds == F_RELEASE]
        prisoners = flagged[kinds == F_IN_PRISON]
        self._contacts(pop, contacts, month, day, counters, occ)
        self._failures(pop, failed, month, day, counters, occ)
        self._pretrial_end(pop, pretrial_end, month, counters)
        self._releases(pop, released, month, day, counters, occ)
        self._early_release(pop, prisoners, month, day, counters, occ)

    def _contacts(self, pop: Population, ids: np.ndarray, month: int, day: date,
                  counters: np.ndarray, occ: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        policy, pr = self.policy, self.practice
        batch = facts_batch(pop, ids, month, self.key, pr)
        n = ids.shape[0]
        u_police, u_pros = uniforms(self.key, ids, month, S_POLICE)
        final = np.full(n, NO_SANCTION, dtype=np.int64)
        police = choose(policy, "police", day, batch, n, u_police, pr, occ, counters)
        drug = np.isin(pop.off_type[ids], DRUG_TYPES)
        to_prosecution = np.zeros(n, dtype=bool)
        for k in np.unique(police):
            sel = police == k
            mid = MEASURE_IDS[k] if k >= 0 else None
            if mid is None or mid == "arrest_and_charge":
                to_prosecution |= sel
                continue
            final[sel] = k
            if CATALOGUE[mid].kind == "alternative":
                _diverted(pop, ids[sel], counters)
            if mid in ("referral_to_health_services", "administrative_referral",
                       "compulsory_treatment"):
                self._start_measure(pop, ids[sel], np.full(sel.sum(), k), month, counters)
        counters[M["arrests"]] += to_prosecution.sum()
        _bump(pop.prior_drug_arrests, ids[to_prosecution & drug])
        self._prosecute(pop, ids, batch, to_prosecution, u_pros, final, month, day, counters, occ)
        first = pop.cohort_month[ids] < 0
        pop.cohort_path[ids[first]] = final[first]
        pop.cohort_month[ids[first]] = month

    def _prosecute(self, pop: Population, ids: np.ndarray, batch: dict[str, np.ndarray],
                   which: np.ndarray, u: np.ndarray, final: np.ndarray, month: int, day: date,
                   counters: np.ndarray, occ: np.ndarray) -> None:
        """Prosecution and court for the people selected by `which` (positions in `ids`)."""
        pos = np.flatnonzero(which)
        if pos.shape[0] == 0:
            return
        policy, pr = self.policy, self.practice
        sub = {k: v[pos] for k, v in batch.items()}
        n = pos.shape[0]
        counters[M["prosecutions"]] += n
        pros = choose(policy, "prosecution", day, sub, n, u[pos], pr, occ, counters)
        to_court = np.zeros(n, dtype=bool)
        for k in np.unique(pros):
            sel = pros == k
            mid = MEASURE_IDS[k] if k >= 0 else None
            if mid is None or mid == "prosecution":
                to_court |= sel
                continue
            final[pos[sel]] = k
            if CATALOGUE[mid].kind == "alternative":
                _diverted(pop, ids[pos[sel]], counters)
                self._start_measure(pop, ids[pos[sel]], np.full(sel.sum(), k), month, counters)
        cpos = pos[to_court]
        pid = ids[cpos]
        u_conv, u_pre = uniforms(self.key, pid, month, S_CONVICTION)
        convicted = u_conv < float(pr.values["conviction_prob"])
        cpos, pid, u_pre = cpos[convicted], pid[convicted], u_pre[convicted]
        if cpos.shape[0] == 0:
            return
        csub = {k: v[cpos] for k, v in batch.items()}
        u_court, _ = uniforms(self.key, pid, month, S_COURT)
        court = choose(policy, "court", day, csub, cpos.shape[0], u_court, pr, occ, counters)
        detained = u_pre < float(pr.values["pretrial_detention_prob"])
        pre_months = max(1, int(round(float(pr.values["pretrial_detention_months"]))))
        for k in np.unique(court):
            sel = court == k
            mid = MEASURE_IDS[k] if k >= 0 else "fine"
            people = pid[sel]
            final[cpos[sel]] = k if k >= 0 else NO_SANCTION
            if mid != "pre_judgment_probation":
                counters[M["convictions"]] += sel.sum()
                _bump(pop.prior_convictions, people)
                _bump(pop.prior_drug_convictions, people[np.isin(pop.off_type[people],
                                                                 DRUG_TYPES)])
                _bump(pop.prior_violent_convictions, people[pop.off_type[people] == VIOLENT])
            if mid == "imprisonment":
                self._imprison(pop, people, self._sentence_months(pop, people, month), month,
                               counters)
            elif mid == "death_penalty":
                counters[M["death_sentences"]] += sel.sum()
                self._imprison(pop, people, np.full(sel.sum(), DEATH_ROW_MONTHS), month,
                               counters)
            elif CATALOGUE[mid].kind == "alternative" or mid == "community_service":
                if CATALOGUE[mid].kind == "alternative":
                    _diverted(pop, people, counters)
                wait = people[detained[sel]]
                now = people[~detained[sel]]
                self._start_measure(pop, now, np.full(now.shape[0], k), month, counters)
                self._detain(pop, wait, k, pre_months)
            else:  # fine, corporal punishment, or nothing open: back to the community
                if mid == "corporal_punishment":
                    counters[M["corporal_punishments"]] += sel.sum()
                self._detain(pop, people[detained[sel]], NO_MEASURE, pre_months)

    def _detain(self, pop: Population, ids: np.ndarray, next_measure: int, months: int) -> None:
        if ids.shape[0] == 0:
            return
        pop.cj[ids] = PRETRIAL
        pop.cj_timer[ids] = months
        pop.next_measure[ids] = next_measure
        pop.measure[ids] = NO_MEASURE

    def _failures(self, pop: Population, ids: np.ndarray, month: int, day: date,
                  counters: np.ndarray, occ: np.ndarray) -> None:
        """A failed measure leads where the pack's practice says: back to the community, to
        prosecution and court, or to prison (`measure_failure_to`)."""
        if ids.shape[0] == 0:
            return
        route = self.practice.failure_to[np.maximum(pop.measure[ids], 0)]
        route[pop.measure[ids] < 0] = 0
        pop.measure[ids] = NO_MEASURE
        early = ids[route == 1]
        if early.shape[0]:
            batch = facts_batch(pop, early, month, self.key, self.practice)
            u, _ = uniforms(self.key, early, month, S_PROSECUTION)
            final = np.full(early.shape[0], NO_SANCTION, dtype=np.int64)
            self._prosecute(pop, early, batch, np.ones(early.shape[0], dtype=bool), u, final,
                            month, day, counters, occ)
        revoked = ids[route == 2]
        self._imprison(pop, revoked, self._sentence_months(pop, revoked, month), month, counters)

    def _pretrial_end(self, pop: Population, ids: np.ndarray, month: int,
                      counters: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        nxt = pop.next_measure[ids].astype(np.int64)
        pop.cj[ids] = COMMUNITY
        pop.since_release[ids] = -1
        go = nxt >= 0
        self._start_measure(pop, ids[go], nxt[go], month, counters)
        pop.next_measure[ids] = NO_MEASURE

    def _releases(self, pop: Population, ids: np.ndarray, month: int, day: date,
                  counters: np.ndarray, occ: np.ndarray) -> None:
        """Post-sentence rules at release: aftercare where open, with uptake."""
        self._post_measure(pop, ids, "release_with_aftercare", month, day, counters, occ)

    def _early_release(self, pop: Population, prisoners: np.ndarray, month: int, day: date,
                       counters: np.ndarray, occ: np.ndarray) -> None:
        """Each month, prisoners for whom early release with treatment is open may be released
        (`prisoners`: those the kernel listed as in prison this month)."""
        if not any(r.id == "early_release_with_treatment"
                   for r in self.policy.rules_in_force("post_sentence", day)):
            return
        ids = prisoners[(pop.cj[prisoners] == PRISON) & (pop.sentence_m[prisoners] < 600)]
        chosen = self._post_measure(pop, ids, "early_release_with_treatment", month, day,
                                    counters, occ, release=True)
        counters[M["prison_releases"]] += chosen.shape[0]

    def _post_measure(self, pop: Population, ids: np.ndarray, mid: str, month: int, day: date,
                      counters: np.ndarray, occ: np.ndarray, release: bool = False) -> np.ndarray:
        chosen = self._uptake(pop, ids, mid, month, S_RELEASE, 1, counters, occ)
        if release:
            pop.cj[chosen] = COMMUNITY
            pop.since_release[chosen] = -1
            pop.drug_prisoner[chosen] = 0
            pop.treatment[chosen[pop.treatment[chosen] == IN_PRISON]] = NO_TREATMENT
        self._start_measure(pop, chosen, np.full(chosen.shape[0], MI[mid]), month, counters)
        return chosen


def _diverted(pop: Population, ids: np.ndarray, counters: np.ndarray) -> None:
    """Count a diversion to an alternative, in the month's flows and in each person's record."""
    counters[M["diversions"]] += ids.shape[0]
    _bump(pop.prior_diversions, ids)


def _bump(counts: np.ndarray, ids: np.ndarray) -> None:
    """Add one to int8 counts, capped at 100."""
    if ids.shape[0]:
        counts[ids] = np.minimum(counts[ids].astype(np.int16) + 1, 100).astype(counts.dtype)


__all__ = ["Decider", "Practice", "facts_batch", "eligibility", "choose", "MEASURE_IDS",
           "PATHWAYS", "UNKNOWN"]
