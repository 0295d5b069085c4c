"""Scenario overlays: every operation, every error, no-op overlays, and the shipped reform scenarios."""

from __future__ import annotations

import copy
import hashlib
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from divert.advice.case import parse_case
from divert.advice.examples import example_rows
from divert.advice.pathways import advise, decide
from divert.errors import DivertError, InputError, PackError
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Policy, load, load_pack, pack_dirs, pack_hash, read_pack_files
from divert.law.practice import resolve
from divert.law.vocabulary import STAGES
from divert.simulation.scenarios import (
    OPS,
    load_overlay,
    load_scenario,
    parse_scenario,
    resolve_overlay,
    scenario_names,
)

REFORM = date(2026, 6, 1)


def write(folder: Path, text: str, name: str = "scenario.yaml") -> Path:
    """Write an overlay file (a title is added unless the text has one)."""
    path = folder / name
    if not text.lstrip().startswith(("title:", "#")) and "\ntitle:" not in text:
        text = "title: A test scenario\n" + text
    path.write_text(text, encoding="utf-8")
    return path


def with_overlay(pack_dir: Path, text: str) -> Policy:
    overlay = load_overlay(write(pack_dir.parent, text))
    return load_pack(pack_dir, [overlay])


def case(**overrides: Any) -> Any:
    data: dict[str, Any] = {
        "person": {"age": 30, "in_treatment": False},
        "offence": {"type": "possession", "substance": "heroin", "quantity_g": 1.5,
                    "date": "2012-03-01"},
        "history": {"prior_drug_convictions": 0, "prior_violent_convictions": 0},
        "consent": True, "need": "high", "risk": "low",
    }
    data.update(overrides)
    return parse_case(data)


def outcome(policy: Policy, c: Any, stage: str, day: date) -> tuple[list[str], str | None]:
    advice = decide(c, policy, stage, day)
    return advice.eligible, advice.recommended


# --- no-op, non-mutation, hash -------------------------------------------------------------------


def test_an_overlay_that_changes_nothing_changes_nothing(testland_dir: Path) -> None:
    base = load_pack(testland_dir)
    path = write(testland_dir.parent, "summary: nothing\nchanges: []\n")
    overlay = load_overlay(path)
    same = load_pack(testland_dir, [overlay])
    assert {n: p.spec for n, p in same.parameters.items()} == \
        {n: p.spec for n, p in base.parameters.items()}
    assert same.practice == base.practice
    for stage in STAGES:
        assert [r.spec for r in same.rules[stage]] == [r.spec for r in base.rules[stage]]
    for example in base.examples:
        c = parse_case(example.case)
        a, b = advise(c, base, None, example.date), advise(c, same, None, example.date)
        assert [s.to_json() for s in a.stages] == [s.to_json() for s in b.stages]
    assert overlay.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    expected = hashlib.sha256((pack_hash(testland_dir) + overlay.hash).encode()).hexdigest()
    assert same.hash == expected != base.hash
    assert same.overlays == ["scenario"] and base.overlays == []
    assert overlay.describe() == []
    assert overlay.law_effective_from() is None


def test_the_hash_names_the_overlay_bytes(testland_dir: Path) -> None:
    one = with_overlay(testland_dir, "changes: []\n")
    two = with_overlay(testland_dir, "# another comment\ntitle: t\nchanges: []\n")
    assert one.hash != two.hash


EVERY_OP = """
pack: testland
changes:
  - set_parameter: threshold_g
    from: 2026-01-01
    entries: {heroin: 5}
    citation: Reform bill s.1
  - add_parameter: plants_max
    unit: plants
    values: {2026-01-01: 3}
    citation: Reform bill s.2
  - add_measure: administrative_referral
    from: 2026-01-01
    before: warning
    measure:
      when: ['offence.type == "cultivation" and offence.plants <= plants_max']
      precedence_over: [arrest_and_charge]
      consent_required: false
    citation: Reform bill s.3
    rationale: Cultivation of a few plants goes to an administrative body.
  - replace_measure: conditional_dismissal
    from: 2026-01-01
    measure: {consent_required: true, precedence_over: [prosecution]}
    citation: Reform bill s.4
    rationale: Conditional dismissal for everyone, before prosecution.
  - remove_measure: corporal_punishment
    citation: Reform bill s.5
  - set_in_force: referral_to_health_services
    from: 2008-01-01
    citation: Reform bill s.6
  - move_date: 2000-01-01
    new_date: 1999-01-01
    citation: Reform bill s.7
  - set_capacity: {treatment_in_prison: 500}
    citation: Budget
  - set_weight: {treatment_in_prison: 3}
    citation: Budget
  - scale_capacity: {treatment_in_prison: 2}
    citation: Budget
  - scale_weight: {warning: 2}
    citation: Budget
"""


