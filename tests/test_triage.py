"""Risk/need triage: quadrants, cut-offs, reasons, overrides and pack configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from divert.advice.screening import ScreeningResult, score
from divert.advice.triage import INDICATORS, TriageConfig, assess_triage, quadrant
from divert.errors import InputError, PackError
from divert.law.vocabulary import DISORDER_LEVELS, FIELDS, LEVELS, QUADRANTS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "screening"


def _load(name: str) -> Any:
    return YAML(typ="safe").load((EXAMPLES / name).read_text())


def _yes(n: int, total: int) -> list[str]:
    return ["yes"] * n + ["no"] * (total - n)


def _dast(total: int) -> ScreeningResult:
    """A DAST-10 result with score `total` (item 3 answered yes = 0 points unless total is 10)."""
    answers = ["yes" if i < min(total, 9) else "no" for i in range(9)]
    answers.insert(2, "no" if total == 10 else "yes")
    result = score("dast10", {"answers": answers})
    assert result.score == total
    return result


def _dsm5(count: int) -> ScreeningResult:
    return score("dsm5", {"criteria": _yes(count, 11)})


def _audit(total: int) -> ScreeningResult:
    """An AUDIT result with score `total` <= 20 and no override."""
    answers = [0] * 10
    remaining = total
    for i in (0, 1, 2, 6, 7):
        answers[i] = min(4, remaining)
        remaining -= answers[i]
    result = score("audit", {"answers": answers})
    assert result.score == total and result.zone == result.zone_by_score
    return result


def _assist(name: str, high: bool) -> ScreeningResult:
    """ASSIST with `name` at 27 or 26 (tobacco: 28 or 25); item scores PMC4983530 Table 1."""
    # high: daily 6 + daily 6 + weekly 6 + monthly 6 + yes, not past 3 months 3 + no 0 = 27
    # low: daily 6 + weekly 5 + daily 7 + once or twice 5 + yes, not past 3 months 3 + no 0 = 26
    answers = {"q1": "yes", "q2": "daily", "q3": "daily", "q4": "weekly", "q5": "monthly",
               "q6": "yes_not_past_3_months" if high else "no", "q7": "no"}
    if not high:
        answers.update(q3="weekly", q4="daily", q5="once_or_twice", q6="yes_not_past_3_months")
    if name == "tobacco":
        answers.pop("q5")
        answers.update(q2="daily", q3="daily", q4="daily", q6="yes_past_3_months",
                       q7="no" if not high else "yes_not_past_3_months")
    result = score("assist", {"substances": {name: answers}})
    assert result.substances is not None
    expected = 27 if high else 26
    if name == "tobacco":
        expected = 28 if high else 25
    assert result.substances[name].score == expected
    return result


def _psa(nca_raw: int) -> ScreeningResult:
    """A PSA result with the given NCA raw score (age 30, no FTA)."""
    choices = {
        0: {}, 1: {"prior_misdemeanor": "yes"}, 3: {"pending_charge": "yes"},
        5: {"pending_charge": "yes", "age": 22},
        4: {"pending_charge": "yes", "prior_felony": "yes"},
    }
    base: dict[str, Any] = {
        "age": 30, "current_violent": "no", "pending_charge": "no", "prior_misdemeanor": "no",
        "prior_felony": "no", "prior_violent_convictions": 0, "fta_past_2_years": 0,
        "fta_older": "no", "prior_incarceration": "no"}
    result = score("psa", {**base, **choices[nca_raw]})
    assert result.nca is not None and result.nca.raw == nca_raw
    return result


# ==================================================================================================
# quadrants
# ==================================================================================================

#: every prognostic indicator known and absent (age 40), so that risk can be low
KNOWN_HISTORY: dict[str, Any] = {
    "person.age": 40, "history.prior_diversion_failures": 0, "history.prior_incarcerations": 0,
    "history.prior_convictions": 0, "history.pending_charge": False,
    "history.fta_past_2_years": 0}


@pytest.mark.parametrize(
    ("dast", "age", "failures", "expected"),
    [(7, 22, 1, "HR/HN"), (7, 40, 0, "LR/HN"), (2, 22, 1, "HR/LN"), (2, 40, 0, "LR/LN")],
)
def test_four_quadrants(dast: int, age: int, failures: int, expected: str) -> None:
    facts = {**KNOWN_HISTORY, "person.age": age, "history.prior_diversion_failures": failures}
    triage = assess_triage({"dast10": _dast(dast)}, facts)
    assert triage.quadrant == expected
    assert triage.quadrant in QUADRANTS


def test_quadrant_naming() -> None:
    assert [quadrant(r, n) for r in ("high", "low") for n in ("high", "low")] == [
        "HR/HN", "HR/LN", "LR/HN", "LR/LN"]


def test_to_json_contract() -> None:
    triage = assess_triage({"dast10": _dast(7)}, {"person.age": 22,
                                                  "history.prior_diversion_failures": 1})
    data = triage.to_json()
    assert list(data) == ["risk", "need", "quadrant", "disorder", "injecting", "reasons"]
    assert data["risk"] in LEVELS and data["need"] in LEVELS
    assert data["disorder"] in DISORDER_LEVELS
    assert data["reasons"] == [
        "need high: DAST-10 score 7 >= 6",
        "risk high: 2 prognostic indicators >= 2 (age 22 < 25; prior diversion failures 1 > 0); "
        "unknown: history.prior_incarcerations, history.prior_convictions, "
        "history.pending_charge, history.fta_past_2_years",
        "disorder moderate: mapped conservatively from DAST-10 score 7 (substantial)",
    ]


def test_as_facts_uses_vocabulary_names() -> None:
    triage = assess_triage({"assist": score("assist", _load("assist_opioids_injecting.yaml"))},
                           {})
    facts = triage.as_facts()
    assert set(facts) <= set(FIELDS)
    # no history given: risk and so the quadrant are unknown, not assumed low
    assert facts == {"triage.risk": None, "triage.need": "high", "triage.quadrant": None,
                     "screening.disorder": "moderate", "screening.injecting": True}
    known = assess_triage({"assist": score("assist", _load("assist_opioids_injecting.yaml"))},
                          KNOWN_HISTORY).as_facts()
    assert (known["triage.risk"], known["triage.quadrant"]) == ("low", "LR/HN")


# ==================================================================================================
# need
# ==================================================================================================


@pytest.mark.parametrize(
    ("results", "need", "reason"),
    [
        ({"dast10": _dast(6)}, "high", "need high: DAST-10 score 6 >= 6"),
        ({"dast10": _dast(5)}, "low", "need low: DAST-10 score 5 < 6"),
        ({"dsm5": _dsm5(4)}, "high", "need high: DSM-5 criteria 4 >= 4"),
        ({"dsm5": _dsm5(3)}, "low", "need low: DSM-5 criteria 3 < 4"),
        ({"audit": _audit(20)}, "high", "need high: AUDIT score 20 >= 20"),
        ({"audit": _audit(19)}, "low", "need low: AUDIT score 19 < 20"),
        ({"assist": _assist("cannabis", True)}, "high",
         "need high: ASSIST cannabis score 27 >= 27"),
        ({"assist": _assist("opioids", False)}, "low", "need low: ASSIST opioids score 26 < 27"),
    ],
)
def test_need_cutoff_edges(results: dict[str, ScreeningResult], need: str, reason: str) -> None:
    triage = assess_triage(results, {})
    assert triage.need == need
    assert reason in triage.reasons


def test_assist_alcohol_and_tobacco_do_not_make_need_high_by_default() -> None:
    for name in ("alcohol", "tobacco"):
        triage = assess_triage({"assist": _assist(name, True)}, {})
        assert triage.need is None  # nothing about drugs other than alcohol and tobacco
        assert triage.reasons[0] == (
            "need unknown: no need cut-off applies to the results given (ASSIST)")
    config = TriageConfig.from_mapping({"need_high": {"assist_alcohol_score_min": 27}})
    triage = assess_triage({"assist": _assist("alcohol", True)}, {}, config)
    assert triage.need == "high"
    assert "need high: ASSIST alcohol score 27 >= 27" in triage.reasons


def test_injecting_makes_need_high() -> None:
    assist = score("assist", {"substances": {"opioids": {
        "q1": "yes", "q2": "once_or_twice", "q3": "never", "q4": "never", "q5": "never",
        "q6": "no", "q7": "no"}}, "q8": "yes_past_3_months"})
    triage = assess_triage({"assist": assist}, {})
    assert (triage.need, triage.injecting) == ("high", True)
    assert "need high: injecting drug use in the past 3 months (ASSIST Q8)" in triage.reasons
    off = TriageConfig.from_mapping({"need_high": {"injecting": False}})
    assert assess_triage({"assist": assist}, {}, off).need == "low"


def test_injecting_from_facts_when_assist_has_no_q8() -> None:
    triage = assess_triage({}, {"screening.injecting": True})
    assert (triage.need, triage.injecting) == ("high", True)
    assert triage.reasons[0] == (
        "need high: injecting drug use in the past 3 months (screening.injecting)")
    # ASSIST Q8 answered wins over the stated fact
    assist = score("assist", _load("assist_cannabis_moderate.yaml"))
    triage = assess_triage({"assist": assist}, {"screening.injecting": True})
    assert triage.injecting is False
    assert triage.need == "low"


def test_screeners_alone_do_not_make_need_high() -> None:
    results = {
        "crafft": score("crafft", _load("crafft_positive.yaml")),
        "cage_aid": score("cage_aid", {"answers": _yes(4, 4)}),
        "uncope": score("uncope", {"answers": _yes(6, 6)}),
    }
    triage = assess_triage(results, {})
    assert triage.need is None  # a positive screen calls for assessment: need is not yet known
    assert triage.disorder is None
    config = TriageConfig.from_mapping({"need_high": {"uncope_score_min": 4}})
    triage = assess_triage(results, {}, config)
    assert triage.need == "high"
    assert "need high: UNCOPE score 6 >= 4" in triage.reasons


def test_stated_disorder_counts_for_need() -> None:
    assert assess_triage({}, {"screening.disorder": "moderate"}).need == "high"
    triage = assess_triage({}, {"screening.disorder": "mild"})
    assert triage.need == "low"
    assert triage.reasons[0] == "need low: disorder 'mild' (screening.disorder) < moderate"
    assert triage.disorder == "mild"


def test_need_high_lists_every_criterion_met() -> None:
    triage = assess_triage({"dast10": _dast(9), "dsm5": _dsm5(7)}, {})
    assert triage.reasons[:2] == ["need high: DAST-10 score 9 >= 6",
                                  "need high: DSM-5 criteria 7 >= 4"]


def test_nothing_known_stays_unknown() -> None:
    # issue 15: no screening and no history must not give need or risk "low" or disorder "none"
    triage = assess_triage({}, {})
    assert triage.to_json() == {
        "risk": None, "need": None, "quadrant": None, "disorder": None, "injecting": None,
        "reasons": [
            "need unknown: no screening result given",
            "risk unknown: 0 prognostic indicators < (perhaps >=) 2; unknown: person.age, "
            "history.prior_diversion_failures, history.prior_incarcerations, "
            "history.prior_convictions, history.pending_charge, history.fta_past_2_years",
            "disorder unknown: no DSM-5, DAST-10, ASSIST or AUDIT result",
        ]}
    assert triage.as_facts() == {"triage.risk": None, "triage.need": None,
                                 "triage.quadrant": None}


def test_risk_unknown_only_while_unknown_facts_could_reach_the_minimum() -> None:
    one_known = {**KNOWN_HISTORY, "person.age": 22}
    del one_known["history.pending_charge"]
    assert assess_triage({}, one_known).risk is None  # 1 held + 1 unknown could make 2
    one_known["person.age"] = 40
    assert assess_triage({}, one_known).risk == "low"  # 0 held + 1 unknown < 2
    assert assess_triage({}, {"person.age": 22, "history.pending_charge": True}).risk == "high"


# ==================================================================================================
# risk
# ==================================================================================================


def test_psa_nca_scaled_edge() -> None:
    # NCA raw 5 -> scaled 4 (high); raw 4 -> scaled 3 (low)
    high = assess_triage({"psa": _psa(5)}, {})
    assert high.risk == "high"
    assert "risk high: PSA NCA scaled 4 >= 4" in high.reasons
    low = assess_triage({"psa": _psa(4)}, {})
    assert low.risk == "low"
    assert "risk low: PSA NCA scaled 3 < 4" in low.reasons


@pytest.mark.parametrize(
    ("facts", "count"),
    [
        ({"person.age": 24}, 1), ({"person.age": 25}, 0),
        ({"history.prior_diversion_failures": 1}, 1), ({"history.prior_diversion_failures": 0}, 0),
        ({"history.prior_incarcerations": 2}, 1), ({"history.prior_incarcerations": 0}, 0),
        ({"history.prior_convictions": 3}, 1), ({"history.prior_convictions": 2}, 0),
        ({"history.pending_charge": True}, 1), ({"history.pending_charge": False}, 0),
        ({"history.fta_past_2_years": 1}, 1), ({"history.fta_past_2_years": 0}, 0),
    ],
)
def test_each_prognostic_indicator_edge(facts: dict[str, Any], count: int) -> None:
    triage = assess_triage({}, {**KNOWN_HISTORY, **facts})
    risk_reason = next(r for r in triage.reasons if r.startswith("risk"))
    assert risk_reason.startswith(f"risk low: {count} prognostic indicator")
    # with one more known indicator, two make risk high
    both = assess_triage({}, {**KNOWN_HISTORY, **facts, "history.pending_charge": True}
                         if "history.pending_charge" not in facts
                         else {**KNOWN_HISTORY, **facts, "person.age": 19})
    assert both.risk == ("high" if count == 1 else "low")


def test_every_indicator_has_a_source() -> None:
    assert set(INDICATORS) == {"young_age", "prior_diversion_failures", "prior_incarcerations",
                               "prior_convictions", "pending_charge", "fta_past_2_years"}
    for text in INDICATORS.values():
        assert "§2." in text


def test_risk_indicator_config() -> None:
    config = TriageConfig.from_mapping({"risk_high": {
        "indicators": ["young_age", "prior_diversion_failures"], "prognostic_indicators_min": 1,
        "young_age_below": 21}})
    assert assess_triage({}, {"person.age": 20}, config).risk == "high"
    assert assess_triage({}, {"person.age": 21, "history.pending_charge": True,
                              "history.prior_diversion_failures": 0}, config).risk == "low"
    off = TriageConfig.from_mapping({"risk_high": {"prognostic_indicators_min": None}})
    triage = assess_triage({}, {"person.age": 19, "history.pending_charge": True}, off)
    assert triage.risk is None  # nothing left to show risk
    assert "risk unknown: no PSA result and prognostic indicators switched off" in triage.reasons


def test_psa_fta_and_violence_flag_optional() -> None:
    psa = score("psa", _load("psa_violence_flag.yaml"))
    assert assess_triage({"psa": psa}, {}).risk == "low"  # NCA scaled 3; age unknown to facts
    config = TriageConfig.from_mapping({"risk_high": {"psa_nvca_flag": True}})
    triage = assess_triage({"psa": psa}, {}, config)
    assert triage.risk == "high"
    assert "risk high: PSA NVCA violence flag raised" in triage.reasons
    config = TriageConfig.from_mapping({"risk_high": {"psa_fta_scaled_min": 2}})
    assert "risk high: PSA FTA scaled 2 >= 2" in assess_triage({"psa": psa}, {}, config).reasons


# ==================================================================================================
# overrides
# ==================================================================================================


def test_given_need_and_risk_override() -> None:
    triage = assess_triage({"dast10": _dast(8)}, KNOWN_HISTORY, need="low", risk="high")
    assert (triage.risk, triage.need, triage.quadrant) == ("high", "low", "HR/LN")
    assert triage.reasons[:2] == [
        "need low: given (the screening and facts alone would give high)",
        "risk high: given (the screening and facts alone would give low)"]
    same = assess_triage({"dast10": _dast(8)}, {}, need="high")
    assert same.reasons[0] == "need high: given"
    # the disorder is still computed from the screening
    assert triage.disorder == "moderate"


def test_given_level_must_be_allowed() -> None:
    with pytest.raises(InputError, match=r"^need: 'medium' is not allowed; allowed: low, high$"):
        assess_triage({}, {}, need="medium")
    with pytest.raises(InputError, match=r"^risk: "):
        assess_triage({}, {}, risk="HIGH")


# ==================================================================================================
# disorder
# ==================================================================================================


@pytest.mark.parametrize(
    ("results", "disorder"),
    [
        ({"dast10": _dast(2)}, "none"), ({"dast10": _dast(3)}, "mild"),
        ({"dast10": _dast(5)}, "mild"), ({"dast10": _dast(6)}, "moderate"),
        ({"dast10": _dast(8)}, "moderate"), ({"dast10": _dast(9)}, "severe"),
        ({"assist": _assist("cannabis", False)}, "mild"),
        ({"assist": _assist("cannabis", True)}, "moderate"),
        ({"assist": _assist("alcohol", True)}, None),
        ({"audit": _audit(15)}, "none"), ({"audit": _audit(16)}, "mild"),
        ({"audit": _audit(20)}, "moderate"),
        ({"dast10": _dast(4), "audit": _audit(20)}, "moderate"),
    ],
)
def test_disorder_mapped_conservatively(results: dict[str, ScreeningResult],
                                        disorder: str | None) -> None:
    assert assess_triage(results, {}).disorder == disorder


def test_dsm5_count_wins_over_everything() -> None:
    triage = assess_triage({"dsm5": _dsm5(2), "dast10": _dast(10)},
                           {"screening.disorder": "severe"})
    assert triage.disorder == "mild"
    assert "disorder mild: DSM-5 criteria 2" in triage.reasons
    stated = assess_triage({"dast10": _dast(10)}, {"screening.disorder": "mild"})
    assert stated.disorder == "mild"
    assert "disorder mild: given (screening.disorder)" in stated.reasons


# ==================================================================================================
# configuration
# ==================================================================================================


def test_config_defaults() -> None:
    config = TriageConfig()
    assert config.provenance == "unverified"
    assert config.citation.startswith("Marlowe 2012")
    assert config.need_high.assist_drug_score_min == 27
    assert config.need_high.dast10_score_min == 6
    assert config.need_high.dsm5_criteria_min == 4
    assert config.need_high.audit_score_min == 20
    assert config.need_high.injecting is True
    assert config.need_high.crafft_score_min is None
    assert config.risk_high.psa_nca_scaled_min == 4
    assert config.risk_high.prognostic_indicators_min == 2
    assert TriageConfig.from_mapping(None) == config


def test_config_from_packs_md_example() -> None:
    # the `triage:` block of docs/packs.md
    data = YAML(typ="safe").load(
        "citation: Marlowe 2012, NDCI Fact Sheet VII(2) (four risk/need quadrants)\n"
        "provenance: unverified\n"
        "need_high: {assist_drug_score_min: 27, dast10_score_min: 6, dsm5_criteria_min: 4,\n"
        "            audit_score_min: 20, injecting: true}\n"
        "risk_high: {psa_nca_scaled_min: 4, prognostic_indicators_min: 2}\n")
    config = TriageConfig.from_mapping(data)
    assert config.need_high == TriageConfig().need_high
    assert config.risk_high == TriageConfig().risk_high


def test_config_overrides_change_the_triage() -> None:
    config = TriageConfig.from_mapping({"need_high": {"dast10_score_min": 3}})
    triage = assess_triage({"dast10": _dast(3)}, {}, config)
    assert triage.need == "high"
    assert "need high: DAST-10 score 3 >= 3" in triage.reasons
    off = TriageConfig.from_mapping({"need_high": {"dast10_score_min": None}})
    assert assess_triage({"dast10": _dast(10)}, {}, off).need is None  # no criterion left


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"need_high": {"dast_min": 3}},
         "triage.need_high.dast_min: unknown key; allowed: assist_drug_score_min, "
         "assist_alcohol_score_min, dast10_score_min, dsm5_criteria_min, audit_score_min, "
         "crafft_score_min, cage_aid_score_min, uncope_score_min, injecting, disorder_min"),
        ({"risk_high": {"psa_nca_scaled_min": 7}},
         "triage.risk_high.psa_nca_scaled_min: Input should be less than or equal to 6 (got 7)"),
        ({"risk_high": {"indicators": ["young_age", "homeless"]}},
         "triage.risk_high.indicators[1]: Input should be 'young_age', 'prior_diversion_failures', "
         "'prior_incarcerations', 'prior_convictions', 'pending_charge' or 'fta_past_2_years' "
         "(got 'homeless')"),
        ({"provenance": "verfied"},
         "triage.provenance: Input should be 'verified' or 'unverified' (got 'verfied')"),
        ({"quadrants": {}}, "triage.quadrants: unknown key; allowed: citation, provenance, "
                            "need_high, risk_high"),
    ],
)
def test_config_refused_with_one_line(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PackError) as info:
        TriageConfig.from_mapping(data)
    assert str(info.value) == message


# ==================================================================================================
# bad input
# ==================================================================================================


def test_bad_facts_name_the_field() -> None:
    with pytest.raises(InputError, match=r"^person\.age: 'old' is not allowed; allowed: a number"):
        assess_triage({}, {"person.age": "old"})
    with pytest.raises(InputError, match=r"^history\.pending_charge: 'yes' is not allowed"):
        assess_triage({}, {"history.pending_charge": "yes"})
    with pytest.raises(InputError, match=r"^screening\.disorder: 'bad' is not allowed"):
        assess_triage({}, {"screening.disorder": "bad"})


def test_results_must_match_their_keys() -> None:
    with pytest.raises(InputError, match=r"^screening\.audit: expected the ScreeningResult"):
        assess_triage({"audit": _dast(3)}, {})
    with pytest.raises(InputError, match=r"^screening\.rant: unknown instrument"):
        assess_triage({"rant": _dast(3)}, {})


# ==================================================================================================
# end to end from example response files
# ==================================================================================================


def test_examples_end_to_end() -> None:
    results = {
        "assist": score("assist", _load("assist_opioids_injecting.yaml")),
        "psa": score("psa", _load("psa_example.yaml")),
        "dsm5": score("dsm5", _load("dsm5_moderate.yaml")),
    }
    triage = assess_triage(results, {"person.age": 27})
    assert triage.to_json() == {
        "risk": "high", "need": "high", "quadrant": "HR/HN", "disorder": "moderate",
        "injecting": True,
        "reasons": [
            "need high: ASSIST opioids score 37 >= 27",
            "need high: DSM-5 criteria 4 >= 4",
            "need high: injecting drug use in the past 3 months (ASSIST Q8)",
            "risk high: PSA NCA scaled 4 >= 4",
            "disorder moderate: DSM-5 criteria 4",
        ]}
