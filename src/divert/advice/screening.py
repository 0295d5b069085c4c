"""Screening instruments, scored exactly as their manuals say.

`score(instrument, responses, cutoffs)` checks one instrument's item responses (skip logic enforced,
impossible answers refused, unknown keys refused) and returns a `ScreeningResult`. Bad input raises
`InputError` with one line that names the field and what is allowed.

Item scores and skip logic are the instruments' own and are fixed here; the cut-offs that turn a
score into a band are data a pack may change (`ScreeningCutoffs`, the pack's `screening:` mapping).
Sources are in /work/shared/reference/domain-rules.md, sections 1 and 2.1, and beside each table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from divert.errors import DivertError, InputError
from divert.law.cutoffs import AssistCutoffs, show_value
from divert.law.cutoffs import ScreeningCutoffs as ScreeningCutoffs  # the pack's `screening:`, re-exported

INSTRUMENTS: tuple[str, ...] = (
    "assist", "dast10", "audit", "crafft", "cage_aid", "uncope", "dsm5", "psa",
)

# --- WHO ASSIST v3.0 item scores (PMC4983530 Table 1; WHO v3.0 form) ------------------------------
ASSIST_SUBSTANCES: tuple[str, ...] = (
    "tobacco", "alcohol", "cannabis", "cocaine", "amphetamines", "inhalants", "sedatives",
    "hallucinogens", "opioids", "other",
)
#: substances whose SSI counts as a drug score (not tobacco, not alcohol)
ASSIST_DRUGS: tuple[str, ...] = tuple(
    s for s in ASSIST_SUBSTANCES if s not in ("tobacco", "alcohol")
)
ASSIST_FREQUENCY: tuple[str, ...] = ("never", "once_or_twice", "monthly", "weekly", "daily")
ASSIST_EVER: tuple[str, ...] = ("no", "yes_past_3_months", "yes_not_past_3_months")
_ASSIST_FREQUENCY_POINTS: dict[str, tuple[int, ...]] = {
    "q2": (0, 2, 3, 4, 6),
    "q3": (0, 3, 4, 5, 6),
    "q4": (0, 4, 5, 6, 7),
    "q5": (0, 5, 6, 7, 8),
}
_ASSIST_EVER_POINTS: tuple[int, ...] = (0, 6, 3)  # Q6, Q7: no / yes, past 3 months / yes, earlier

# --- PSA raw -> scaled (advancingpretrial.org PSA factors; cnxtech/psa-check formula) -------------
PSA_FTA_SCALE: dict[int, int] = {0: 1, 1: 2, 2: 3, 3: 4, 4: 4, 5: 5, 6: 5, 7: 6}
PSA_NCA_SCALE: dict[int, int] = {
    0: 1, 1: 2, 2: 2, 3: 3, 4: 3, 5: 4, 6: 4, 7: 5, 8: 5, 9: 6, 10: 6, 11: 6, 12: 6, 13: 6,
}

AUDIT_BANDS: tuple[str, ...] = ("low_risk", "hazardous", "harmful", "dependence_likely")
DAST10_BANDS: tuple[str, ...] = ("none", "low", "moderate", "substantial", "severe")
DSM5_BANDS: tuple[str, ...] = ("none", "mild", "moderate", "severe")
ASSIST_BANDS: tuple[str, ...] = ("low", "moderate", "high")
SCREEN_BANDS: tuple[str, ...] = ("negative", "positive")

CRAFFT_PART_A: tuple[str, ...] = ("alcohol_days", "cannabis_days", "other_days")
CRAFFT_PART_B: tuple[str, ...] = ("car", "relax", "alone", "forget", "friends", "trouble")
PSA_FACTORS: tuple[str, ...] = (
    "age", "current_violent", "pending_charge", "prior_misdemeanor", "prior_felony",
    "prior_violent_convictions", "fta_past_2_years", "fta_older", "prior_incarceration",
)


# ==================================================================================================
# Results
# ==================================================================================================


@dataclass(frozen=True)
class SubstanceScore:
    """One ASSIST substance: its Specific Substance Involvement score and risk band."""

    score: int
    band: str

    def to_json(self) -> dict[str, Any]:
        """`{"score", "band"}`."""
        return {"score": self.score, "band": self.band}


@dataclass(frozen=True)
class PsaScale:
    """A PSA scale: raw points and the 1-6 scaled score."""

    raw: int
    scaled: int

    def to_json(self) -> dict[str, int]:
        """`{"raw", "scaled"}`."""
        return {"raw": self.raw, "scaled": self.scaled}


@dataclass(frozen=True)
class ScreeningResult:
    """The scored result of one instrument; fields that do not apply to it are None."""

    instrument: str
    score: int | None = None
    band: str | None = None
    zone: int | None = None  # audit, after the override
    zone_by_score: int | None = None  # audit, before the override
    substances: dict[str, SubstanceScore] | None = None  # assist, only the substances given
    injecting: bool | None = None  # assist: Q8 yes, in the past 3 months (None: Q8 not given)
    injecting_ever: bool | None = None  # assist: Q8 yes, at any time
    fta: PsaScale | None = None
    nca: PsaScale | None = None
    nvca_raw: int | None = None
    nvca_flag: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON contract: see the module docstring of each instrument's section."""
        if self.instrument == "assist":
            substances = self.substances or {}
            return {
                "instrument": "assist",
                "substances": {name: s.to_json() for name, s in substances.items()},
                "injecting": self.injecting,
                "injecting_ever": self.injecting_ever,
            }
        if self.instrument == "psa":
            assert self.fta is not None and self.nca is not None
            return {
                "instrument": "psa",
                "fta": self.fta.to_json(),
                "nca": self.nca.to_json(),
                "nvca_flag": self.nvca_flag,
                "nvca_raw": self.nvca_raw,
            }
        out: dict[str, Any] = {"instrument": self.instrument, "score": self.score,
                               "band": self.band}
        if self.instrument == "audit":
            out["zone"] = self.zone
            out["zone_by_score"] = self.zone_by_score
            out["override_applied"] = self.zone != self.zone_by_score
        return out

    @property
    def max_drug_score(self) -> int | None:
        """ASSIST: the highest SSI of a drug (not tobacco, not alcohol); None if none given."""
        if not self.substances:
            return None
        scores = [s.score for n, s in self.substances.items() if n in ASSIST_DRUGS]
        return max(scores) if scores else None