def test_apply_returns_a_new_dict_and_never_mutates_its_input(testland_dir: Path) -> None:
    raw = read_pack_files(testland_dir)
    before = copy.deepcopy(raw)
    overlay = load_overlay(write(testland_dir.parent, EVERY_OP))
    assert {c.op for c in overlay.changes} == set(OPS)
    out = overlay.apply(raw)
    assert raw == before
    assert out is not raw and out != raw
    assert out["police.yaml"]["measures"] is not raw["police.yaml"]["measures"]
    assert len(overlay.describe()) == len(overlay.changes)
    # the result compiles, and applying twice from the same input gives the same pack
    policy = load_pack(testland_dir, [overlay])
    again = load_pack(testland_dir, [overlay])
    assert [r.spec for r in policy.rules["police"]] == [r.spec for r in again.rules["police"]]


# --- parameters ----------------------------------------------------------------------------------


def test_set_parameter_entries_from_a_date(testland_dir: Path) -> None:
    base = load_pack(testland_dir)
    policy = with_overlay(testland_dir, """
changes:
  - set_parameter: threshold_g
    from: 2026-01-01
    entries: {heroin: 5}
    citation: Reform bill s.1
    rationale: a higher threshold for heroin
""")
    values = policy.parameters["threshold_g"].spec.values
    assert values[date(2026, 1, 1)] == {"heroin": 5.0, "cannabis_herb": 25.0}
    assert values[date(2010, 1, 1)] == base.parameters["threshold_g"].spec.values[date(2010, 1, 1)]
    assert "Reform bill s.1" in policy.parameters["threshold_g"].spec.citation
    assert policy.parameters["threshold_g"].spec.provenance == "unverified"
    four_grams = case(offence={"type": "possession", "substance": "heroin", "quantity_g": 4})
    assert outcome(base, four_grams, "police", REFORM)[0] == ["arrest_and_charge"]
    assert outcome(policy, four_grams, "police", REFORM)[0] == \
        ["warning", "referral_to_health_services"]
    assert outcome(policy, four_grams, "police", date(2012, 1, 1))[0] == ["arrest_and_charge"]


def test_set_parameter_value_with_and_without_a_date(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - set_parameter: adult_age_years
    value: 16
    citation: Majority Act amendment
  - set_parameter: threshold_g
    from: 2005-01-01
    value: {heroin: 0.5}
    citation: Stricter threshold
""")
    assert policy.parameters["adult_age_years"].spec.values == {date(1900, 1, 1): 16}
    # a whole value from a date drops the later dated values
    assert policy.parameters["threshold_g"].spec.values == {
        date(2000, 1, 1): {"heroin": 1.0, "cannabis_herb": 10.0},
        date(2005, 1, 1): {"heroin": 0.5}}


def test_set_practice_parameter_creates_it_with_the_overlay_citation(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - set_parameter: consent_prob
    value: 0.9
    citation: Survey of consent to treatment (hypothetical)
""")
    p = policy.practice["consent_prob"]
    assert p.spec.values == {date(1900, 1, 1): 0.9}
    assert "Survey of consent" in p.spec.citation and p.spec.unit == "probability"
    values = resolve(policy, REFORM)
    assert values["consent_prob"].value == 0.9 and values["consent_prob"].source == "pack"


def test_practice_tables_merge_with_the_pack_and_scale(testland_dir: Path) -> None:
    (testland_dir / "practice.yaml").write_text("""
measure_weight:
  unit: weight
  keys: measure
  citation: Testland practice survey
  provenance: unverified
  values: {2000-01-01: {arrest_and_charge: 1.0, warning: 0.5}}
measure_capacity:
  unit: places
  keys: measure
  citation: Testland budget
  provenance: unverified
  values: {2000-01-01: {treatment_in_prison: 100}}
""", encoding="utf-8")
    policy = with_overlay(testland_dir, """
changes:
  - set_weight: {referral_to_health_services: 2}
    from: 2026-01-01
    citation: Reform
  - scale_weight: {warning: 2, treatment_in_prison: 3}
    from: 2026-01-01
    citation: Reform
  - scale_capacity: {treatment_in_prison: 2, release_with_aftercare: 2}
    citation: Reform
  - set_capacity: {drug_treatment_court: 40}
    from: 2026-01-01
    citation: Reform
""")
    weight = policy.practice["measure_weight"].spec.values
    assert weight[date(2000, 1, 1)] == {"arrest_and_charge": 1.0, "warning": 0.5}
    assert weight[date(2026, 1, 1)] == {"arrest_and_charge": 1.0, "warning": 1.0,
                                        "referral_to_health_services": 2.0,
                                        "treatment_in_prison": 3.0}
    capacity = policy.practice["measure_capacity"].spec.values
    # unlimited places (no entry) stay unlimited when scaled
    assert capacity[date(2000, 1, 1)] == {"treatment_in_prison": 200.0}
    assert capacity[date(2026, 1, 1)] == {"treatment_in_prison": 200.0,
                                          "drug_treatment_court": 40.0}
    assert resolve(policy, REFORM)["measure_capacity"].value["drug_treatment_court"] == 40.0
    assert "drug_treatment_court" not in resolve(policy, date(2020, 1, 1))["measure_capacity"].value


