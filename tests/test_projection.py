"""Projected outcomes for one person under each open measure (divert.simulation.projection): common random
numbers, effects read from data, intervals, replay from the stamp, and the advice's output."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from divert.advice.case import load_case
from divert.advice.pathways import advise
from divert.errors import InputError
from divert.law import policy as policies
from divert.law.catalogue import CATALOGUE
from divert.law.vocabulary import FIELDS, STAGES
from divert.simulation.decisions import Effects, Practice
from divert.simulation.population import PRISON
from divert.simulation.projection import (
    Settings,
    _reference,
    case_batch,
    copies_of,
    practice_values,
    project,
    project_advice,
    replay,
    simulate,
    summarise,
)
from divert.simulation.run import stream_key

from .conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
USA_CASE = ROOT / "examples" / "cases" / "usa_heroin_possession.yaml"
DAY = date(2023, 9, 14)
SMALL = Settings(copies=400)


@pytest.fixture(scope="module")
def usa() -> Any:
    return policies.load("usa")


@pytest.fixture(scope="module")
def case() -> Any:
    return load_case(USA_CASE)


@pytest.fixture(scope="module")
def batch(usa: Any, case: Any) -> Any:
    return case_batch(case, usa)


@pytest.fixture(scope="module")
def values(usa: Any) -> Any:
    return practice_values(usa, DAY)


def test_projection_names_no_measure() -> None:
    """The effect comes from data: no string constant of the module is a measure id."""
    tree = ast.parse((ROOT / "src" / "divert" / "simulation" / "projection.py").read_text(encoding="utf-8"))
    named = sorted({node.value for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in CATALOGUE and node.value not in STAGES})
    assert named == []


def test_the_case_facts_enter_the_person_arrays(batch: Any, values: Any) -> None:
    pop, drawn = copies_of(batch, values, 300, seed=1)
    assert (pop.age_m == 24 * 12).all()
    assert (pop.sex == FIELDS["person.sex"].code("female")).all()
    assert (pop.substance == FIELDS["offence.substance"].code("heroin")).all()
    assert (pop.severity == FIELDS["screening.disorder"].code("severe")).all()
    assert (pop.risk == FIELDS["triage.risk"].code("high")).all()  # PSA and history: high
    assert (pop.prior_convictions == 1).all() and (pop.prior_diversion_failures == 1).all()
    # the case does not say whether the person injects: drawn from the pack's population
    assert "screening.injecting" in drawn and "person.age" not in drawn
    assert 0 < pop.injecting.mean() < 1


def test_a_measure_without_effect_follows_the_conventional_path_exactly(
        usa: Any, batch: Any, values: Any) -> None:
    """Common random numbers: the post-sentence stage's pardon (effect `none` in the catalogue)
    and the sentence going on give bit-identical paths, simulated separately."""
    assert usa.measures["pardon_or_remission"].effect.placement == "none"
    ref, _ = simulate(batch, usa, values, "post_sentence", DAY, None, [], SMALL)
    pardon, _ = simulate(batch, usa, values, "post_sentence", DAY, "pardon_or_remission", [],
                         SMALL)
    assert ref.same_as(pardon)
    assert ref.prison_months[:, 0].mean() > 0  # the copies start in prison


def test_a_measure_whose_effect_is_removed_from_the_data_follows_the_conventional_path(
        usa: Any, batch: Any, values: Any) -> None:
    """The same measure, with its effect made `none` in the pack's data, is the conventional
    path of that pack bit for bit; with its effect it is not."""
    conventional = ["fine", "imprisonment"]
    m = usa.measures["drug_treatment_court"]
    none = dataclasses.replace(m, effect=m.effect.model_copy(update={"placement": "none"}))
    blank = dataclasses.replace(usa, measures={**usa.measures, m.id: none})
    ref, _ = simulate(batch, usa, values, "court", DAY, None, conventional, SMALL)
    court, _ = simulate(batch, usa, values, "court", DAY, m.id, conventional, SMALL)
    blank_ref, _ = simulate(batch, blank, values, "court", DAY, None, conventional, SMALL)
    blank_court, _ = simulate(batch, blank, values, "court", DAY, m.id, conventional, SMALL)
    assert blank_court.same_as(blank_ref)
    assert not court.same_as(ref)
    assert court.prison_months[:, 0].mean() < ref.prison_months[:, 0].mean()


def test_copies_the_measure_does_not_change_keep_their_paths(usa: Any, batch: Any,
                                                            values: Any) -> None:
    """Common random numbers copy by copy: under `fine`, the copies whose conventional path was
    a fine live exactly the same three years; the others (imprisoned there) do not."""
    conventional = ["fine", "imprisonment"]
    ref, _ = simulate(batch, usa, values, "court", DAY, None, conventional, SMALL)
    fine, _ = simulate(batch, usa, values, "court", DAY, "fine", conventional, SMALL)
    effects = Effects.of(usa)
    key = stream_key(SMALL.seed, 0, 3)
    pick = _reference(conventional, np.arange(SMALL.copies), key, "court",
                      Practice(dict(values), 1.0, effects.ids), effects)
    same = pick == effects.ids.index("fine")
    assert 0 < same.sum() < SMALL.copies
    for a, b in ((ref.rearrested, fine.rearrested), (ref.prison_months, fine.prison_months),
                 (ref.dead, fine.dead)):
        assert np.array_equal(a[same], b[same])
    assert ref.prison_months[~same, 0].mean() > fine.prison_months[~same, 0].mean() + 1


def test_a_sourced_effect_moves_its_outcome_in_the_sourced_direction(
        usa: Any, batch: Any, values: Any) -> None:
    """The drug court's reoffence multiplier, 0.65 (catalogue: Mitchell et al. 2012, adult drug
    courts 50% -> 38% recidivism), lowers rearrest against the same court with a multiplier of
    1, copy by copy; the difference is resolved."""
    mid = "drug_treatment_court"
    assert values["measure_reoffence_rr"][mid] == pytest.approx(0.65)
    neutral = {**values, "measure_reoffence_rr": {**values["measure_reoffence_rr"], mid: 1.0}}
    settings = Settings(copies=2000)
    with_effect, _ = simulate(batch, usa, values, "court", DAY, mid, [], settings)
    without, _ = simulate(batch, usa, neutral, "court", DAY, mid, [], settings)
    diff = summarise(with_effect, without)["versus_conventional"]["rearrest"]["3y"]
    assert diff["value"] < 0 and diff["resolved"], diff


def test_intervals_narrow_with_more_copies(usa: Any, batch: Any, values: Any) -> None:
    widths = {}
    for n in (250, 2000):
        paths, _ = simulate(batch, usa, values, "court", DAY, "drug_treatment_court", [],
                            Settings(copies=n))
        out = summarise(paths)["outcomes"]
        widths[n] = {o: out[o]["3y"]["high"] - out[o]["3y"]["low"]
                     for o in ("rearrest", "prison_months", "cost")}
    for o in widths[250]:
        # the Monte Carlo error falls as 1/sqrt(copies): sqrt(8) = 2.8 times narrower
        assert widths[2000][o] < widths[250][o] / 2, (o, widths)


def test_replay_from_the_stamp_is_bit_identical(usa: Any, case: Any) -> None:
    advice = project_advice(advise(case, usa, ["court"]), case, usa, SMALL)
    court = advice.stage("court")
    entry = next(m.projection for m in court.measures if m.id == "probation_with_treatment")
    stored = json.loads(json.dumps(entry))  # as kept in a file or the registry
    st = stored["stamp"]
    assert {st["pack_hash"], st["seed"], st["copies"], st["horizon_months"]} == {
        usa.hash, SMALL.seed, SMALL.copies, 36}
    assert replay(case, stored)["outcomes"] == stored["outcomes"]
    reference = json.loads(json.dumps(court.projection_reference))
    assert replay(case, reference)["outcomes"] == reference["outcomes"]
    other = {**stored, "stamp": {**st, "seed": 2}}
    assert replay(case, other)["outcomes"] != stored["outcomes"]
    with pytest.raises(InputError, match="stamp.pack_hash"):
        replay(case, {**stored, "stamp": {**st, "pack_hash": "0" * 64}})


def test_every_open_measure_gets_a_projection_beside_its_reasons(usa: Any, case: Any) -> None:
    advice = project_advice(advise(case, usa), case, usa, SMALL)
    for s in advice.stages:
        for m in s.measures:
            if not m.eligible:
                assert m.projection is None
                continue
            p = m.projection
            assert p["projected"] and m.reasons
            for outcome in ("rearrest", "prison_months", "overdose_death", "cost"):
                for year in ("1y", "2y", "3y"):
                    cell = p["outcomes"][outcome][year]
                    assert cell["low"] <= cell["value"] <= cell["high"] and cell["mc_error"] >= 0
            assert p["effect"]["citation"] and p["effect"]["provenance"] in ("verified",
                                                                             "unverified")
    pardon = next(m for m in advice.stage("post_sentence").measures
                  if m.id == "pardon_or_remission")
    assert pardon.projection["simulated_effect"] is False
    assert "no simulated effect" in pardon.projection["note"]
    assert not any(d[y]["resolved"] for d in pardon.projection["versus_conventional"].values()
                   for y in d)
    court = advice.stage("court")
    assert court.projection_reference["conventional"] == ["fine", "imprisonment"]
    assert not any(m.projection["conventional_path"] for m in court.measures)
    # at the police stage arrest and charge is the only conventional measure: the path itself
    police = {m.id: m.projection for m in advice.stage("police").measures}
    assert police["arrest_and_charge"]["conventional_path"] is True
    assert police["arrest_and_charge"]["outcomes"] == advice.stage(
        "police").projection_reference["outcomes"]
    # rearrest by year is cumulative
    r = court.projection_reference["outcomes"]["rearrest"]
    assert r["1y"]["value"] <= r["2y"]["value"] <= r["3y"]["value"]


def test_prisoners_start_their_sentence_at_the_post_sentence_stage(usa: Any, batch: Any,
                                                                   values: Any) -> None:
    from divert.simulation.projection import _in_prison

    given = {**batch, "sentence.months": np.array([24.0]),
             "sentence.served_months": np.array([10.0])}
    pop, _ = copies_of(given, values, 50, 1)
    effects = Effects.of(usa)
    drawn = _in_prison(pop, given, Practice(dict(values), 1.0, effects.ids), 0)
    assert drawn == [] and (pop.cj == PRISON).all() and (pop.cj_timer == 14).all()


def test_coercive_measures_are_never_projected() -> None:
    iran = policies.load("iran")
    case = load_case(ROOT / "examples" / "cases" / "iran_opium_user.yaml")
    advice = project_advice(advise(case, iran), case, iran, SMALL)
    police = advice.stage("police")
    compulsory = next(m for m in police.measures if m.kind == "coercive" and m.eligible)
    assert compulsory.projection == {"projected": False, "note": compulsory.projection["note"]}
    assert "never offered as an option" in compulsory.projection["note"]
    assert police.projection_reference is None  # nothing else is open to compare


def test_project_takes_the_case_policy_and_practice_values(usa: Any, case: Any,
                                                          values: Any) -> None:
    """A pure function: the same inputs give the same result; other practice values another."""
    one = project(case, usa, values, "prosecution", DAY, ["conditional_dismissal"],
                  ["prosecution"], SMALL)
    two = project(case, usa, values, "prosecution", DAY, ["conditional_dismissal"],
                  ["prosecution"], SMALL)
    assert one.measures == two.measures
    dearer = {**values, "prison_cost_per_month": 2 * float(values["prison_cost_per_month"])}
    three = project(case, usa, dearer, "prosecution", DAY, ["conditional_dismissal"],
                    ["prosecution"], SMALL)
    assert (three.reference["outcomes"]["cost"]["3y"]["value"]
            > one.reference["outcomes"]["cost"]["3y"]["value"])


def test_cli_json_has_a_projection_under_each_open_measure(capsys: Any) -> None:
    code, out, err = run_cli(["assess", str(USA_CASE), "-j", "usa", "--stage", "prosecution",
                              "--json", "--copies", "300"], capsys)
    assert code == 0, err
    stage = json.loads(out)["stages"][0]
    for m in stage["measures"]:
        assert m["projection"]["stamp"]["copies"] == 300
        assert m["projection"]["stamp"]["pack_hash"] == json.loads(out)["stamp"]["pack_hash"]
    assert stage["projection_reference"]["path"] == "prosecution"
    code, out, err = run_cli(["assess", str(USA_CASE), "-j", "usa", "--stage", "prosecution",
                              "--json", "--no-projection"], capsys)
    assert code == 0
    assert "projection" not in out


def test_cli_table_shows_the_projection(capsys: Any) -> None:
    code, out, err = run_cli(["assess", str(USA_CASE), "-j", "usa", "--stage", "post_sentence",
                              "--copies", "200"], capsys)
    assert code == 0, err
    text = " ".join(re.sub("[\u2500-\u257f]", " ", out).split())  # the cells, unwrapped
    assert "projected outcomes for this person over 3 years" in text
    assert "pardon_or_remission no simulated effect in the pack" in text
    assert "conventional path: the" in text and "sentence goes on" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--copies", "5"], "--copies: 5; allowed: 10 to 1000000"),
    (["--horizon", "0"], "--horizon: 0 years; allowed: 1 to 10"),
])
def test_cli_refuses_bad_projection_options(capsys: Any, args: list[str], message: str) -> None:
    code, out, err = run_cli(["assess", str(USA_CASE), "-j", "usa", *args], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_facts_the_case_does_not_give_are_drawn_for_the_person(usa: Any, values: Any) -> None:
    """An unknown offence type is drawn from each copy's offending profile, and an unknown
    treatment status at the pack's treated share for the person's own (severe) disorder."""
    from divert.advice.case import parse_case

    unknown = parse_case({"person": {"age": 30}, "disorder": "severe",
                          "offence": {"date": "2023-01-01"}})
    pop, drawn = copies_of(case_batch(unknown, usa), values, 4000, seed=3)
    assert {"offence.type", "person.in_treatment"} <= set(drawn)
    assert len(np.unique(pop.off_type)) > 2 and (pop.off_type >= 0).all()
    treated = (pop.treatment != 0).mean()
    assert abs(treated - float(values["initial_treatment_share"])) < 0.03


def test_a_measure_decided_at_release_is_taken_when_the_person_is_released(
        usa: Any, batch: Any, values: Any) -> None:
    """Release with aftercare (decided at release): the copies serve the same months in prison
    as under the sentence going on (14 months left), then the aftercare programme adds its
    running cost."""
    given = {**batch, "sentence.months": np.array([24.0]),
             "sentence.served_months": np.array([10.0])}
    ref, _ = simulate(given, usa, values, "post_sentence", DAY, None, [], SMALL)
    after, _ = simulate(given, usa, values, "post_sentence", DAY, "release_with_aftercare", [],
                        SMALL)
    assert np.array_equal(ref.prison_months[:, 0], after.prison_months[:, 0])
    assert ref.prison_months[:, 0].min() > 0
    assert after.cost[:, 2].mean() > ref.cost[:, 2].mean()


def test_the_horizon_sets_the_years_reported(usa: Any, case: Any, values: Any) -> None:
    five = project(case, usa, values, "prosecution", DAY, ["conditional_dismissal"],
                   ["prosecution"], Settings(copies=100, horizon_months=60))
    assert list(five.reference["outcomes"]["rearrest"]) == ["1y", "2y", "3y", "4y", "5y"]
    with pytest.raises(InputError, match="horizon: 30 months"):
        Settings(horizon_months=30)