# ==================================================================================================
# Input checking helpers
# ==================================================================================================


def _kind(value: Any) -> str:
    """The YAML-ish name of a value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _fail(where: str | None, message: str) -> NoReturn:
    raise InputError(message, where=where)


def _join(where: str | None, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _item(where: str, index: int) -> str:
    return f"{where}[{index}] (item {index + 1})"


def _mapping(
    value: Any, where: str | None, allowed: Sequence[str], required: Sequence[str] = ()
) -> Mapping[str, Any]:
    """Check a mapping: no unknown keys, all required keys present."""
    if not isinstance(value, Mapping):
        what = "a mapping of responses" if where is None else "a mapping"
        _fail(where, f"expected {what}, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            _fail(_join(where, key), f"unknown key; allowed: {', '.join(allowed)}")
    for key in required:
        if key not in value:
            _fail(_join(where, key), "missing; it is required")
    return value


def _items(value: Any, where: str, count: int) -> Sequence[Any]:
    """Check a list of exactly `count` items."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        _fail(where, f"expected a list of {count} items, got {_kind(value)}")
    if len(value) != count:
        _fail(where, f"expected {count} items, got {len(value)}")
    return value


def _yes_no(value: Any, where: str) -> bool:
    """yes/no (any case) or a YAML boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    if value is None:
        _fail(where, "missing answer; allowed: yes, no")
    _fail(where, f"{show_value(value)} is not allowed; allowed: yes, no")


def _option(value: Any, options: Sequence[str], where: str, false_as: str | None = None) -> str:
    """One of `options` (any case); YAML `false` is read as `false_as` where given."""
    if value is False and false_as is not None:
        return false_as
    if isinstance(value, str) and value.strip().lower() in options:
        return value.strip().lower()
    _fail(where, f"{show_value(value)} is not allowed; allowed: {', '.join(options)}")


def _whole(value: Any, where: str, low: int, high: int | None, note: str = "") -> int:
    """A whole number within `low`..`high` (booleans and strings refused)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= low and (high is None or value <= high):
            return value
    allowed = (f"a whole number from {low} to {high}" if high is not None
               else f"a whole number >= {low}")
    _fail(where, f"{show_value(value)} is not allowed; allowed: {allowed}{note}")


def _band(value: int, minimums: Sequence[int], bands: Sequence[str]) -> str:
    """The band of `value` given the lower bounds of bands[1:]."""
    return bands[sum(1 for m in minimums if value >= m)]


