"""Risk/need triage into the four Marlowe quadrants (HR/HN, LR/HN, HR/LN, LR/LN).

Our own quadrant logic fed by public instruments (RANT is commercial; domain-rules.md §2.3 and the
proposal in §6.2), with every cut-off data a pack may change (`TriageConfig`, a pack's `triage:`).

Need is high when any of (defaults; each may be switched off with null in a pack):
  - ASSIST SSI >= 27 for any substance other than tobacco and alcohol (WHO "high risk" band);
  - DAST-10 score >= 6 ("substantial" or "severe": intensive assessment);
  - DSM-5 criteria count >= 4 (moderate or severe use disorder);
  - AUDIT score >= 20 (zone IV, "dependence likely"; the score, not the override zone);
  - injecting drug use in the past 3 months (ASSIST Q8, or the stated `screening.injecting`);
  - a stated `screening.disorder` of at least `disorder_min` (moderate).
CRAFFT, CAGE-AID and UNCOPE are screeners: a positive result calls for assessment but does not by
itself show high need, so by default they do not count (a pack may set `*_score_min`).

Risk is high when the PSA NCA scaled score is >= 4 [U threshold, §6.2], or when at least 2 of the
prognostic indicators in `INDICATORS` hold. A fact that is missing is unknown: risk is unknown
(None) when the unknown indicators could still reach the minimum, and need is unknown when no
screening result or stated fact bears on it. Nothing unknown is assumed low.

Disorder is the DSM-5 severity when a DSM-5 count is given; else a stated `screening.disorder`;
else mapped conservatively (never above what the screen can show) from:
  DAST-10 moderate (3-5) -> mild, substantial (6-8) -> moderate, severe (9-10) -> severe;
  ASSIST drug SSI moderate (4-26) -> mild, high (27+) -> moderate;
  AUDIT zone by score III (harmful) -> mild, IV (dependence likely) -> moderate;
taking the highest; "none" when the screens given show none, unknown (None) when none was given.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from divert.advice.screening import (
    ASSIST_DRUGS,
    INSTRUMENTS,
    ScreeningResult,
)
from divert.advice.wording import Figure, Joined, Message, Value, ngettext, pgettext, text
from divert.errors import InputError
from divert.i18n import N_
from divert.law.cutoffs import INDICATORS as INDICATORS  # re-exported: the indicators triage reads
from divert.law.cutoffs import NeedCutoffs, RiskCutoffs
from divert.law.cutoffs import TriageConfig as TriageConfig  # the pack's `triage:`, re-exported
from divert.law.vocabulary import DISORDER_LEVELS, LEVELS

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, ">": operator.gt, ">=": operator.ge,
}
_DISORDER_RANK = {level: i for i, level in enumerate(DISORDER_LEVELS)}
#: each finding in words (the command line's catalogue translates them: see i18n.extraction)
FINDINGS = {("need", "low"): N_("need low"), ("need", "high"): N_("need high"),
            ("need", "unknown"): N_("need unknown"), ("risk", "low"): N_("risk low"),
            ("risk", "high"): N_("risk high"), ("risk", "unknown"): N_("risk unknown"),
            ("disorder", "none"): N_("disorder none"), ("disorder", "mild"): N_("disorder mild"),
            ("disorder", "moderate"): N_("disorder moderate"),
            ("disorder", "severe"): N_("disorder severe"),
            ("disorder", "unknown"): N_("disorder unknown")}
#: a level alone, as what the screening would give (it agrees with need or risk)
LEVEL_WORDS = {("need", "low"): pgettext("need", "low"), ("need", "high"): pgettext("need", "high"),
               ("need", "unknown"): pgettext("need", "unknown"),
               ("risk", "low"): pgettext("risk", "low"), ("risk", "high"): pgettext("risk", "high"),
               ("risk", "unknown"): pgettext("risk", "unknown")}
#: a screening instrument's band in words (the reasons, `divert score`)
BAND_WORDS = {"none": pgettext("band", "none"), "low": pgettext("band", "low"),
              "moderate": pgettext("band", "moderate"),
              "substantial": pgettext("band", "substantial"),
              "severe": pgettext("band", "severe"), "high": pgettext("band", "high"),
              "mild": pgettext("band", "mild"), "low_risk": pgettext("band", "low_risk"),
              "hazardous": pgettext("band", "hazardous"), "harmful": pgettext("band", "harmful"),
              "dependence_likely": pgettext("band", "dependence_likely"),
              "negative": pgettext("band", "negative"), "positive": pgettext("band", "positive")}


#: the ASSIST's substances in words
SUBSTANCE_WORDS = {"tobacco": pgettext("substance", "tobacco"),
                   "alcohol": pgettext("substance", "alcohol"),
                   "cannabis": pgettext("substance", "cannabis"),
                   "cocaine": pgettext("substance", "cocaine"),
                   "amphetamines": pgettext("substance", "amphetamines"),
                   "inhalants": pgettext("substance", "inhalants"),
                   "sedatives": pgettext("substance", "sedatives"),
                   "hallucinogens": pgettext("substance", "hallucinogens"),
                   "opioids": pgettext("substance", "opioids"),
                   "other": pgettext("substance", "other")}


def _substance(name: str) -> Any:
    return Message(SUBSTANCE_WORDS[name], context="substance") if name in SUBSTANCE_WORDS else name


# the list separators of the reasons, as the command line's catalogue writes them (Persian "؛ ")
_SEPARATORS = (pgettext("separator", ", "), pgettext("separator", "; "))


def _band(band: str | None) -> Any:
    return Message(BAND_WORDS[band], context="band") if band in BAND_WORDS else band


#: the prognostic indicators as the reasons name them
INDICATOR_WORDS = {"age": N_("age %(value)s %(test)s %(threshold)s"),
                   "prior diversion failures": N_("prior diversion failures %(value)s %(test)s "
                                                  "%(threshold)s"),
                   "prior incarcerations": N_("prior incarcerations %(value)s %(test)s "
                                              "%(threshold)s"),
                   "prior convictions": N_("prior convictions %(value)s %(test)s %(threshold)s"),
                   "failures to appear in the past 2 years": N_(
                       "failures to appear in the past 2 years %(value)s %(test)s %(threshold)s")}
_LABELS = {"assist": "ASSIST", "dast10": "DAST-10", "audit": "AUDIT", "crafft": "CRAFFT",
           "cage_aid": "CAGE-AID", "uncope": "UNCOPE", "dsm5": "DSM-5", "psa": "PSA"}


@dataclass(frozen=True)
class Triage:
    """Risk, need, their quadrant, the disorder level, injecting, and why.

    Each is None (unknown) when nothing given shows it: triage never assumes a fact.
    """

    risk: str | None
    need: str | None
    quadrant: str | None
    disorder: str | None
    injecting: bool | None
    reasons: list[str] = field(default_factory=list)
    #: the reasons as messages (`reasons` is their English), for the command line to translate
    reason_messages: list[Message] = field(default_factory=list, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """`{"risk", "need", "quadrant", "disorder", "injecting", "reasons"}`."""
        return {"risk": self.risk, "need": self.need, "quadrant": self.quadrant,
                "disorder": self.disorder, "injecting": self.injecting,
                "reasons": list(self.reasons)}

    def as_facts(self) -> dict[str, Any]:
        """The vocabulary facts this triage sets (`triage.*`, `screening.disorder/injecting`)."""
        facts: dict[str, Any] = {"triage.risk": self.risk, "triage.need": self.need,
                                 "triage.quadrant": self.quadrant}
        if self.disorder is not None:
            facts["screening.disorder"] = self.disorder
        if self.injecting is not None:
            facts["screening.injecting"] = self.injecting
        return facts


def quadrant(risk: str | None, need: str | None) -> str | None:
    """"HR/HN", "LR/HN", "HR/LN" or "LR/LN"; None when risk or need is unknown."""
    if risk is None or need is None:
        return None
    return f"{'HR' if risk == 'high' else 'LR'}/{'HN' if need == 'high' else 'LN'}"


# --- facts ----------------------------------------------------------------------------------------


def _number(facts: Mapping[str, Any], name: str) -> float | None:
    value = facts.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{value!r} is not allowed; allowed: a number", where=name)
    return value


def _flag(facts: Mapping[str, Any], name: str) -> bool | None:
    value = facts.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise InputError(f"{value!r} is not allowed; allowed: true, false", where=name)


def _level(value: Any, where: str, allowed: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in allowed:
        return value
    raise InputError(f"{value!r} is not allowed; allowed: {', '.join(allowed)}", where=where)


def _finding(what: str, level: str, why: Any) -> Message:
    """A reason: the finding ("need low") and why ("DAST-10 score 1 < 6")."""
    return Message(N_("%(finding)s: %(why)s"), {"finding": Message(FINDINGS[(what, level)]),
                                                "why": why})


def _said(msgid: str, **params: Any) -> Message:
    return Message(msgid, params)


def _op(met: bool) -> str:
    return ">=" if met else "<"


# --- need -----------------------------------------------------------------------------------------


def _need_checks(
    results: Mapping[str, ScreeningResult], injecting: tuple[bool | None, str],
    stated: str | None, cut: NeedCutoffs,
) -> list[tuple[bool, Message]]:
    """Each need criterion that could be checked: (met, description)."""
    checks: list[tuple[bool, Message]] = []
    assist = results.get("assist")
    if assist is not None and assist.substances:
        for name, s in assist.substances.items():
            minimum = (cut.assist_drug_score_min if name in ASSIST_DRUGS
                       else cut.assist_alcohol_score_min if name == "alcohol" else None)
            if minimum is not None:
                met = s.score >= minimum
                checks.append((met, _said(N_("ASSIST %(substance)s score %(score)s %(test)s "
                                             "%(minimum)s"), substance=_substance(name),
                                          score=Figure(s.score), test=_op(met),
                                          minimum=Figure(minimum))))
    single = (("dast10", cut.dast10_score_min, "score"),
              ("dsm5", cut.dsm5_criteria_min, "criteria"),
              ("audit", cut.audit_score_min, "score"),
              ("crafft", cut.crafft_score_min, "score"),
              ("cage_aid", cut.cage_aid_score_min, "score"),
              ("uncope", cut.uncope_score_min, "score"))
    for name, minimum, what in single:
        result = results.get(name)
        if result is not None and minimum is not None and result.score is not None:
            met = result.score >= minimum
            checks.append((met, _said(N_("%(instrument)s score %(score)s %(test)s %(minimum)s")
                                      if what == "score" else
                                      N_("%(instrument)s criteria %(score)s %(test)s %(minimum)s"),
                                      instrument=_LABELS[name], score=Figure(result.score),
                                      test=_op(met), minimum=Figure(minimum))))
    value, source = injecting
    if cut.injecting and value is not None:
        checks.append((value, _said(N_("injecting drug use in the past 3 months (%(source)s)")
                                    if value else
                                    N_("no injecting drug use in the past 3 months (%(source)s)"),
                                    source=source)))
    if cut.disorder_min is not None and stated is not None:
        met = _DISORDER_RANK[stated] >= _DISORDER_RANK[cut.disorder_min]
        checks.append((met, _said(N_("disorder '%(level)s' (screening.disorder) %(test)s "
                                     "%(minimum)s"), level=stated, test=_op(met),
                                  minimum=cut.disorder_min)))
    return checks


# --- risk -----------------------------------------------------------------------------------------


def _indicators(
    facts: Mapping[str, Any], cut: RiskCutoffs
) -> tuple[list[Message], list[str]]:
    """The prognostic indicators that hold (described) and the facts that are unknown."""
    held: list[Message] = []
    unknown: list[str] = []

    def number(name: str, label: str, test: str, threshold: float) -> None:
        value = _number(facts, name)
        if value is None:
            unknown.append(name)
        elif _COMPARE[test](value, threshold):
            held.append(_said(INDICATOR_WORDS[label], value=Value(value), test=test,
                              threshold=Value(threshold)))

    for indicator in cut.indicators:
        if indicator == "young_age":
            number("person.age", "age", "<", cut.young_age_below)
        elif indicator == "prior_diversion_failures":
            number("history.prior_diversion_failures", "prior diversion failures", ">", 0)
        elif indicator == "prior_incarcerations":
            number("history.prior_incarcerations", "prior incarcerations", ">", 0)
        elif indicator == "prior_convictions":
            number("history.prior_convictions", "prior convictions", ">=",
                   cut.prior_convictions_min)
        elif indicator == "fta_past_2_years":
            number("history.fta_past_2_years", "failures to appear in the past 2 years", ">", 0)
        elif indicator == "pending_charge":
            pending = _flag(facts, "history.pending_charge")
            if pending is None:
                unknown.append("history.pending_charge")
            elif pending:
                held.append(Message(N_("pending charge")))
    return held, unknown


def _risk_checks(
    results: Mapping[str, ScreeningResult], facts: Mapping[str, Any], cut: RiskCutoffs
) -> list[tuple[bool | None, Message]]:
    """Each risk criterion that could be checked: (met, description); met is None when unknown
    facts could still make the prognostic indicators reach their minimum."""
    checks: list[tuple[bool | None, Message]] = []
    psa = results.get("psa")
    if psa is not None and psa.nca is not None and psa.fta is not None:
        for label, scale, minimum in (("NCA", psa.nca, cut.psa_nca_scaled_min),
                                      ("FTA", psa.fta, cut.psa_fta_scaled_min)):
            if minimum is not None:
                above = scale.scaled >= minimum
                checks.append((above, _said(N_("PSA %(scale)s scaled %(score)s %(test)s "
                                               "%(minimum)s"), scale=label,
                                            score=Figure(scale.scaled), test=_op(above),
                                            minimum=Figure(minimum))))
        if cut.psa_nvca_flag:
            checks.append((bool(psa.nvca_flag),
                           Message(N_("PSA NVCA violence flag raised") if psa.nvca_flag
                                   else N_("PSA NVCA violence flag not raised"))))
    if cut.prognostic_indicators_min is not None:
        held, unknown = _indicators(facts, cut)
        n, minimum = len(held), cut.prognostic_indicators_min
        met: bool | None = n >= minimum
        if not met and n + len(unknown) >= minimum:
            met = None
        sign = {True: ">=", False: "<", None: Message(N_("< (perhaps >=)"))}[met]
        said: Message = ngettext("%(count)s prognostic indicator %(test)s %(minimum)s",
                                 "%(count)s prognostic indicators %(test)s %(minimum)s", n,
                                 count=Value(n), test=sign, minimum=Figure(minimum))
        if held:
            said = _said(N_("%(indicators)s (%(held)s)"), indicators=said,
                         held=Joined(held, "; "))
        if unknown:
            said = _said(N_("%(indicators)s; unknown: %(facts)s"), indicators=said,
                         facts=", ".join(unknown))
        checks.append((met, said))
    return checks


# --- disorder -------------------------------------------------------------------------------------


def _mapped_disorder(results: Mapping[str, ScreeningResult]) -> tuple[str | None, Message]:
    """The conservative disorder level shown by DAST-10, ASSIST and AUDIT, and why."""
    found: list[tuple[str, Message]] = []
    dast = results.get("dast10")
    if dast is not None and dast.band is not None:
        level = {"moderate": "mild", "substantial": "moderate", "severe": "severe"}.get(
            dast.band, "none")
        found.append((level, _said(N_("DAST-10 score %(score)s (%(band)s)"),
                                   score=Figure(dast.score), band=_band(dast.band))))
    assist = results.get("assist")
    if assist is not None and assist.substances:
        drugs = [(s.score, n, s.band) for n, s in assist.substances.items() if n in ASSIST_DRUGS]
        if drugs:
            top, name, band = max(drugs)
            level = {"moderate": "mild", "high": "moderate"}.get(band, "none")
            found.append((level, _said(N_("ASSIST %(substance)s score %(score)s (%(band)s risk)"),
                                       substance=_substance(name), score=Figure(top),
                                       band=_band(band))))
    audit = results.get("audit")
    if audit is not None and audit.zone_by_score is not None:
        level = {3: "mild", 4: "moderate"}.get(audit.zone_by_score, "none")
        found.append((level, _said(N_("AUDIT score %(score)s (zone %(zone)s by score)"),
                                   score=Figure(audit.score), zone=Value(audit.zone_by_score))))
    if not found:
        return None, _finding("disorder", "unknown",
                              Message(N_("no DSM-5, DAST-10, ASSIST or AUDIT result")))
    level, why = max(found, key=lambda f: _DISORDER_RANK[f[0]])
    if level == "none":
        return "none", _finding("disorder", "none", Joined([w for _, w in found], "; "))
    return level, _finding("disorder", level,
                           _said(N_("mapped conservatively from %(source)s"), source=why))


# --- the triage -----------------------------------------------------------------------------------


def assess_triage(
    results: Mapping[str, ScreeningResult],
    facts: Mapping[str, Any],
    config: TriageConfig | None = None,
    need: str | None = None,
    risk: str | None = None,
) -> Triage:
    """Triage one person from scored screening results and case facts (vocabulary names).

    `need`/`risk` given directly override the computed ones; the reasons say "given".
    """
    config = config or TriageConfig()
    for key, result in results.items():
        if key not in INSTRUMENTS:
            raise InputError(f"unknown instrument; allowed: {', '.join(INSTRUMENTS)}",
                             where=f"screening.{key}")
        if not isinstance(result, ScreeningResult) or result.instrument != key:
            raise InputError("expected the ScreeningResult of this instrument",
                             where=f"screening.{key}")
    if need is not None:
        need = _level(need, "need", LEVELS)
    if risk is not None:
        risk = _level(risk, "risk", LEVELS)
    stated = facts.get("screening.disorder")
    if stated is not None:
        stated = _level(stated, "screening.disorder", DISORDER_LEVELS)
    reasons: list[Message] = []

    # injecting: ASSIST Q8 first, else the stated fact
    assist = results.get("assist")
    injecting: bool | None = None
    source = ""
    if assist is not None and assist.injecting is not None:
        injecting, source = assist.injecting, "ASSIST Q8"
    else:
        injecting, source = _flag(facts, "screening.injecting"), "screening.injecting"

    need_checks = _need_checks(results, (injecting, source), stated, config.need_high)
    computed_need: str | None = ("high" if any(met for met, _ in need_checks)
                                 else "low" if need_checks else None)
    nothing = (Message(N_("no screening result given")) if not results else
               _said(N_("no need cut-off applies to the results given (%(instruments)s)"),
                     instruments=", ".join(_LABELS[k] for k in results)))
    reasons += _level_reasons("need", need, computed_need, need_checks, nothing)

    risk_checks = _risk_checks(results, facts, config.risk_high)
    # a PSA result scores the same history (priors, failures to appear, pending charge), so with
    # one the unknown indicators do not leave risk unknown; without one they may
    psa_checked = any(text(said).startswith("PSA ") for _, said in risk_checks)
    computed_risk: str | None = (
        "high" if any(met for met, _ in risk_checks)
        else "low" if risk_checks and (psa_checked or all(met is False for met, _ in risk_checks))
        else None)
    reasons += _level_reasons("risk", risk, computed_risk, risk_checks,
                              Message(N_("no PSA result and prognostic indicators switched off")))

    dsm5 = results.get("dsm5")
    disorder: str | None
    if dsm5 is not None and dsm5.band is not None:
        disorder = dsm5.band
        reasons.append(_finding("disorder", disorder,
                                _said(N_("DSM-5 criteria %(score)s"), score=Figure(dsm5.score))))
    elif stated is not None:
        disorder = stated
        reasons.append(_finding("disorder", disorder,
                                Message(N_("given (screening.disorder)"))))
    else:
        disorder, why = _mapped_disorder(results)
        reasons.append(why)

    final_need = need or computed_need
    final_risk = risk or computed_risk
    return Triage(risk=final_risk, need=final_need, quadrant=quadrant(final_risk, final_need),
                  disorder=disorder, injecting=injecting, reasons=[text(r) for r in reasons],
                  reason_messages=reasons)


def _level_reasons(
    what: str, given: str | None, computed: str | None,
    checks: Sequence[tuple[bool | None, Message]], nothing: Message,
) -> list[Message]:
    """Reasons for one level: the criteria met when high, every criterion checked otherwise."""
    if given is not None:
        if given == computed:
            return [_finding(what, given, Message(N_("given")))]
        alone = computed or "unknown"
        return [_finding(what, given, _said(
            N_("given (the screening and facts alone would give %(level)s)"),
            level=Message(LEVEL_WORDS[(what, alone)], context=what)))]
    if computed == "high":
        return [_finding(what, "high", said) for met, said in checks if met]
    level = computed or "unknown"
    if not checks:
        return [_finding(what, level, nothing)]
    return [_finding(what, level, said) for _, said in checks]


# --- the triage of many people at once ------------------------------------------------------------


def triage_batch(config: TriageConfig, batch: Mapping[str, Any], size: int) -> dict[str, Any]:
    """`triage.risk`, `triage.need` and `triage.quadrant` codes for a batch of people described
    by vocabulary facts alone (no screening instrument), with the pack's cut-offs.

    The same criteria `assess_triage` applies to one case without screening results: need from
    the stated disorder (`disorder_min`) and injecting, risk from the prognostic indicators; a
    missing fact is unknown and not counted. The simulation calls it so that its people are
    triaged as the advice would triage them.
    """
    import numpy as np

    from divert.law.rules import TRUE
    from divert.law.vocabulary import QUADRANTS

    need_cut, risk_cut = config.need_high, config.risk_high
    need = np.zeros(size, dtype=bool)
    if need_cut.injecting and "screening.injecting" in batch:
        need |= np.asarray(batch["screening.injecting"]) == TRUE
    if need_cut.disorder_min is not None and "screening.disorder" in batch:
        level = np.asarray(batch["screening.disorder"])
        need |= level >= _DISORDER_RANK[need_cut.disorder_min]
    risk = np.zeros(size, dtype=bool)
    if risk_cut.prognostic_indicators_min is not None:
        held = np.zeros(size, dtype=np.int64)

        def number(name: str) -> Any:
            value = batch.get(name)
            return np.full(size, np.nan) if value is None else np.asarray(value, dtype=float)

        with np.errstate(invalid="ignore"):
            for indicator in risk_cut.indicators:
                if indicator == "young_age":
                    held += number("person.age") < risk_cut.young_age_below
                elif indicator == "prior_diversion_failures":
                    held += number("history.prior_diversion_failures") > 0
                elif indicator == "prior_incarcerations":
                    held += number("history.prior_incarcerations") > 0
                elif indicator == "prior_convictions":
                    held += number("history.prior_convictions") >= risk_cut.prior_convictions_min
                elif indicator == "fta_past_2_years":
                    held += number("history.fta_past_2_years") > 0
                elif indicator == "pending_charge":
                    pending = batch.get("history.pending_charge")
                    if pending is not None:
                        held += np.asarray(pending) == TRUE
        risk = held >= risk_cut.prognostic_indicators_min
    quadrant = np.where(risk, np.where(need, 0, 2), np.where(need, 1, 3))
    assert QUADRANTS == ("HR/HN", "LR/HN", "HR/LN", "LR/LN")
    return {"triage.risk": risk.astype(np.int16), "triage.need": need.astype(np.int16),
            "triage.quadrant": quadrant.astype(np.int16)}
