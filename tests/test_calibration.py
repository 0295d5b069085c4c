"""Calibration: targets as data, a fit that recovers a known answer within the uncertainty ranges,
the fit as a loadable overlay, and registry tables as practice values."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest

from divert.errors import InputError, PackError
from divert.law import policy as policies
from divert.law.policy import Policy, load_pack
from divert.law.practice import resolve
from divert.registry.export import COLUMNS
from divert.simulation.scenarios import load_overlay, load_scenario
from divert.studies.calibration import (
    Fit,
    Target,
    bounds_of,
    calibrate,
    calibrate_from_registry,
    load_targets,
    scaled,
    window,
)
from divert.studies.observation import observe_run

from .test_simulation import practice_entry, simland

TRUTH = {"detection_prob": 0.85, "prison_sentence_months": 1.2}
START = date(2012, 1, 1)
# more prisoners than simland's defaults, so that the prison stock measures sentence length
PRISONS = (practice_entry("measure_weight", "{imprisonment: 4.0}", "measure")
           + practice_entry("prison_sentence_months", "{possession: 12}", "offence.type")
           + practice_entry("offence_rr_by_disorder", "{none: 1.0, mild: 1.0, moderate: 1.0, "
                                                      "severe: 1.0}", "screening.disorder"))


@pytest.mark.parametrize("code", ["usa", "portugal", "iran", "malaysia"])
def test_pack_targets_load_and_name_parameters_that_can_move(code: str) -> None:
    pack = policies.load(code)
    targets = load_targets(pack)
    assert targets and len({t.name for t in targets}) == len(targets)
    start, months = window(pack, targets)
    assert months > 12 and resolve(pack, start)["population_size"].source == "pack"
    for t in targets:
        assert t.citation and t.provenance in ("verified", "unverified") and t.value > 0
        for name in t.parameters:
            low, high = bounds_of(pack, name, start) or (1.0, 1.0)
            assert low < 1.0 < high, (t.name, name)  # fittable within its uncertainty range


def test_targets_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "targets.yaml"
    bad.write_text("targets:\n  - name: x\n    value: 3\n    period: '2019'\n"
                   "    metric: {sum: not_a_series}\n    citation: c\n    provenance: verified\n")
    with pytest.raises(PackError, match=r"targets.yaml:\d+.*unknown series 'not_a_series'"):
        load_targets(bad)
    with pytest.raises(InputError, match="no calibration targets"):
        calibrate(policies.load("kenya"))


def _targets(pack: Policy, sd: float = 0.02) -> list[Target]:
    """Targets taken from a run of the pack with the TRUTH factors (same people and numbers)."""
    truth = observe_run(scaled(pack, TRUTH), 5000, 36, START, seed=1)
    shapes = [Target("arrests_2014", 0.0, "2014", {"sum": "arrests"}, ("detection_prob",), sd),
              Target("prisoners_2014", 0.0, "2014", {"mean": "in_prison_drug_offence"},
                     ("prison_sentence_months",), sd)]
    return [dataclasses.replace(t, value=t.simulate(truth)) for t in shapes]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Policy, Fit]:
    root = tmp_path_factory.mktemp("calibrate")
    pack = simland(root, PRISONS)
    fit = calibrate(pack, _targets(pack), persons=5000, seed=1, replications=2,
                    max_evaluations=25)
    return root, pack, fit


def test_fit_recovers_the_known_factors(fitted: tuple[Path, Policy, Fit]) -> None:
    _, _, fit = fitted
    factors = {p.name: p.factor for p in fit.parameters}
    assert factors.keys() == TRUTH.keys()
    for name, truth in TRUTH.items():
        assert abs(factors[name] - truth) < 0.05, (name, factors[name])
    assert fit.objective < fit.objective_before
    for row in fit.rows:
        assert abs(row.error) < 0.05 and row.low <= row.simulated <= row.high
    assert fit.start == START and fit.months == 36 and fit.evaluations <= 25
    assert set(fit.table()[0]) == {"target", "period", "observed", "simulated", "low", "high",
                                   "error"}
    assert "detection_prob" in "\n".join(fit.lines())


def test_fit_overlay_is_a_loadable_scenario(fitted: tuple[Path, Policy, Fit]) -> None:
    root, pack, fit = fitted
    path = fit.write_overlay()
    assert path == pack.path / "scenarios" / "calibrated.yaml"
    overlay = load_overlay(path)
    assert overlay.pack == "simland"
    cited = {c.spec.set_parameter: c.spec.citation for c in overlay.changes}
    assert cited["detection_prob"].startswith("divert calibrate ")
    assert cited["detection_prob"].endswith("fitted to arrests_2014")
    assert cited["prison_sentence_months"].endswith("fitted to prisoners_2014")
    calibrated = load_scenario("simland+calibrated", root)
    day = date(2014, 6, 1)
    now = resolve(calibrated, day)
    factor = {p.name: p.factor for p in fit.parameters}
    assert now["detection_prob"].value == pytest.approx(0.3 * factor["detection_prob"], rel=1e-3)
    assert now["prison_sentence_months"].value["possession"] == pytest.approx(
        12 * factor["prison_sentence_months"], rel=1e-3)
    assert now["detection_prob"].uncertainty == resolve(pack, day)["detection_prob"].uncertainty
    assert calibrated.overlays == ["calibrated"]


def test_factors_stay_within_the_uncertainty_range(tmp_path: Path) -> None:
    pack = simland(tmp_path, PRISONS)
    (arrests, _) = _targets(pack)
    far = dataclasses.replace(arrests, value=arrests.value * 3)  # out of reach
    fit = calibrate(pack, [far], persons=2000, replications=1, max_evaluations=10)
    (p,) = fit.parameters
    assert (p.low, p.high) == (0.7, 1.3)  # the default's factor range
    assert p.low <= p.factor <= p.high and p.factor > 1.2
    assert fit.rows[0].error < -0.4


def test_parameters_without_a_range_are_not_fitted(tmp_path: Path) -> None:
    pack = simland(tmp_path, PRISONS)
    (arrests, _) = _targets(pack)
    fixed = dataclasses.replace(arrests, parameters=("aggravator_prob",))
    fit = calibrate(pack, [fixed], persons=1000, replications=1, max_evaluations=3)
    assert fit.parameters == [] and "aggravator_prob" in fit.skipped
    with pytest.raises(InputError, match="--method"):
        calibrate(pack, [fixed], method="guess")


# --- registry tables ------------------------------------------------------------------------------


def _export(folder: Path, as_json: bool = True) -> Path:
    """Tables as `divert registry export --deidentified` writes them (two programmes; one
    suppressed cell)."""
    tables = {
        "outcomes": [
            {"programme": "riverside-dtc", "quadrant": "HR/HN", "left": 40, "graduated": 24,
             "terminated": 12, "withdrawn": None, "active": 15, "graduation_rate": 0.6,
             "termination_rate": 0.3},
            {"programme": "riverside-dtc", "quadrant": "all", "left": 50, "graduated": 30,
             "terminated": 15, "withdrawn": None, "active": 20, "graduation_rate": 0.6,
             "termination_rate": None},
            {"programme": "hill-dtc", "quadrant": "all", "left": 30, "graduated": 15,
             "terminated": 15, "withdrawn": 0, "active": 12, "graduation_rate": 0.5,
             "termination_rate": 0.5},
            {"programme": "tiny-dtc", "quadrant": "all", "left": None, "graduated": None,
             "terminated": None, "withdrawn": None, "active": None, "graduation_rate": None,
             "termination_rate": None},
        ],
        "phase_durations": [
            {"programme": "riverside-dtc", "phase": 1, "people": 60, "mean_days": 90.0,
             "median_days": 88, "p25_days": 70, "p75_days": 100},
            {"programme": "hill-dtc", "phase": 1, "people": 20, "mean_days": 130.0,
             "median_days": 120, "p25_days": 100, "p75_days": 150},
            {"programme": "riverside-dtc", "phase": 2, "people": 30, "mean_days": 200.0,
             "median_days": 190, "p25_days": 150, "p75_days": 240},
            {"programme": "riverside-dtc", "phase": 3, "people": None, "mean_days": None,
             "median_days": None, "p25_days": None, "p75_days": None},
        ],
        "test_positivity": [], "rearrest_by_quadrant": [],
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        for row in rows:
            assert list(row) == COLUMNS[name]  # the export's columns, in its order
    if as_json:
        (folder / "tables.json").write_text(json.dumps({"manifest": {"columns": COLUMNS},
                                                        **tables}))
    else:
        for name, rows in tables.items():
            with (folder / f"{name}.csv").open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=COLUMNS[name])
                w.writeheader()
                for row in rows:
                    w.writerow({k: "" if v is None else v for k, v in row.items()})
    return folder


@pytest.mark.parametrize("as_json", [True, False])
def test_registry_tables_set_completion_and_duration(tmp_path: Path, as_json: bool) -> None:
    pack = simland(tmp_path)
    reg = calibrate_from_registry(pack, _export(tmp_path / "export", as_json))
    assert reg.programmes == ["hill-dtc", "riverside-dtc"]
    assert reg.values["measure_completion_prob"] == pytest.approx(45 / 80)
    days = (60 * 90 + 20 * 130) / 80 + 200  # phase 1 pooled by people, phase 2, phase 3 hidden
    assert reg.values["measure_duration_months"] == pytest.approx(days / (365.25 / 12))
    path = reg.write_overlay()
    assert path == pack.path / "scenarios" / "registry.yaml"
    changed = load_pack(pack.path, [load_overlay(path)])
    now = resolve(changed, date(2020, 1, 1))
    assert now["measure_completion_prob"].value["drug_treatment_court"] == pytest.approx(
        45 / 80, rel=1e-3)
    assert now["measure_duration_months"].value["drug_treatment_court"] == pytest.approx(
        days / (365.25 / 12), rel=1e-3)
    one = calibrate_from_registry(pack, tmp_path / "export", programmes=["hill-dtc"])
    assert one.values["measure_completion_prob"] == 0.5 and one.programmes == ["hill-dtc"]


def test_registry_without_tables_is_refused(tmp_path: Path) -> None:
    pack = simland(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no tables.json"):
        calibrate_from_registry(pack, tmp_path / "empty")
    with pytest.raises(InputError, match="catalogue measure"):
        calibrate_from_registry(pack, tmp_path, measure="nope")


def _participant(i: int, exit_kind: str) -> dict:
    """A participant of the default programme who leaves after 200 days (as in the export tests)."""
    import datetime as dt

    start = dt.date(2023, 1, 2) + dt.timedelta(days=i % 20)
    day = lambda n: str(start + dt.timedelta(days=n))  # noqa: E731
    p: dict = {"ref": str(i), "name": f"Person {i}", "consents": [{"given": True, "on": day(0)}],
               "enrolment": {"started_on": day(0), "quadrant": "HR/HN"},
               "tests": [{"on": day(3), "result": "negative"}],
               "phases": [{"on": day(60), "to": 2}],
               "exit": {"kind": exit_kind, "on": day(200), "reason": "x"}}
    if exit_kind == "graduated":
        p["phases"] += [{"on": day(120), "to": 3}, {"on": day(160), "to": 4}]
    return p


def test_registry_export_feeds_calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """End to end: `divert registry import`, `export --deidentified`, then the calibration."""
    from divert.registry.crypto import create_key_file

    from .conftest import run_cli

    key = tmp_path / "registry.key"
    create_key_file(key)
    for name in ("DIVERT_KEY", "DIVERT_DATABASE_URL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIVERT_KEY_FILE", str(key))
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    people = [_participant(i, "graduated" if i < 18 else "terminated") for i in range(30)]
    src = tmp_path / "cohort.json"
    src.write_text(json.dumps({"format": "divert-registry-import", "version": 1,
                               "participants": people}))
    for args in (["init"], ["import", str(src)], ["export", "--deidentified", "--out", "out"]):
        code, _, err = run_cli(["registry", *args, "--db", url], capsys)
        assert code == 0, (args, err)
    reg = calibrate_from_registry(simland(tmp_path / "pack"), tmp_path / "out")
    assert reg.values["measure_completion_prob"] == pytest.approx(18 / 30)
    # completed stays: phase 1, 60 days (everyone); phases 2-4, 60, 40 and 40 days (graduates)
    assert reg.values["measure_duration_months"] == pytest.approx(200 / (365.25 / 12))
    # the command takes the registry itself (its URL) and exports the aggregates on the way
    monkeypatch.setenv("DIVERT_POLICIES", str(tmp_path / "pack"))
    code, out, err = run_cli(["calibrate", "simland", "--from-registry", url, "--out",
                              str(tmp_path / "registry.yaml"), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["overlay"] == str(tmp_path / "registry.yaml")
    assert "measure_completion_prob" in (tmp_path / "registry.yaml").read_text()


class _Reversed:
    """An executor that returns each batch's results in reverse order, recording batch sizes."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def map(self, fn, tasks):  # type: ignore[no-untyped-def]
        self.batches.append(len(tasks))
        yield from reversed([fn(t) for t in list(tasks)])

    def close(self) -> None:
        pass


