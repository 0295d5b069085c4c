"""Global sensitivity: a parameter that cannot move an outcome gets an index of 0, one that drives
it ranks first; the report holds the table and a tornado plot; bad options are refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from divert.studies.sensitivity import Sensitivity, analyse, uncertain_parameters

from .conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures"
PARAMS = ["detection_prob", "health_cost_per_overdose", "prison_cost_per_month"]
SMALL = ["--persons", "1500", "--years", "1", "--start", "2012-01", "--samples", "3"]


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("packs")
    shutil.copytree(FIXTURES / "simland", root / "simland")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DIVERT_POLICIES", str(root))
        yield root


@pytest.fixture(scope="module")
def morris(packs: Path) -> Sensitivity:
    return analyse("simland", samples=3, persons=1500, months=12, start=date(2012, 1, 1),
                   parameters=PARAMS, outcomes=["arrests", "cost_prison_discounted"])


def test_no_effect_is_zero_and_the_driver_ranks_first(morris: Sensitivity) -> None:
    arrests = {row["parameter"]: row for row in morris.indices["arrests"]}
    assert morris.ranking("arrests")[0] == "detection_prob"
    assert arrests["detection_prob"]["mu_star"] > 0
    # costs do not change what people do: exactly no effect on arrests
    assert arrests["health_cost_per_overdose"]["mu_star"] == 0.0
    assert arrests["prison_cost_per_month"]["mu_star"] == 0.0
    prison = {row["parameter"]: row for row in morris.indices["cost_prison_discounted"]}
    assert morris.ranking("cost_prison_discounted")[0] in ("prison_cost_per_month",
                                                            "detection_prob")
    assert prison["health_cost_per_overdose"]["mu_star"] == 0.0
    assert prison["prison_cost_per_month"]["mu_star"] > 0
    assert morris.runs == 3 * (len(PARAMS) + 1)


def test_parameters_are_the_uncertain_ones(packs: Path) -> None:
    from divert.law import policy as policies

    ranges = uncertain_parameters(policies.load("simland"), date(2012, 1, 1))
    assert "detection_prob" in ranges and "age_mean_years" not in ranges  # no uncertainty
    assert all(low < 1.0 < high for low, high in ranges.values())


def test_cli_report_json_and_tornado(packs: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sens"
    args = ["sensitivity", "simland", *SMALL, "--outcome", "arrests", "--out", str(out),
            *(x for p in PARAMS for x in ("--parameter", p))]
    code, text, err = run_cli([*args, "--json"], capsys)
    assert code == 0, err
    data = json.loads(text)
    assert data["method"] == "morris" and data["index"] == "mu_star"
    assert data["indices"]["arrests"][0]["parameter"] == "detection_prob"
    assert data["stamp"]["seed"] == 1 and data["stamp"]["sensitivity"]["parameters"] == PARAMS
    assert json.loads((out / "sensitivity.json").read_text()) == data
    assert (out / "tornado.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "sensitivity.html").read_text()
    assert 'src="tornado.png"' in page and "detection_prob" in page
    code, text, err = run_cli(args, capsys)
    assert code == 0 and "detection_prob" in text and "mu_star" in text


def test_sobol_indices(packs: Path) -> None:
    result = analyse("simland", method="sobol", samples=8, persons=1000, months=6,
                     start=date(2012, 1, 1), parameters=PARAMS[:2], outcomes=["arrests"])
    rows = {r["parameter"]: r for r in result.indices["arrests"]}
    assert result.runs == 8 * (2 + 2)
    assert rows["health_cost_per_overdose"]["ST"] == pytest.approx(0.0, abs=1e-9)
    assert rows["detection_prob"]["ST"] > 0.5


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "fast"], "--method: 'fast' is not allowed; allowed: morris, sobol"),
    (["--outcome", "happiness"], "--outcome: 'happiness' is not allowed"),
    (["--parameter", "age_mean_years"], "--parameter: 'age_mean_years' has no uncertainty range"),
    (["--samples", "1"], "--samples: must be at least 2"),
    (["--cluster", "local:0"], "--cluster: 'local:0' is not allowed"),
])
def test_bad_input_one_line_exit_2(args: list[str], message: str, packs: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["sensitivity", "simland", "--persons", "100", *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_an_outcome_no_parameter_moves_is_said_not_drawn(packs: Path, tmp_path: Path) -> None:
    from divert.studies.sensitivity import NO_EFFECT, write_report

    costs_only = analyse("simland", samples=2, persons=1500, months=12, start=date(2012, 1, 1),
                         parameters=["health_cost_per_overdose", "prison_cost_per_month"],
                         outcomes=["arrests"])
    assert all(row["mu_star"] == 0.0 for row in costs_only.indices["arrests"])
    assert f"arrests: {NO_EFFECT}" in "\n".join(costs_only.lines())
    page = write_report(costs_only, tmp_path).read_text()
    assert NO_EFFECT in page and "<td>health_cost_per_overdose</td>" not in page
