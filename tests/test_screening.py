"""Screening instruments against their manuals' scoring tables, band edges and skip logic.

Published figures carry their source in a comment; sources are listed in
/work/shared/reference/domain-rules.md sections 1 and 2.1.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from divert.advice.screening import (
    ASSIST_SUBSTANCES,
    INSTRUMENTS,
    PSA_FTA_SCALE,
    PSA_NCA_SCALE,
    ScreeningCutoffs,
    score,
    score_all,
)
from divert.errors import InputError, PackError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "screening"


def _error(instrument: str, responses: Any, cutoffs: ScreeningCutoffs | None = None) -> str:
    """The one-line message of the InputError that scoring raises."""
    with pytest.raises(InputError) as info:
        score(instrument, responses, cutoffs)
    message = str(info.value)
    assert "\n" not in message
    return message


def _load(name: str) -> Any:
    return YAML(typ="safe").load((EXAMPLES / name).read_text())


# ==================================================================================================
# General
# ==================================================================================================


def test_instruments_tuple() -> None:
    assert INSTRUMENTS == ("assist", "dast10", "audit", "crafft", "cage_aid", "uncope", "dsm5",
                           "psa")


def test_unknown_instrument() -> None:
    message = _error("foo", {})
    assert message == ("unknown instrument 'foo'; allowed: assist, dast10, audit, crafft, "
                       "cage_aid, uncope, dsm5, psa")


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_responses_must_be_a_mapping(instrument: str) -> None:
    assert "expected a mapping of responses, got a list" in _error(instrument, [1, 2])


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_unknown_top_level_key(instrument: str) -> None:
    assert "foo: unknown key; allowed:" in _error(instrument, {"foo": 1})


def test_every_instrument_has_an_example_file() -> None:
    files = [p.name for p in EXAMPLES.glob("*.yaml")]
    for instrument in INSTRUMENTS:
        assert any(f.startswith(instrument + "_") for f in files), instrument


def test_every_example_file_scores() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        instrument = next(i for i in INSTRUMENTS if path.name.startswith(i + "_"))
        result = score(instrument, _load(path.name))
        assert result.to_json()["instrument"] == instrument


def test_score_all_prefixes_errors() -> None:
    results = score_all({"dast10": _load("dast10_substantial.yaml"),
                         "psa": _load("psa_example.yaml")})
    assert set(results) == {"dast10", "psa"}
    with pytest.raises(InputError, match=r"^screening\.dast10\.answers: expected 10 items, got 2$"):
        score_all({"dast10": {"answers": ["yes", "no"]}})
    with pytest.raises(InputError, match=r"^screening\.foo: unknown instrument"):
        score_all({"foo": {}})
    with pytest.raises(InputError, match=r"^screening\.audit: expected a mapping of responses"):
        score_all({"audit": [1]})


# ==================================================================================================
# DAST-10: 1 point per yes, item 3 reversed; bands 0 / 1-2 / 3-5 / 6-8 / 9-10
# (comorbidityguidelines.org.au, Appendix W, DAST-10 scoring and interpretation)
# ==================================================================================================


def _dast_answers(target: int) -> list[str]:
    """Answers scoring exactly `target`: item 3 carries the 10th point."""
    answers = ["yes" if i < min(target, 9) else "no" for i in range(9)]
    answers.insert(2, "no" if target == 10 else "yes")  # item 3: yes = 0 points
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "none"), (1, "low"), (2, "low"), (3, "moderate"), (5, "moderate"), (6, "substantial"),
     (8, "substantial"), (9, "severe"), (10, "severe")],
)
def test_dast10_band_edges(total: int, band: str) -> None:
    result = score("dast10", {"answers": _dast_answers(total)})
    assert result.to_json() == {"instrument": "dast10", "score": total, "band": band}


def test_dast10_item3_reverse_scored() -> None:
    # "1 point per Yes, except item 3 where No = 1" (comorbidityguidelines.org.au, Appendix W)
    assert score("dast10", {"answers": ["no"] * 10}).score == 1
    assert score("dast10", {"answers": ["yes"] * 10}).score == 9
    only3 = ["no"] * 10
    only3[2] = "yes"
    assert score("dast10", {"answers": only3}).score == 0


def test_dast10_example_file() -> None:
    result = score("dast10", _load("dast10_substantial.yaml"))
    assert (result.score, result.band) == (7, "substantial")
    assert score("dast10", _load("dast10_none.yaml")).to_json() == {
        "instrument": "dast10", "score": 0, "band": "none"}


def test_dast10_yaml_booleans_and_case() -> None:
    answers: list[Any] = [True, "Yes", False, "NO", True, False, False, False, False, False]
    assert score("dast10", {"answers": answers}).score == 4


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (["yes"] * 9, "answers: expected 10 items, got 9"),
        (["yes"] * 11, "answers: expected 10 items, got 11"),
        ("yes", "answers: expected a list of 10 items, got a string"),
        (["yes", "no", "maybe"] + ["no"] * 7,
         "answers[2] (item 3): 'maybe' is not allowed; allowed: yes, no"),
        (["yes"] * 9 + [1], "answers[9] (item 10): 1 is not allowed; allowed: yes, no"),
        (["yes"] * 9 + [None], "answers[9] (item 10): missing answer; allowed: yes, no"),
    ],
)
def test_dast10_refuses(answers: Any, message: str) -> None:
    assert _error("dast10", {"answers": answers}) == message


def test_dast10_missing_answers() -> None:
    assert _error("dast10", {}) == "answers: missing; it is required"


def test_dast10_custom_cutoffs() -> None:
    cut = ScreeningCutoffs.from_mapping({"dast10": {"substantial_min": 7}})
    assert score("dast10", {"answers": _dast_answers(6)}, cut).band == "moderate"
    assert score("dast10", {"answers": _dast_answers(7)}, cut).band == "substantial"


@given(st.lists(st.booleans(), min_size=10, max_size=10))
def test_dast10_score_is_yes_count_with_item3_flipped(answers: list[bool]) -> None:
    flipped = list(answers)
    flipped[2] = not flipped[2]
    result = score("dast10", {"answers": ["yes" if a else "no" for a in answers]})
    assert result.score == sum(flipped)
    assert 0 <= result.score <= 10


# ==================================================================================================
# AUDIT: Q1-Q8 0-4, Q9-Q10 0/2/4; zones I 0-7, II 8-15, III 16-19, IV 20-40; override
# (auditscreen.org/scoring-audit; comorbidityguidelines.org.au Appendix U, clinician scoring)
# ==================================================================================================


def _audit_answers(total: int) -> list[int]:
    """Answers scoring `total` (<= 27) without triggering the override."""
    answers = [0] * 10
    remaining = total
    for i in (0, 1, 2, 6, 7):  # free items: up to 4 each
        answers[i] = min(4, remaining)
        remaining -= answers[i]
    for i in (3, 4, 5):  # override items: at most 1 point each
        answers[i] = min(1, remaining)
        remaining -= answers[i]
    for i in (8, 9):  # option 1 = 2 points
        if remaining >= 2:
            answers[i] = 1
            remaining -= 2
    assert remaining == 0, total
    return answers


@pytest.mark.parametrize(
    ("total", "zone", "band"),
    [(0, 1, "low_risk"), (7, 1, "low_risk"), (8, 2, "hazardous"), (15, 2, "hazardous"),
     (16, 3, "harmful"), (19, 3, "harmful"), (20, 4, "dependence_likely"),
     (27, 4, "dependence_likely")],
)
def test_audit_zone_edges(total: int, zone: int, band: str) -> None:
    result = score("audit", {"answers": _audit_answers(total)})
    assert result.to_json() == {"instrument": "audit", "score": total, "band": band, "zone": zone,
                                "zone_by_score": zone, "override_applied": False}


def test_audit_maximum() -> None:
    # Range 0-40 (auditscreen.org): all Q1-Q8 at 4, Q9-Q10 "yes, during the last year" (4)
    result = score("audit", {"answers": [4] * 8 + [2, 2]})
    assert (result.score, result.zone, result.band) == (40, 4, "dependence_likely")


@pytest.mark.parametrize("item", [3, 4, 5])
def test_audit_override_two_points_on_q4_q5_q6(item: int) -> None:
    # "next-higher intervention if >= 2 on any of Q4, Q5, Q6" (comorbidityguidelines Appendix U)
    answers = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    answers[item] = 2  # total 4: zone I by score
    result = score("audit", {"answers": answers})
    assert (result.score, result.zone_by_score, result.zone, result.band) == (
        4, 1, 2, "hazardous")
    answers[item] = 1  # one point does not trigger
    assert score("audit", {"answers": answers}).zone == 1


@pytest.mark.parametrize("item", [8, 9])
def test_audit_override_four_points_on_q9_q10(item: int) -> None:
    # "... or 4 on Q9 or Q10" ("Yes, during the last year")
    answers = [2, 2, 2, 0, 0, 0, 2, 0, 0, 0]  # 8: zone II
    answers[item] = 2  # option 2 = 4 points: total 12
    result = score("audit", {"answers": answers})
    assert (result.score, result.zone_by_score, result.zone, result.band) == (12, 2, 3, "harmful")
    answers[item] = 1  # 2 points: no override
    assert score("audit", {"answers": answers}).zone == 2


def test_audit_override_capped_at_zone_four() -> None:
    answers = [4, 4, 4, 2, 0, 0, 4, 4, 0, 0]  # 22: zone IV and Q4 = 2
    result = score("audit", {"answers": answers})
    assert (result.zone_by_score, result.zone) == (4, 4)
    assert result.to_json()["override_applied"] is False


def test_audit_override_can_be_switched_off() -> None:
    cut = ScreeningCutoffs.from_mapping({"audit": {"override": False}})
    result = score("audit", {"answers": [1, 1, 0, 2, 0, 0, 0, 0, 0, 0]}, cut)
    assert (result.zone, result.band) == (1, "low_risk")


def test_audit_alternative_cutoffs() -> None:
    # auditscreen.org alternative: 8-14 hazardous/harmful, >= 15 likely dependence
    # (an empty zone III: harmful_min = dependence_likely_min)
    cut = ScreeningCutoffs.from_mapping({"audit": {"harmful_min": 15, "dependence_likely_min": 15}})
    assert score("audit", {"answers": _audit_answers(14)}, cut).band == "hazardous"
    assert score("audit", {"answers": _audit_answers(15)}, cut).band == "dependence_likely"


def test_audit_q1_never_skips_q2_to_q8() -> None:
    # "Score 0 for Q2-Q8 if skipped (Q1 = never -> go to Q9-10)" (auditscreen.org)
    result = score("audit", _load("audit_nondrinker.yaml"))
    assert result.to_json() == {"instrument": "audit", "score": 2, "band": "low_risk", "zone": 1,
                                "zone_by_score": 1, "override_applied": False}
    assert score("audit", {"answers": [0] * 10}).score == 0
    assert _error("audit", {"answers": [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]}) == (
        "answers[2] (item 3): asked only when item 1 is not 0 (never); must be 0 or null")
    assert _error("audit", {"answers": [1, None] + [0] * 8}) == (
        "answers[1] (item 2): missing answer; allowed: a whole number from 0 to 4")


def test_audit_example_file_with_override() -> None:
    result = score("audit", _load("audit_hazardous_override.yaml"))
    assert (result.score, result.zone_by_score, result.zone, result.band) == (
        9, 2, 3, "harmful")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([5] + [0] * 9,
         "answers[0] (item 1): 5 is not allowed; allowed: a whole number from 0 to 4"),
        ([1] * 8 + [4, 0], "answers[8] (item 9): 4 is not allowed; allowed: a whole number from "
                           "0 to 2 (option index; scored 0, 2, 4)"),
        ([1] * 9 + [-1], "answers[9] (item 10): -1 is not allowed; allowed: a whole number from "
                         "0 to 2 (option index; scored 0, 2, 4)"),
        ([1.0] + [0] * 9, "answers[0] (item 1): 1.0 is not allowed; allowed: a whole number from "
                          "0 to 4"),
        ([True] + [0] * 9, "answers[0] (item 1): true is not allowed; allowed: a whole number "
                           "from 0 to 4"),
        (["2"] + [0] * 9, "answers[0] (item 1): '2' is not allowed; allowed: a whole number from "
                          "0 to 4"),
        ([None] + [0] * 9, "answers[0] (item 1): null is not allowed; allowed: a whole number "
                           "from 0 to 4"),
        ([1] * 8 + [None, 0], "answers[8] (item 9): null is not allowed; allowed: a whole number "
                              "from 0 to 2 (option index; scored 0, 2, 4)"),
        ([0] * 9, "answers: expected 10 items, got 9"),
    ],
)
def test_audit_refuses(answers: list[Any], message: str) -> None:
    assert _error("audit", {"answers": answers}) == message


_audit_item = st.integers(0, 4)
_audit_answers_st = st.tuples(*([_audit_item] * 8), st.integers(0, 2), st.integers(0, 2)).map(
    lambda t: [t[0]] + ([0] * 7 if t[0] == 0 else list(t[1:8])) + [t[8], t[9]])


@given(_audit_answers_st, _audit_answers_st)
def test_audit_zone_monotone_in_score_without_override(a: list[int], b: list[int]) -> None:
    cut = ScreeningCutoffs.from_mapping({"audit": {"override": False}})
    ra, rb = score("audit", {"answers": a}, cut), score("audit", {"answers": b}, cut)
    assert ra.zone == ra.zone_by_score
    assert 0 <= ra.score <= 40
    if ra.score <= rb.score:
        assert ra.zone <= rb.zone


@given(_audit_answers_st)
def test_audit_override_raises_at_most_one_zone(answers: list[int]) -> None:
    result = score("audit", {"answers": answers})
    assert result.zone in (result.zone_by_score, min(4, result.zone_by_score + 1))
    expected = 1 + sum(result.score >= x for x in (8, 16, 20))
    assert result.zone_by_score == expected


# ==================================================================================================
# WHO ASSIST v3.0: SSI = Q2+...+Q7 per substance (docplayer 6575809: "sum of Questions #2-#7");
# item scores from PMC4983530 Table 1; bands alcohol 0-10/11-26/27+, others 0-3/4-26/27+
# ==================================================================================================

_FREQ = ("never", "once_or_twice", "monthly", "weekly", "daily")
_EVER = ("no", "yes_past_3_months", "yes_not_past_3_months")


def _assist_one(name: str, **answers: str) -> dict[str, Any]:
    return {"substances": {name: {"q1": "yes", **answers}}}


def test_assist_contract_example() -> None:
    # weekly 4 + monthly 4 + monthly 5 + monthly 6 + yes, past 3 months 6 + no 0 (PMC4983530 T1)
    responses = _assist_one("cannabis", q2="weekly", q3="monthly", q4="monthly", q5="monthly",
                            q6="yes_past_3_months", q7="no")
    responses["q8"] = "no"
    assert score("assist", responses).to_json() == {
        "instrument": "assist", "substances": {"cannabis": {"score": 25, "band": "moderate"}},
        "injecting": False, "injecting_ever": False}


@pytest.mark.parametrize(
    ("q", "points"),
    # PMC4983530 Table 1: Q2 0/2/3/4/6, Q3 0/3/4/5/6, Q4 0/4/5/6/7, Q5 0/5/6/7/8
    [("q2", (0, 2, 3, 4, 6)), ("q3", (0, 3, 4, 5, 6)), ("q4", (0, 4, 5, 6, 7)),
     ("q5", (0, 5, 6, 7, 8))],
)
def test_assist_frequency_item_scores(q: str, points: tuple[int, ...]) -> None:
    base = {"q2": "once_or_twice", "q3": "never", "q4": "never", "q5": "never", "q6": "no",
            "q7": "no"}
    for option, expected in zip(_FREQ, points, strict=True):
        if q == "q2" and option == "never":
            answers = {"q2": "never", "q6": "no", "q7": "no"}
        else:
            answers = {**base, q: option}
        offset = 0 if q == "q2" else 2
        result = score("assist", _assist_one("opioids", **answers))
        assert result.substances is not None
        assert result.substances["opioids"].score == expected + offset, (q, option)


@pytest.mark.parametrize("q", ["q6", "q7"])
def test_assist_concern_item_scores(q: str) -> None:
    # PMC4983530 Table 1: No, never 0; Yes, in the past 3 months 6; Yes, but not in past 3 m 3
    for option, expected in zip(_EVER, (0, 6, 3), strict=True):
        answers = {"q2": "never", "q6": "no", "q7": "no", q: option}
        result = score("assist", _assist_one("sedatives", **answers))
        assert result.substances is not None
        assert result.substances["sedatives"].score == expected


def _assist_answers_for(name: str, target: int) -> dict[str, str]:
    """Some valid answers giving SSI `target` for substance `name` (brute force)."""
    for q2, q3, q4, q5, q6, q7 in itertools.product(_FREQ, _FREQ, _FREQ, _FREQ, _EVER, _EVER):
        if q2 == "never" and (q3, q4, q5) != ("never",) * 3:
            continue
        if name == "tobacco" and q5 != "never":
            continue
        answers = {"q2": q2, "q6": q6, "q7": q7}
        if q2 != "never":
            answers.update(q3=q3, q4=q4)
            if name != "tobacco":
                answers["q5"] = q5
        result = score("assist", _assist_one(name, **answers))
        assert result.substances is not None
        if result.substances[name].score == target:
            return answers
    raise AssertionError(f"no answers give {target}")


@pytest.mark.parametrize(
    ("name", "total", "band"),
    [("alcohol", 0, "low"), ("alcohol", 10, "low"), ("alcohol", 11, "moderate"),
     ("alcohol", 26, "moderate"), ("alcohol", 27, "high"), ("alcohol", 39, "high"),
     ("cannabis", 3, "low"), ("cannabis", 4, "moderate"), ("cannabis", 26, "moderate"),
     ("cannabis", 27, "high"), ("tobacco", 3, "low"), ("tobacco", 4, "moderate"),
     ("tobacco", 26, "moderate"), ("tobacco", 27, "high"), ("cocaine", 10, "moderate"),
     ("opioids", 11, "moderate")],
)
def test_assist_band_edges_alcohol_vs_other(name: str, total: int, band: str) -> None:
    result = score("assist", _assist_one(name, **_assist_answers_for(name, total)))
    assert result.substances is not None
    assert result.substances[name].to_json() == {"score": total, "band": band}


def test_assist_maximum_scores() -> None:
    # arithmetic maximum 39; 31 for tobacco without Q5 (domain-rules §1.1, derived)
    full = {"q2": "daily", "q3": "daily", "q4": "daily", "q5": "daily",
            "q6": "yes_past_3_months", "q7": "yes_past_3_months"}
    result = score("assist", {"substances": {
        "alcohol": {"q1": "yes", **full}, "other": {"q1": "yes", **full},
        "tobacco": {"q1": "yes", **{k: v for k, v in full.items() if k != "q5"}}}})
    assert result.substances is not None
    assert {k: v.score for k, v in result.substances.items()} == {
        "tobacco": 31, "alcohol": 39, "other": 39}


def test_assist_substances_in_canonical_order_only_those_given() -> None:
    responses = {"substances": {name: {"q1": "no"} for name in reversed(ASSIST_SUBSTANCES)}}
    result = score("assist", responses)
    assert result.substances is not None
    assert tuple(result.substances) == ASSIST_SUBSTANCES
    assert all(s.score == 0 and s.band == "low" for s in result.substances.values())
    assert result.injecting is None and result.injecting_ever is None
    result = score("assist", {"substances": {"opioids": {"q1": "no"}}})
    assert result.substances is not None and list(result.substances) == ["opioids"]


def test_assist_q1_no_skips_everything() -> None:
    ok = {"q1": "no", "q2": "never", "q3": "never", "q6": "no", "q7": False}
    result = score("assist", {"substances": {"cocaine": ok}})
    assert result.substances is not None and result.substances["cocaine"].score == 0
    assert score("assist", {"substances": {"cocaine": {"q1": False}}}).substances is not None
    bad = {"substances": {"cocaine": {"q1": "no", "q2": "weekly"}}}
    assert _error("assist", bad) == (
        "substances.cocaine.q2: asked only when q1 is 'yes'; must be absent, 'never' or 'no'")
    bad = {"substances": {"cocaine": {"q1": "no", "q6": "yes_past_3_months"}}}
    assert _error("assist", bad).startswith("substances.cocaine.q6: asked only when q1 is 'yes'")


def test_assist_q2_never_skips_q3_to_q5() -> None:
    # "Q3-Q5 only for substances used in past 3 months" (scribd 614140349, skip logic)
    answers = {"q2": "never", "q3": "never", "q6": "yes_not_past_3_months", "q7": "no"}
    result = score("assist", _assist_one("amphetamines", **answers))
    assert result.substances is not None and result.substances["amphetamines"].score == 3
    for q in ("q3", "q4", "q5"):
        bad = _assist_one("amphetamines", q2="never", q6="no", q7="no", **{q: "monthly"})
        assert _error("assist", bad) == (
            f"substances.amphetamines.{q}: asked only when q2 is not 'never'")


def test_assist_required_when_asked() -> None:
    assert _error("assist", _assist_one("cannabis", q6="no", q7="no")) == (
        "substances.cannabis.q2: missing (asked when q1 is 'yes'); allowed: never, once_or_twice, "
        "monthly, weekly, daily")
    assert _error("assist", _assist_one("cannabis", q2="never", q7="no")).startswith(
        "substances.cannabis.q6: missing (asked when q1 is 'yes'); allowed: no, ")
    bad = _assist_one("cannabis", q2="weekly", q3="never", q5="never", q6="no", q7="no")
    assert _error("assist", bad).startswith(
        "substances.cannabis.q4: missing (asked when q2 is not 'never')")
    assert _error("assist", {"substances": {"cannabis": {}}}) == (
        "substances.cannabis.q1: missing; it is required")


def test_assist_q5_not_asked_for_tobacco() -> None:
    # Q5 is not asked for tobacco (WHO ASSIST v3.0 form)
    answers = {"q2": "daily", "q3": "daily", "q4": "never", "q6": "no", "q7": "no"}
    result = score("assist", _assist_one("tobacco", **answers))
    assert result.substances is not None and result.substances["tobacco"].score == 12
    bad = _assist_one("tobacco", **answers, q5="weekly")
    assert _error("assist", bad) == "substances.tobacco.q5: not asked for tobacco; must be absent"


def test_assist_injecting_from_q8() -> None:
    responses = _load("assist_opioids_injecting.yaml")
    result = score("assist", responses)
    assert result.to_json() == {
        "instrument": "assist",
        "substances": {"alcohol": {"score": 0, "band": "low"},
                       "cocaine": {"score": 0, "band": "low"},
                       "opioids": {"score": 37, "band": "high"}},
        "injecting": True, "injecting_ever": True}
    responses["q8"] = "yes_not_past_3_months"
    result = score("assist", responses)
    assert (result.injecting, result.injecting_ever) == (False, True)
    responses["q8"] = False
    result = score("assist", responses)
    assert (result.injecting, result.injecting_ever) == (False, False)


def test_assist_injecting_needs_drug_use() -> None:
    alcohol_only = {"substances": {"alcohol": {"q1": "yes", "q2": "never", "q6": "no",
                                               "q7": "no"}},
                    "q8": "yes_not_past_3_months"}
    assert _error("assist", alcohol_only) == (
        "q8: 'yes_not_past_3_months' but no substance other than tobacco or alcohol has q1 'yes'")
    lifetime_only = {"substances": {"opioids": {"q1": "yes", "q2": "never", "q6": "no",
                                                "q7": "no"}},
                     "q8": "yes_past_3_months"}
    assert _error("assist", lifetime_only).startswith(
        "q8: 'yes_past_3_months' but no substance other than tobacco or alcohol was used in the "
        "past 3 months")
    lifetime_only["q8"] = "yes_not_past_3_months"
    assert score("assist", lifetime_only).injecting_ever is True


def test_assist_example_file() -> None:
    result = score("assist", _load("assist_cannabis_moderate.yaml"))
    assert result.substances is not None
    assert {k: (v.score, v.band) for k, v in result.substances.items()} == {
        "tobacco": (14, "moderate"), "alcohol": (9, "low"), "cannabis": (25, "moderate"),
        "cocaine": (0, "low"), "opioids": (0, "low")}
    assert result.max_drug_score == 25


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ({"substances": {"heroin": {"q1": "no"}}},
         "substances.heroin: unknown key; allowed: tobacco, alcohol, cannabis, cocaine, "
         "amphetamines, inhalants, sedatives, hallucinogens, opioids, other"),
        ({"substances": {"cannabis": {"q1": "no", "q9": "no"}}},
         "substances.cannabis.q9: unknown key; allowed: q1, q2, q3, q4, q5, q6, q7"),
        (_assist_one("cannabis", q2="sometimes", q6="no", q7="no"),
         "substances.cannabis.q2: 'sometimes' is not allowed; allowed: never, once_or_twice, "
         "monthly, weekly, daily"),
        (_assist_one("cannabis", q2="never", q6="yes", q7="no"),
         "substances.cannabis.q6: 'yes' is not allowed; allowed: no, yes_past_3_months, "
         "yes_not_past_3_months"),
        ({"substances": {"cannabis": {"q1": "maybe"}}},
         "substances.cannabis.q1: 'maybe' is not allowed; allowed: yes, no"),
        ({"substances": {"cannabis": {"q1": "no"}}, "q8": "often"},
         "q8: 'often' is not allowed; allowed: no, yes_past_3_months, yes_not_past_3_months"),
        ({"substances": {}}, "substances: expected at least one substance; allowed: tobacco, "
         "alcohol, cannabis, cocaine, amphetamines, inhalants, sedatives, hallucinogens, opioids, "
         "other"),
        ({"substances": ["cannabis"]}, "substances: expected a mapping, got a list"),
        ({"q8": "no"}, "substances: missing; it is required"),
    ],
)
def test_assist_refuses(responses: dict[str, Any], message: str) -> None:
    assert _error("assist", responses) == message


def test_assist_custom_cutoffs() -> None:
    cut = ScreeningCutoffs.from_mapping({"assist": {"alcohol_moderate_min": 8}})
    answers = _assist_answers_for("alcohol", 9)
    result = score("assist", _assist_one("alcohol", **answers), cut)
    assert result.substances is not None and result.substances["alcohol"].band == "moderate"


@given(st.sampled_from(ASSIST_SUBSTANCES), st.sampled_from(_FREQ), st.sampled_from(_FREQ),
       st.sampled_from(_FREQ), st.sampled_from(_FREQ), st.sampled_from(_EVER),
       st.sampled_from(_EVER))
def test_assist_score_in_range(name: str, q2: str, q3: str, q4: str, q5: str, q6: str,
                               q7: str) -> None:
    answers = {"q2": q2, "q6": q6, "q7": q7}
    if q2 != "never":
        answers.update(q3=q3, q4=q4)
        if name != "tobacco":
            answers["q5"] = q5
    result = score("assist", _assist_one(name, **answers))
    assert result.substances is not None
    s = result.substances[name]
    assert 0 <= s.score <= (31 if name == "tobacco" else 39)
    high = 27
    moderate = 11 if name == "alcohol" else 4
    assert s.band == ("high" if s.score >= high else "moderate" if s.score >= moderate else "low")


# ==================================================================================================
# CRAFFT 2.1: Part A days; all zero -> CAR only; Part B yes count, >= 2 positive
# (crafft.org via onenorthfulton.org and en.wikipedia.org/wiki/CRAFFT_Screening_Test)
# ==================================================================================================

_NO_USE = {"alcohol_days": 0, "cannabis_days": 0, "other_days": 0}
_USE = {"alcohol_days": 3, "cannabis_days": 0, "other_days": 0}


def _crafft_b(yes: int) -> dict[str, str]:
    keys = ("car", "relax", "alone", "forget", "friends", "trouble")
    return {k: "yes" if i < yes else "no" for i, k in enumerate(keys)}


@pytest.mark.parametrize(
    ("yes", "band"), [(0, "negative"), (1, "negative"), (2, "positive"), (6, "positive")])
def test_crafft_band_edges(yes: int, band: str) -> None:
    result = score("crafft", {"part_a": _USE, "part_b": _crafft_b(yes)})
    assert result.to_json() == {"instrument": "crafft", "score": yes, "band": band}


def test_crafft_no_use_asks_car_only() -> None:
    assert score("crafft", _load("crafft_no_use.yaml")).to_json() == {
        "instrument": "crafft", "score": 1, "band": "negative"}
    assert score("crafft", {"part_a": _NO_USE, "part_b": {"car": "no"}}).score == 0
    bad = {"part_a": _NO_USE, "part_b": {"car": "no", "relax": "no"}}
    assert _error("crafft", bad) == (
        "part_b.relax: asked only when a Part A answer is above 0; must be absent")
    assert _error("crafft", {"part_a": _NO_USE, "part_b": {}}) == (
        "part_b.car: missing; it is required")


def test_crafft_use_asks_all_six() -> None:
    assert _error("crafft", {"part_a": _USE, "part_b": {"car": "no"}}) == (
        "part_b.relax: missing; it is required")


def test_crafft_example_file() -> None:
    assert score("crafft", _load("crafft_positive.yaml")).to_json() == {
        "instrument": "crafft", "score": 3, "band": "positive"}


@pytest.mark.parametrize(
    ("part_a", "message"),
    [
        ({**_USE, "alcohol_days": 366},
         "part_a.alcohol_days: 366 is not allowed; allowed: a whole number from 0 to 365"),
        ({**_USE, "other_days": -1},
         "part_a.other_days: -1 is not allowed; allowed: a whole number from 0 to 365"),
        ({**_USE, "cannabis_days": "2"},
         "part_a.cannabis_days: '2' is not allowed; allowed: a whole number from 0 to 365"),
        ({"alcohol_days": 1, "cannabis_days": 0}, "part_a.other_days: missing; it is required"),
        ({**_USE, "tobacco_days": 1},
         "part_a.tobacco_days: unknown key; allowed: alcohol_days, cannabis_days, other_days"),
    ],
)
def test_crafft_refuses(part_a: dict[str, Any], message: str) -> None:
    assert _error("crafft", {"part_a": part_a, "part_b": _crafft_b(0)}) == message


def test_crafft_custom_cutoff() -> None:
    cut = ScreeningCutoffs.from_mapping({"crafft": {"positive_min": 3}})
    assert score("crafft", {"part_a": _USE, "part_b": _crafft_b(2)}, cut).band == "negative"


# ==================================================================================================
# CAGE-AID (>= 1 positive; >= 2 in some tools: Brown & Rounds 1995 via opioidrisk.com),
# UNCOPE (>= 2 positive: sv.wikipedia.org/wiki/UNCOPE), DSM-5 (2-3 mild, 4-5 moderate, 6+ severe:
# lacada.com/do_i_need_help.php)
# ==================================================================================================


def _yes(n: int, total: int) -> list[str]:
    return ["yes"] * n + ["no"] * (total - n)


@pytest.mark.parametrize(("yes", "band"), [(0, "negative"), (1, "positive"), (4, "positive")])
def test_cage_aid_band_edges(yes: int, band: str) -> None:
    assert score("cage_aid", {"answers": _yes(yes, 4)}).to_json() == {
        "instrument": "cage_aid", "score": yes, "band": band}


def test_cage_aid_cutoff_two() -> None:
    cut = ScreeningCutoffs.from_mapping({"cage_aid": {"positive_min": 2}})
    assert score("cage_aid", {"answers": _yes(1, 4)}, cut).band == "negative"
    assert score("cage_aid", {"answers": _yes(2, 4)}, cut).band == "positive"
    assert score("cage_aid", _load("cage_aid_positive.yaml"), cut).band == "positive"


def test_cage_aid_refuses() -> None:
    assert _error("cage_aid", {"answers": _yes(1, 5)}) == "answers: expected 4 items, got 5"
    assert _error("cage_aid", {"answers": ["yes", "no", "no", 2]}) == (
        "answers[3] (item 4): 2 is not allowed; allowed: yes, no")


@pytest.mark.parametrize(
    ("yes", "band"), [(0, "negative"), (1, "negative"), (2, "positive"), (6, "positive")])
def test_uncope_band_edges(yes: int, band: str) -> None:
    assert score("uncope", {"answers": _yes(yes, 6)}).to_json() == {
        "instrument": "uncope", "score": yes, "band": band}


def test_uncope_example_file_and_refusal() -> None:
    assert score("uncope", _load("uncope_negative.yaml")).band == "negative"
    assert _error("uncope", {"answers": _yes(1, 4)}) == "answers: expected 6 items, got 4"


@pytest.mark.parametrize(
    ("count", "band"),
    [(0, "none"), (1, "none"), (2, "mild"), (3, "mild"), (4, "moderate"), (5, "moderate"),
     (6, "severe"), (11, "severe")],
)
def test_dsm5_severity_edges(count: int, band: str) -> None:
    assert score("dsm5", {"criteria": _yes(count, 11)}).to_json() == {
        "instrument": "dsm5", "score": count, "band": band}


def test_dsm5_example_file_and_refusals() -> None:
    assert score("dsm5", _load("dsm5_moderate.yaml")).to_json() == {
        "instrument": "dsm5", "score": 4, "band": "moderate"}
    assert _error("dsm5", {"criteria": _yes(2, 10)}) == "criteria: expected 11 items, got 10"
    assert _error("dsm5", {"answers": _yes(2, 11)}) == "answers: unknown key; allowed: criteria"


@given(st.sampled_from([("cage_aid", "answers", 4), ("uncope", "answers", 6),
                        ("dsm5", "criteria", 11)]), st.data())
def test_yes_count_instruments(spec: tuple[str, str, int], data: st.DataObject) -> None:
    instrument, key, n = spec
    answers = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    result = score(instrument, {key: answers})
    assert result.score == sum(answers)


# ==================================================================================================
# PSA (advancingpretrial.org/psa/factors; weights and raw->scaled from cnxtech/psa-check
# riskfactors_and_formula.md @4e271f99, confirmed in rcackerman/rai_project calculate_psa.py)
# ==================================================================================================

# published conversion tables, written out independently of the module's constants
_FTA_TABLE = {0: 1, 1: 2, 2: 3, 3: 4, 4: 4, 5: 5, 6: 5, 7: 6}
_NCA_TABLE = {0: 1, 1: 2, 2: 2, 3: 3, 4: 3, 5: 4, 6: 4, 7: 5, 8: 5, 9: 6, 10: 6, 11: 6, 12: 6,
              13: 6}


def _psa(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "age": 30, "current_violent": "no", "pending_charge": "no", "prior_misdemeanor": "no",
        "prior_felony": "no", "prior_violent_convictions": 0, "fta_past_2_years": 0,
        "fta_older": "no", "prior_incarceration": "no"}
    return {**base, **overrides}


def test_psa_conversion_constants_match_published_tables() -> None:
    assert PSA_FTA_SCALE == _FTA_TABLE
    assert PSA_NCA_SCALE == _NCA_TABLE


def test_psa_example_from_psa_check() -> None:
    # factor data: cnxtech/psa-check riskfactors_and_formula.md, "with example data"
    result = score("psa", _load("psa_example.yaml"))
    assert result.to_json() == {"instrument": "psa", "fta": {"raw": 4, "scaled": 4},
                                "nca": {"raw": 5, "scaled": 4}, "nvca_flag": False,
                                "nvca_raw": 2}


def test_psa_maximum_raw_scores() -> None:
    # maximum raw: FTA 7, NCA 13, NVCA 7 (cnxtech/psa-check)
    result = score("psa", _psa(age=18, current_violent="yes", pending_charge="yes",
                               prior_misdemeanor="yes", prior_felony="yes",
                               prior_violent_convictions=3, fta_past_2_years=2, fta_older="yes",
                               prior_incarceration="yes"))
    assert result.fta is not None and result.nca is not None
    assert (result.fta.raw, result.fta.scaled) == (7, 6)
    assert (result.nca.raw, result.nca.scaled) == (13, 6)
    assert (result.nvca_raw, result.nvca_flag) == (7, True)
    low = score("psa", _psa())
    assert low.fta is not None and low.nca is not None
    assert (low.fta.to_json(), low.nca.to_json(), low.nvca_flag) == (
        {"raw": 0, "scaled": 1}, {"raw": 0, "scaled": 1}, False)


def _expected_psa(age: int, violent: bool, pending: bool, misd: bool, fel: bool, pviol: int,
                  fta2: int, fta_old: bool, incarc: bool) -> tuple[int, int, int]:
    """The published weights, written out again (cnxtech/psa-check)."""
    conviction = misd or fel
    pv = 0 if pviol == 0 else 1 if pviol <= 2 else 2
    fta = pending * 1 + conviction * 1 + {0: 0, 1: 2}.get(fta2, 4) + fta_old * 1
    nca = ((age <= 22) * 2 + pending * 3 + misd + fel + pv + {0: 0, 1: 1}.get(fta2, 2)
           + incarc * 2)
    nvca = violent * 2 + (violent and age <= 20) * 1 + pending + conviction + pv
    return fta, nca, nvca


def test_psa_every_factor_combination_and_scale() -> None:
    seen_fta: set[int] = set()
    seen_nca: set[int] = set()
    for age, violent, pending, misd, fel, pviol, fta2, fta_old, incarc in itertools.product(
        (18, 20, 21, 22, 23, 60), (False, True), (False, True), (False, True), (False, True),
        (0, 1, 2, 3, 5), (0, 1, 2, 4), (False, True), (False, True),
    ):
        if pviol and not (misd or fel):
            continue
        result = score("psa", _psa(
            age=age, current_violent=violent, pending_charge=pending, prior_misdemeanor=misd,
            prior_felony=fel, prior_violent_convictions=pviol, fta_past_2_years=fta2,
            fta_older=fta_old, prior_incarceration=incarc))
        fta, nca, nvca = _expected_psa(age, violent, pending, misd, fel, pviol, fta2, fta_old,
                                       incarc)
        assert result.fta is not None and result.nca is not None
        assert (result.fta.raw, result.nca.raw, result.nvca_raw) == (fta, nca, nvca)
        assert result.fta.scaled == _FTA_TABLE[fta]
        assert result.nca.scaled == _NCA_TABLE[nca]
        assert result.nvca_flag == (nvca >= 4)
        seen_fta.add(fta)
        seen_nca.add(nca)
    assert seen_fta == set(_FTA_TABLE)  # every raw value of both tables is reached
    assert seen_nca == set(_NCA_TABLE)


def test_psa_nvca_flag_threshold() -> None:
    # NVCA flag = yes if raw >= 4 (cnxtech/psa-check)
    three = score("psa", _psa(current_violent="yes", pending_charge="yes"))
    assert (three.nvca_raw, three.nvca_flag) == (3, False)
    four = score("psa", _psa(current_violent="yes", pending_charge="yes", prior_felony="yes"))
    assert (four.nvca_raw, four.nvca_flag) == (4, True)
    young = score("psa", _psa(age=20, current_violent="yes", pending_charge="yes"))
    assert (young.nvca_raw, young.nvca_flag) == (4, True)
    older = score("psa", _psa(age=21, current_violent="yes", pending_charge="yes"))
    assert (older.nvca_raw, older.nvca_flag) == (3, False)
    assert score("psa", _load("psa_violence_flag.yaml")).to_json() == {
        "instrument": "psa", "fta": {"raw": 1, "scaled": 2}, "nca": {"raw": 3, "scaled": 3},
        "nvca_flag": True, "nvca_raw": 4}


def test_psa_age_edges() -> None:
    # NCA: 22 or younger = 2; 23 or older = 0
    def nca(age: int) -> int:
        result = score("psa", _psa(age=age))
        assert result.nca is not None
        return result.nca.raw

    assert (nca(22), nca(23)) == (2, 0)


def test_psa_counts_and_booleans() -> None:
    def raw(**kw: Any) -> tuple[int, int]:
        result = score("psa", _psa(**kw))
        assert result.fta is not None and result.nca is not None
        return result.fta.raw, result.nca.raw

    # prior violent conviction: 0 / 1-2 / >= 3 -> NCA 0/1/2
    assert [raw(prior_felony=True, prior_violent_convictions=n)[1] for n in (0, 1, 2, 3)] == [
        1, 2, 2, 3]
    # FTA past 2 years: 0 / 1 / >= 2 -> FTA 0/2/4, NCA 0/1/2
    assert [raw(fta_past_2_years=n) for n in (0, 1, 2, 7)] == [(0, 0), (2, 1), (4, 2), (4, 2)]
    assert raw(fta_older=2) == raw(fta_older="yes") == (1, 0)
    assert raw(prior_incarceration=1) == raw(prior_incarceration=True) == (0, 2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"age": 17}, "age: 17 is not allowed; allowed: a whole number from 18 to 120 (the PSA "
                      "is for adults)"),
        ({"age": "30"}, "age: '30' is not allowed; allowed: a whole number from 18 to 120 (the "
                        "PSA is for adults)"),
        ({"pending_charge": "unknown"},
         "pending_charge: 'unknown' is not allowed; allowed: yes, no"),
        ({"prior_violent_convictions": -1},
         "prior_violent_convictions: -1 is not allowed; allowed: a whole number >= 0"),
        ({"fta_past_2_years": True},
         "fta_past_2_years: true is not allowed; allowed: a whole number >= 0"),
        ({"fta_older": -2},
         "fta_older: -2 is not allowed; allowed: yes, no or a whole number >= 0"),
        ({"prior_violent_convictions": 1},
         "prior_violent_convictions: 1 prior violent conviction(s) but prior_misdemeanor and "
         "prior_felony are both 'no'"),
        ({"gender": "x"}, "gender: unknown key; allowed: age, current_violent, pending_charge, "
                          "prior_misdemeanor, prior_felony, prior_violent_convictions, "
                          "fta_past_2_years, fta_older, prior_incarceration"),
    ],
)
def test_psa_refuses(overrides: dict[str, Any], message: str) -> None:
    assert _error("psa", _psa(**overrides)) == message


def test_psa_missing_factor() -> None:
    responses = _psa()
    del responses["prior_felony"]
    assert _error("psa", responses) == "prior_felony: missing; it is required"


# ==================================================================================================
# Cut-offs as pack data
# ==================================================================================================


def test_cutoff_defaults_are_the_manuals() -> None:
    cut = ScreeningCutoffs()
    assert cut.model_dump() == {
        "citation": None, "provenance": None,
        "assist": {"alcohol_moderate_min": 11, "alcohol_high_min": 27, "other_moderate_min": 4,
                   "other_high_min": 27},
        "dast10": {"low_min": 1, "moderate_min": 3, "substantial_min": 6, "severe_min": 9},
        "audit": {"hazardous_min": 8, "harmful_min": 16, "dependence_likely_min": 20,
                  "override": True},
        "crafft": {"positive_min": 2}, "cage_aid": {"positive_min": 1},
        "uncope": {"positive_min": 2},
        "dsm5": {"mild_min": 2, "moderate_min": 4, "severe_min": 6},
        "psa": {"nvca_flag_min": 4}}
    assert ScreeningCutoffs.from_mapping(None) == cut
    assert ScreeningCutoffs.from_mapping({}) == cut


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"cage_aid": {"positiv_min": 2}},
         "screening.cage_aid.positiv_min: unknown key; allowed: positive_min"),
        ({"foo": {}}, "screening.foo: unknown key; allowed: citation, provenance, assist, dast10, "
                      "audit, crafft, cage_aid, uncope, dsm5, psa"),
        ({"dast10": {"moderate_min": 7}},
         "screening.dast10: low_min, moderate_min, substantial_min, severe_min must not decrease "
         "and lie within 1-10; got low_min=1, moderate_min=7, substantial_min=6, severe_min=9"),
        ({"crafft": {"positive_min": 7}},
         "screening.crafft.positive_min: Input should be less than or equal to 6 (got 7)"),
        ({"uncope": {"positive_min": "2"}},
         "screening.uncope.positive_min: Input should be a valid integer (got '2')"),
        ({"audit": {"override": "yes"}},
         "screening.audit.override: Input should be a valid boolean (got 'yes')"),
        ({"provenance": "maybe"},
         "screening.provenance: Input should be 'verified' or 'unverified' (got 'maybe')"),
    ],
)
def test_cutoffs_refused_with_one_line(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PackError) as info:
        ScreeningCutoffs.from_mapping(data)
    assert str(info.value) == message
