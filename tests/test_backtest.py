"""Backtests across a dated change of law."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from divert.cli import main
from divert.errors import InputError
from divert.law.policy import load, load_pack
from divert.studies.backtest import backtest, load_spec

FIXTURES = Path(__file__).parent / "fixtures"


def test_portugal_2001_reform_cuts_criminal_arrests() -> None:
    """Law 30/2000 (in force 2001-07-01) moved possession for own use out of the criminal courts:
    the backtest's criminal arrests must fall after the change."""
    result = backtest(load("portugal"), persons=4000, replications=2, seed=1)
    assert result.years == [1999, 2000, 2001, 2002, 2003, 2004]
    arrests = result.before_after("arrests")
    assert arrests["after"] < 0.6 * arrests["before"]
    assert result.before_after("diversions")["after"] > result.before_after("diversions")["before"]
    data = result.to_json()
    assert data["observed"]["arrests"]["values"] == {2000: 14000.0}
    sim = data["simulated"]["arrests"]
    assert all(lo <= m <= hi for lo, m, hi in zip(sim["low"], sim["mean"], sim["high"],
                                                   strict=True))


def test_pack_without_backtest_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no backtest for testland"):
        load_spec(load_pack(FIXTURES / "testland"))


def test_backtest_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["backtest", "malaysia", "--persons", "1500", "--replications", "1", "--json"])
    except SystemExit as exc:
        assert not exc.code
    data = json.loads(capsys.readouterr().out)
    assert data["change"]["date"] == "2023-07-04"
    assert len(data["simulated"]["death_sentences"]["mean"]) == 4
