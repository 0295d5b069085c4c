"""Issue 15 engine features: bars on measures, lex mitior, citations by date, age at the offence,
and triage that never assumes an unknown fact (each on the invented testland pack or a shipped
pack whose cases carry their statutes)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from divert.advice.case import parse_case
from divert.advice.pathways import advise, applicable_date, decide
from divert.errors import PackError
from divert.law.policy import load, load_pack
from divert.law.rules import encode_batch

BAR = """
bars:
  - id: youth
    label: a child at the offence - no punishment
    when:
      - test: person.age_at_offence < 18
        label: under 18 at the offence
    unless:
      - test: offence.admitted == false
        label: denies the offence
    measures: [fine, imprisonment, warning]
    legal_basis:
      - citation: Invented Youth Act s1
        text: Children are not punished.
        provenance: unverified
"""

MITIOR = """
lex_mitior:
  - law: the Invented Mercy Act
    from: 2015-01-01
    applies_to: pending
    when:
      - test: offence.substance == "heroin"
        label: a heroin offence
    legal_basis:
      - citation: Invented Mercy Act s9
        text: The milder law applies to pending heroin cases.
        provenance: unverified
"""


def _pack(testland_dir: Path, extra: str) -> object:
    pack_yaml = testland_dir / "pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text() + extra)
    return load_pack(testland_dir)


# --- bars ------------------------------------------------------------------------------------------


def test_a_bar_closes_its_measures_on_every_path(testland_dir: Path) -> None:
    pack = _pack(testland_dir, BAR)
    facts = [{"person.age_at_offence": 17, "offence.admitted": True},
             {"person.age_at_offence": 18, "offence.admitted": True},
             {"person.age_at_offence": 17, "offence.admitted": False},
             {"person.age_at_offence": 17}]
    out = pack.evaluate("court", date(2012, 1, 1), encode_batch(facts), 4)
    # barred (17, admits), open (18), bar lifted (denies), unknown lift -> undetermined
    assert out["imprisonment"].tolist() == [0, 2, 2, 1]
    assert out["fine"][0] == 0
    assert pack.provenance_counts()["bars"] == {"verified": 0, "unverified": 1}


def test_a_bar_is_traced_and_cited_in_the_advice(testland_dir: Path) -> None:
    pack = _pack(testland_dir, BAR)
    case = parse_case({"person": {"age": 17}, "offence": {"admitted": True,
                                                         "date": "2012-01-01"}})
    stage = decide(case, pack, "court")
    prison = next(m for m in stage.measures if m.id == "imprisonment")
    assert prison.status == "not_eligible"
    assert any(r.startswith("barred by a child at the offence - no punishment [bar youth]")
               for r in prison.reasons)
    assert "Invented Youth Act s1" in prison.citations
    # the age given alone is the age at the offence
    assert any(t["values"].get("person.age_at_offence") == 17 for t in prison.trace)


def test_a_bar_naming_an_unknown_measure_is_refused_with_its_line(testland_dir: Path) -> None:
    with pytest.raises(PackError, match=r"pack\.yaml:\d+: bars\[0\]\.measures: .*'prison' is "
                                        r"not a catalogue measure"):
        _pack(testland_dir, BAR.replace("[fine, imprisonment, warning]", "[prison]"))


def test_a_bar_condition_with_an_unknown_name_is_refused(testland_dir: Path) -> None:
    with pytest.raises(PackError, match=r"pack\.yaml:\d+: bars\[0\]\.when\[0\]"):
        _pack(testland_dir, BAR.replace("person.age_at_offence < 18", "person.agee < 18"))


# --- lex mitior ------------------------------------------------------------------------------------


def test_lex_mitior_moves_the_default_date_and_says_why(testland_dir: Path) -> None:
    pack = _pack(testland_dir, MITIOR)
    heroin = parse_case({"offence": {"substance": "heroin", "date": "2012-03-04"}})
    day, why = applicable_date(heroin, pack, "court", today=date(2020, 1, 1))
    assert day == date(2015, 1, 1)
    assert why is not None and "Invented Mercy Act s9" in why and "2012-03-04" in why
    # not before the law exists, not where it does not reach, not when a date is given
    assert applicable_date(heroin, pack, "court", today=date(2014, 1, 1)) == (
        date(2012, 3, 4), None)
    cocaine = parse_case({"offence": {"substance": "cocaine", "date": "2012-03-04"}})
    assert applicable_date(cocaine, pack, "court", today=date(2020, 1, 1))[0] == date(2012, 3, 4)
    assert applicable_date(heroin, pack, "court", date(2013, 1, 1))[0] == date(2013, 1, 1)
    # a law for pending cases does not reach a final sentence
    assert applicable_date(heroin, pack, "post_sentence", today=date(2020, 1, 1))[0] == date(
        2012, 3, 4)


def test_lex_mitior_of_unknown_reach_is_named_not_applied(testland_dir: Path) -> None:
    pack = _pack(testland_dir, MITIOR)
    unknown = parse_case({"offence": {"date": "2012-03-04"}})
    day, why = applicable_date(unknown, pack, "court", today=date(2020, 1, 1))
    assert day == date(2012, 3, 4)
    assert why is not None and "may apply" in why


def test_iran_2017_amendment_reaches_a_pending_capital_case() -> None:
    # Law for Combatting Drugs art. 45 (2017), applied to pending and past death sentences
    # (judiciary order of January 2018, Middle East Brief 119)
    case = parse_case({"person": {"age": 31, "sex": "male"},
                       "offence": {"type": "trafficking", "substance": "heroin",
                                   "quantity_g": 40, "date": "2016-05-01"},
                       "need": "low", "risk": "high", "disorder": "none"})
    advice = advise(case, load("iran"))
    assert advice.date == date(2017, 11, 14)
    court = advice.stage("court")
    assert "death_penalty" not in court.eligible
    assert court.notes[0].startswith("Lex mitior: the offence was committed on 2016-05-01")


# --- citations by date -----------------------------------------------------------------------------


def test_citations_follow_the_decision_date() -> None:
    # Law 55/2023 of 8 September is in force from 1 October 2023 (DL 15/93 art. 40 as amended)
    case = parse_case({"person": {"age": 19}, "offence": {
        "type": "possession", "substance": "cannabis_resin", "quantity_g": 4,
        "date": "2006-05-02"}, "need": "low", "risk": "low", "consent": True})
    pack = load("portugal")

    def cites(day: date) -> list[str]:
        stage = decide(case, pack, "police", day)
        return next(m for m in stage.measures if m.id == "administrative_referral").citations

    assert not any("55/2023" in c for c in cites(date(2006, 5, 2)))
    assert any("55/2023" in c for c in cites(date(2024, 5, 2)))


# --- triage never assumes --------------------------------------------------------------------------


def test_unknown_dependence_leaves_iran_lashes_undetermined() -> None:
    # issue 15: with dependence unknown, lashes (art. 19, non-addicts) must not come out eligible
    case = parse_case({"person": {"age": 30, "sex": "male"},
                       "offence": {"type": "use", "substance": "heroin", "date": "2019-04-01"}})
    advice = advise(case, load("iran"))
    assert (advice.triage.need, advice.triage.disorder) == (None, None)
    lashes = next(m for m in advice.stage("court").measures if m.id == "corporal_punishment")
    assert lashes.status == "undetermined"
    assert "screening.disorder" in lashes.missing


def test_unknown_need_ranks_the_least_intensive_alternative_first() -> None:
    case = parse_case({"person": {"age": 19}, "offence": {
        "type": "possession", "substance": "cannabis_herb", "quantity_g": 4,
        "date": "2020-03-02"}, "consent": True})
    police = decide(case, load("model"), "police")
    assert police.recommended in ("no_further_action", "warning")
    assert any(n.startswith("Need and risk unknown") for n in police.notes)


def test_the_book_shows_bars_lex_mitior_and_dated_citations() -> None:
    from divert.reports.book import render_book

    html = render_book(load("usa"), on=date(2024, 1, 1))
    assert "Bars on measures" in html and "<code>mandatory_minimum</code>" in html
    assert "More lenient later laws (lex mitior)" in html and "Dorsey v. United States" in html
    assert "(cited from 2023-10-01)" in render_book(load("portugal"), on=date(2024, 1, 1))


def test_age_at_offence_falls_back_to_age_in_a_batch_without_it(testland_dir: Path) -> None:
    # the simulation's synthetic people carry person.age only: youth bars must still decide
    import numpy as np

    pack = _pack(testland_dir, BAR)
    batch = {"person.age": np.array([17.0, 30.0]),
             "offence.admitted": np.array([2, 2], dtype=np.int8)}
    out = pack.evaluate("court", date(2012, 1, 1), batch, 2)
    assert out["imprisonment"].tolist() == [0, 2]
