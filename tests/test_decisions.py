"""The simulation decides from the pack's law: effects as data, the advice's rules and triage,
consent-aware precedence, release-time measures, and no second encoding of the law."""

from __future__ import annotations

import ast
import dataclasses
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from divert.advice.case import parse_case
from divert.advice.pathways import decide
from divert.errors import PackError
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Policy, load, load_pack
from divert.law.practice import draw, resolve
from divert.law.vocabulary import AGGRAVATORS, DISORDER_LEVELS, OFFENCE_TYPES, SEXES, STAGES, SUBSTANCES
from divert.simulation import run as simulation
from divert.simulation.decisions import (
    S_POST_BASE,
    Decider,
    Effects,
    Practice,
    open_measures,
    post_stream,
)
from divert.simulation.kernel import F_RELEASE
from divert.simulation.population import PRISON, synthesise
from divert.simulation.scenarios import load_scenario

from .conftest import FIXTURES
from .test_simulation import START, practice_entry

SRC = Path(__file__).resolve().parents[1] / "src" / "divert"
SIMULATION_MODULES = (*sorted(f"simulation/{p.name}" for p in (SRC / "simulation").glob("*.py")),
                      "law/practice.py", "law/practice_schema.py")


def test_no_simulation_module_names_a_measure() -> None:
    """The law is encoded once: no string constant of a simulation module is a measure id (stage
    names excepted: `prosecution` is both a stage and a measure)."""
    for name in SIMULATION_MODULES:
        tree = ast.parse((SRC / name).read_text(encoding="utf-8"))
        named = sorted({node.value for node in ast.walk(tree)
                        if isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and node.value in CATALOGUE and node.value not in STAGES})
        assert named == [], f"{name} names {named}"


# --- a pack's own measure ---------------------------------------------------------------------

RECOVERY = """\
court:
  - id: recovery_court
    kind: alternative
    label: Recovery court (a measure of this pack only)
    treatment: 3
    supervision: 2
    involves_treatment: true
    effect:
      placement: programme
      court_programme: true
      treatment: community
      conviction: false
      duration_months: 8
      completion_prob: 1.0
      reoffence_rr: 0.5
      cost_per_month: 123.0
      cost_sector: treatment
      citation: invented for tests
      provenance: unverified
"""

RECOVERY_RULE = """\
  - id: recovery_court
    consent_required: true
    legal_basis:
      - citation: invented for tests
        text: Everyone convicted may be sent to the recovery court.
        provenance: unverified
"""


def pack_with_own_measure(tmp_path: Path, weights: str) -> Policy:
    target = tmp_path / "simland"
    shutil.copytree(FIXTURES / "simland", target)
    (target / "measures.yaml").write_text(RECOVERY)
    court = target / "court.yaml"
    court.write_text(court.read_text().replace("measures:\n", "measures:\n" + RECOVERY_RULE, 1))
    police = target / "police.yaml"
    police.write_text(police.read_text().replace("    precedence_over: [arrest_and_charge]\n", ""))
    with (target / "practice.yaml").open("a") as f:
        f.write(practice_entry("measure_weight", weights, "measure"))
        f.write(practice_entry("consent_prob", "1.0"))
        f.write(practice_entry("pretrial_detention_prob", "0.0"))
    return load_pack(target)