def _fit_json(fit: Fit) -> str:
    return json.dumps({k: v for k, v in fit.to_json().items() if k not in ("seconds", "made_on")},
                      sort_keys=True)


def test_fit_runs_its_evaluations_in_batches_with_the_same_answer(tmp_path: Path) -> None:
    pack = simland(tmp_path, PRISONS)
    targets = _targets(pack)
    kw = dict(persons=1000, seed=1, replications=2, max_evaluations=5)
    home = calibrate(pack, targets, **kw)  # type: ignore[arg-type]
    ex = _Reversed()
    there = calibrate(pack, targets, executor=ex, **kw)  # type: ignore[arg-type]
    assert _fit_json(home) == _fit_json(there)
    assert 2 in ex.batches  # a Jacobian's two finite-difference points went together
    assert ex.batches[-1] >= 2  # the table's replications, before and after, together


def test_fitted_practice_written_to_a_new_file_leaves_the_pack_unchanged(tmp_path: Path) -> None:
    """`divert calibrate CODE --out NEW.yaml`: the pack's practice, fitted, in a file that did not
    exist before; the pack's own practice.yaml is not touched."""
    pack = policies.load("belgium")
    own = pack.path / "practice.yaml"
    before = own.read_bytes()
    fit = calibrate(pack, persons=1500, seed=1, max_evaluations=2, kind="baseline")
    out = fit.write_practice(tmp_path / "new.yaml")
    assert out == tmp_path / "new.yaml" and own.read_bytes() == before
    written = out.read_text(encoding="utf-8")
    assert "provenance: fitted" in written and "divert calibrate belgium" in written
