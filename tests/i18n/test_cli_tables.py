"""What the command line prints, in each language divert speaks besides English (issue 19):
`divert countries`, the totals of `simulate` and `compare`, `validate`'s checks and `assess`'s
advice (tables, --brief, the projection), with no English message of the catalogues left
(tests/i18n/english.py, each table cell read as an element), the numbers in the locale's digits
(Persian in fa), and English as it was.

The countries are run at the smallest sizes (two packs, 300 persons, six months, two draws)."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import divert.cli
from divert.cli_tables import (
    TOTALS,
    Words,
    checks_summary,
    checks_table,
    countries_table,
    totals_table,
)
from divert.studies.countries import CountryResult, run_planned
from divert.studies.validation import Check
from tests.conftest import run_cli

from .english import english_left, leftovers

LANGUAGES = ("pt", "fr", "nl", "fa", "ms")
PERSIAN = set("۰۱۲۳۴۵۶۷۸۹")
LATIN = set("0123456789")
BOX = re.compile(r"[\u2500-\u257f]+")  # the table's rules and borders
PARTS = re.compile(r"[()\[\]]")  # a label and its unit, "arrests (count)", read apart


@cache
def _english(locale: str) -> tuple[set[str], set[str]]:
    return english_left(locale, ("cli", "reports"))


def rendered(*items: Any) -> str:
    """What the terminal shows for `items` (tables, lines), wide enough not to wrap a cell."""
    console = Console(file=io.StringIO(), width=600, color_system=None, highlight=False)
    for item in items:
        console.print(item)
    return str(console.file.getvalue())  # type: ignore[attr-defined]


def english_in(text: str, locale: str, data: Sequence[str] = (), parts: bool = True) -> list[str]:
    """The catalogues' English found in terminal text: each cell of each line as an element, and
    each part of it in brackets (a unit);
    the totals' metric names (deaths, prison_person_months: as --json names them) are ids."""
    cells = [c.strip() for line in text.splitlines() for cell in BOX.split(line)
             for c in (PARTS.split(cell) if parts else [cell]) if c.strip()]
    page = (f'<html lang="{locale}"><body>'
            + "".join(f"<p>{html.escape(c)}</p>" for c in cells) + "</body></html>")
    ids = [name for name, _, _ in TOTALS]
    return leftovers(page, *_english(locale), data=[*ids, *data])[1]


@pytest.fixture(scope="module")
def results() -> list[CountryResult]:
    return run_planned(("model", "portugal"), persons=300, replications=2, draws=2,
                       draw_persons=200, precision=0.1, budget_s=0.001, months=6,
                       start=date(2026, 1, 1), seed=1, workers=1)


def _checks() -> list[tuple[str, Any]]:
    return [("usa", Check("drug_court_rearrest", "Mitchell et al. 2012", 0.74, 0.71, 0.1, True,
                          "ratio")),
            ("usa", Check("aftercare_deaths", "Marsden et al. 2017", 0.25, 0.9, 0.1, False,
                          "ratio")),
            ("iran", Check("prison_treatment", "Kinlock 2009", None, None, None, None))]


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_countries_table_is_in_the_language_asked_for(
        locale: str, results: list[CountryResult]) -> None:
    text = rendered(countries_table(results, 0.5, date(2026, 1, 1), Words.of(locale)))
    assert english_in(text, locale) == []
    assert "Treatment instead of conviction" not in text and "final year" not in text
    assert text.count("\n") > 8  # a title, seven headings and two countries
    assert bool(PERSIAN & set(text)) == (locale == "fa")
    if locale == "fa":
        assert not LATIN & set(text)  # every figure in Persian digits


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_totals_are_in_the_language_asked_for(locale: str,
                                                  results: list[CountryResult]) -> None:
    comparison = results[1].comparison  # Portugal: today's law and the reform
    specs = list(comparison.scenarios)
    assert len(specs) == 2
    text = rendered(totals_table(specs, comparison, Words.of(locale)))
    assert english_in(text, locale) == []
    assert "EUR" in text and "time in prison" not in text and "Totals over" not in text
    assert bool(PERSIAN & set(text)) == (locale == "fa")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_validation_table_is_in_the_language_asked_for(locale: str) -> None:
    w = Words.of(locale)
    text = rendered(checks_table(_checks(), w), checks_summary(_checks(), w))
    assert english_in(text, locale) == []
    assert "drug_court_rearrest" in text and "Mitchell et al. 2012" in text  # ids, sources kept
    assert "passed" not in text and "not applicable" not in text
    assert ("۰٫۷۴" in text) == (locale == "fa")