# ==================================================================================================
# Instruments
# ==================================================================================================


def _assist_substance(
    name: str, data: Any, where: str, cut: AssistCutoffs
) -> tuple[SubstanceScore, bool, bool]:
    """Score one ASSIST substance: (score, lifetime use (Q1), use in the past 3 months (Q2))."""
    questions = ("q1", "q2", "q3", "q4", "q5", "q6", "q7")
    m = _mapping(data, where, questions, ("q1",))
    lifetime = _yes_no(m["q1"], f"{where}.q1")
    answers: dict[str, str] = {}
    for q in ("q2", "q3", "q4", "q5"):
        if q in m:
            answers[q] = _option(m[q], ASSIST_FREQUENCY, f"{where}.{q}")
    for q in ("q6", "q7"):
        if q in m:
            answers[q] = _option(m[q], ASSIST_EVER, f"{where}.{q}", false_as="no")
    tobacco = name == "tobacco"
    if not lifetime:
        for q, a in answers.items():
            if a not in ("never", "no"):
                _fail(f"{where}.{q}",
                      "asked only when q1 is 'yes'; must be absent, 'never' or 'no'")
        return SubstanceScore(0, ASSIST_BANDS[0]), False, False
    if tobacco and answers.get("q5", "never") != "never":
        _fail(f"{where}.q5", "not asked for tobacco; must be absent")
    for q in ("q2", "q6", "q7"):
        if q not in answers:
            options = ASSIST_FREQUENCY if q == "q2" else ASSIST_EVER
            _fail(f"{where}.{q}",
                  f"missing (asked when q1 is 'yes'); allowed: {', '.join(options)}")
    recent = answers["q2"] != "never"
    skipped = ("q3", "q4", "q5")
    if not recent:
        for q in skipped:
            if answers.get(q, "never") != "never":
                _fail(f"{where}.{q}", "asked only when q2 is not 'never'")
    else:
        for q in skipped:
            if q not in answers and not (tobacco and q == "q5"):
                _fail(f"{where}.{q}", "missing (asked when q2 is not 'never'); allowed: "
                      + ", ".join(ASSIST_FREQUENCY))
    total = 0
    for q in ("q2", "q3", "q4", "q5"):
        if q in answers:
            total += _ASSIST_FREQUENCY_POINTS[q][ASSIST_FREQUENCY.index(answers[q])]
    for q in ("q6", "q7"):
        total += _ASSIST_EVER_POINTS[ASSIST_EVER.index(answers[q])]
    if name == "alcohol":
        band = _band(total, (cut.alcohol_moderate_min, cut.alcohol_high_min), ASSIST_BANDS)
    else:
        band = _band(total, (cut.other_moderate_min, cut.other_high_min), ASSIST_BANDS)
    return SubstanceScore(total, band), True, recent


