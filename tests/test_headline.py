"""The side-by-side comparison in words: money with scale, the headline sentence (resolved and
not resolved), and the small-sample warnings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from divert.simulation.outcomes import interval, resolved
from divert.studies import headline as words
from divert.studies.parity import Parity

IRR = Parity("iran", "IRR", 2017, 11_000.0, "unverified", "", "", {})


def entry(differences: list[float], baseline: float = 1_000.0) -> dict[str, Any]:
    """A headline entry as `CountryResult.headline` builds it, from paired differences."""
    d = interval(np.array(differences))
    return {"baseline": baseline, "reform": baseline + d["mean"], "difference": d,
            "resolved": resolved(d)}


def headline(prisoners: list[float], deaths: list[float], net: list[float]) -> dict[str, Any]:
    nb = interval(np.array(net))
    return {"drug_prisoners_final_year": entry(prisoners),
            "overdose_deaths_10y": entry(deaths, 300.0),
            "economics": {"public": {"net_benefit": nb, "net_benefit_resolved": resolved(nb)}}}


@pytest.mark.parametrize(("value", "text"), [
    (1.234e13, "12.3 trillion"), (-2.5e9, "-2.50 billion"), (45_600_000.0, "45.6 million"),
    (950_123.0, "950,000"), (12.0, "12"), (0.0, "0")])
def test_amounts_have_separators_and_a_scale(value: float, text: str) -> None:
    assert words.amount(value) == text


def test_money_in_local_currency_and_international_dollars() -> None:
    assert words.money(6.96e12, "IRR") == "IRR 6.96 trillion"
    assert words.money(-3.4e6, "EUR", signed=True) == "-EUR 3.40 million"
    assert words.international(6.96e12, IRR) == "Int$ 633 million"
    assert words.international(1.0, None) == "n/a"


def test_a_resolved_headline_gives_directions_and_money_in_both_units() -> None:
    h = headline([-1_210, -1_190, -1_250, -1_180], [-31, -29, -33, -30],
                 [5.0e12, 5.2e12, 4.9e12, 5.1e12])
    text = words.sentence(h, reform="treatment_not_conviction", currency="IRR", parity=IRR,
                          years=10)
    assert text == ("Treating instead of convicting would mean 1,200 fewer people in prison for "
                    "drug offences in the final year and 31 fewer overdose deaths over 10 years, "
                    "saving the public budget IRR 5.05 trillion (Int$ 459 million, 2017 prices).")


def test_a_figure_whose_interval_includes_zero_is_not_resolved_and_has_no_sign() -> None:
    h = headline([-1_210, -1_190, -1_250, -1_180], [-40, 35, -10, 12],
                 [-3.0e9, 2.0e9, -1.0e9, 1.5e9])
    assert not h["overdose_deaths_10y"]["resolved"]
    text = words.sentence(h, reform="treatment_not_conviction", currency="USD",
                          parity=None, years=10)
    assert text == ("Treating instead of convicting would mean 1,200 fewer people in prison for "
                    "drug offences in the final year and a change in overdose deaths over 10 "
                    "years not resolved at this size, with a net effect on the public budget not "
                    "resolved at this size.")
    assert "fewer overdose" not in text and "more overdose" not in text


def test_one_replication_resolves_nothing_and_costing_is_said_as_costing() -> None:
    one = headline([-1_200], [-30], [-4.0e6])
    text = words.sentence(one, reform="prison_treatment", currency="EUR", parity=None, years=5)
    assert text.count(words.NOT_RESOLVED) == 3
    costly = headline([30, 32, 29, 31], [-2, -2, -3, -2], [-4.0e6, -4.2e6, -3.9e6, -4.1e6])
    assert words.sentence(costly, reform="prison_treatment", currency="EUR", parity=None,
                          years=5).endswith("costing the public budget EUR 4.05 million.")


def test_no_difference_in_any_replication_is_said_as_no_change() -> None:
    h = headline([-5, -6, -5, -4], [0, 0, 0, 0], [1.0e5, 1.1e5, 0.9e5, 1.0e5])
    assert "no change in overdose deaths over 10 years" in words.sentence(
        h, reform="treatment_not_conviction", currency="USD", parity=None, years=10)


def test_small_samples_are_warned_about() -> None:
    h = headline([-12, -10, -11, -13], [-1, 0, -2, 1], [1.0, 2.0, 1.5, 1.0])
    found = words.warnings(h, replications=4, persons=1_000,
                           sample={"drug_prisoners_final_year": 250.0, "overdose_deaths_10y": 3.2})
    assert any("Only 4 replications (fewer than 20)" in w for w in found)
    assert any(w.startswith("Overdose deaths over the run: about 3 in the 1,000 simulated")
               for w in found)
    assert not any(w.startswith("People in prison") for w in found)
    big = words.warnings(headline([-1_210, -1_190, -1_250, -1_180], [-31, -29, -33, -30],
                                  [1.0, 1.1, 0.9, 1.0]),
                         replications=40, persons=50_000,
                         sample={"drug_prisoners_final_year": 900.0, "overdose_deaths_10y": 80.0})
    assert big == []
    imprecise = words.warnings(headline([-60, -40, -50, -30], [-31, -29, -33, -30], [1.0] * 4),
                               replications=40, persons=50_000,
                               sample={"drug_prisoners_final_year": 900.0,
                                       "overdose_deaths_10y": 80.0})
    assert len(imprecise) == 1 and "Monte Carlo error is 14% of the figure" in imprecise[0]
    assert words.warnings(headline([-1.0], [-1.0], [1.0]), replications=1, persons=1_000,
                          sample={})[0].startswith("One replication")
