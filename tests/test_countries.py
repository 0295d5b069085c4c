"""The main job: today's law against treatment instead of conviction, per country."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from divert.cli import main
from divert.countries import BRIEFING, REFORM, groups


def test_briefing_covers_the_seed_countries_and_the_model() -> None:
    assert set(BRIEFING) == {"usa", "iran", "malaysia", "portugal", "belgium", "model"}
    assert groups(("usa",)) == [["usa", f"usa+{REFORM}"]]


def test_countries_command_writes_reports_and_json(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    try:
        main(["countries", "-j", "portugal", "-j", "usa", "--persons", "1500", "--years", "2",
              "--replications", "2", "--workers", "1", "--out", str(out), "--json"])
    except SystemExit as exc:
        assert not exc.code
    data = json.loads(capsys.readouterr().out)["countries"]
    assert list(data) == ["portugal", "usa"]
    usa = data["usa"]
    for key in ("drug_prisoners_final_year", "treatment_coverage_final_year",
                "overdose_deaths_10y"):
        d = usa[key]
        assert set(d) == {"baseline", "reform", "difference"}
        assert d["difference"]["low"] <= d["difference"]["mean"] <= d["difference"]["high"]
        assert d["reform"] - d["baseline"] == pytest.approx(d["difference"]["mean"], abs=1e-6,
                                                             rel=1e-9)
    assert set(usa["costs_by_sector_10y"]) == {"police", "courts", "prison", "probation",
                                               "treatment", "health"}
    assert 0.0 <= usa["economics"]["society"]["probability_benefits_exceed_costs"] <= 1.0
    assert usa["stamp"]["scenarios"][f"usa+{REFORM}"]["overlays"] == [REFORM]
    index = (out / "index.html").read_text()
    assert "Portugal" in index and "United States" in index
    assert "http://" not in index and "https://" not in index
    assert (out / "usa" / "summary.json").exists() and (out / "usa" / "series.parquet").exists()


def test_countries_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["countries", "-j", "atlantis", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "unknown jurisdiction 'atlantis'" in capsys.readouterr().err
