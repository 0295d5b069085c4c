"""Advice on one case: which measures the law opens at each stage, why, and which fits the person.

`decide(case, policy, stage, date)` evaluates the pack's compiled rules on a batch of one case through
`Policy.evaluate`, the same path the simulation uses for millions, then traces each condition for the
reasons and recommends an eligible alternative that fits the risk/need quadrant. Coercive measures
are reported as facts of the law and never recommended; an alternative that needs consent is not
recommended until consent is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from divert.advice.case import Case
from divert.advice.screening import ScreeningCutoffs, ScreeningResult, score_all
from divert.advice.triage import Triage, TriageConfig, assess_triage
from divert.advice.wording import Day, Joined, Label, Message, Value, text
from divert.errors import InputError
from divert.i18n import DEFAULT, N_
from divert.law.catalogue import CATALOGUE, Measure
from divert.law.policy import LegalBasis, LexMitiorSpec, Policy, Rule, basis_at
from divert.law.rules import TraceStep, encode_batch, truth_value
from divert.law.vocabulary import STAGES


@dataclass
class MeasureAdvice:
    """One measure at one stage for one case: open or not, why, under which law."""

    id: str
    label: str
    kind: str
    eligible: bool
    status: str  # eligible | not_eligible | undetermined
    consent_required: bool
    discretionary: bool
    reasons: list[str]
    citations: list[str]
    legal_basis: list[dict[str, Any]]
    trace: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    superseded_by: str | None = None
    projection: dict[str, Any] | None = None  # simulated outcomes (divert.simulation.projection), if asked
    reason_messages: list[Message] = field(default_factory=list, repr=False)  # reasons, to translate

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "label": self.label, "kind": self.kind, "eligible": self.eligible,
            "status": self.status, "consent_required": self.consent_required,
            "discretionary": self.discretionary, "reasons": self.reasons,
            "citations": self.citations, "legal_basis": self.legal_basis, "trace": self.trace,
            "missing": self.missing, "superseded_by": self.superseded_by,
            **({"projection": self.projection} if self.projection is not None else {}),
        }


@dataclass
class StageAdvice:
    """The advice at one stage: every measure in force, the recommendation and notes."""

    stage: str
    date: date
    measures: list[MeasureAdvice]
    recommended: str | None
    seek_consent_for: str | None = None
    notes: list[str] = field(default_factory=list)
    projection_reference: dict[str, Any] | None = None  # the conventional path, if projected
    note_messages: list[Message] = field(default_factory=list, repr=False)  # notes, to translate

    @property
    def eligible(self) -> list[str]:
        return [m.id for m in self.measures if m.eligible]

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage, "recommended": self.recommended,
            "seek_consent_for": self.seek_consent_for, "notes": self.notes,
            "measures": [m.to_json() for m in self.measures],
            **({"projection_reference": self.projection_reference}
               if self.projection_reference is not None else {}),
        }


@dataclass
class Advice:
    """The advice on a case under one jurisdiction on one date, stage by stage."""

    jurisdiction: str
    date: date
    pack_hash: str
    triage: Triage
    screening: dict[str, ScreeningResult]
    stages: list[StageAdvice]

    def stage(self, name: str) -> StageAdvice:
        return next(s for s in self.stages if s.stage == name)

    def to_json(self) -> dict[str, Any]:
        from divert import __version__

        return {
            "jurisdiction": self.jurisdiction,
            "date": self.date.isoformat(),
            "triage": self.triage.to_json(),
            "screening": {k: v.to_json() for k, v in self.screening.items()},
            "stages": [s.to_json() for s in self.stages],
            "stamp": {"divert": __version__, "pack": self.jurisdiction,
                      "pack_hash": self.pack_hash},
        }


@dataclass(frozen=True)
class Prepared:
    """A case made ready for the rules: its flat facts, screening results and triage."""

    facts: dict[str, Any]
    screening: dict[str, ScreeningResult]
    triage: Triage


def prepare(case: Case, policy: Policy) -> Prepared:
    """Score the case's screening, triage it with the pack's cut-offs, and flatten its facts."""
    cutoffs = ScreeningCutoffs.model_validate(policy.meta.screening or {})
    results = score_all(case.screening, cutoffs)
    facts = case.facts()
    if case.disorder is not None:
        facts["screening.disorder"] = case.disorder
    if case.injecting is not None:
        facts["screening.injecting"] = case.injecting
    config = TriageConfig.model_validate(policy.meta.triage or {})
    triage = assess_triage(results, facts, config, need=case.need, risk=case.risk)
    facts["screening.disorder"] = case.disorder or triage.disorder
    facts["screening.injecting"] = triage.injecting
    facts["triage.risk"] = triage.risk
    facts["triage.need"] = triage.need
    facts["triage.quadrant"] = triage.quadrant
    return Prepared(facts, results, triage)


def _basis_json(lb: LegalBasis) -> dict[str, Any]:
    out = lb.plain(mode="json", by_alias=True, exclude={"in_force"})
    if lb.in_force.start or lb.in_force.end:
        out["in_force"] = lb.in_force.model_dump(mode="json", by_alias=True)
    return out


_WHEN = {True: N_("met: %(condition)s"), False: N_("not met: %(condition)s"),
         None: N_("unknown: %(condition)s")}
_UNLESS = {True: N_("excluded by: %(condition)s"), False: N_("no exclusion: %(condition)s"),
           None: N_("exclusion unknown: %(condition)s")}


def _reasons(rule: Rule, when: list[TraceStep], unless: list[TraceStep]) -> list[Message]:
    out = [Message(_WHEN[step.holds], {"condition": _describe(step)}) for step in when]
    out += [Message(_UNLESS[step.holds], {"condition": _describe(step)}) for step in unless]
    if not when and not unless:
        out.append(Message(N_("open without conditions under the law cited")))
    return out


def _describe(step: TraceStep) -> Message | str:
    values = Joined([Message(N_("%(field)s = %(value)s"), {"field": k, "value": Value(v)})
                     for k, v in step.values.items()])
    if step.label:
        what = {"label": Label(step.label), "condition": step.condition}
        if step.values:
            return Message(N_("%(label)s [%(condition)s] (%(values)s)"), what | {"values": values})
        return Message(N_("%(label)s [%(condition)s]"), what)
    if step.values:
        return Message(N_("%(condition)s (%(values)s)"),
                       {"condition": step.condition, "values": values})
    return step.condition


def _bar_reason(bar_label: str, bar_id: str, holds: bool | None, shown: list[Message | str],
                ) -> Message:
    what: dict[str, Any] = {"bar": Label(bar_label), "id": bar_id}
    if shown:
        msgid = (N_("barred by %(bar)s [bar %(id)s]: %(details)s") if holds
                 else N_("perhaps barred by %(bar)s [bar %(id)s]: %(details)s"))
        return Message(msgid, what | {"details": Joined(shown, "; ")})
    return Message(N_("barred by %(bar)s [bar %(id)s]") if holds
                   else N_("perhaps barred by %(bar)s [bar %(id)s]"), what)


_SUPERSEDED = {
    (True, False): N_("superseded: %(measure)s is open and takes precedence (%(law)s)"),
    (False, False): N_("superseded: %(measure)s is possibly open and takes precedence (%(law)s)"),
    (True, True): N_("superseded: %(measure)s is open if the person consents and takes "
                     "precedence (%(law)s)"),
    (False, True): N_("superseded: %(measure)s is possibly open if the person consents and takes "
                      "precedence (%(law)s)"),
}


def fit_key(measure: Measure, index: int, need: str | None,
            risk: str | None) -> tuple[int, int, int, int]:
    """Sort key of a candidate for the quadrant: distance to the target intensities, then ties.

    Target treatment is 3 for high need and 0 for low, target supervision 3 for high risk and 0
    for low (Marlowe's four tracks). Ties go to more treatment for high need and less for low,
    so a higher need never yields a less treatment-intensive recommendation. An unknown need or
    risk is not assumed low: it ranks the least intensive measure first (the least restrictive
    alternative), and `fits` does not exclude anything on its account.
    """
    t_target = 3 if need == "high" else 0
    s_target = 3 if risk == "high" else 0
    fit = -abs(measure.treatment - t_target) - abs(measure.supervision - s_target)
    t_tie = measure.treatment if need == "high" else -measure.treatment
    s_tie = measure.supervision if risk == "high" else -measure.supervision
    return (fit, t_tie, s_tie, -index)


def fits(measure: Measure, need: str | None, risk: str | None) -> bool:
    """Whether a measure suits the quadrant at all (risk-need-responsivity).

    Intensive treatment (intensity 2+) does not fit low need, and the most intensive supervision
    (3: treatment court, custody) does not fit low risk: low-risk, low-need people have most to
    lose from them (Marlowe 2012, NDCI Fact Sheet VII(2); domain-rules.md 2.2-2.3).
    """
    if need == "low" and measure.treatment >= 2:  # unknown need or risk excludes nothing
        return False
    return not (risk == "low" and measure.supervision >= 3)


def recommend(measures: list[MeasureAdvice], need: str | None, risk: str | None,
              consent: bool | None, catalogue: Mapping[str, Measure] | None = None,
              ) -> tuple[str | None, str | None]:
    """The recommended measure and, if the best fit awaits consent, that measure's id
    (`catalogue`: the pack's measures, the shared catalogue by default)."""
    catalogue = catalogue or CATALOGUE
    candidates = [(i, m) for i, m in enumerate(measures)
                  if m.eligible and m.kind == "alternative" and catalogue[m.id].recommendable
                  and fits(catalogue[m.id], need, risk)]
    if not candidates:
        return None, None

    def best(pool: list[tuple[int, MeasureAdvice]]) -> MeasureAdvice | None:
        if not pool:
            return None
        return max(pool, key=lambda p: fit_key(catalogue[p[1].id], p[0], need, risk))[1]

    top = best(candidates)
    assert top is not None
    if consent is True or not top.consent_required:
        return top.id, None
    fallback = best([c for c in candidates if not c[1].consent_required])
    return (fallback.id if fallback else None), top.id


def decide_prepared(prepared: Prepared, policy: Policy, stage: str, day: date) -> StageAdvice:
    """Stage advice for a prepared case (see `decide`)."""
    if stage not in STAGES:
        raise InputError(f"unknown stage {stage!r}; allowed: {', '.join(STAGES)}")
    batch = encode_batch([prepared.facts])
    truth = policy.evaluate(stage, day, batch, 1)
    params = policy.params_at(day)
    rules = policy.rules_in_force(stage, day)
    measures: list[MeasureAdvice] = []
    for rule in rules:
        code = int(truth[rule.id][0])
        when = [c.trace(batch, params) for c in rule.when]
        unless = [c.trace(batch, params) for c in rule.unless]
        reasons = _reasons(rule, when, unless)
        bases = rule.legal_basis_at(day)
        barred = []
        own_closed = any(st.holds is False for st in when) or any(st.holds for st in unless)
        for bar in ([] if own_closed else policy.bars_in_force(day, rule.id)):
            steps = [c.trace(batch, params) for c in bar.when]
            lifts = [c.trace(batch, params) for c in bar.unless]
            holds = truth_value(int(bar.evaluate(batch, params, 1)[0]))
            if holds is False:
                continue
            barred.append((bar, steps, lifts))
            shown = [_describe(st) for st in steps if st.holds is not False]
            shown += [Message(N_("not %(condition)s"), {"condition": _describe(st)})
                      for st in lifts if st.holds is not True]
            reasons.append(_bar_reason(bar.spec.label, bar.id, holds, shown))
            bases = [*bases, *basis_at(bar.spec.legal_basis, day)]
        superseded = None
        for other in rules:
            strength = int(policy.precedence_strength(other, truth[other.id], batch, 1)[0])
            if rule.id in other.spec.precedence_over and strength != 0:
                superseded = other.id
                key = (bool(truth_value(int(truth[other.id][0]))),
                       bool(other.needs_consent and strength == 1))
                reasons.append(Message(_SUPERSEDED[key], {
                    "measure": other.id, "law": Joined(other.citations, "; ")}))
        bar_steps = [st for _, steps, lifts in barred for st in (*steps, *lifts)]
        missing = sorted({n for s in (*when, *unless, *bar_steps) for n in s.missing()})
        status = {2: "eligible", 0: "not_eligible", 1: "undetermined"}[code]
        if status == "undetermined" and missing:
            reasons.append(Message(N_("undetermined: needs %(facts)s"),
                                   {"facts": Joined(missing)}))
        measures.append(MeasureAdvice(
            id=rule.id, label=rule.label, kind=rule.measure.kind, eligible=code == 2,
            status=status, consent_required=rule.spec.consent_required,
            discretionary=rule.spec.discretionary, reasons=[text(r) for r in reasons],
            reason_messages=reasons,
            citations=[lb.citation for lb in bases],
            legal_basis=[_basis_json(lb) for lb in bases],
            trace=[s.to_json() for s in (*when, *unless, *bar_steps)], missing=missing,
            superseded_by=superseded if code == 0 else None))
    consent = prepared.facts.get("consent")
    recommended, pending = recommend(measures, prepared.triage.need, prepared.triage.risk,
                                     consent, policy.measures)
    notes = _notes(measures, recommended, pending, consent)
    unknown = tuple(w for w, v in (("need", prepared.triage.need), ("risk", prepared.triage.risk))
                    if v is None)
    if unknown and any(m.eligible and m.kind == "alternative" for m in measures):
        notes.append(Message(_UNKNOWN[unknown]))
    unfit = [m.id for m in measures if m.eligible and m.kind == "alternative"
             and not fits(policy.measures[m.id], prepared.triage.need, prepared.triage.risk)]
    if unfit:
        notes.append(Message(N_("Open but too intensive for %(quadrant)s (risk-need-"
                                "responsivity), so not recommended: %(measures)s."),
                             {"quadrant": prepared.triage.quadrant, "measures": Joined(unfit)}))
    return StageAdvice(stage, day, measures, recommended, pending, [text(n) for n in notes],
                       note_messages=notes)


_UNKNOWN = {
    ("need",): N_("Need unknown (no screening or facts show it): the least intensive eligible "
                  "alternative is ranked first; screen (e.g. DAST-10, ASSIST, PSA) to fit the "
                  "measure to the person."),
    ("risk",): N_("Risk unknown (no screening or facts show it): the least intensive eligible "
                  "alternative is ranked first; screen (e.g. DAST-10, ASSIST, PSA) to fit the "
                  "measure to the person."),
    ("need", "risk"): N_("Need and risk unknown (no screening or facts show them): the least "
                         "intensive eligible alternative is ranked first; screen (e.g. DAST-10, "
                         "ASSIST, PSA) to fit the measure to the person."),
}


def _notes(measures: list[MeasureAdvice], recommended: str | None, pending: str | None,
           consent: bool | None) -> list[Message]:
    notes = []
    if pending:
        if consent is False:
            notes.append(Message(N_("%(measure)s fits best but the person has refused consent; "
                                    "it cannot be recommended."), {"measure": pending}))
        else:
            notes.append(Message(N_("%(measure)s fits best: seek and record the person's "
                                    "informed consent before it can be recommended."),
                                 {"measure": pending}))
    coercive = [m.id for m in measures if m.kind == "coercive" and m.status != "not_eligible"]
    if coercive:
        notes.append(Message(N_("The law provides %(measures)s: coercive measures are reported "
                                "as facts of the law, never recommended."),
                             {"measures": Joined(coercive)}))
    if not any(m.eligible and m.kind == "alternative" for m in measures):
        notes.append(Message(N_("No alternative to conviction or punishment is open at this "
                                "stage.")))
    if any(m.status == "undetermined" for m in measures):
        notes.append(Message(N_("Some measures are undetermined: the case lacks facts their "
                                "rules need.")))
    if recommended is None and pending is None and any(
            m.eligible and m.kind == "alternative" for m in measures):
        notes.append(Message(N_("No eligible alternative can be recommended without consent.")))
    return notes


def decide(case: Case, policy: Policy, stage: str, day: date | None = None,
           locale: str = DEFAULT) -> StageAdvice:
    """The advice at one stage for a case under `policy` on `day` (default: the law that applies
    to the offence, see `applicable_date`), its words in `locale` (English by default)."""
    when, why = _applicable(case, policy, stage, day)
    advice = decide_prepared(prepare(case, policy), policy, stage, when)
    _note_first(advice, why)
    return localized_stage(advice, locale) if locale != DEFAULT else advice


def _note_first(advice: StageAdvice, notes: list[Message]) -> None:
    """Put the applicable-law notes first (one note in English, as `applicable_date` gives)."""
    if notes:
        advice.notes.insert(0, " ".join(text(n) for n in notes))
        advice.note_messages[:0] = notes


def localized_stage(advice: StageAdvice, locale: str) -> StageAdvice:
    """A copy of the stage advice with its labels, reasons and notes written in `locale`."""
    measures = [replace(m, label=text(Label(m.label), locale),
                        reasons=[text(r, locale) for r in m.reason_messages])
                for m in advice.measures]
    return replace(advice, measures=measures,
                   notes=[text(n, locale) for n in advice.note_messages])


def localized(advice: Advice, locale: str) -> Advice:
    """A copy of the advice written in `locale` (codes, ids and values unchanged)."""
    triage = advice.triage
    if triage.reason_messages:
        triage = replace(triage, reasons=[text(m, locale) for m in triage.reason_messages])
    return replace(advice, triage=triage,
                   stages=[localized_stage(s, locale) for s in advice.stages])


def decision_date(case: Case, day: date | None) -> date:
    """The date given, else the offence date (before any lex mitior; see `applicable_date`)."""
    if day is not None:
        return day
    if case.offence.date is not None:
        return case.offence.date
    raise InputError("date: the case has no offence.date; give --date YYYY-MM-DD")


def applicable_date(case: Case, policy: Policy, stage: str, day: date | None = None,
                    today: date | None = None) -> tuple[date, str | None]:
    """The date whose law applies at `stage`, and why when it is not the offence date.

    A date given is used as it is. Otherwise the law of the offence date applies, unless the
    pack declares a later, more lenient law (`lex_mitior` in pack.yaml) in force by `today`
    that reaches the case: one for pending cases reaches the police, prosecution and court
    stages, one for final sentences also the post-sentence stage, each only where its `when`
    conditions hold. The latest such law's date is then the decision date: the law a court
    would apply today. A law whose reach is unknown (a fact missing) is named, not applied.
    """
    when, notes = _applicable(case, policy, stage, day, today)
    return when, (" ".join(text(n) for n in notes) or None)


def _applicable(case: Case, policy: Policy, stage: str, day: date | None = None,
                today: date | None = None) -> tuple[date, list[Message]]:
    """`applicable_date` with its notes as messages."""
    if day is not None:
        return day, []
    offence = decision_date(case, None)
    today = today or date.today()
    batch = encode_batch([prepare(case, policy).facts])
    applies: list[LexMitiorSpec] = []
    perhaps: list[LexMitiorSpec] = []
    for compiled in policy.lex_mitior:
        spec = compiled.spec
        if not (offence < spec.start <= today):
            continue
        if stage == "post_sentence" and spec.applies_to != "final":
            continue
        code = compiled.reaches(batch, policy.params_at(spec.start))
        (applies if code == 2 else perhaps if code == 1 else []).append(spec)
    notes = [Message(N_("Lex mitior: %(law)s (in force %(start)s) may apply to this offence; the "
                        "case lacks the facts that decide it, so the law of the offence date is "
                        "applied."), {"law": Label(spec.law), "start": Day(spec.start)})
             for spec in perhaps]
    if not applies:
        return offence, notes
    law = max(applies, key=lambda x: x.start)
    cited = Joined([lb.citation for lb in basis_at(law.legal_basis, law.start)], "; ")
    msgid = (N_("Lex mitior: the offence was committed on %(offence)s, but %(law)s (in force "
                "%(start)s) applies to pending cases (%(cited)s); the law of %(start)s is "
                "applied.") if law.applies_to == "pending" else
             N_("Lex mitior: the offence was committed on %(offence)s, but %(law)s (in force "
                "%(start)s) applies to pending cases and final sentences (%(cited)s); the law of "
                "%(start)s is applied."))
    return law.start, [Message(msgid, {"offence": Day(offence), "law": Label(law.law),
                                       "start": Day(law.start), "cited": cited})]


def advise(case: Case, policy: Policy, stages: list[str] | None = None,
           day: date | None = None, today: date | None = None, locale: str = DEFAULT) -> Advice:
    """Advice for every requested stage (default all four, in order), each under the law that
    applies to it (`applicable_date`), its words in `locale` (English by default)."""
    prepared = prepare(case, policy)
    chosen = stages or list(STAGES)
    out = []
    for s in chosen:
        when, why = _applicable(case, policy, s, day, today)
        advice = decide_prepared(prepared, policy, s, when)
        _note_first(advice, why)
        out.append(advice)
    main = next((a for a in out if a.stage != "post_sentence"), out[0])
    advice_ = Advice(policy.code, main.date, policy.hash, prepared.triage, prepared.screening, out)
    return localized(advice_, locale) if locale != DEFAULT else advice_