def test_a_pack_measure_of_its_own_is_simulated_from_its_effect(tmp_path: Path) -> None:
    """A new measure id with its effect in the pack's measures.yaml needs no code: people are
    sent to it, stay its length, cost what it costs, count as treatment-court participants and
    diversions, and are not convicted."""
    police = ("warning: 0.0, referral_to_health_services: 0.0, compulsory_treatment: 0.0, "
              "conditional_dismissal: 0.0")
    court_only = pack_with_own_measure(
        tmp_path / "a", f"{{{police}, pre_judgment_probation: 0.0, drug_treatment_court: 0.0, "
        "treatment_order: 0.0, fine: 0.0, imprisonment: 0.0, corporal_punishment: 0.0, "
        "early_release_with_treatment: 0.0, recovery_court: 1.0}")
    assert court_only.measures["recovery_court"].stage == "court"
    r = simulation.run(court_only, 3000, 48, START, seed=5, replication=0, uncertainty=False)
    assert "recovery_court" in r.pathways
    i = r.pathways.index("recovery_court")
    sent = r.cohort[i, 0]
    assert sent > 100
    assert r.cohort[r.pathways.index("fine"), 0] == 0
    assert r.metric("convictions").sum() == 0
    assert r.metric("diversions").sum() >= r.metric("prosecutions").sum() * 0.69
    in_measure = r.metric("in_measure")
    phases = sum(r.metric(f"treatment_court_phase_{k}") for k in range(1, 5))
    assert phases.sum() > 0.9 * in_measure.sum()
    # the measure's own cost per month is paid by the treatment sector for every person in it
    community = r.metric("in_community_treatment") * float(r.values["treatment_cost_per_month"])
    measure_cost = r.metric("cost_treatment") - community
    assert in_measure.sum() > 1000
    assert np.allclose(measure_cost, in_measure * 123.0)
    # completion 1.0 after 8 months: everyone sent in the first year has completed by month 24
    assert r.metric("completions").sum() > 0 and r.metric("failures").sum() == 0


@pytest.mark.parametrize(("text", "message"), [
    (RECOVERY.replace("placement: programme", "placement: holiday"),
     "court[0].effect.placement: holiday is not allowed; allowed: next_stage"),
    (RECOVERY.replace("id: recovery_court", "id: fine"),
     "court[0].id: 'fine' is already a catalogue measure"),
    (RECOVERY.replace("      duration_months: 8\n", ""),
     "a programme needs its length in months"),
    (RECOVERY.replace("court:", "courtroom:"), "courtroom: not a stage; allowed: police"),
])
def test_a_bad_measures_file_is_one_line_with_file_and_line(tmp_path: Path, text: str,
                                                          message: str) -> None:
    target = tmp_path / "simland"
    shutil.copytree(FIXTURES / "simland", target)
    (target / "measures.yaml").write_text(text)
    with pytest.raises(PackError) as err:
        load_pack(target)
    assert "measures.yaml:" in str(err.value)
    assert message in str(err.value)


def test_practice_is_part_of_the_pack_schema(tmp_path: Path) -> None:
    """`divert policy validate` (load_pack) refuses an unknown measure id or practice parameter
    in practice.yaml with file and line, before any simulation."""
    for extra, message in (
        (practice_entry("measure_weight", "{drug_treatment_cort: 2.0}", "measure"),
         "measure_weight.values.2000-01-01.drug_treatment_cort: not a value of measure"),
        (practice_entry("arrest_rate", "0.5"), "arrest_rate: not a practice parameter"),
        (practice_entry("measure_failure_to", "{fine: 7}", "measure"),
         "measure_failure_to.values.2000-01-01.fine: 7 is not allowed; allowed: 0, 1, 2"),
    ):
        target = tmp_path / f"p{abs(hash(extra))}" / "simland"
        shutil.copytree(FIXTURES / "simland", target)
        with (target / "practice.yaml").open("a") as f:
            f.write(extra)
        with pytest.raises(PackError) as err:
            load_pack(target)
        assert "practice.yaml:" in str(err.value) and message in str(err.value)


# --- the simulation's decision is the advice's -----------------------------------------------


def case_of(batch: dict[str, np.ndarray], i: int) -> dict[str, object]:
    """The case file of synthetic person `i` of a facts batch (the facts `divert assess` takes)."""

    def num(name: str) -> float | None:
        v = float(batch[name][i])
        return None if np.isnan(v) else v

    def flag(name: str) -> bool:
        return int(batch[name][i]) == 2

    mask = int(batch["offence.aggravators"][i])
    return {
        "person": {"age": num("person.age"), "sex": SEXES[int(batch["person.sex"][i])],
                   "in_treatment": flag("person.in_treatment"),
                   "acknowledges_drug_problem": flag("person.acknowledges_drug_problem")},
        "offence": {"type": OFFENCE_TYPES[int(batch["offence.type"][i])],
                    "substance": SUBSTANCES[int(batch["offence.substance"][i])],
                    "quantity_g": num("offence.quantity_g"),
                    "plants": int(batch["offence.plants"][i]),
                    "aggravators": [a for k, a in enumerate(AGGRAVATORS) if mask >> k & 1],
                    "linked_to_drug_use": flag("offence.linked_to_drug_use"),
                    "admitted": flag("offence.admitted")},
        "history": {**{k: int(batch[f"history.{k}"][i]) for k in (
            "prior_convictions", "prior_drug_convictions", "prior_violent_convictions",
            "prior_incarcerations", "prior_diversion_failures", "prior_diversions",
            "prior_drug_arrests", "fta_past_2_years", "fta_older")},
            "pending_charge": flag("history.pending_charge")},
        "sentence": {"months": num("sentence.months"),
                     "served_months": num("sentence.served_months")},
        "disorder": DISORDER_LEVELS[int(batch["screening.disorder"][i])],
        "injecting": flag("screening.injecting"),
        "consent": flag("consent"),
    }


