"""The runner and the `simulate` / `compare` commands: contract, outputs, stamps, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from divert.simulation.run import SERIES

from .conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "packs"
    root.mkdir()
    shutil.copytree(FIXTURES / "simland", root / "simland")
    monkeypatch.setenv("DIVERT_POLICIES", str(root))
    return root


OVERLAY_NOOP = "title: nothing\nsummary: changes nothing\npack: simland\nchanges: []\n"


def test_simulate_json_contract(packs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["simulate", "simland", "--persons", "1500", "--years", "2",
                              "--start", "2012-01", "--replications", "2", "--seed", "7",
                              "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["persons"] == 1500 and data["months"] == 24 and data["replications"] == 2
    assert data["seed"] == 7
    assert data["scale"] == pytest.approx(100000 / 1500)  # population_size in practice.yaml
    for key in ("entrants", "arrests", "prosecutions", "convictions", "diversions",
                "prison_person_months", "treatment_person_months", "overdose_deaths", "deaths",
                "cost_total"):
        assert key in data["totals"]
    assert set(data["final"]) == {"alive", "in_prison", "in_treatment"}
    # the Monte Carlo error of each mean total: sd / sqrt(2) of the two replications' totals
    assert set(data["totals_mcse"]) == set(data["totals"])
    code, out1, _ = run_cli(["simulate", "simland", "--persons", "1500", "--years", "2",
                             "--start", "2012-01", "--seed", "7", "--json"], capsys)
    one = json.loads(out1)
    assert one["totals_mcse"]["arrests"] is None  # one replication: no error to give
    a1 = one["totals"]["arrests"]
    a2 = 2 * data["totals"]["arrests"] - a1  # replication 1 from the mean of both
    assert data["totals_mcse"]["arrests"] == pytest.approx(abs(a1 - a2) / 2)
    stamp = data["stamp"]
    assert stamp["divert"] and stamp["seed"] == 7
    assert len(stamp["scenarios"]["simland"]["pack_hash"]) == 64


def test_simulate_writes_stamped_outputs(packs: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    code, _, err = run_cli(["simulate", "simland", "--persons", "1000", "--years", "1",
                            "--start", "2012-01", "--out", str(out_dir)], capsys)
    assert code == 0, err
    table = pq.read_table(out_dir / "series.parquet")
    assert table.column_names == ["scenario", "replication", "month", "metric", "value"]
    assert table.num_rows == 12 * len(SERIES)
    months = sorted(set(table.column("month").to_pylist()))
    assert months[0] == "2012-01" and months[-1] == "2012-12"
    stamp = json.loads(table.schema.metadata[b"divert_stamp"])
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["stamp"] == stamp
    assert summary["scenarios"]["simland"]["scale"] == pytest.approx(100)


def test_compare_json_difference_of_identical_overlay_is_zero(
        packs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    noop = tmp_path / "noop.yaml"
    noop.write_text(OVERLAY_NOOP)
    code, out, err = run_cli(["compare", "simland", f"simland+{noop}", "--persons", "1200",
                              "--years", "1", "--start", "2012-01", "--replications", "2",
                              "--out", str(tmp_path / "cmp"), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    first, second = data["scenarios"]
    assert first["totals"] == second["totals"]
    for name, d in second["difference"].items():
        assert {k: d[k] for k in ("mean", "low", "high", "mcse")} == {
            "mean": 0.0, "low": 0.0, "high": 0.0, "mcse": 0.0}, name
    for view in ("public", "society"):
        e = second["economics"][view]
        assert e["net_benefit"]["mcse"] == 0.0 and e["benefits"]["mcse"] == 0.0
        assert e["draws"] == 2
    assert (tmp_path / "cmp" / "summary.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["simulate", "atlantis", "--persons", "100"], "unknown jurisdiction 'atlantis'"),
    (["simulate", "simland", "--persons", "0"], "--persons: must be a whole number of people from 1"),
    (["simulate", "simland", "--persons", "-5"], "--persons: must be a whole number of people from 1"),
    (["simulate", "simland", "--persons", "100", "--years", "0"], "--years: must be more than 0"),
    (["simulate", "simland", "--persons", "100", "--replications", "0"], "--replications"),
    (["simulate", "simland", "--persons", "100", "--start", "2012/01"], "--start: '2012/01'"),
    (["simulate", "simland", "--persons", "100", "--workers", "0"], "--workers"),
    (["simulate", "simland", "--persons", "many"], "Invalid value for '--persons'"),
    (["simulate", "simland", "--persons", "100", "--engine", "gpu"], "--engine: 'gpu'"),
    (["simulate", "simland", "--persons", "100", "--overlay", "{missing}"], "no such scenario file"),
    (["simulate", "simland", "--persons", "100", "--overlay", "{malformed}"], "malformed YAML"),
    (["simulate", "simland", "--persons", "100", "--overlay", "{unknown_param}"],
     "no_such_parameter"),
    (["compare", "simland", "--persons", "100"], "--out"),
])
def test_bad_input_one_line_exit_2(args: list[str], message: str, packs: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "malformed.yaml").write_text("title: x\nchanges: [\n")
    (tmp_path / "unknown_param.yaml").write_text(
        "title: x\nsummary: y\npack: simland\nchanges:\n  - set_parameter: no_such_parameter\n"
        "    value: 3\n    citation: none\n")
    args = [a.format(missing=tmp_path / "nope.yaml", malformed=tmp_path / "malformed.yaml",
                     unknown_param=tmp_path / "unknown_param.yaml") for a in args]
    code, out, err = run_cli(args, capsys)
    assert code == 2, (out, err)
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_population_figures_scale_each_replication_by_its_own_factor(
        packs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from divert.simulation.outcomes import totals
    from divert.simulation.runner import run_comparison

    practice = packs / "simland" / "practice.yaml"
    practice.write_text(practice.read_text().replace(
        "  values: {2000-01-01: 100000}",
        "  values: {2000-01-01: 100000}\n  uncertainty: {dist: triangular, low: 50000, "
        "high: 200000}"))
    comp = run_comparison(["simland"], persons=800, months=6, start=__import__("datetime").date(
        2012, 1, 1), replications=3, seed=2)
    runs = comp.results["simland"]
    assert len({r.scale for r in runs}) == 3
    expected = sum(totals(r)["arrests"] * r.scale for r in runs) / 3
    assert comp.totals_population("simland")["arrests"] == pytest.approx(expected)


# --- streamed runs: task files, --resume -------------------------------------------------------

RESUME_ARGS = ["--persons", "1000", "--years", "1", "--start", "2012-01", "--replications", "3"]


class _Counting:
    """The in-process executor, counting the tasks it runs and stopping after `stop` of them."""

    def __init__(self, stop: int | None = None) -> None:
        from divert.simulation.executors import InProcess

        self.inner, self.stop, self.ran = InProcess(), stop, 0

    def map(self, fn, tasks):  # type: ignore[no-untyped-def]
        for result in self.inner.map(fn, tasks):
            if self.stop is not None and self.ran == self.stop:
                raise KeyboardInterrupt
            self.ran += 1
            yield result

    def close(self) -> None:
        pass


def test_interrupted_run_resumes_redoing_only_missing_tasks(packs: Path, tmp_path: Path) -> None:
    import numpy as np

    from divert.simulation.runner import run_comparison

    kw = dict(persons=1000, months=12, start=__import__("datetime").date(2012, 1, 1),
              replications=3, seed=4)
    whole = run_comparison(["simland"], **kw)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_comparison(["simland"], out=out, executor=_Counting(stop=2), **kw)
    assert len(list((out / "tasks").glob("*.npz"))) == 2
    assert not list((out / "tasks").glob("*.part"))  # written whole or not at all
    again = _Counting()
    seen: list[tuple[int, int]] = []
    resumed = run_comparison(["simland"], out=out, resume=True, executor=again,
                             progress=lambda d, t: seen.append((d, t)), **kw)
    assert again.ran == 1 and seen == [(2, 3), (3, 3)]
    assert json.dumps(resumed.summary(), sort_keys=True) == json.dumps(whole.summary(),
                                                                       sort_keys=True)
    for a, b in zip(resumed.results["simland"], whole.results["simland"], strict=True):
        assert np.array_equal(a.series, b.series)
    # more replications extend the run: only the new ones are simulated
    more = _Counting()
    run_comparison(["simland"], out=out, resume=True, executor=more, **{**kw, "replications": 5})
    assert more.ran == 2


def test_streamed_series_and_aggregates(packs: Path, tmp_path: Path) -> None:
    import numpy as np

    from divert.simulation.run import SERIES
    from divert.simulation.runner import run_comparison

    kw = dict(persons=800, months=6, start=__import__("datetime").date(2012, 1, 1),
              replications=3, seed=8)
    whole = run_comparison(["simland"], **kw)
    streamed = run_comparison(["simland"], out=tmp_path / "s", **kw)
    assert streamed.aggregate is not None
    stats = streamed.aggregate.series_stats("simland")
    runs = np.stack([r.series * r.scale for r in whole.results["simland"]])
    assert stats["mean"].shape == (6, len(SERIES))
    assert np.allclose(stats["mean"], runs.mean(axis=0))
    assert np.allclose(stats["sd"], runs.std(axis=0, ddof=1))
    q = streamed.summary()["scenarios"]["simland"]["quantiles_population"]["arrests"]
    values = sorted(r.totals["arrests"] * r.scale for r in whole.records("simland"))
    assert q["q50"] == values[1] and q["q025"] < q["q975"] and q["sd"] > 0


def test_resume_refuses_a_folder_of_another_run(packs: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "cmp")
    code, _, err = run_cli(["compare", "simland", "--out", out, *RESUME_ARGS, "--json"], capsys)
    assert code == 0, err
    for change, field in ((["--seed", "2"], "seed"), (["--persons", "900"], "persons")):
        args = [*RESUME_ARGS, *change] if field == "seed" else [
            "--persons", "900", *RESUME_ARGS[2:]]
        code, _, err = run_cli(["compare", "simland", "--out", out, *args, "--resume", "--json"],
                               capsys)
        assert code == 2
        assert f"--resume: {out} was written by a different run (different {field})" in err
        assert len(err.strip().splitlines()) == 1
    noop = tmp_path / "noop.yaml"
    noop.write_text(OVERLAY_NOOP)
    code, _, err = run_cli(["compare", "simland", f"simland+{noop}", "--out", out, *RESUME_ARGS,
                            "--resume"], capsys)
    assert code == 2 and "(different scenarios)" in err
    code, _, err = run_cli(["simulate", "simland", *RESUME_ARGS, "--resume"], capsys)
    assert code == 2 and "--resume: needs --out" in err
    code, _, err = run_cli(["simulate", "simland", *RESUME_ARGS, "--resume", "--out",
                            str(tmp_path / "empty")], capsys)
    assert code == 2 and "holds no run to resume" in err
    code, out_json, err = run_cli(["compare", "simland", "--out", out, *RESUME_ARGS, "--resume",
                                   "--json"], capsys)
    assert code == 0, err
    assert json.loads(out_json)["stamp"]["seed"] == 1