def test_the_tables_in_english_are_as_they_were(results: list[CountryResult]) -> None:
    en = Words.of("en")
    text = rendered(countries_table(results, 0.5, date(2026, 1, 1), en))
    assert "Treatment instead of conviction vs today's law, 0.5 years from January 2026" in text
    assert "in prison for drug offences, final year (persons)" in text
    assert "parameters [" in text
    summary = rendered(checks_summary(_checks(), en))
    assert summary.strip() == "1 passed, 1 failed, 1 not applicable (1 failed)"
    assert "0.74" in rendered(checks_table(_checks(), en))


@pytest.mark.parametrize(("locale", "digit"), [("pt", "1"), ("fa", "۱")])
def test_simulate_prints_its_totals_in_the_language_of_the_messages(
        locale: str, digit: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["--lang", locale, "simulate", "portugal", "--persons", "1000",
                              "--years", "1", "--no-uncertainty", "--engine", "numpy",
                              "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert english_in(out, locale) == []
    assert "time in prison" not in out and "wrote" not in out
    assert str(tmp_path) in out and digit in out  # the folder as it is, the figures localised


def test_countries_prints_its_table_in_the_language_of_the_messages(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["--lang", "nl", "countries", "-j", "model", "--persons", "300",
                              "--years", "0.5", "--replications", "2", "--draws", "0",
                              "--workers", "1", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert english_in(out, "nl") == []
    assert "Behandeling in plaats van veroordeling" in out and "rechtsgebied" in out
    assert f"rapport: {tmp_path / 'index.html'}" in " ".join(out.split())


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
#: each language with a case of a country that speaks it (the model pack's law where none)
CASES = {"pt": ("portugal_resin_2006", "portugal"), "fr": ("usa_heroin_possession", "model"),
         "nl": ("usa_heroin_possession", "model"), "fa": ("iran_opium_user", "iran"),
         "ms": ("usa_heroin_possession", "model")}


def _without(line: str, citations: list[str]) -> str:
    """The line without the law's citations (as the pack writes them; the brief cuts them)."""
    for c in sorted(citations, key=len, reverse=True):
        if c[:24] in line:
            line = line[:line.index(c[:24])]
    return line


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("form", [["--brief"], ["--copies", "30"]])
def test_the_advice_is_in_the_language_asked_for(locale: str, form: list[str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The advice's frame, the triage's reasons and the projection's notes in the language; the
    law's own words (citations as the pack writes them) are read as data."""
    case, pack = CASES[locale]
    args = ["assess", str(EXAMPLES / f"{case}.yaml"), "-j", pack]
    code, out, err = run_cli([*args, "--json", "--no-projection"], capsys)
    assert code == 0, err
    advice = json.loads(out)
    monkeypatch.setattr(divert.cli, "out", Console(highlight=False, soft_wrap=False, width=4000))
    code, out, err = run_cli(["--lang", locale, *args, *form], capsys)
    assert code == 0, err
    cited = [c for s in advice["stages"] for m in s["measures"] for c in m["citations"]]
    shown = "\n".join(_without(line, cited) for line in out.splitlines())
    assert english_in(shown, locale, parts=False) == []
    assert not any(f"- {r}" in out for r in advice["triage"]["reasons"])
    assert " on 20" not in out and "recommended" not in out and "also open" not in out
    if form != ["--brief"]:  # the tables, and the projection of every stage that has one
        assert "vs conventional path" not in out and "open?" not in out
        assert "90% of copies" not in out
    assert bool(PERSIAN & set(out)) == (locale == "fa")