def synthetic_batch(policy: Policy, day: date, seed: int, n: int) -> tuple[Decider, dict]:
    """Facts of `n` synthetic people of the pack: random offences, records and prison terms."""
    values = draw(resolve(policy, day), None)
    rng = np.random.default_rng(seed)
    pop = synthesise(n, 1, values, rng)
    pop.off_type[:] = rng.integers(0, len(OFFENCE_TYPES), pop.size)
    for name in ("prior_convictions", "prior_drug_convictions", "prior_incarcerations",
                 "prior_diversion_failures", "prior_violent_convictions"):
        getattr(pop, name)[:] = rng.integers(0, 4, pop.size) * (rng.random(pop.size) < 0.4)
    pop.age_m[:] = rng.integers(16 * 12, 60 * 12, pop.size)
    jailed = rng.random(pop.size) < 0.3
    pop.cj[jailed] = PRISON
    pop.sentence_m[:] = rng.integers(1, 120, pop.size)
    pop.served_m[:] = (pop.sentence_m * rng.random(pop.size)).astype(np.int16)
    pop.flag[(rng.random(pop.size) < 0.2) & ~jailed] = F_RELEASE  # just released
    decider = Decider(policy, Practice(values, 1.0, Effects.of(policy).ids), key=seed)
    ids = np.arange(n)
    return decider, decider.facts(pop, ids, 1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=st.sampled_from(["usa", "portugal", "malaysia", "iran", "model", "belgium",
                             "kenya", "cote_divoire"]),
       year=st.integers(2012, 2027), seed=st.integers(0, 10_000))
def test_simulation_decides_as_the_advice_does(code: str, year: int, seed: int) -> None:
    """For random synthetic people, at every stage, the measures the simulation may choose are
    exactly those `divert assess` finds eligible on the same facts (with consent as drawn), and
    its triage is the advice's."""
    policy = load(code)
    day = date(year, 6, 1)
    n = 12
    decider, batch = synthetic_batch(policy, day, seed, n)
    for stage in STAGES:
        rules, open_ = open_measures(policy, stage, day, batch, n)
        for i in range(n):
            case = parse_case(case_of(batch, i))
            advice = decide(case, policy, stage, day)
            allowed = {m.id for m in advice.measures
                       if m.eligible and (case.consent or not (
                           m.consent_required and m.kind == "alternative"))}
            simulated = {r.id for j, r in enumerate(rules) if open_[i, j]}
            assert simulated == allowed, (code, stage, case_of(batch, i))
    for i in range(n):
        case = parse_case(case_of(batch, i))
        advice = decide(case, policy, "police", day)
        del advice
        from divert.advice.pathways import prepare
        triage = prepare(case, policy).triage
        assert ("high" if batch["triage.risk"][i] else "low") == triage.risk
        assert ("high" if batch["triage.need"][i] else "low") == triage.need