def test_scaling_unlimited_places_changes_nothing(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - scale_capacity: {treatment_in_prison: 2}
    citation: Reform
""")
    assert "measure_capacity" not in policy.practice


def test_add_parameter_is_usable_by_rules(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - add_parameter: plants_max
    description: plants for own use
    unit: plants
    values: {2026-01-01: 3}
    citation: Reform bill s.2
  - add_measure: administrative_referral
    from: 2026-01-01
    measure:
      when: ['offence.type == "cultivation" and offence.plants <= plants_max']
      precedence_over: [arrest_and_charge]
      consent_required: false
    citation: Reform bill s.3
    rationale: Cultivation of a few plants is an administrative matter.
""")
    assert policy.parameters["plants_max"].spec.values == {date(2026, 1, 1): 3}
    grower = case(offence={"type": "cultivation", "substance": "cannabis_herb", "plants": 2})
    assert outcome(policy, grower, "police", REFORM)[0] == ["administrative_referral"]
    rule = next(r for r in policy.rules["police"] if r.id == "administrative_referral")
    assert rule.spec.legal_basis[0].citation == "Reform bill s.3"
    assert rule.spec.legal_basis[0].text.startswith("Cultivation of a few plants")
    assert rule.provenance == "unverified"


# --- measures ------------------------------------------------------------------------------------


def test_add_measure_takes_precedence_and_keeps_its_place(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - add_measure: administrative_referral
    from: 2026-01-01
    before: warning
    measure:
      label: Referral to a dissuasion commission
      when: ['offence.type in ["use", "possession"]']
      precedence_over: [arrest_and_charge]
      consent_required: false
    citation: Law 30/2000 art. 2 (as a model)
    rationale: Possession becomes an administrative offence.
""")
    ids = [r.id for r in policy.rules["police"]]
    assert ids[:2] == ["administrative_referral", "warning"]
    big = case(offence={"type": "possession", "substance": "heroin", "quantity_g": 50})
    assert outcome(policy, big, "police", date(2012, 1, 1))[0] == ["arrest_and_charge"]
    assert outcome(policy, big, "police", REFORM)[0] == ["administrative_referral"]


def test_replace_measure_everywhere_or_from_a_date(testland_dir: Path) -> None:
    everywhere = with_overlay(testland_dir, """
changes:
  - replace_measure: pre_judgment_probation
    measure:
      when: [history.prior_drug_convictions <= 1]
      consent_required: true
    citation: Courts Act amendment
    rationale: Probation without judgment after one prior drug conviction too.
""")
    one_prior = case(history={"prior_drug_convictions": 1, "prior_violent_convictions": 0})
    assert "pre_judgment_probation" in outcome(everywhere, one_prior, "court", date(2012, 1, 1))[0]
    dated = with_overlay(testland_dir, """
changes:
  - replace_measure: pre_judgment_probation
    from: 2026-01-01
    measure:
      when: [history.prior_drug_convictions <= 1]
      consent_required: true
    citation: Courts Act amendment
    rationale: Probation without judgment after one prior drug conviction too.
""")
    versions = [r for r in dated.rules["court"] if r.id == "pre_judgment_probation"]
    assert [(v.spec.in_force.start, v.spec.in_force.end) for v in versions] == \
        [(None, date(2026, 1, 1)), (date(2026, 1, 1), None)]
    assert "pre_judgment_probation" not in outcome(dated, one_prior, "court", date(2012, 1, 1))[0]
    assert "pre_judgment_probation" in outcome(dated, one_prior, "court", REFORM)[0]


def test_replace_measure_with_versions(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - replace_measure: fine
    versions:
      - {in_force: {to: 2020-01-01}, consent_required: false}
      - in_force: {from: 2020-01-01}
        when: ['offence.type != "use"']
        consent_required: false
    citation: Penal Code amendment
    rationale: No fine for use from 2020.
""")
    assert [r.spec.in_force.start for r in policy.rules["court"] if r.id == "fine"] == \
        [None, date(2020, 1, 1)]


