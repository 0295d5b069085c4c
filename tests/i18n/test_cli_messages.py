"""The command line's own sentences in each language divert speaks besides English (issue 19):
`validate`'s detail lines, `calibrate`'s fit, `assess`'s triage reasons and projection notes,
`examples`, `backtest`, `score`, `policy list/validate/changes` and the progress lines of
`simulate`/`compare`, with no English message of the catalogues left (tests/i18n/english.py), the
numbers in the locale's digits, and English as it was.

The validation checks run once at the smallest sizes (three packs, 2,000 persons)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import divert.cli
from divert.advice.case import load_case
from divert.advice.pathways import advise
from divert.advice.screening import INSTRUMENTS, score
from divert.advice.triage import assess_triage
from divert.cli_advice import conventional_path, reasons
from divert.cli_tables import Words, check_line, checks_table, countries_table
from divert.law import policy as policies
from divert.law.policy import read_yaml
from divert.reports.book import changes_between
from divert.simulation.projection import CASE_ENDS, COERCIVE_NOTE, SENTENCE_GOES_ON
from divert.studies.calibration import Fit, FitRow, FittedParameter, RegistryFit, Target
from divert.studies.validation import Check, validate
from tests.conftest import run_cli

from .test_cli_tables import LANGUAGES, PERSIAN, english_in, rendered

ROOT = Path(__file__).resolve().parents[2]
SCREENING = ROOT / "examples" / "screening"


@pytest.fixture(scope="module")
def checks() -> list[tuple[str, Check]]:
    return [(code, k) for code in ("portugal", "usa", "belgium")
            for k in validate(policies.load(code), persons=2000, seed=1)]


def _data(checks: list[tuple[str, Check]]) -> list[str]:
    """What the checks show as the pack or the study writes it: the targets' descriptions
    (targets.yaml) and the published sources."""
    out = [k.source for _, k in checks]
    for _, k in checks:
        if k.said is not None and "description" in k.said.params:
            out.append(str(k.said.params["description"]))
        elif k.said is not None and "detail" in k.said.params:
            out.append(str(k.said.params["detail"].params["description"]))
    return out


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_checks_details_are_in_the_language_asked_for(
        locale: str, checks: list[tuple[str, Check]]) -> None:
    w = Words.of(locale)
    lines = "\n".join(check_line(c, k, w) for c, k in checks)
    table = rendered(checks_table(checks, w))
    assert english_in(lines, locale, _data(checks), parts=False) == []
    assert english_in(table, locale, _data(checks), parts=False) == []
    assert "not applicable" not in lines and "people sent to the drug court" not in lines
    assert "Official figure for" not in lines and "adult drug court: " not in table
    assert bool(PERSIAN & set(lines)) == (locale == "fa")
    na = sum(k.passed is None for _, k in checks)
    said = {"pt": "não aplicável: ", "fr": "sans objet : ", "nl": "niet van toepassing: ",
            "fa": "قابل اعمال نیست: ", "ms": "tidak berkenaan: "}[locale]
    assert na > 0 and lines.count(said) == na


def test_the_checks_details_in_english_are_as_they_were(checks: list[tuple[str, Check]]) -> None:
    en = Words.of("en")
    for c, k in checks:
        assert check_line(c, k, en) == f"  {c} {k.name}: {k.detail}"
    portugal = next(k for c, k in checks if k.name.startswith("Portugal:"))
    assert re.fullmatch(r"simulated drug-offence prisoners [\d,]+ in 1999 and [\d,]+ in 2008 "
                        r"\(yearly means, population\), ratio \d\.\d{3} \(SE \d\.\d{3}\); the "
                        r"law changed on 2001-07-01", portugal.detail), portugal.detail
    baseline = [k for c, k in checks if k.name.startswith(("baseline target", "held-out"))]
    assert baseline and all(re.search(r" Official figure for [\d-]+, simulated in 2026 after a "
                                      r"\d+-month burn-in \(2,000 persons\); tolerance \d+% plus "
                                      r"twice the Monte Carlo SE", k.detail) for k in baseline)


def test_a_check_figure_is_written_as_the_language_writes_it(
        checks: list[tuple[str, Check]]) -> None:
    c, k = next((c, k) for c, k in checks if k.name.startswith("Portugal:"))
    fr, fa = check_line(c, k, Words.of("fr")), check_line(c, k, Words.of("fa"))
    assert "2001-07-01" not in fr and "1 juillet 2001" in fr  # the date in words
    assert re.search(r"rapport \d,\d{3} \(ET \d,\d{3}\)", fr), fr
    assert "۱۹۹۹" in fa and "1999" not in fa


def _fit() -> Fit:
    target = Target(name="drug_arrests", value=14000.0, period="2019",
                    metric={"series": "arrests"}, observed="2019", citation="INE")
    rows = [FitRow("drug_arrests", "2019", 14000.0, 13100.5, 12000.0, 14200.0)]
    return Fit("portugal", ROOT / "policies" / "portugal", [target],
               [FittedParameter("detection_prob", 0.02, 0.2, 1.234, 0.05, None, ("drug_arrests",))],
               rows, [FitRow("drug_arrests", "2019", 14000.0, 9000.0, 8000.0, 10000.0)], 0.1,
               0.5, "least_squares", 40000, 1, date(2016, 1, 1), 120, 1, 12, 31.4,
               skipped={"fine_prob": "no uncertainty range to fit within"})


def test_the_fit_lines_in_english_are_as_they_were() -> None:
    lines = _fit().lines()
    assert lines[0] == ("portugal: fitted 1 parameters to 1 targets (least_squares, 12 "
                        "evaluations, 40,000 persons, 2016-01 + 120 months, 31 s)")
    assert lines[1] == "  detection_prob: x1.234 (allowed 0.02-0.2): 0.05 -> 0.0617"
    assert lines[2] == "  fine_prob: not fitted (no uncertainty range to fit within)"
    assert lines[3] == (f"  {'target':34} {'observed':>12} {'simulated':>12} {'interval':>25} "
                        f"{'error':>7} {'before':>7}")
    assert lines[4] == (f"  {'drug_arrests':34} {'14,000':>12} {'13,100':>12} "
                        f"{'12,000 - 14,200':>25} {'-6.4%':>7} {'-35.7%':>7}")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_fit_is_in_the_language_asked_for(locale: str) -> None:
    w = Words.of(locale)
    text = "\n".join(_fit().lines(w.reports()))
    registry = RegistryFit("portugal", ROOT, "drug_treatment_court", ["ghent"],
                           {"measure_completion_prob": 0.5}, {}, ROOT)
    assert english_in(text, locale, parts=False) == []
    assert "fitted" not in text and "not fitted" not in text and "evaluations" not in text
    assert "detection_prob" in text and "drug_arrests" in text  # the ids as they are
    assert bool(PERSIAN & set(text)) == (locale == "fa")
    assert "from the registry" not in registry.lines(w.reports())[0]


def _triages() -> list[Any]:
    """Triages that give every kind of reason: each screening example, stated facts, given
    levels, unknown facts and a PSA."""
    def instrument(stem: str) -> str:  # dast10_none.yaml, cage_aid_positive.yaml
        return next(i for i in sorted(INSTRUMENTS, key=len, reverse=True)
                    if stem.startswith(i + "_"))

    results = [score(instrument(p.stem), read_yaml(p)) for p in sorted(SCREENING.glob("*.yaml"))]
    by = {r.instrument: r for r in results}
    facts = {"person.age": 19, "history.prior_convictions": 3, "history.pending_charge": True}
    return [assess_triage({r.instrument: r}, facts) for r in results] + [
        assess_triage({}, {"screening.disorder": "moderate", "screening.injecting": False}),
        assess_triage({}, {}, need="high", risk="low"),
        assess_triage({"dast10": by["dast10"]}, {"person.age": 40}),
        assess_triage(dict(by), facts, need="low"),
    ]


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_triage_reasons_are_in_the_language_asked_for(locale: str) -> None:
    w = Words.of(locale)
    shown = [r for t in _triages() for r in reasons(t, w)]
    english = [r for t in _triages() for r in t.reasons]
    assert len(shown) == len(english) > 20
    text = "\n".join(shown)
    assert english_in(text, locale, parts=False) == []
    for phrase in ("need low", "risk high", "prognostic indicator", "given", "unknown:",
                   "opioids", "injecting", "mapped conservatively", "DSM-5 criteria"):
        assert phrase not in text, phrase
    assert bool(PERSIAN & set(text)) == (locale == "fa")


def test_the_triage_reasons_in_english_are_as_they_were() -> None:
    en = Words.of("en")
    for t in _triages():
        assert reasons(t, en) == t.reasons
    case = load_case(ROOT / "examples" / "cases" / "portugal_resin_2006.yaml")
    t = advise(case, policies.load("portugal"), None, None).triage
    assert t.reasons == ["need low: DAST-10 score 1 < 6",
                         "risk low: 1 prognostic indicator < 2 (age 19 < 25)",
                         "disorder none: DAST-10 score 1 (low)"]
    fr = reasons(t, Words.of("fr"))
    assert fr == ["besoin faible : score DAST-10 1 < 6",
                  "risque faible : 1 indicateur pronostique < 2 (âge 19 < 25)",
                  "aucun trouble : score DAST-10 1 (faible)"]


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_projection_notes_are_in_the_language_asked_for(locale: str) -> None:
    w = Words.of(locale)
    ends = {"path": CASE_ENDS, "conventional": [], "stamp": {"stage": "court"}}
    goes_on = {"path": SENTENCE_GOES_ON, "conventional": ["imprisonment"],
               "stamp": {"stage": "post_sentence"}}
    two = {"path": "fine, imprisonment", "conventional": ["fine", "imprisonment"],
           "stamp": {"stage": "court"}}
    text = "\n".join([conventional_path(ends, w), conventional_path(goes_on, w),
                      w.t.gettext(COERCIVE_NOTE)])
    assert english_in(text, locale, parts=False) == []
    assert "the case ends here" not in text and "coercive measure" not in text
    assert conventional_path(two, w) == w.t.list_separator().join(["fine", "imprisonment"])
    en = Words.of("en")
    assert [conventional_path(r, en) for r in (ends, goes_on, two)] == [
        CASE_ENDS, SENTENCE_GOES_ON, "fine, imprisonment"]


def test_french_writes_a_year_under_two_in_the_singular(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fr, pt, en = Words.of("fr"), Words.of("pt"), Words.of("en")
    title = ("Treatment instead of conviction vs today's law, %(years)s year from %(start)s "
             "(population; reform - today at central values ± Monte Carlo error; parameters: "
             "95%% range over %(draws)s draws)")
    plural = title.replace("year from", "years from")

    def say(w: Words, years: float) -> str:
        return w.ngettext(title, plural, years, years=w.t.number(years), start="-", draws="2")

    assert "0,5 an à partir" in say(fr, 0.5) and "1,5 an à partir" in say(fr, 1.5)
    assert "2 ans à partir" in say(fr, 2) and "1 an à partir" in say(fr, 1)
    assert "0,5 anos" in say(pt, 0.5) and "1 ano a partir" in say(pt, 1)
    assert "0.5 years from" in say(en, 0.5) and "1 years from" in say(en, 1)  # as it was
    text = rendered(countries_table([], 0.5, date(2026, 1, 1), fr))
    assert "0,5 an à partir" in " ".join(text.split())


@pytest.mark.parametrize("locale", ["fr", "fa"])
@pytest.mark.parametrize("args", [
    ["examples", "-j", "portugal"],
    ["score", "dast10", str(SCREENING / "dast10_substantial.yaml")],
    ["policy", "list"],
    ["policy", "validate", str(ROOT / "policies" / "portugal")],
    ["policy", "changes", "portugal", "--from", "2000-01-01", "--to", "2024-01-01"],
], ids=["examples", "score", "policy-list", "policy-validate", "policy-changes"])
def test_the_commands_print_in_the_language_of_the_messages(
        locale: str, args: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    monkeypatch.setattr(divert.cli, "out", Console(highlight=False, soft_wrap=False, width=600))
    code, english, err = run_cli(args, capsys)
    assert code == 0, err
    code, out, err = run_cli(["--lang", locale, *args], capsys)
    assert code == 0, err
    names = [p.meta.name for p in policies.iter_packs()]
    if args[1] == "changes":  # the law's and the values' citations and units, as the pack writes
        data = changes_between(policies.load("portugal"), date(2000, 1, 1), date(2024, 1, 1))
        names += [" ".join(str(v[k]).split()) for key in ("parameters", "practice")
                  for v in data[key] for k in ("citation", "unit") if v[k]]
        names += [lb["citation"] for c in data["rules"]
                  for lb in (*c["law_before"], *c["law_after"])]
    assert english_in(out, locale, names, parts=False) == []
    first = {"examples": "Advice on every pack's example cases", "score": "result",
             "policy": "valid (" if args[1] == "validate" else "Policy packs" if args[1] == "list"
             else "what changed from"}[args[0]]
    assert first in english and first not in out
    assert bool(PERSIAN & set(out)) == (locale == "fa")


@pytest.mark.parametrize("locale", ["nl", "fa"])
def test_backtest_prints_in_the_language_of_the_messages(
        locale: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    monkeypatch.setattr(divert.cli, "out", Console(highlight=False, soft_wrap=False, width=600))
    code, out, err = run_cli(["--lang", locale, "backtest", "portugal", "--persons", "1000",
                              "--replications", "2"], capsys)
    assert code == 0, err
    spec = read_yaml(ROOT / "policies" / "portugal" / "backtest.yaml")
    data = [spec["change"]["description"], *(o["citation"] for o in spec["observed"].values())]
    assert english_in(out, locale, [" ".join(d.split()) for d in data]) == []
    assert "change of law on" not in out and "the year the law changed" not in out
    assert bool(PERSIAN & set(out)) == (locale == "fa")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_progress_lines_are_in_the_language_of_the_messages(
        locale: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(divert.cli._LANG, "messages", locale)
    lines = [divert.cli.plan_text(4, 2, 1000, 12, "numba"), divert.cli.plan_text(1, 1, 10, 6, "numpy"),
             divert.cli.progress_text(0, 3), divert.cli.progress_text(2, 3)]
    text = "\n".join(lines)
    assert english_in(text, locale, parts=False) == []
    assert "simulating" not in text and "runs done" not in text and "under way" not in text
    assert bool(PERSIAN & set(text)) == (locale == "fa")


def test_the_progress_lines_in_english_are_as_they_were() -> None:
    assert divert.cli.plan_text(4, 2, 1000, 12, "numba") == (
        "simulating 2 scenarios x 2 replications, 12 months of 1,000 people; the first run also "
        "compiles the simulation")
    assert divert.cli.plan_text(1, 1, 10, 6, "numpy") == (
        "simulating 1 scenario x 1 replications, 6 months of 10 people")
    assert divert.cli.progress_text(0, 3) == "first run under way"
    assert divert.cli.progress_text(2, 3) == "2 of 3 runs done"


CASE = str(ROOT / "examples" / "cases" / "usa_heroin_possession.yaml")


@pytest.mark.parametrize("args", [
    ["assess", CASE, "-j", "usa", "--stage", "nowhere"],
    ["assess", CASE, "-j", "usa", "--horizon", "20"],
    ["assess", CASE, "-j", "usa", "--date", "2020/01/01"],
    ["simulate", "portugal", "--start", "2025/01"],
    ["brief", "portugal", "--replications", "1"],
], ids=["stage", "horizon", "date", "start", "replications"])
@pytest.mark.parametrize("locale", LANGUAGES)
def test_an_error_is_one_line_in_the_language_of_the_messages(
        locale: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, english = run_cli(args, capsys)
    assert code == 2 and english.startswith("error: ") and english.count("\n") == 1
    code, _, err = run_cli(["--lang", locale, *args], capsys)
    assert code == 2 and err.count("\n") == 1
    field = args[-2]  # the option named as it is, the value as given
    assert field in err and repr(args[-1]).strip("'") in err.translate(str.maketrans(
        "۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    assert english_in(err, locale, parts=False) == []
    assert english.split(": ", 2)[2] not in err  # the sentence is not left in English


def _sensitivity() -> Any:
    from divert.studies.sensitivity import Sensitivity

    rows = [{"parameter": "detection_prob", "mu_star": 38220.5, "sigma": 1.3e4, "relative": 0.733},
            {"parameter": "fine_prob", "mu_star": 445.5, "sigma": 12.0, "relative": 0.1}]
    flat = [dict(r, mu_star=0.0) for r in rows]
    return Sensitivity("portugal", "morris", 4, 12, {"detection_prob": (0.5, 2.0),
                                                     "fine_prob": (0.5, 2.0)},
                       ["arrests", "overdose_deaths"], {"arrests": rows, "overdose_deaths": flat},
                       {"persons": 1000, "months": 12})


def test_the_sensitivity_lines_in_english_are_as_they_were() -> None:
    from divert.studies.sensitivity import NO_EFFECT

    lines = _sensitivity().lines()
    assert lines[0] == "portugal: morris sensitivity, 2 parameters, 12 runs (1,000 persons, 12 months)"
    assert lines[1] == f"  arrests: {'parameter':36} {'mu_star':>14} {'sigma':>14} {'relative':>9}"
    assert lines[2] == f"    {'detection_prob':38} {'3.822e+04':>14} {'1.3e+04':>14} {'0.733':>9}"
    assert lines[4] == f"  overdose_deaths: {NO_EFFECT}"


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_sensitivity_lines_are_in_the_language_asked_for(locale: str) -> None:
    text = "\n".join(_sensitivity().lines(t=Words.of(locale).reports()))
    assert english_in(text, locale, parts=False) == []
    assert "sensitivity" not in text and "no parameter changed" not in text
    assert "relative" not in text or locale in ("fr", "ms")  # relatif
    assert "detection_prob" in text and "mu_star" in text and "overdose_deaths" in text
    assert bool(PERSIAN & set(text)) == (locale == "fa")


@pytest.mark.parametrize(("locale", "one", "two"), [
    ("fr", "ajustement de 1 paramètre sur 1 cible", "2 paramètres"),
    ("pt", "ajuste de 1 parâmetro a 1 meta", "2 parâmetros"),
    ("nl", "1 parameter gekalibreerd op 1 doelwaarde", "2 parameters")])
def test_a_count_of_one_is_in_the_singular(locale: str, one: str, two: str) -> None:
    from divert.cli_tables import checks_summary

    w = Words.of(locale)
    fit = _fit()
    head = fit.lines(w.reports())[0]
    assert one in head and "1 evaluation" not in head, head
    checks = [("usa", Check("a", "", 1.0, 1.0, 0.1, True)), ("usa", Check("b", "", 1.0, 1.0, 0.1, True))]
    summary = checks_summary(checks, w)
    assert w.ngettext("%(count)s passed", "%(count)s passed", 2, count="2") in summary
    assert two in w.ngettext("%(count)s parameter", "%(count)s parameters", 2, count="2")
    fr = checks_summary(checks[:1], Words.of("fr"))
    if locale == "fr":
        assert fr.startswith("1 réussie, 0 en échec, 0 sans objet"), fr
    assert checks_summary(checks[:1], Words.of("en")) == (
        "1 passed, 0 failed, 0 not applicable (every applicable check passes)")


def _bad_pack(tmp_path: Path) -> Path:
    import shutil

    pack = tmp_path / "portugal"
    shutil.copytree(ROOT / "policies" / "portugal", pack)
    cases = pack / "cases.yaml"
    text = cases.read_text(encoding="utf-8").replace(
        "prosecution: {eligible: [conditional_dismissal, prosecution], recommended: "
        "conditional_dismissal}", "prosecution: {eligible: [prosecution], recommended: prosecution}",
        1).replace("triage: {quadrant: LR/LN}", "triage: {quadrant: HR/HN}", 1)
    cases.write_text(text, encoding="utf-8")
    return pack


@pytest.mark.parametrize("locale", LANGUAGES)
def test_policy_validate_names_the_differences_in_the_language_of_the_messages(
        locale: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _bad_pack(tmp_path)
    code, _, english = run_cli(["policy", "validate", str(pack)], capsys)
    assert code == 1 and english.splitlines() == [
        f"{pack / 'cases.yaml'}:1: cannabis resin for own use before the reform - a crime (DL "
        "15/93 art. 40): prosecution: expected eligible ['prosecution'], got "
        "['conditional_dismissal', 'prosecution']",
        f"{pack / 'cases.yaml'}:1: cannabis resin for own use before the reform - a crime (DL "
        "15/93 art. 40): prosecution: expected recommended prosecution, got conditional_dismissal",
        f"{pack / 'cases.yaml'}:18: the same resin after the reform - referral to the CDT, no "
        "criminal case: triage.quadrant: expected HR/HN, got LR/LN"]
    code, _, err = run_cli(["--lang", locale, "policy", "validate", str(pack)], capsys)
    assert code == 1 and len(err.splitlines()) == 3
    names = [ex.name for ex in policies.load("portugal").examples]
    assert english_in(err, locale, names, parts=False) == []
    assert "expected" not in err and ", got" not in err
    for kept in (f"{pack / 'cases.yaml'}:1: ", ":18: ", "['conditional_dismissal', 'prosecution']",
                 "triage.quadrant", "HR/HN", "LR/LN", "prosecution"):
        assert kept in err, kept


def test_the_countries_progress_lines_are_in_the_language_of_the_messages() -> None:
    from divert.advice.wording import Figure, Message, render

    draws = Message("%(draws)s parameter draws in %(seconds)s s",
                    {"draws": Figure(20, "d"), "seconds": Figure(12.4, ".0f")})
    more = Message("replications %(done)s after %(seconds)s s",
                   {"done": Figure(str([4, 8]), "s"), "seconds": Figure(30.0, ".0f")})
    assert [render(m, Words.of("en").reports()) for m in (draws, more)] == [
        "20 parameter draws in 12 s", "replications [4, 8] after 30 s"]
    for locale in LANGUAGES:
        text = "\n".join(render(m, Words.of(locale).reports()) for m in (draws, more))
        assert english_in(text, locale, parts=False) == []
        assert "parameter draws" not in text and "after" not in text
        assert bool(PERSIAN & set(text)) == (locale == "fa")


@pytest.mark.parametrize("locale", LANGUAGES)
def test_typers_own_usage_errors_are_in_the_language_of_the_messages(
        locale: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, english = run_cli(["nosuch"], capsys)
    assert code == 2 and english == "error: No such command 'nosuch'.\n"
    code, _, err = run_cli(["--lang", locale, "nosuch"], capsys)
    assert code == 2 and err.count("\n") == 1 and "'nosuch'" in err
    assert "No such command" not in err and english_in(err, locale, parts=False) == []
    import typer.core

    assert typer.core._("No such command {name!r}.") == "No such command {name!r}."  # put back