def test_a_changed_triage_cutoff_changes_the_simulation_as_it_changes_the_advice(
        tmp_path: Path) -> None:
    """A court measure open to high-risk people only: lowering the pack's prognostic-indicator
    cut-off from 2 to 1 opens it to more synthetic people, and to exactly the people the advice
    then finds eligible."""
    counts = []
    for cutoff in (2, 1):
        target = tmp_path / f"c{cutoff}" / "simland"
        shutil.copytree(FIXTURES / "simland", target)
        court = target / "court.yaml"
        court.write_text(court.read_text().replace(
            '      - offence.type not in ["trafficking"]\n',
            '      - offence.type not in ["trafficking"]\n      - triage.risk == "high"\n', 1))
        meta = target / "pack.yaml"
        meta.write_text(meta.read_text() + f"triage:\n  risk_high:\n"
                        f"    prognostic_indicators_min: {cutoff}\n")
        policy = load_pack(target)
        decider, batch = synthetic_batch(policy, START, 3, 200)
        rules, open_ = open_measures(policy, "court", START, batch, 200)
        j = [r.id for r in rules].index("drug_treatment_court")
        advised = 0
        for i in range(200):
            case = parse_case(case_of(batch, i))
            a = decide(case, policy, "court", START)
            eligible = {m.id for m in a.measures if m.eligible}
            advised += ("drug_treatment_court" in eligible) and bool(case.consent)
        assert int(open_[:, j].sum()) == advised
        counts.append(advised)
    assert counts[1] > counts[0] > 0


# --- release-time measures ---------------------------------------------------------------------


def test_release_time_measures_see_the_sentence() -> None:
    """A person released this month is decided with the facts of the sentence just served."""
    policy = load("model")
    decider, batch = synthetic_batch(policy, date(2026, 1, 1), 9, 300)
    released = batch["sentence.served_months"] == batch["sentence.served_months"]  # not NaN
    assert released.sum() > 50
    rules, open_ = open_measures(policy, "post_sentence", date(2026, 1, 1), batch, 300)
    j = [r.id for r in rules].index("release_with_aftercare")
    # the simulation decides post-sentence measures for prisoners and people released only (the
    # others carry the term their offence would bring, for the court's rules)
    assert open_[released, j].any()


def test_court_sees_the_prison_term_the_offence_would_bring() -> None:
    """Before sentence a person's `sentence.months` is the term the offence would bring this month
    (the same draw the prison then imposes), so a rule that suspends or replaces a short term
    can open: Portugal's suspension (up to 5 years since 2007) for supply convictions."""
    policy = load("portugal")
    day = date(2008, 6, 1)
    decider, batch = synthetic_batch(policy, day, 5, 400)
    free = batch["sentence.served_months"] != batch["sentence.served_months"]  # not in prison
    months = batch["sentence.months"][free]
    assert np.isfinite(months).all()
    mean = decider.practice.sentence[batch["offence.type"][free].astype(np.int64)]
    assert (months >= np.floor(0.5 * mean)).all() and (months <= np.ceil(1.5 * mean)).all()
    rules, open_ = open_measures(policy, "court", day, batch, 400)
    j = [r.id for r in rules].index("suspended_sentence_with_treatment")
    supply = free & (batch["offence.type"] == OFFENCE_TYPES.index("supply"))
    assert open_[supply, j].any()
    assert not open_[free & (batch["sentence.months"] > 60), j].any()


def test_aftercare_lowers_post_release_overdose_by_its_sourced_effect() -> None:
    """Held-out overlays (tests/fixtures/overlays): aftercare with opioid agonist treatment taken
    up by everyone released versus by no one. Deaths in the first month after release fall to
    about a quarter: Marsden et al. 2017, Addiction 112:1408-18, HR 0.25 (95% CI 0.10-0.64) for
    opioid substitution treatment at release (the effect in catalogue.yaml)."""
    deaths = {}
    for w in (0, 1):
        policy = load_scenario(f"model+{FIXTURES}/overlays/aftercare_uptake_{w}.yaml")
        # no burn-in: the experiment's many prisoners at the start are released in the run
        deaths[w] = sum(simulation.run(policy, 40000, 36, date(2026, 1, 1), 1, rep,
                                       uncertainty=False, warm_up=0)
                        .metric("overdose_deaths_first_month_after_release").sum()
                        for rep in range(4))
    treated, control = int(deaths[1]), int(deaths[0])
    assert control > 40
    # same people, same releases (common random numbers): the treated share of the deaths of both
    # arms is binomial with p = rr / (1 + rr); rr = 0.25 must not be rejected, rr = 1 must be
    assert binomtest(treated, treated + control, 0.25 / 1.25).pvalue > 0.01
    assert binomtest(treated, treated + control, 0.5).pvalue < 0.001