def _assist(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """WHO ASSIST v3.0: per-substance SSI = Q2+Q3+Q4+Q5+Q6+Q7 and risk band; injecting from Q8."""
    m = _mapping(r, None, ("substances", "q8"), ("substances",))
    subs = _mapping(m["substances"], "substances", ASSIST_SUBSTANCES)
    if not subs:
        _fail("substances", "expected at least one substance; allowed: "
              + ", ".join(ASSIST_SUBSTANCES))
    scores: dict[str, SubstanceScore] = {}
    drug_ever = drug_recent = False
    for name in ASSIST_SUBSTANCES:
        if name in subs:
            s, ever, recent = _assist_substance(name, subs[name], f"substances.{name}",
                                                cut.assist)
            scores[name] = s
            if name in ASSIST_DRUGS:
                drug_ever = drug_ever or ever
                drug_recent = drug_recent or recent
    injecting = injecting_ever = None
    if "q8" in m:
        q8 = _option(m["q8"], ASSIST_EVER, "q8", false_as="no")
        if q8 != "no" and not drug_ever:
            _fail("q8", f"'{q8}' but no substance other than tobacco or alcohol has q1 'yes'")
        if q8 == "yes_past_3_months" and not drug_recent:
            _fail("q8", "'yes_past_3_months' but no substance other than tobacco or alcohol "
                  "was used in the past 3 months (q2)")
        injecting = q8 == "yes_past_3_months"
        injecting_ever = q8 != "no"
    return ScreeningResult("assist", substances=scores, injecting=injecting,
                           injecting_ever=injecting_ever)


def _dast10(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """DAST-10: 1 point per yes, except item 3 ('always able to stop') where no = 1."""
    m = _mapping(r, None, ("answers",), ("answers",))
    items = _items(m["answers"], "answers", 10)
    total = 0
    for i, value in enumerate(items):
        yes = _yes_no(value, _item("answers", i))
        total += int(not yes) if i == 2 else int(yes)
    c = cut.dast10
    band = _band(total, (c.low_min, c.moderate_min, c.substantial_min, c.severe_min),
                 DAST10_BANDS)
    return ScreeningResult("dast10", score=total, band=band)


def _audit(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """AUDIT: Q1-Q8 option 0-4 scored 0-4; Q9-Q10 option 0-2 scored 0, 2, 4; Q1=0 skips Q2-Q8."""
    m = _mapping(r, None, ("answers",), ("answers",))
    items = _items(m["answers"], "answers", 10)
    q1 = _whole(items[0], _item("answers", 0), 0, 4)
    points = [q1]
    for i in range(1, 8):
        where = _item("answers", i)
        if items[i] is None:
            if q1 != 0:
                _fail(where, "missing answer; allowed: a whole number from 0 to 4")
            points.append(0)
            continue
        value = _whole(items[i], where, 0, 4)
        if q1 == 0 and value != 0:
            _fail(where, "asked only when item 1 is not 0 (never); must be 0 or null")
        points.append(value)
    for i in (8, 9):
        option = _whole(items[i], _item("answers", i), 0, 2,
                        " (option index; scored 0, 2, 4)")
        points.append(2 * option)
    total = sum(points)
    c = cut.audit
    zone_by_score = 1 + sum(1 for x in (c.hazardous_min, c.harmful_min, c.dependence_likely_min)
                            if total >= x)
    raise_zone = c.override and (max(points[3:6]) >= 2 or points[8] == 4 or points[9] == 4)
    zone = min(4, zone_by_score + 1) if raise_zone else zone_by_score
    return ScreeningResult("audit", score=total, band=AUDIT_BANDS[zone - 1], zone=zone,
                           zone_by_score=zone_by_score)


def _crafft(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """CRAFFT 2.1: Part A days (not scored); Part B yes count; all Part A zero -> only CAR asked."""
    m = _mapping(r, None, ("part_a", "part_b"), ("part_a", "part_b"))
    a = _mapping(m["part_a"], "part_a", CRAFFT_PART_A, CRAFFT_PART_A)
    days = [_whole(a[k], f"part_a.{k}", 0, 365) for k in CRAFFT_PART_A]
    any_use = any(d > 0 for d in days)
    b = _mapping(m["part_b"], "part_b", CRAFFT_PART_B, CRAFFT_PART_B if any_use else ("car",))
    if not any_use:
        for k in CRAFFT_PART_B[1:]:
            if k in b:
                _fail(f"part_b.{k}", "asked only when a Part A answer is above 0; must be absent")
    total = sum(int(_yes_no(b[k], f"part_b.{k}")) for k in CRAFFT_PART_B if k in b)
    band = _band(total, (cut.crafft.positive_min,), SCREEN_BANDS)
    return ScreeningResult("crafft", score=total, band=band)


def _yes_count(key: str, count: int, r: Mapping[str, Any]) -> int:
    """Number of yes answers in a fixed-length yes/no list."""
    m = _mapping(r, None, (key,), (key,))
    items = _items(m[key], key, count)
    return sum(int(_yes_no(v, _item(key, i))) for i, v in enumerate(items))


def _cage_aid(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """CAGE-AID: 4 yes/no items, 1 point per yes."""
    total = _yes_count("answers", 4, r)
    return ScreeningResult("cage_aid", score=total,
                           band=_band(total, (cut.cage_aid.positive_min,), SCREEN_BANDS))


def _uncope(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """UNCOPE: 6 yes/no items, 1 point per yes."""
    total = _yes_count("answers", 6, r)
    return ScreeningResult("uncope", score=total,
                           band=_band(total, (cut.uncope.positive_min,), SCREEN_BANDS))


def _dsm5(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """DSM-5 SUD: count of the 11 criteria met; severity none/mild/moderate/severe."""
    total = _yes_count("criteria", 11, r)
    c = cut.dsm5
    return ScreeningResult("dsm5", score=total,
                           band=_band(total, (c.mild_min, c.moderate_min, c.severe_min),
                                      DSM5_BANDS))


def _flag_or_count(value: Any, where: str) -> bool:
    """A yes/no factor that also accepts a count (> 0 means yes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 0:
            return value > 0
    elif isinstance(value, (bool, str)):
        return _yes_no(value, where)
    _fail(where, f"{show_value(value)} is not allowed; allowed: yes, no or a whole number >= 0")


def _psa(r: Mapping[str, Any], cut: ScreeningCutoffs) -> ScreeningResult:
    """Public Safety Assessment (2022 manual, adults): FTA and NCA scaled 1-6, NVCA flag."""
    m = _mapping(r, None, PSA_FACTORS, PSA_FACTORS)
    age = _whole(m["age"], "age", 18, 120, " (the PSA is for adults)")
    violent = _yes_no(m["current_violent"], "current_violent")
    pending = _yes_no(m["pending_charge"], "pending_charge")
    misdemeanor = _yes_no(m["prior_misdemeanor"], "prior_misdemeanor")
    felony = _yes_no(m["prior_felony"], "prior_felony")
    prior_violent = _whole(m["prior_violent_convictions"], "prior_violent_convictions", 0, None)
    fta_recent = _whole(m["fta_past_2_years"], "fta_past_2_years", 0, None)
    fta_older = _flag_or_count(m["fta_older"], "fta_older")
    incarceration = _flag_or_count(m["prior_incarceration"], "prior_incarceration")
    conviction = misdemeanor or felony
    if prior_violent > 0 and not conviction:
        _fail("prior_violent_convictions",
              f"{prior_violent} prior violent conviction(s) but prior_misdemeanor and "
              "prior_felony are both 'no'")
    violent_points = 0 if prior_violent == 0 else (1 if prior_violent <= 2 else 2)
    fta_raw = (int(pending) + int(conviction) + (0, 2, 4)[min(fta_recent, 2)]
               + int(fta_older))
    nca_raw = (2 * int(age <= 22) + 3 * int(pending) + int(misdemeanor) + int(felony)
               + violent_points + min(fta_recent, 2) + 2 * int(incarceration))
    nvca_raw = (2 * int(violent) + int(violent and age <= 20) + int(pending) + int(conviction)
                + violent_points)
    return ScreeningResult(
        "psa",
        fta=PsaScale(fta_raw, PSA_FTA_SCALE[fta_raw]),
        nca=PsaScale(nca_raw, PSA_NCA_SCALE[nca_raw]),
        nvca_raw=nvca_raw,
        nvca_flag=nvca_raw >= cut.psa.nvca_flag_min,
    )


_SCORERS = {
    "assist": _assist,
    "dast10": _dast10,
    "audit": _audit,
    "crafft": _crafft,
    "cage_aid": _cage_aid,
    "uncope": _uncope,
    "dsm5": _dsm5,
    "psa": _psa,
}


def score(
    instrument: str, responses: Mapping[str, Any], cutoffs: ScreeningCutoffs | None = None
) -> ScreeningResult:
    """Score one instrument's responses; bad input raises a one-line `InputError`."""
    if instrument not in _SCORERS:
        _fail(None, f"unknown instrument {show_value(instrument)}; allowed: {', '.join(INSTRUMENTS)}")
    return _SCORERS[instrument](responses, cutoffs or ScreeningCutoffs())


def score_all(
    screening: Mapping[str, Any], cutoffs: ScreeningCutoffs | None = None,
    where: str = "screening",
) -> dict[str, ScreeningResult]:
    """Score a case's `screening:` block `{instrument: responses}`; errors are prefixed `where.`."""
    if not isinstance(screening, Mapping):
        _fail(where, f"expected a mapping of instrument to responses, got {_kind(screening)}")
    results: dict[str, ScreeningResult] = {}
    for name, responses in screening.items():
        if name not in _SCORERS:
            _fail(_join(where, name), f"unknown instrument; allowed: {', '.join(INSTRUMENTS)}")
        try:
            results[name] = score(name, responses, cutoffs)
        except InputError as exc:
            raise InputError(_bare(exc), where=_join(_join(where, name), exc.where)
                             if exc.where else _join(where, name)) from None
    return results


def _bare(exc: DivertError) -> str:
    """The message of an error without its `where: ` prefix."""
    text = str(exc)
    return text[len(exc.where) + 2:] if exc.where and text.startswith(exc.where + ": ") else text
