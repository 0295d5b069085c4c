"""Advice on one case: eligibility, consent, coercion, quadrant fit, and the same rules on arrays."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divert.advice.case import parse_case
from divert.advice.pathways import advise, decide, prepare
from divert.errors import InputError
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Policy, iter_packs, load_pack
from divert.law.rules import encode_batch
from divert.law.vocabulary import AGGRAVATORS, OFFENCE_TYPES, STAGES, SUBSTANCES

FIXTURE = Path(__file__).parent / "fixtures" / "testland"


@pytest.fixture(scope="module")
def testland() -> Policy:
    return load_pack(FIXTURE)


def case(**overrides: object) -> dict:
    data: dict = {
        "person": {"age": 30},
        "offence": {"type": "possession", "substance": "heroin", "quantity_g": 1.5,
                    "date": "2012-03-01"},
        "history": {"prior_drug_convictions": 0, "prior_violent_convictions": 0},
        "consent": True, "need": "high", "risk": "low",
    }
    data.update(overrides)
    return data


def test_date_decides_which_law_applies(testland: Policy) -> None:
    c = parse_case(case())
    before = decide(c, testland, "police", date(2005, 3, 1))
    after = decide(c, testland, "police", date(2012, 3, 1))
    # 1.5 g heroin is above the 2000 threshold (1 g) and below the 2010 one (2 g)
    assert before.eligible == ["arrest_and_charge"]
    assert before.recommended is None
    assert after.eligible == ["warning", "referral_to_health_services"]
    assert after.recommended == "referral_to_health_services"
    arrest = next(m for m in after.measures if m.id == "arrest_and_charge")
    assert arrest.superseded_by == "referral_to_health_services"
    assert any("superseded" in r for r in arrest.reasons)


def test_consent_not_recorded_means_seek_it(testland: Policy) -> None:
    advice = decide(parse_case(case(consent=None)), testland, "police")
    assert advice.recommended == "warning"  # needs no consent
    assert advice.seek_consent_for == "referral_to_health_services"
    assert any("seek and record" in n for n in advice.notes)
    refused = decide(parse_case(case(consent=False)), testland, "court")
    assert refused.recommended is None
    assert refused.seek_consent_for is not None
    assert any("refused" in n for n in refused.notes)


def test_coercive_measure_is_reported_never_recommended(testland: Policy) -> None:
    advice = decide(parse_case(case(disorder="severe", need="high", risk="high")), testland,
                    "police")
    compulsory = next(m for m in advice.measures if m.id == "compulsory_treatment")
    assert compulsory.eligible and compulsory.kind == "coercive"
    assert advice.recommended != "compulsory_treatment"
    assert any("coercive" in n for n in advice.notes)


def test_quadrants_pick_the_matching_track(testland: Policy) -> None:
    def court(need: str, risk: str) -> str | None:
        return decide(parse_case(case(need=need, risk=risk)), testland, "court").recommended

    assert court("high", "high") == "drug_treatment_court"      # HR/HN: full treatment court
    assert court("high", "low") == "treatment_order"            # LR/HN: treatment emphasis
    assert court("low", "high") == "pre_judgment_probation"     # HR/LN: accountability
    assert court("low", "low") == "pre_judgment_probation"      # LR/LN: least intensive open


def test_missing_facts_are_undetermined_not_false(testland: Policy) -> None:
    c = case()
    c["history"] = {}
    advice = decide(parse_case(c), testland, "court")
    dtc = next(m for m in advice.measures if m.id == "drug_treatment_court")
    assert dtc.status == "undetermined" and not dtc.eligible
    assert dtc.missing == ["history.prior_violent_convictions"]
    assert any("undetermined" in n for n in advice.notes)


def test_reasons_show_actual_values_and_citations(testland: Policy) -> None:
    advice = decide(parse_case(case()), testland, "police")
    warning = next(m for m in advice.measures if m.id == "warning")
    assert warning.citations == ["Testland Police Act s.5"]
    assert any("within the personal-use threshold" in r and "offence.quantity_g = 1.5" in r
               and "= 2" in r for r in warning.reasons)
    assert [t["holds"] for t in warning.trace] == [True, True, False]


def test_screening_feeds_triage(testland: Policy) -> None:
    c = case(need=None, risk=None,
             screening={"dast10": {"answers": ["yes", "yes", "no", "no", "yes", "yes", "no",
                                               "yes", "yes", "no"]}})
    prepared = prepare(parse_case(c), testland)
    assert prepared.screening["dast10"].score == 7
    assert prepared.triage.need == "high"
    assert prepared.facts["triage.need"] == "high"


def test_bad_screening_names_the_field(testland: Policy) -> None:
    c = case(screening={"dast10": {"answers": ["yes"] * 9 + ["perhaps"]}})
    with pytest.raises(InputError, match=r"screening\.dast10\..*answers\[9\]"):
        advise(parse_case(c), testland)


def test_no_date_anywhere_is_an_input_error(testland: Policy) -> None:
    c = case()
    del c["offence"]["date"]
    with pytest.raises(InputError, match="--date"):
        advise(parse_case(c), testland)


# --- properties over every shipped pack ------------------------------------------------------------

PACKS = list(iter_packs())
DATES = sorted({ex.date or parse_case(ex.case).offence.date for p in PACKS for ex in p.examples
                if ex.date or ex.case.get("offence", {}).get("date")} | {date(2024, 6, 1)})

case_data = st.fixed_dictionaries({
    "person": st.fixed_dictionaries({"age": st.integers(14, 70)}, optional={
        "in_treatment": st.booleans(), "acknowledges_drug_problem": st.booleans()}),
    "offence": st.fixed_dictionaries({
        "type": st.sampled_from(OFFENCE_TYPES), "substance": st.sampled_from(SUBSTANCES),
        "quantity_g": st.sampled_from([0.1, 0.5, 1, 2.5, 4, 10, 30, 200, 2500, 60000]),
        "aggravators": st.lists(st.sampled_from(AGGRAVATORS), unique=True, max_size=2)},
        optional={"plants": st.integers(0, 3), "linked_to_drug_use": st.booleans(),
                  "admitted": st.booleans()}),
    "history": st.fixed_dictionaries({}, optional={
        k: st.integers(0, 4) for k in ("prior_convictions", "prior_drug_convictions",
                                       "prior_violent_convictions", "prior_incarcerations",
                                       "prior_diversion_failures", "prior_diversions",
                                       "prior_drug_arrests")}),
    "sentence": st.fixed_dictionaries({}, optional={"months": st.integers(1, 120),
                                                    "served_months": st.integers(0, 60)}),
    "consent": st.sampled_from([True, False, None]),
    "risk": st.sampled_from(["low", "high"]),
    "disorder": st.sampled_from(["none", "mild", "moderate", "severe"]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=case_data, day=st.sampled_from(DATES), pack_index=st.integers(0, len(PACKS) - 1))
def test_higher_need_never_less_treatment_and_coercion_never_recommended(
        data: dict, day: date, pack_index: int) -> None:
    pack = PACKS[pack_index]
    low = advise(parse_case({**data, "need": "low"}), pack, None, day)
    high = advise(parse_case({**data, "need": "high"}), pack, None, day)
    for lo, hi in zip(low.stages, high.stages, strict=True):
        for s in (lo, hi):
            if s.recommended is not None:
                assert CATALOGUE[s.recommended].kind == "alternative"
                assert s.recommended in s.eligible
        if lo.recommended and hi.recommended:
            assert (CATALOGUE[hi.recommended].treatment
                    >= CATALOGUE[lo.recommended].treatment), (pack.code, lo.stage)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(case_data, min_size=2, max_size=12), day=st.sampled_from(DATES),
       need=st.sampled_from(["low", "high"]))
def test_decide_equals_vectorised_evaluation(rows: list[dict], day: date, need: str) -> None:
    for pack in PACKS:
        cases = [parse_case({**r, "need": need}) for r in rows]
        facts = [prepare(c, pack).facts for c in cases]
        batch = encode_batch(facts)
        for stage in STAGES:
            together = pack.evaluate(stage, day, batch, len(rows))
            for i, c in enumerate(cases):
                alone = decide(c, pack, stage, day)
                for m in alone.measures:
                    code = int(together[m.id][i])
                    assert m.status == {2: "eligible", 0: "not_eligible",
                                        1: "undetermined"}[code], (pack.code, stage, m.id)


def test_stated_disorder_counts_towards_need(testland: Policy) -> None:
    prepared = prepare(parse_case(case(need=None, disorder="severe")), testland)
    assert prepared.triage.need == "high"
    assert prepared.facts["screening.disorder"] == "severe"
    assert prepare(parse_case(case(need=None, disorder="mild")), testland).triage.need == "low"


def test_intensive_measures_do_not_fit_low_risk_low_need(testland: Policy) -> None:
    c = case(need="low", risk="low", history={"prior_drug_convictions": 1,
                                              "prior_violent_convictions": 0})
    advice = decide(parse_case(c), testland, "court")
    assert set(advice.eligible) >= {"drug_treatment_court", "treatment_order"}
    assert advice.recommended is None
    assert any("too intensive for LR/LN" in n for n in advice.notes)
    # low risk, high need: treatment emphasis, but never the full treatment court
    c["need"] = "high"
    assert decide(parse_case(c), testland, "court").recommended == "treatment_order"


def test_pardon_is_reported_but_never_recommended() -> None:
    from divert.advice.pathways import MeasureAdvice, recommend

    pardon = MeasureAdvice("pardon_or_remission", "Pardon", "alternative", True, "eligible",
                           False, True, [], [], [])
    assert recommend([pardon], "low", "low", True) == (None, None)