# --- the reform the issue was found on ---------------------------------------------------------


@pytest.mark.parametrize("consent", [0.0, 0.5, 1.0])
def test_malaysia_reform_lowers_arrests_and_prisoners_whatever_the_consent(
        tmp_path: Path, consent: float) -> None:
    """Treatment instead of conviction in Malaysia lowers arrests and prisoners even when no one
    consents: a person who declines voluntary treatment leaves with no further action."""
    overlay = tmp_path / "consent.yaml"
    overlay.write_text(f"title: consent {consent}\nsummary: test\npack: malaysia\nchanges:\n"
                       f"  - set_parameter: consent_prob\n    value: {consent}\n"
                       "    citation: test experiment\n")
    last: dict[str, dict[str, float]] = {}
    for name, spec in (("base", f"malaysia+{overlay}"),
                       ("reform", f"malaysia+treatment_not_conviction+{overlay}")):
        r = simulation.run(load_scenario(spec), 20000, 48, date(2026, 1, 1), 1, 0,
                           uncertainty=False)
        last[name] = {m: float(r.metric(m)[-12:].sum()) for m in ("arrests", "in_prison")}
    assert last["reform"]["arrests"] < last["base"]["arrests"] * 0.8
    assert last["reform"]["in_prison"] < last["base"]["in_prison"]


def test_a_measure_added_to_the_catalogue_leaves_other_packs_results_unchanged() -> None:
    """Post-sentence uptake draws are keyed by the measure's id, not its catalogue position: a
    new measure ahead of a pack's post-sentence measures (which shifts their indices) changes
    nothing in a pack that does not use it."""
    pol = load("portugal")
    assert any(m.stage == "post_sentence" for m in pol.measures.values())
    extra = dataclasses.replace(CATALOGUE["imprisonment"], id="a_measure_added_later")
    grown = dataclasses.replace(pol, measures={extra.id: extra, **pol.measures})
    a = simulation.run(pol, 3000, 24, date(2026, 1, 1), 1, 0, uncertainty=False)
    b = simulation.run(grown, 3000, 24, date(2026, 1, 1), 1, 0, uncertainty=False)
    assert Effects.of(grown).ids.index("treatment_in_prison") != Effects.of(pol).ids.index(
        "treatment_in_prison")
    assert a.series[:, 0].sum() > 0
    assert np.array_equal(a.series, b.series)


def test_every_measure_has_a_post_sentence_stream_of_its_own() -> None:
    streams = [post_stream(m) for m in CATALOGUE]
    assert len(set(streams)) == len(streams)
    assert min(streams) >= S_POST_BASE  # clear of the fixed streams of decisions and the kernel


def test_a_person_held_before_trial_for_a_drug_offence_is_a_drug_prisoner() -> None:
    """Pre-trial detention counts in "in prison for a drug offence" when the offence charged is a
    drug offence, and stops counting when the person leaves it for the community."""
    from divert.simulation.decisions import NO_MEASURE
    from divert.simulation.kernel import M
    from divert.simulation.population import ALIVE, COMMUNITY

    policy = load("usa")
    values = draw(resolve(policy, date(2026, 1, 1)), None)
    pop = synthesise(400, 1, values, np.random.default_rng(3))
    decider = Decider(policy, Practice(values, 1.0, Effects.of(policy).ids), key=3)
    free = np.flatnonzero((pop.cj == COMMUNITY) & (pop.status == ALIVE))[:20]
    pop.drug_prisoner[free] = 0
    pop.off_type[free[:10]] = OFFENCE_TYPES.index("supply")
    pop.off_type[free[10:]] = OFFENCE_TYPES.index("property")
    decider._detain(pop, free, np.full(20, NO_MEASURE, dtype=np.int8), 2)
    assert pop.drug_prisoner[free[:10]].all() and not pop.drug_prisoner[free[10:]].any()
    decider._pretrial_end(pop, free, np.zeros(len(M)))
    assert (pop.cj[free] == COMMUNITY).all() and not pop.drug_prisoner[free].any()
