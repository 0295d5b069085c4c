"""The rule language: compile-time errors, three-valued evaluation, traces, arrays equal one by one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divert.errors import PackError
from divert.law.rules import FALSE, TRUE, UNKNOWN, ParamSpec, compile_condition, encode_batch
from divert.law.vocabulary import AGGRAVATORS, FIELDS, OFFENCE_TYPES, SUBSTANCES

PARAMS = {
    "threshold_g": ParamSpec("threshold_g", "table", FIELDS["offence.substance"]),
    "adult_age_years": ParamSpec("adult_age_years", "number"),
    "registration_scheme": ParamSpec("registration_scheme", "truth"),
}
VALUES = {"threshold_g": {"heroin": 1.0, "cannabis_resin": 5.0, "cannabis_herb": 25.0},
          "adult_age_years": 18, "registration_scheme": True}

RULES = [
    "offence.quantity_g <= threshold_g[offence.substance]",
    'offence.type in ["use", "possession"] and person.age >= adult_age_years',
    'not has_any(offence.aggravators, ["organised_group", "violence", "minors"])',
    '"weapons" in offence.aggravators or history.prior_drug_convictions > 1',
    "18 <= person.age < 21",
    "history.pending_charge or count(offence.aggravators) >= 2",
    "registration_scheme and offence.plants <= 1",
    'offence.substance not in ["heroin", "crack"] and person.age * 2 - 10 > 20',
    'triage.quadrant == "HR/HN" or screening.disorder in ["moderate", "severe"]',
    "max(history.prior_convictions, history.prior_drug_convictions) >= 3",
    'has_all(offence.aggravators, ["minors", "weapons"]) != consent',
]


def one(text: str, facts: dict) -> int:
    cond = compile_condition(text, PARAMS, where="test")
    return int(cond.evaluate(encode_batch([facts]), VALUES, 1)[0])


def test_threshold_table_by_substance() -> None:
    rule = "offence.quantity_g <= threshold_g[offence.substance]"
    assert one(rule, {"offence.quantity_g": 4, "offence.substance": "cannabis_resin"}) == TRUE
    assert one(rule, {"offence.quantity_g": 6, "offence.substance": "cannabis_resin"}) == FALSE
    assert one(rule, {"offence.quantity_g": 1, "offence.substance": "heroin"}) == TRUE
    # no threshold for crack in this table: the comparison is unknown, not false
    assert one(rule, {"offence.quantity_g": 0.1, "offence.substance": "crack"}) == UNKNOWN
    assert one(rule, {"offence.substance": "heroin"}) == UNKNOWN


def test_three_valued_logic() -> None:
    # unknown and false is false; unknown or true is true; not unknown is unknown
    assert one("person.age > 18 and offence.quantity_g > 1", {"person.age": 10}) == FALSE
    assert one("person.age > 18 or offence.quantity_g > 1", {"offence.quantity_g": 2}) == TRUE
    assert one("not (person.age > 18)", {}) == UNKNOWN
    assert one("person.age > 18 and offence.quantity_g > 1", {"person.age": 30}) == UNKNOWN


def test_sets_and_membership() -> None:
    facts = {"offence.aggravators": ["minors"], "offence.type": "possession"}
    assert one('"minors" in offence.aggravators', facts) == TRUE
    assert one('"minors" not in offence.aggravators', facts) == FALSE
    assert one('has_any(offence.aggravators, ["weapons", "minors"])', facts) == TRUE
    assert one('has_all(offence.aggravators, ["weapons", "minors"])', facts) == FALSE
    assert one('offence.type not in ["supply", "trafficking"]', facts) == TRUE
    assert one('offence.type in ["supply"]', {}) == UNKNOWN
    # a missing set is empty: no aggravator reported means none
    assert one('has_any(offence.aggravators, ["weapons"])', {}) == FALSE


def test_trace_records_values_and_agrees() -> None:
    cond = compile_condition("offence.quantity_g <= threshold_g[offence.substance]", PARAMS,
                             where="t", label="within ten days' supply")
    step = cond.trace(encode_batch([{"offence.quantity_g": 4,
                                     "offence.substance": "cannabis_resin"}]), VALUES)
    assert step.holds is True
    assert step.label == "within ten days' supply"
    assert step.values == {"offence.quantity_g": 4.0, "offence.substance": "cannabis_resin",
                           "threshold_g[offence.substance]": 5.0}
    step = cond.trace(encode_batch([{"offence.substance": "heroin"}]), VALUES)
    assert step.holds is None
    assert step.missing() == ["offence.quantity_g"]


@pytest.mark.parametrize(("text", "message"), [
    ("offence.quantity > 1", "unknown name 'offence.quantity' | did you mean offence.quantity_g?"),
    ('offence.type == "smoking"', "'smoking' is not a value of offence.type; allowed: use"),
    ("offence.type > 3", "categories can only be compared with == or !="),
    ("person.age", "a condition must be true or false"),
    ("person.age +", "syntax error"),
    ('__import__("os").system("x")', "is not allowed"),
    ("open('f')", "function in \"open('f')\" is not allowed"),
    ("threshold_g[person.age] > 1", "is indexed by offence.substance"),
    ("person.age ** 2 > 1", "operator"),
    ("person.age > 'old'", "cannot be compared"),
    ('offence.type in threshold_g', "'in' needs a list"),
    ('has_any(offence.type, ["use"])', "has_any takes a set field"),
    ("person.age.__class__ > 1", "unknown name"),
    ("[x for x in person.age]", "is not allowed"),
    ("undefined_parameter > 2", "unknown name 'undefined_parameter'"),
])
def test_compile_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(PackError) as err:
        compile_condition(text, PARAMS, where="policies/x/police.yaml:12: measures[0].when[1]")
    text_of_error = str(err.value)
    assert text_of_error.startswith("policies/x/police.yaml:12: measures[0].when[1]: ")
    for fragment in message.split(" | "):
        assert fragment in text_of_error
    assert "\n" not in text_of_error


case_facts = st.fixed_dictionaries({}, optional={
    "person.age": st.one_of(st.none(), st.integers(10, 80)),
    "offence.type": st.one_of(st.none(), st.sampled_from(OFFENCE_TYPES)),
    "offence.substance": st.one_of(st.none(), st.sampled_from(SUBSTANCES)),
    "offence.quantity_g": st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
    "offence.plants": st.one_of(st.none(), st.integers(0, 4)),
    "offence.aggravators": st.lists(st.sampled_from(AGGRAVATORS), unique=True, max_size=3),
    "history.prior_drug_convictions": st.one_of(st.none(), st.integers(0, 5)),
    "history.prior_convictions": st.one_of(st.none(), st.integers(0, 5)),
    "history.pending_charge": st.one_of(st.none(), st.booleans()),
    "triage.quadrant": st.one_of(st.none(), st.sampled_from(["HR/HN", "LR/HN", "HR/LN", "LR/LN"])),
    "screening.disorder": st.one_of(st.none(), st.sampled_from(["none", "mild", "moderate",
                                                                 "severe"])),
    "consent": st.one_of(st.none(), st.booleans()),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(case_facts, min_size=1, max_size=25))
def test_array_evaluation_equals_case_by_case(rows: list[dict]) -> None:
    batch = encode_batch(rows)
    for text in RULES:
        cond = compile_condition(text, PARAMS, where="t")
        together = cond.evaluate(batch, VALUES, len(rows))
        alone = [int(cond.evaluate(encode_batch([r]), VALUES, 1)[0]) for r in rows]
        assert together.tolist() == alone, text
        traced = [cond.trace(encode_batch([r]), VALUES).holds for r in rows]
        assert traced == [None if a == UNKNOWN else a == TRUE for a in alone], text


def test_million_cases_vectorised() -> None:
    rng = np.random.default_rng(1)
    n = 1_000_000
    batch = encode_batch([{}])
    batch = {k: np.repeat(v, n) for k, v in batch.items()}
    batch["offence.quantity_g"] = rng.uniform(0, 10, n)
    batch["offence.substance"] = rng.integers(0, len(SUBSTANCES), n).astype(np.int16)
    cond = compile_condition(RULES[0], PARAMS, where="t")
    result = cond.evaluate(batch, VALUES, n)
    assert result.shape == (n,) and result.dtype == np.int8
    heroin = batch["offence.substance"] == SUBSTANCES.index("heroin")
    expected = np.where(batch["offence.quantity_g"][heroin] <= 1.0, TRUE, FALSE)
    assert np.array_equal(result[heroin], expected)
