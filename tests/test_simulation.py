"""The simulation: conservation, the kernel against its reference, the same rules as `assess`,
common random numbers, effects, executors."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from divert.advice.case import parse_case
from divert.advice.pathways import decide
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Policy, load_pack
from divert.law.practice import draw, resolve
from divert.law.rules import decode_value
from divert.law.vocabulary import FIELDS, STAGES
from divert.simulation.decisions import MEASURE_IDS, PATHWAYS, Practice, facts_batch
from divert.simulation.kernel import METRICS
from divert.simulation.population import synthesise
from divert.simulation.run import SERIES, RunResult, run
from divert.simulation.runner import run_comparison

FIXTURES = Path(__file__).parent / "fixtures"
START = date(2012, 1, 1)


def simland(tmp_path: Path, extra: str = "", name: str = "simland") -> Policy:
    """A copy of the simland fixture pack with extra practice.yaml entries.

    Where the entries give the `ARREST` weights (every contact to court), the police referral's
    precedence over arrest is dropped: with it, the law closes arrest for people who consent to
    the referral, and a referral practitioners never use leaves them with nothing open."""
    target = tmp_path / name
    shutil.copytree(FIXTURES / "simland", target)
    if ARREST in extra:
        police = target / "police.yaml"
        police.write_text(police.read_text().replace(
            "    precedence_over: [arrest_and_charge]\n", ""))
    if name != "simland":
        pack = target / "pack.yaml"
        pack.write_text(pack.read_text().replace("code: simland", f"code: {name}"))
    if extra:
        with (target / "practice.yaml").open("a") as f:
            f.write(extra)
    return load_pack(target)


def practice_entry(name: str, value: str, keys: str | None = None) -> str:
    key_line = f"  keys: {keys}\n" if keys else ""
    return (f"{name}:\n  unit: x\n{key_line}  citation: test\n  provenance: unverified\n"
            f"  values: {{2000-01-01: {value}}}\n")


NEUTRAL_COMPLETION = practice_entry(
    "measure_completion_prob", "{" + ", ".join(f"{m}: 1.0" for m in CATALOGUE) + "}", "measure")
NEUTRAL = "".join([
    practice_entry("offence_rr_in_treatment", "1.0"),
    practice_entry("treatment_remission_rr", "1.0"),
    practice_entry("overdose_rr_in_treatment", "1.0"),
    # tables by measure default to the catalogue's effects entry by entry: neutral means every entry
    practice_entry("measure_reoffence_rr",
                   "{" + ", ".join(f"{m}: 1.0" for m in CATALOGUE) + "}", "measure"),
    NEUTRAL_COMPLETION,
    practice_entry("pretrial_detention_prob", "0.0"),
    # a person in a programme or in custody cannot leave the population by sustained remission,
    # so being sent to one changes exits unless cessation is off
    practice_entry("cessation_months", "0.0"),
])


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return simland(tmp_path_factory.mktemp("sim"))


def test_people_are_conserved_and_stocks_never_negative(pack: Policy) -> None:
    result = run(pack, 5000, 48, START, seed=3, replication=0)
    col = {m: result.metric(m) for m in SERIES}
    assert (result.series >= 0).all()
    entrants = col["entrants"].sum()
    assert entrants > 0
    gone = col["deaths"].sum() + col["exits"].sum()
    # the books balance over the report, which starts after the burn-in
    assert result.burn_in > 0
    assert result.final["alive"] + gone == result.start_alive + entrants
    assert col["exits_ceased"].sum() > 0 and col["exits_ceased"].sum() <= col["exits"].sum()
    plain = run(pack, 5000, 48, START, seed=3, replication=0, warm_up=0)
    gone = plain.metric("deaths").sum() + plain.metric("exits").sum()
    assert plain.final["alive"] + gone == 5000 + plain.metric("entrants").sum()
    assert col["alive"][-1] == result.final["alive"]
    assert (col["in_prison_drug_offence"] <= col["in_prison"]).all()
    assert (col["overdose_deaths"] <= col["deaths"]).all()
    assert col["arrests"].sum() > 0 and col["prison_admissions"].sum() > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_compiled_kernel_equals_numpy_reference(pack: Policy, seed: int) -> None:
    fast = run(pack, 3000, 40, START, seed=seed, replication=1, engine="numba")
    slow = run(pack, 3000, 40, START, seed=seed, replication=1, engine="numpy")
    assert np.array_equal(fast.series, slow.series)
    assert np.array_equal(fast.cohort, slow.cohort)


def test_same_seed_same_results_and_other_seed_differs(pack: Policy) -> None:
    a = run(pack, 2000, 24, START, seed=5, replication=0)
    b = run(pack, 2000, 24, START, seed=5, replication=0)
    c = run(pack, 2000, 24, START, seed=6, replication=0)
    assert np.array_equal(a.series, b.series)
    assert not np.array_equal(a.series, c.series)


def test_simulated_eligibility_equals_decide(pack: Policy) -> None:
    """The simulation's vectorised eligibility is `decide()` for the same synthetic people."""
    values = draw(resolve(pack, START), None)
    pop = synthesise(400, 1, values, np.random.default_rng(9))
    pop.off_type[:] = np.random.default_rng(2).integers(0, 9, pop.size)
    pop.cj[::7] = 3  # some prisoners, so sentence facts are exercised
    pop.sentence_m[::7] = 24
    pop.served_m[::7] = 13
    ids = np.arange(pop.size)
    batch = facts_batch(pop, ids, 1, 77, Practice(values, 1.0))
    for day in (date(2005, 6, 1), date(2012, 6, 1)):
        for stage in STAGES:
            together = pack.evaluate(stage, day, batch, ids.shape[0])
            for i in range(0, pop.size, 9):
                facts = {name: decode_value(FIELDS[name], arr[i]) for name, arr in batch.items()}
                advice = decide(_case(facts), pack, stage, day)
                for m in advice.measures:
                    code = int(together[m.id][i])
                    assert m.status == {2: "eligible", 0: "not_eligible",
                                        1: "undetermined"}[code], (stage, m.id, facts)


