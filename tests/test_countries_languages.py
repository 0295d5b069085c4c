"""The countries index and the headline sentences in every language (issue 19): `write_index`
and `headline.sentence` / `warnings` in the report language, with no English left (the
catalogues' checker, tests/i18n/english.py), Persian digits in fa, and English unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from divert.i18n import translator, using
from divert.studies import headline as words
from divert.studies.countries import CountryResult, run_planned, write_index
from tests.i18n.english import english_left, leftovers
from tests.test_headline import IRR, headline

LANGUAGES = ("pt", "fr", "nl", "fa", "ms")
PERSIAN = set("۰۱۲۳۴۵۶۷۸۹")
DOMAINS = ("reports", "law", "web")


@pytest.fixture(scope="module")
def results() -> list[CountryResult]:
    return run_planned(("model", "portugal"), persons=300, replications=2, draws=0,
                       draw_persons=200, precision=0.1, budget_s=0.001, months=6,
                       start=date(2026, 1, 1), seed=1, workers=1)


def _resolved() -> dict[str, Any]:
    return headline([-1_210, -1_190, -1_250, -1_180], [-31, -29, -33, -30],
                    [5.0e12, 5.2e12, 4.9e12, 5.1e12])


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_index_is_in_the_report_language(locale: str, results: list[CountryResult],
                                             tmp_path: Path) -> None:
    page = write_index(results, tmp_path, {"model": "model/report.html"}, locale).read_text()
    attrs, found = leftovers(page, *english_left(locale, DOMAINS))
    assert attrs == {"lang": locale, "dir": "rtl" if locale == "fa" else "ltr"}
    assert found == []
    assert "Treating instead of convicting" not in page
    assert ("۰" in page or bool(PERSIAN & set(page.split("<ul>")[1]))) == (locale == "fa")


def test_the_index_in_english_is_as_it_was(results: list[CountryResult], tmp_path: Path) -> None:
    page = write_index(results, tmp_path, {}).read_text()
    assert '<html lang="en" dir="ltr">' in page
    assert page.count("Treating instead of convicting would mean") == 2
    assert "<th>jurisdiction</th><th>in prison for drug offences (year 10)</th>\n" in page
    assert "its <code>treatment_not_conviction</code> scenario" in page


@pytest.mark.parametrize("locale", LANGUAGES)
def test_sentences_and_warnings_are_translated_whole(locale: str) -> None:
    t = translator(locale, "reports")
    texts = [words.sentence(_resolved(), reform="treatment_not_conviction", currency="IRR",
                            parity=IRR, years=10, t=t),
             words.sentence(headline([-5, 5, -3, 4], [-4, 3, 0, 1], [-1.0, 2.0, 0.0, 1.0]),
                            reform="prison_treatment", currency="EUR", parity=None, years=2.5,
                            t=t)]
    texts += words.warnings(headline([-60, -40, -50, -30], [-1, 0, -2, 1], [1.0] * 4),
                            replications=4, persons=1_000, t=t,
                            sample={"drug_prisoners_final_year": 12.0, "overdose_deaths_10y": 3.2})
    texts += words.warnings(headline([-1.0], [-1.0], [1.0]), replications=1, persons=10, sample={},
                            t=t)
    assert len(texts) == 7  # two sentences, four warnings, one replication
    html = "<p>" + "</p><p>".join(texts) + "</p>"
    assert leftovers(html, *english_left(locale, ("reports",)))[1] == []
    digits = set("".join(texts))
    assert bool(digits & PERSIAN) == (locale == "fa")
    assert not (locale == "fa" and digits & set("0123456789"))


def test_english_with_a_translator_is_english_without_one() -> None:
    en = translator("en", "reports")
    kw: dict[str, Any] = dict(reform="treatment_not_conviction", currency="IRR", parity=IRR,
                              years=10)
    assert words.sentence(_resolved(), **kw, t=en) == words.sentence(_resolved(), **kw)
    assert words.amount(2.5e9, t=translator("fr", "reports")) == "2,50 milliards"
    assert words.amount(2.5e9, t=en) == "2.50 billion"


def test_the_web_page_speaks_the_requests_language(results: list[CountryResult]) -> None:
    from divert.web.compare_countries import build, page

    data = build([c.comparison for c in results], "treatment_not_conviction")
    english = page(data, 2, 300, 1)
    with using("pt"):
        portuguese = page(data, 2, 300, 1)
    assert english["sentences"][0]["text"].startswith("Treating instead of convicting would mean")
    assert portuguese["sentences"][0]["text"].startswith("Tratar em vez de condenar significaria")
    assert portuguese["warnings"] and all(
        w["text"] != e["text"] for w, e in zip(portuguese["warnings"], english["warnings"],
                                               strict=True))