def test_remove_measure_everywhere_or_from_a_date(testland_dir: Path) -> None:
    gone = with_overlay(testland_dir, """
changes:
  - remove_measure: corporal_punishment
    citation: Abolition Act
""")
    assert "corporal_punishment" not in [r.id for r in gone.rules["court"]]
    user = case(offence={"type": "use", "substance": "heroin"})
    dated = with_overlay(testland_dir, """
changes:
  - remove_measure: corporal_punishment
    from: 2026-01-01
    citation: Abolition Act
""")
    assert "corporal_punishment" in outcome(dated, user, "court", date(2012, 1, 1))[0]
    assert "corporal_punishment" not in outcome(dated, user, "court", REFORM)[0]


def test_set_in_force_changes_when_a_law_takes_effect(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - set_in_force: referral_to_health_services
    from: 2005-01-01
    citation: Health Act commencement order
""")
    small = case(offence={"type": "possession", "substance": "heroin", "quantity_g": 0.5})
    assert "referral_to_health_services" in outcome(policy, small, "police", date(2006, 1, 1))[0]
    base = load_pack(testland_dir)
    assert "referral_to_health_services" not in outcome(base, small, "police", date(2006, 1, 1))[0]


def test_set_in_force_picks_a_version_by_date(testland_dir: Path) -> None:
    text = """
changes:
  - replace_measure: warning
    from: 2015-01-01
    measure: {consent_required: false}
    citation: Police Act amendment
    rationale: Warnings for everyone.
  - set_in_force: warning
    {version}
    to: 2016-01-01
    citation: Police Act repeal
"""
    with pytest.raises(PackError, match=r"has 2 versions.*version: DATE"):
        with_overlay(testland_dir, text.replace("{version}", ""))
    policy = with_overlay(testland_dir, text.replace("{version}", "version: 2015-06-01"))
    assert [r.spec.in_force.end for r in policy.rules["police"] if r.id == "warning"] == \
        [date(2015, 1, 1), date(2016, 1, 1)]


def test_move_date_moves_a_whole_change_of_the_law(testland_dir: Path) -> None:
    policy = with_overlay(testland_dir, """
changes:
  - move_date: 2010-01-01
    new_date: 2008-01-01
    citation: Reform brought forward
""")
    assert date(2008, 1, 1) in policy.parameters["threshold_g"].spec.values
    referral = next(r for r in policy.rules["police"] if r.id == "referral_to_health_services")
    assert referral.spec.in_force.start == date(2008, 1, 1)
    c = case(offence={"type": "possession", "substance": "heroin", "quantity_g": 1.5})
    assert outcome(policy, c, "police", date(2009, 1, 1))[0] == \
        ["warning", "referral_to_health_services"]


def test_describe_says_what_each_change_does(testland_dir: Path) -> None:
    overlay = load_overlay(write(testland_dir.parent, EVERY_OP))
    lines = overlay.describe()
    assert lines[0].startswith("Sets parameter threshold_g[heroin] = 5 from 2026-01-01")
    assert lines[0].endswith("[Reform bill s.1]")
    assert "Adds police measure administrative_referral" in lines[2]
    assert "Cultivation of a few plants" in lines[2]
    assert "Removes the court measure corporal_punishment" in lines[4]
    assert overlay.law_effective_from() is None  # remove_measure without a date


def test_law_effective_from_is_the_earliest_dated_law_change(testland_dir: Path) -> None:
    overlay = load_overlay(write(testland_dir.parent, """
changes:
  - remove_measure: corporal_punishment
    from: 2027-01-01
    citation: Abolition Act
  - set_parameter: threshold_g
    from: 2026-03-01
    entries: {heroin: 3}
    citation: Reform
  - set_capacity: {treatment_in_prison: 10}
    citation: budget (practice, not law)
"""))
    assert overlay.law_effective_from() == date(2026, 3, 1)


# --- errors --------------------------------------------------------------------------------------

ERRORS = [
    ("changes: [\n", r"malformed YAML"),
    ("# not a mapping\n- a list\n", r"a scenario is a mapping"),
    ("# no title\nsummary: none\nchanges: []\n", r"title: required field is missing"),
    ("changes:\n  - set_paramter: threshold_g\n    citation: c\n",
     r":3: changes\[0\]: no operation \(unknown: set_paramter\); each change names exactly one "
     r"of: set_parameter, add_parameter"),
    ("changes:\n  - remove_measure: warning\n    add_measure: warning\n    citation: c\n",
     r"more than one operation"),
    ("changes:\n  - remove_measure: warning\n", r":3: changes\[0\].citation: required field"),
    ("changes:\n  - remove_measure: warning\n    citaton: c\n    citation: c\n",
     r":4: changes\[0\].citaton: unknown field"),
    ("changes:\n  - remove_measure: warnin\n    citation: c\n",
     r":3: changes\[0\].remove_measure: 'warnin' is not a catalogue measure; allowed: "),
    ("changes:\n  - remove_measure: no_further_action\n    citation: c\n",
     r":3: changes\[0\].remove_measure: 'no_further_action' is not a measure of this pack's "
     r"police.yaml; measures there: warning"),
    ("changes:\n  - remove_measure: warning\n    stage: polce\n    citation: c\n",
     r":4: changes\[0\].stage: polce is not allowed; allowed: police, prosecution, court"),
    ("changes:\n  - remove_measure: warning\n    stage: court\n    citation: c\n",
     r"changes\[0\].remove_measure: 'warning' is a police measure, not a court one"),
    ("changes:\n  - set_parameter: threshold_kg\n    value: 3\n    citation: c\n",
     r":3: changes\[0\].set_parameter: 'threshold_kg' is neither a parameter of this pack "
     r"\(threshold_g, adult_age_years\) nor a practice parameter.*add_parameter"),
    ("changes:\n  - set_parameter: threshold_g\n    value: 3\n    citation: c\n",
     r":4: changes\[0\].value: threshold_g is a table, not a number"),
    ("changes:\n  - set_parameter: threshold_g\n    entries: {herion: 3}\n    citation: c\n",
     r"changes\[0\].entries.herion: not a key of threshold_g \(offence.substance\); allowed: "),
    ("changes:\n  - set_parameter: threshold_g\n    citation: c\n",
     r"give either `value`.*or `entries`"),
    ("changes:\n  - add_parameter: threshold_g\n    values: {2026-01-01: 1}\n    citation: c\n",
     r"'threshold_g' already exists; use set_parameter"),
    ("changes:\n  - set_capacity: {drug_court: 3}\n    citation: c\n",
     r":3: changes\[0\].set_capacity.drug_court: not a catalogue measure"),
    ("changes:\n  - set_weight: {warning: -1}\n    citation: c\n", r"must be 0 or more"),
    ("changes:\n  - add_measure: referral_to_health_services\n    from: 2026-01-01\n"
     "    measure: {consent_required: false}\n    citation: c\n    rationale: r\n",
     r":5: changes\[0\].measure.consent_required: referral_to_health_services places a person "
     r"in treatment"),
    ("changes:\n  - add_measure: warning\n    measure: {consent_required: false}\n"
     "    citation: c\n    rationale: r\n",
     r"warning is already in this pack's police.yaml for an overlapping period"),
    ("changes:\n  - add_measure: no_further_action\n    measure: {consent_required: false}\n"
     "    citation: c\n", r"give the measure a legal_basis, or the change a rationale"),
    ("changes:\n  - add_measure: no_further_action\n    measure:\n      consent_required: false\n"
     "      whne: [x]\n    citation: c\n    rationale: r\n",
     r":6: changes\[0\].measure.whne: unknown field"),
    ("changes:\n  - add_measure: no_further_action\n    measure:\n      consent_required: false\n"
     "      when: [offence.qty > 1]\n    citation: c\n    rationale: r\n",
     r"scenario.yaml:6: changes\[0\].measure.when\[0\].*offence.qty"),
    ("changes:\n  - add_measure: no_further_action\n    measure:\n      consent_required: false\n"
     "      precedence_over: [prosecution]\n    citation: c\n    rationale: r\n",
     r"precedence_over\[0\]: 'prosecution' is not a police measure"),
    ("changes:\n  - add_measure: no_further_action\n    before: fine\n"
     "    measure: {consent_required: false}\n    citation: c\n    rationale: r\n",
     r"changes\[0\].before: 'fine' is not a police measure"),
    ("changes:\n  - set_in_force: warning\n    from: 2026-01-01\n    to: 2020-01-01\n"
     "    citation: c\n", r"`to` must be after `from`"),
    ("changes:\n  - set_in_force: warning\n    citation: c\n", r"give `from` and/or `to`"),
    ("changes:\n  - move_date: 1977-01-01\n    new_date: 1978-01-01\n    citation: c\n",
     r"nothing in the pack takes effect or ends on 1977-01-01"),
    ("changes:\n  - replace_measure: fine\n    citation: c\n", r"give either `measure`"),
    ("pack: usa\nchanges: []\n", r":2: pack: this scenario is written for 'usa', not 'testland'"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_errors_name_the_file_line_field_and_what_is_allowed(testland_dir: Path, text: str,
                                                             message: str) -> None:
    with pytest.raises(PackError, match=message) as info:
        with_overlay(testland_dir, text)
    assert "scenario.yaml" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_missing_overlay_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="no such scenario file"):
        load_overlay(tmp_path / "absent.yaml")


# --- resolving names -----------------------------------------------------------------------------


def test_resolve_by_name_or_path_and_load_scenario(testland_dir: Path) -> None:
    root = testland_dir.parent
    folder = testland_dir / "scenarios"
    folder.mkdir()
    write(folder, "changes:\n  - remove_measure: corporal_punishment\n    citation: c\n", "a.yaml")
    write(folder, "changes:\n  - set_parameter: consent_prob\n    value: 0.5\n    citation: c\n",
          "b.yaml")
    elsewhere = write(root, "changes: []\n", "elsewhere.yaml")
    assert scenario_names("testland", root) == ["a", "b"]
    assert resolve_overlay("testland", "a", root).name == "a"
    assert resolve_overlay("testland", str(elsewhere), root).name == "elsewhere"
    policy = load_scenario("testland+a+b", root)
    assert policy.overlays == ["a", "b"]
    assert "corporal_punishment" not in [r.id for r in policy.rules["court"]]
    assert "consent_prob" in policy.practice
    code, overlays = parse_scenario(f"testland+{elsewhere}", root)
    assert code == "testland" and [o.name for o in overlays] == ["elsewhere"]
    assert load_scenario("testland", root).overlays == []
    with pytest.raises(PackError, match=r"unknown scenario 'c' for testland; allowed: a, b"):
        load_scenario("testland+c", root)
    with pytest.raises(InputError, match=r"unknown jurisdiction 'atlantis'; allowed: testland"):
        load_scenario("atlantis+a", root)
    with pytest.raises(InputError, match="empty scenario name"):
        load_scenario("testland+", root)


def test_load_scenario_uses_the_policies_root(testland_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIVERT_POLICIES", str(testland_dir.parent))
    (testland_dir / "scenarios").mkdir()
    write(testland_dir / "scenarios", "changes: []\n", "noop.yaml")
    assert load_scenario("testland+noop").overlays == ["noop"]


# --- the shipped scenarios -----------------------------------------------------------------------

PRACTICE_LEVERS = ("equivalence_of_care", "prevention", "treatment_scale_up")
SHIPPED = [(d.name, name) for d in pack_dirs() for name in scenario_names(d.name)]


def test_every_pack_ships_both_reform_scenarios() -> None:
    for d in pack_dirs():
        assert {"treatment_not_conviction", "prison_treatment"} <= set(scenario_names(d.name)), \
            d.name


@pytest.mark.parametrize(("code", "name"), SHIPPED, ids=[f"{c}+{n}" for c, n in SHIPPED])
def test_shipped_scenario_loads_and_leaves_earlier_law_alone(code: str, name: str) -> None:
    base = load(code)
    policy = load_scenario(f"{code}+{name}")
    overlay = resolve_overlay(code, name)
    assert overlay.pack == code and overlay.title and overlay.summary
    assert len(overlay.describe()) == len(overlay.changes) > 0
    assert all(c.spec.rationale for c in overlay.changes), "every change says why"
    for stage in STAGES:
        for rule in policy.rules[stage]:
            m = CATALOGUE[rule.id]
            if m.involves_treatment and m.kind != "coercive":
                assert rule.spec.consent_required, rule.id
    start = overlay.law_effective_from()
    if name in ("calibrated", "registry", *PRACTICE_LEVERS):
        # a fitted overlay or a practice lever changes practice only: the law, and so every
        # example's advice, stays
        assert start is None
        start = date.max
    else:  # a reform is dated: advice on every example decided before it is unchanged
        assert start is not None and start >= date(2026, 1, 1)
    for example in base.examples:
        rows = example_rows(base, example)
        if not rows or any(r.stage == "-" for r in rows):
            continue
        day = date.fromisoformat(rows[0].date)
        if day >= start:
            continue
        after = example_rows(policy, example)
        assert [(r.stage, r.eligible, r.recommended) for r in after] == \
            [(r.stage, r.eligible, r.recommended) for r in rows], example.name


def _person(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"person": {"age": 30, "in_treatment": False,
                                       "acknowledges_drug_problem": False},
                            "consent": True, "need": "high", "risk": "low", "disorder": "moderate"}
    data.update(kw)
    return data


def _possession(substance: str, grams: float, **extra: Any) -> dict[str, Any]:
    return {"type": "possession", "substance": substance, "quantity_g": grams,
            "date": "2026-06-01", **extra}


def _use(substance: str, **extra: Any) -> dict[str, Any]:
    return {"type": "use", "substance": substance, "date": "2026-06-01", **extra}


PRISONER = {"offence": {"type": "possession_for_supply", "substance": "heroin", "quantity_g": 20,
                        "date": "2025-01-01"},
            "sentence": {"months": 10, "served_months": 7}}

# (pack, scenario, case, stage, eligible today, eligible under the reform, recommended under it)
TARGETED = [
    ("model", "treatment_not_conviction", _person(offence=_possession("heroin", 0.5)), "police",
     ["no_further_action", "warning", "referral_to_health_services", "arrest_and_charge"],
     ["no_further_action", "warning", "referral_to_health_services"],
     "referral_to_health_services"),
    ("model", "treatment_not_conviction", _person(offence=_possession("heroin", 0.5)),
     "prosecution", ["conditional_dismissal", "diversion_programme", "prosecution"],
     ["conditional_dismissal", "diversion_programme"], "diversion_programme"),
    ("model", "prison_treatment",
     _person(disorder="none", need="low", person={"age": 30, "in_treatment": True}, **PRISONER),
     "post_sentence", ["pardon_or_remission"],
     ["treatment_in_prison", "early_release_with_treatment", "release_with_aftercare",
      "pardon_or_remission"], "release_with_aftercare"),
    ("usa", "treatment_not_conviction",
     _person(offence=_possession("heroin", 0.5), history={"prior_drug_convictions": 1}), "police",
     ["arrest_and_charge"], ["administrative_referral", "referral_to_health_services"],
     "referral_to_health_services"),
    ("usa", "treatment_not_conviction",
     _person(offence=_possession("heroin", 0.5), history={"prior_drug_convictions": 1}),
     "prosecution", ["conditional_dismissal", "prosecution"],
     ["conditional_dismissal", "diversion_programme"], "diversion_programme"),
    ("usa", "prison_treatment", _person(**PRISONER), "post_sentence",
     ["release_with_aftercare", "pardon_or_remission"],
     ["treatment_in_prison", "release_with_aftercare", "pardon_or_remission"],
     "release_with_aftercare"),
    ("portugal", "treatment_not_conviction", _person(offence=_use("heroin"), disorder="severe"),
     "police", ["administrative_referral"],
     ["administrative_referral", "referral_to_health_services"], "referral_to_health_services"),
    ("portugal", "treatment_not_conviction",
     _person(offence={"type": "possession_for_supply", "substance": "heroin", "quantity_g": 1.5,
                      "date": "2026-06-01", "linked_to_drug_use": True},
             disorder="severe", history={"prior_drug_convictions": 0}),
     "prosecution", ["prosecution"], ["diversion_programme"], "diversion_programme"),
    ("portugal", "prison_treatment", _person(**PRISONER), "post_sentence",
     ["treatment_in_prison", "early_release_with_treatment", "pardon_or_remission"],
     ["treatment_in_prison", "early_release_with_treatment", "release_with_aftercare",
      "pardon_or_remission"], "early_release_with_treatment"),
    ("belgium", "treatment_not_conviction", _person(offence=_possession("cocaine", 0.5)),
     "police", ["arrest_and_charge"], ["referral_to_health_services"],
     "referral_to_health_services"),
    ("belgium", "treatment_not_conviction", _person(offence=_possession("cocaine", 0.5)),
     "prosecution", ["diversion_programme", "conditional_dismissal", "prosecution"],
     ["diversion_programme", "conditional_dismissal"], "diversion_programme"),
    ("belgium", "prison_treatment", _person(**PRISONER), "post_sentence",
     ["treatment_in_prison", "early_release_with_treatment", "pardon_or_remission"],
     ["treatment_in_prison", "early_release_with_treatment", "release_with_aftercare",
      "pardon_or_remission"], "early_release_with_treatment"),
    ("iran", "treatment_not_conviction",
     _person(offence={**_use("heroin"), "quantity_g": 0.5}), "police",
     ["compulsory_treatment"], ["referral_to_health_services"], "referral_to_health_services"),
    ("iran", "treatment_not_conviction",
     _person(offence={**_use("cannabis_resin"), "quantity_g": 1}, disorder="none", need="low"),
     "court", ["fine", "corporal_punishment"], [], None),
    ("iran", "prison_treatment", _person(**PRISONER), "post_sentence",
     ["treatment_in_prison", "pardon_or_remission"],
     ["treatment_in_prison", "early_release_with_treatment", "release_with_aftercare",
      "pardon_or_remission"], "early_release_with_treatment"),
    ("malaysia", "treatment_not_conviction", _person(offence=_use("heroin"), disorder="severe"),
     "police", ["referral_to_health_services", "compulsory_treatment", "arrest_and_charge"],
     ["referral_to_health_services"], "referral_to_health_services"),
    ("malaysia", "treatment_not_conviction",
     _person(person={"age": 30, "sex": "male", "in_treatment": False},  # CPC s289: sex decides
             offence=_use("methamphetamine"), history={"prior_drug_convictions": 2}), "court",
     ["probation_with_treatment", "imprisonment", "corporal_punishment"],
     ["probation_with_treatment", "imprisonment"], "probation_with_treatment"),
    ("malaysia", "prison_treatment", _person(**PRISONER), "post_sentence",
     ["treatment_in_prison", "pardon_or_remission"],
     ["treatment_in_prison", "early_release_with_treatment", "release_with_aftercare",
      "pardon_or_remission"], "early_release_with_treatment"),
    ("kenya", "treatment_not_conviction", _person(offence=_possession("cannabis_herb", 20)),
     "police", ["arrest_and_charge"], ["referral_to_health_services"],
     "referral_to_health_services"),
    ("kenya", "treatment_not_conviction", _person(offence=_possession("cannabis_herb", 20)),
     "prosecution", ["prosecution"], ["conditional_dismissal"], "conditional_dismissal"),
    ("kenya", "prison_treatment", _person(**PRISONER), "post_sentence",
     ["release_with_aftercare", "pardon_or_remission"],
     ["treatment_in_prison", "early_release_with_treatment", "release_with_aftercare",
      "pardon_or_remission"], "early_release_with_treatment"),
    ("cote_divoire", "treatment_not_conviction", _person(offence=_possession("cannabis_herb", 5)),
     "police", ["arrest_and_charge"], ["referral_to_health_services"],
     "referral_to_health_services"),
    ("cote_divoire", "treatment_not_conviction", _person(offence=_possession("cannabis_herb", 5)),
     "prosecution", ["diversion_programme", "prosecution"], ["diversion_programme"],
     "diversion_programme"),
    ("cote_divoire", "prison_treatment", _person(**PRISONER), "post_sentence",
     ["pardon_or_remission"],
     ["treatment_in_prison", "early_release_with_treatment", "release_with_aftercare",
      "pardon_or_remission"], "early_release_with_treatment"),
]


@pytest.mark.parametrize(("code", "name", "data", "stage", "today", "reform", "recommended"),
                         TARGETED, ids=[f"{t[0]}+{t[1]}:{t[3]}" for t in TARGETED])
def test_shipped_scenario_changes_the_advice_on_a_targeted_case(
        code: str, name: str, data: dict[str, Any], stage: str, today: list[str],
        reform: list[str], recommended: str | None) -> None:
    c = parse_case(data)
    assert decide(c, load(code), stage, REFORM).eligible == today
    after = decide(c, load_scenario(f"{code}+{name}"), stage, REFORM)
    assert after.eligible == reform
    assert after.recommended == recommended
    # before the reform takes effect, nothing changes
    before = date(2025, 12, 31)
    assert decide(c, load_scenario(f"{code}+{name}"), stage, before).eligible == \
        decide(c, load(code), stage, before).eligible


def test_prison_treatment_raises_uptake() -> None:
    for code in [d.name for d in pack_dirs()]:
        today = resolve(load(code), REFORM)["measure_weight"].value
        reform = resolve(load_scenario(f"{code}+prison_treatment"), REFORM)["measure_weight"].value
        for m in ("treatment_in_prison", "early_release_with_treatment", "release_with_aftercare"):
            assert reform[m] == pytest.approx(2 * today.get(m, 1.0)), (code, m)


def test_overlays_stack_on_one_pack() -> None:
    both = load_scenario("usa+treatment_not_conviction+prison_treatment")
    assert both.overlays == ["treatment_not_conviction", "prison_treatment"]
    assert both.hash not in (load_scenario("usa+treatment_not_conviction").hash, load("usa").hash)


def test_a_scenario_written_for_another_pack_is_refused() -> None:
    path = Path(__file__).resolve().parents[1] / "policies" / "usa" / "scenarios" / \
        "treatment_not_conviction.yaml"
    with pytest.raises(DivertError, match="written for 'usa', not 'kenya'"):
        load_scenario(f"kenya+{path}")


def test_copy_of_a_shipped_scenario_gets_the_same_law(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[1] / "policies" / "kenya" / "scenarios" / \
        "prison_treatment.yaml"
    shutil.copy(src, tmp_path / "mine.yaml")
    a = load_scenario("kenya+prison_treatment")
    b = load_scenario(f"kenya+{tmp_path / 'mine.yaml'}")
    assert [r.spec for r in a.rules["post_sentence"]] == [r.spec for r in b.rules["post_sentence"]]
    assert a.hash == b.hash  # the same bytes give the same stamp