def _case(facts: dict) -> object:
    """A case file's data from flat simulation facts (triage given directly)."""
    data: dict = {"consent": facts["consent"], "need": facts["triage.need"],
                  "risk": facts["triage.risk"], "disorder": facts["screening.disorder"]}
    for name, value in facts.items():
        part, _, key = name.partition(".")
        if part in ("person", "offence", "history", "sentence") and value is not None:
            if key in ("plants", "prior_convictions", "prior_drug_convictions",
                       "prior_violent_convictions", "prior_incarcerations",
                       "prior_diversion_failures", "prior_diversions", "prior_drug_arrests",
                       "fta_past_2_years", "fta_older"):
                value = int(value)
            data.setdefault(part, {})[key] = value
    return parse_case(data)


def test_identical_scenarios_give_zero_difference(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "packs"
    root.mkdir()
    simland(root)
    simland(root, name="simtwin")
    monkeypatch.setenv("DIVERT_POLICIES", str(root))
    comp = run_comparison(["simland", "simtwin"], persons=2000, months=24, start=START,
                          replications=3, seed=1)
    for name, d in comp.difference("simtwin").items():
        assert {k: d[k] for k in ("mean", "low", "high", "mcse")} == {
            "mean": 0.0, "low": 0.0, "high": 0.0, "mcse": 0.0}, name


def test_results_identical_for_one_and_two_workers(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "packs"
    root.mkdir()
    simland(root)
    monkeypatch.setenv("DIVERT_POLICIES", str(root))
    kw = dict(persons=1500, months=18, start=START, replications=3, seed=4)
    one = run_comparison(["simland"], workers=1, **kw)
    two = run_comparison(["simland"], workers=2, **kw)
    for a, b in zip(one.results["simland"], two.results["simland"], strict=True):
        assert a.replication == b.replication
        assert np.array_equal(a.series, b.series)
    assert one.stamp == two.stamp


ARREST = "warning: 0.0, referral_to_health_services: 0.0, compulsory_treatment: 0.0, " \
    "conditional_dismissal: 0.0, pre_judgment_probation: 0.0, imprisonment: 0.0"


def test_diversion_without_effects_changes_costs_not_reoffending(tmp_path: Path) -> None:
    """With every effect neutral, sending people to treatment instead of a fine changes costs
    but not a single offence (common random numbers make the comparison exact)."""
    base = simland(tmp_path / "a", NEUTRAL + practice_entry(
        "measure_weight", f"{{{ARREST}, fine: 1.0, drug_treatment_court: 0.0, "
        "treatment_order: 0.0}", "measure"))
    reform = simland(tmp_path / "b", NEUTRAL + practice_entry(
        "measure_weight", f"{{{ARREST}, fine: 0.0, drug_treatment_court: 0.0, "
        "treatment_order: 1.0}", "measure"))
    a = run(base, 4000, 36, START, seed=2, replication=0, uncertainty=False)
    b = run(reform, 4000, 36, START, seed=2, replication=0, uncertainty=False)
    assert b.metric("diversions").sum() > a.metric("diversions").sum() + 50
    for metric in ("offences", "police_contacts", "arrests", "deaths"):
        assert np.array_equal(a.metric(metric), b.metric(metric)), metric
    assert b.metric("cost_treatment").sum() > a.metric("cost_treatment").sum()


def test_a_treatment_measure_pays_for_its_treatment(tmp_path: Path) -> None:
    """A drug court's cost includes the treatment it provides (WSIPP's programme cost), so its
    participants are not charged a month of community treatment on top; people treated outside
    it (after completing it, say) are, and so is everyone on a treatment order."""
    def pack(name: str, court: float, order: float, price: str) -> Policy:
        return simland(tmp_path / name, NEUTRAL + practice_entry(
            "measure_weight", f"{{{ARREST}, fine: 0.0, drug_treatment_court: {court}, "
            f"treatment_order: {order}}}", "measure") + practice_entry(
            "treatment_cost_per_month", price))

    def priced(court: float, order: float) -> tuple[np.ndarray, RunResult]:
        a = run(pack(f"a{court}", court, order, "0.0"), 3000, 24, START, seed=3, replication=0,
                uncertainty=False)
        b = run(pack(f"b{court}", court, order, "500.0"), 3000, 24, START, seed=3,
                replication=0, uncertainty=False)
        assert np.array_equal(a.metric("in_community_treatment"),
                              b.metric("in_community_treatment"))
        return b.metric("cost_treatment") - a.metric("cost_treatment"), b

    extra, r = priced(1e6, 0.0)
    in_court = r.metric("in_measure")
    assert in_court.sum() > 1000
    charged = np.maximum(r.metric("in_community_treatment") - in_court, 0.0)
    assert np.allclose(extra, 500.0 * charged)
    extra, r = priced(0.0, 1e6)
    assert r.metric("in_measure").sum() > 1000
    assert np.allclose(extra, 500.0 * r.metric("in_community_treatment"))


def test_treatment_court_cohort_reproduces_input_effect(tmp_path: Path) -> None:
    """A cohort sent to the treatment court has the pack's reoffending ratio (0.76, from Mitchell
    et al. 2012: adult drug court recidivism 50% -> 38%) on the hazard of rearrest over 3 years,
    within sampling error."""
    practice = "".join([
        practice_entry("offence_rr_in_treatment", "1.0"),
        practice_entry("treatment_remission_rr", "1.0"),
        NEUTRAL_COMPLETION,
        practice_entry("cessation_months", "0.0"),
        practice_entry("pretrial_detention_prob", "0.0"),
        practice_entry("measure_reoffence_rr", "{drug_treatment_court: 0.76}", "measure"),
        practice_entry("offence_rr_by_disorder", "{none: 1.0, mild: 1.0, moderate: 1.0, "
                                                 "severe: 1.0}", "screening.disorder"),
        practice_entry("measure_weight", f"{{{ARREST}, fine: 1.0, drug_treatment_court: 1.0, "
                                         "treatment_order: 0.0}", "measure"),
    ])
    pack = simland(tmp_path, practice)
    result = run(pack, 12000, 60, START, seed=11, replication=0, uncertainty=False)
    cohort = result.cohort
    dtc, fine = PATHWAYS.index("drug_treatment_court"), PATHWAYS.index("fine")
    n_dtc, r_dtc = cohort[dtc, 0], cohort[dtc, 3]
    n_fine, r_fine = cohort[fine, 0], cohort[fine, 3]
    assert n_dtc > 300 and n_fine > 300
    hazard = math.log(1 - r_dtc / n_dtc) / math.log(1 - r_fine / n_fine)
    se = math.sqrt(1 / r_dtc + 1 / r_fine)
    assert abs(math.log(hazard) - math.log(0.76)) < 3 * se, (hazard, se)
    assert hazard < 0.95
    phases = np.stack([result.metric(f"treatment_court_phase_{k}") for k in range(1, 5)], axis=1)
    assert (phases[24:] > 0).all()  # every phase is occupied once the court has run 18 months
    # counted after the month's decisions, so next month's stock in measures covers them
    assert (phases.sum(axis=1)[:-1] <= result.metric("in_measure")[1:] + 200).all()


def test_metric_names_cover_the_contract() -> None:
    for name in ("arrests", "prosecutions", "convictions", "diversions", "prison_admissions",
                 "prison_releases", "in_prison", "in_prison_drug_offence", "in_treatment",
                 "overdose_deaths", "overdose_deaths_after_release", "deaths"):
        assert name in METRICS
    assert {"cost_police", "cost_courts", "cost_prison", "cost_treatment",
            "cost_health"} <= set(SERIES)
    assert len(MEASURE_IDS) < 127  # measure indices fit the int8 arrays


def test_failure_leads_where_the_pack_says(tmp_path: Path) -> None:
    """Failing a treatment order leads to prison by default, nowhere if the pack says so."""
    common = NEUTRAL.replace(NEUTRAL_COMPLETION, "") + \
        practice_entry("measure_completion_prob", "{" + ", ".join(
            f"{m}: {0.0 if m == 'treatment_order' else 1.0}" for m in CATALOGUE) + "}",
            "measure") + \
        practice_entry("measure_weight", f"{{{ARREST}, fine: 0.0, drug_treatment_court: 0.0, "
                                         "treatment_order: 1.0}", "measure")
    to_prison = simland(tmp_path / "a", common)
    to_nothing = simland(tmp_path / "b", common + practice_entry(
        "measure_failure_to", "{treatment_order: 0}", "measure"))
    a = run(to_prison, 3000, 36, START, seed=3, replication=0, uncertainty=False)
    b = run(to_nothing, 3000, 36, START, seed=3, replication=0, uncertainty=False)
    assert a.metric("failures").sum() > 20
    assert b.metric("prison_admissions").sum() == 0
    assert a.metric("prison_admissions").sum() >= a.metric("failures")[:-1].sum() * 0.9


def test_parallel_kernel_equals_serial_and_reference(pack: Policy,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The multi-threaded kernel (used for large populations where numba has threads) gives the
    same results."""
    from divert.simulation import kernel

    serial = run(pack, 3000, 30, START, seed=4, replication=0)
    monkeypatch.setattr(kernel, "PARALLEL_MIN", 0)
    monkeypatch.setattr(kernel, "get_num_threads", lambda: 2)  # even on a one-core machine
    parallel = run(pack, 3000, 30, START, seed=4, replication=0)
    reference = run(pack, 3000, 30, START, seed=4, replication=0, engine="numpy")
    assert np.array_equal(serial.series, parallel.series)
    assert np.array_equal(parallel.series, reference.series)


def test_opioid_agonist_treatment_has_its_own_entry_and_dropout(tmp_path: Path) -> None:
    """treatment_entry_rr_by_substance and opioid_agonist_dropout_rr change who enters and how
    long opioid agonist treatment lasts; the compiled kernel still equals the NumPy reference."""
    from divert.studies.observation import observe_run

    longer = simland(tmp_path, practice_entry("opioid_agonist_dropout_rr", "0.2")
                     + practice_entry("treatment_entry_rr_by_substance", "{heroin: 3.0}",
                                      "offence.substance"), name="oat")
    fast = run(longer, 3000, 36, START, seed=2, replication=0, engine="numba")
    slow = run(longer, 3000, 36, START, seed=2, replication=0, engine="numpy")
    assert np.array_equal(fast.series, slow.series)
    base = observe_run(simland(tmp_path), 6000, 24, START, seed=2, warm_up=None)
    more = observe_run(longer, 6000, 24, START, seed=2, warm_up=None)
    oat, treated = "in_opioid_agonist_treatment", "in_community_treatment"
    assert more.series(oat).mean() > 1.5 * base.series(oat).mean()
    others = [o.series(treated).mean() - o.series(oat).mean() for o in (base, more)]
    assert abs(others[1] - others[0]) < 0.35 * others[0]  # cannabis: same entry and dropout


def test_no_sustained_remission_exit_while_on_opioid_agonist_maintenance(pack: Policy) -> None:
    """DSM-5's "in sustained remission, on maintenance therapy": a person in opioid agonist
    treatment stays in the population; people in other treatment can leave it."""
    from divert.simulation.population import EXITED, OAT, OUTPATIENT
    from divert.studies.observation import observe_run

    obs = observe_run(pack, 6000, 48, START, seed=3, warm_up=None)
    p = obs.pop
    exit_age = float(resolve(pack, START)["exit_age_years"].value) * 12
    ceased = (p.status == EXITED) & (p.remission_m >= 12) & (p.age_m < exit_age)
    assert (ceased & (p.treatment == OUTPATIENT)).sum() > 0
    assert (ceased & (p.treatment == OAT)).sum() == 0


def test_treatment_services_count_everyone_treated_in_the_year(pack: Policy) -> None:
    from divert.studies.observation import observe_run

    obs = observe_run(pack, 4000, 12, START, seed=1, warm_up=None)
    services = obs.series("treatment_services_past_year")
    assert services[-1] > 0
    assert (services >= obs.series("treated_past_year_with_disorder")).all()
