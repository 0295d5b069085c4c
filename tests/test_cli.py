"""The command line: its contract (names and JSON fields) and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import EXAMPLES, FIXTURES
from .conftest import run_cli as run

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


CASE = """\
person: {age: 30}
offence: {type: possession, substance: heroin, quantity_g: 1.5, date: 2012-03-01}
history: {prior_drug_convictions: 0, prior_violent_convictions: 0}
consent: true
need: high
risk: low
"""


def test_assess_json_contract(tmp_path: Path, fixtures_env: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    case = write(tmp_path, "case.yaml", CASE)
    code, out, err = run(["assess", str(case), "--jurisdiction", "testland", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["jurisdiction"] == "testland"
    assert data["date"] == "2012-03-01"  # defaults to the offence date
    assert data["triage"] == {**data["triage"], "risk": "low", "need": "high",
                              "quadrant": "LR/HN"}
    assert [s["stage"] for s in data["stages"]] == ["police", "prosecution", "court",
                                                    "post_sentence"]
    police = data["stages"][0]
    assert police["recommended"] == "referral_to_health_services"
    m = police["measures"][0]
    assert set(m) >= {"id", "kind", "eligible", "consent_required", "reasons", "citations"}
    assert m["id"] == "warning" and m["eligible"] is True and m["kind"] == "alternative"
    assert data["stamp"]["pack_hash"]


def test_assess_stage_and_date(tmp_path: Path, fixtures_env: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    case = write(tmp_path, "case.yaml", CASE)
    code, out, _ = run(["assess", str(case), "-j", "testland", "--stage", "police",
                        "--date", "2005-01-01", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["date"] == "2005-01-01"
    assert [s["stage"] for s in data["stages"]] == ["police"]
    eligible = [m["id"] for m in data["stages"][0]["measures"] if m["eligible"]]
    assert eligible == ["arrest_and_charge"]


def test_assess_table(tmp_path: Path, fixtures_env: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    case = write(tmp_path, "case.yaml", CASE)
    code, out, _ = run(["assess", str(case), "-j", "testland", "--stage", "court"], capsys)
    assert code == 0
    assert "court: recommended treatment_order" in out
    assert "Testland Courts Act s.4" in out


@pytest.mark.parametrize(("args", "message"), [
    (["assess", "{case}", "-j", "atlantis"], "unknown jurisdiction 'atlantis'; allowed:"),
    (["assess", "{case}", "-j", "testland", "--stage", "jail"],
     "--stage: unknown 'jail'; allowed: police, prosecution, court, post_sentence"),
    (["assess", "{case}", "-j", "testland", "--date", "2012-13-01"],
     "--date: '2012-13-01' is not a date"),
    (["assess", "{case}"], "Missing option"),
    (["assess", "{missing}", "-j", "testland"], "cannot read file"),
    (["score", "gad7", "{case}"], "instrument: unknown 'gad7'; allowed: assist, dast10"),
    (["policy", "validate", "{tmp}"], "missing pack.yaml"),
    (["policy", "validate", "{tmp}/nothing"], "not a pack folder"),
    (["policy", "book", "atlantis", "--out", "{tmp}/b.html"], "unknown jurisdiction"),
    (["frobnicate"], "No such command"),
])
def test_bad_command_line_is_one_line_and_exit_2(
        args: list[str], message: str, tmp_path: Path, fixtures_env: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = write(tmp_path, "case.yaml", CASE)
    args = [a.format(case=case, missing=tmp_path / "nope.yaml", tmp=tmp_path) for a in args]
    code, out, err = run(args, capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


@pytest.mark.parametrize(("text", "message"), [
    ("person: {age: 30\n", "case.yaml:2: malformed YAML"),
    ("person: {age: -3}\n", "person.age: Input should be greater than or equal to 0"),
    ("person: {age: 30, shoe_size: 44}\n", "person.shoe_size: unknown field"),
    ("offence: {type: smoking}\n", "offence.type: smoking is not allowed; allowed: use, "
                                   "possession, possession_for_supply"),
    ("offence: {substance: heroin, quantity_g: lots}\n", "offence.quantity_g: Input should"),
    ("offence: {aggravators: [dogs]}\n", "offence.aggravators[0]: dogs is not allowed"),
    ("need: medium\n", "need: medium is not allowed; allowed: low, high"),
    ("screening: {gad7: {}}\n", "unknown instrument 'gad7'"),
    ("- just\n- a list\n", "a case must be a mapping"),
    ("offence: {type: use, date: 2020-01-01}\nscreening: {dast10: {answers: [yes]}}\n",
     "screening.dast10."),
    ("person: {age: 30}\n", "the case has no offence.date; give --date"),
])
def test_bad_case_file_is_one_line_and_exit_2(
        text: str, message: str, tmp_path: Path, fixtures_env: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    case = write(tmp_path, "case.yaml", text)
    code, _, err = run(["assess", str(case), "-j", "testland"], capsys)
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_score_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = write(tmp_path, "dast.yaml",
                    "answers: [yes, yes, no, no, yes, yes, no, yes, yes, no]\n")
    code, out, _ = run(["score", "dast10", str(answers), "--json"], capsys)
    assert code == 0
    assert json.loads(out) == {"instrument": "dast10", "score": 7, "band": "substantial"}


def test_score_bad_response_names_file_and_item(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    answers = write(tmp_path, "dast.yaml", "answers: [yes, yes, no, no, yes, yes, no, yes, "
                                           "yes, perhaps]\n")
    code, _, err = run(["score", "dast10", str(answers)], capsys)
    assert code == 2
    assert "dast.yaml" in err and "answers[9]" in err and "yes, no" in err


def test_score_every_shipped_example(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted((EXAMPLES / "screening").glob("*.yaml"))
    assert files
    for f in files:
        instrument = next(i for i in ("cage_aid", "dast10", "assist", "audit", "crafft",
                                      "uncope", "dsm5", "psa") if f.name.startswith(i))
        code, out, err = run(["score", instrument, str(f), "--json"], capsys)
        assert code == 0, (f, err)
        assert json.loads(out)["instrument"] == instrument


def test_policy_list_and_validate(fixtures_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["policy", "list", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and [d["code"] for d in data] == ["simland", "testland"]
    assert data[1]["provenance"]["police"] == {"verified": 3, "unverified": 1}
    assert data[0]["provenance"]["practice"] == {"verified": 0, "unverified": 5}
    code, out, _ = run(["policy", "validate", str(FIXTURES / "testland")], capsys)
    assert code == 0 and "testland: valid" in out


def test_policy_validate_reports_wrong_expectation(testland_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cases = testland_dir / "cases.yaml"
    cases.write_text(cases.read_text().replace("recommended: treatment_order",
                                               "recommended: fine"))
    code, _, err = run(["policy", "validate", str(testland_dir)], capsys)
    assert code == 1
    assert "cases.yaml:1: small heroin possession before the 2010 reform" in err
    assert "expected recommended fine, got treatment_order" in err


def test_policy_validate_bad_pack_exit_2(testland_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    police = testland_dir / "police.yaml"
    police.write_text(police.read_text().replace("offence.quantity_g <=", "offence.qty <="))
    code, _, err = run(["policy", "validate", str(testland_dir)], capsys)
    assert code == 2
    assert "police.yaml:" in err and "unknown name 'offence.qty'" in err


def test_policy_book(tmp_path: Path, fixtures_env: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "book" / "testland.html"
    code, _, _ = run(["policy", "book", "testland", "--out", str(out_file)], capsys)
    html = out_file.read_text()
    assert code == 0
    assert "Testland Police Act s.5" in html and "Police may warn." in html
    assert "offence.quantity_g &lt;= threshold_g[offence.substance]" in html
    assert "within the personal-use threshold" in html
    assert "from 2010-01-01" in html and "coercive" in html
    assert "Practice: what the simulation uses" in html and "population_size" in html
    assert "(divert default)" in html  # testland sets no practice of its own
    assert "http://" not in html and "https://" not in html  # no network


def test_examples_main_job(fixtures_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["examples", "--json"], capsys)
    rows = json.loads(out)
    assert code == 0
    assert {r["case"] for r in rows} == {"small heroin possession before the 2010 reform",
                                         "same possession after the 2010 reform"}
    assert all(r["ok"] in (True, None) for r in rows)
    code, out, _ = run(["examples"], capsys)
    assert code == 0 and "0 differ from the pack's expectations" in out


def test_examples_fail_when_a_pack_disagrees(testland_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cases = testland_dir / "cases.yaml"
    cases.write_text(cases.read_text().replace("recommended: referral_to_health_services",
                                               "recommended: warning"))
    monkeypatch.setenv("DIVERT_POLICIES", str(testland_dir.parent))
    code, out, _ = run(["examples"], capsys)
    assert code == 1 and "1 differ" in out


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DIVERT_POLICIES": str(FIXTURES)}
    exe = Path(sys.executable).with_name("divert")
    result = subprocess.run([str(exe), "assess", str(tmp_path / "none.yaml"), "-j", "testland"],
                            capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["simulate", "usa", "--persons", "100000000000000", "--years", "1"], "--persons: must be"),
    (["simulate", "usa", "--persons", "1000", "--years", "100000"], "--years: must be more"),
    (["simulate", "usa", "--persons", "1000", "--years", "1", "--seed", "-1"], "--seed: must"),
    (["countries", "--persons", "0"], "--persons: must be"),
    (["validate", "usa", "--persons", "-5"], "--persons: must be"),
    (["sensitivity", "usa", "--out", "/proc/divert-nope"], "cannot write there"),
    (["calibrate", "usa", "--out", "/nonexistent/dir/x.yaml"], "--out: the folder"),
])
def test_simulation_sizes_are_bounded_before_any_work(args: list[str], message: str) -> None:
    """Sizes a run cannot do, and an --out that cannot be written, are one line and exit 2 at
    once (no traceback, no hang: issue 16)."""
    proc = subprocess.run([sys.executable, "-m", "divert.cli", *args], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_policy_book_links_only_http_addresses(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The HTML book links its sources' addresses (http/https only, rel=noopener) and keeps the
    Portuguese names with their accents."""
    out_file = tmp_path / "portugal.html"
    code, _, err = run(["policy", "book", "portugal", "--out", str(out_file)], capsys)
    html = out_file.read_text(encoding="utf-8")
    assert code == 0, err
    url = "https://document.onl/documents/lei-30-2000.html"
    assert f'<a class="url" href="{url}" rel="noopener">{url}</a>' in html
    assert "Lei n.º 30/2000" in html and "Comissões para a Dissuasão da Toxicodependência" in html
    assert 'src="http' not in html and '<link' not in html  # still nothing loaded from the network


# --- issue 17: help in plain words with examples, --version, assess --brief, units, counts ----


def _commands() -> list[tuple[str, ...]]:
    """Every command and group of `divert`, as paths ("registry", "tests", "record")."""
    import typer

    from divert import cli

    cli._add_registry()
    cli._add_web()
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(cli.app), ())
    return found


def test_version_comes_from_package_metadata() -> None:
    from importlib.metadata import version

    from typer.testing import CliRunner

    from divert.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"divert {version('divert')}"


def test_every_command_has_plain_help_with_examples() -> None:
    from typer.testing import CliRunner

    from divert.cli import app

    paths = _commands()
    assert len(paths) > 50 and ("policy", "changes") in paths and ("registry", "tests",
                                                                      "record") in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, (path, result.output)
        text = result.output
        assert "<bool>" not in text and "briefing's" not in text, path
        assert "Examples:" in text, path
        examples = [line.strip() for line in text.split("Examples:", 1)[1].splitlines()
                    if line.strip()]
        assert examples and all(e.startswith(" ".join(("divert", *path))) for e in examples), \
            (path, examples)


def test_examples_in_help_name_files_that_exist() -> None:
    from divert.cli_help import EXAMPLES

    named = {word for lines in EXAMPLES.values() for line in lines for word in line.split()
             if word.startswith(("examples/", "policies/"))}
    assert named and all((REPO / w).exists() for w in named), sorted(
        w for w in named if not (REPO / w).exists())


@pytest.mark.parametrize(("case_name", "code"), [("usa_heroin_possession", "usa"),
                                               ("usa_heroin_possession", "model"),
                                               ("iran_opium_user", "iran"),
                                               ("portugal_resin_2006", "portugal")])
def test_assess_brief_is_one_screen_and_never_breaks_an_id(case_name: str, code: str) -> None:
    from typer.testing import CliRunner

    from divert.cli import app

    case = str(REPO / "examples" / "cases" / f"{case_name}.yaml")
    runner = CliRunner()
    brief = runner.invoke(app, ["assess", case, "-j", code, "--brief"], env={"COLUMNS": "80"})
    full = runner.invoke(app, ["assess", case, "-j", code], env={"COLUMNS": "80"})
    data = json.loads(runner.invoke(app, ["assess", case, "-j", code, "--json"]).stdout)
    assert brief.exit_code == 0, brief.output
    lines = brief.stdout.rstrip("\n").splitlines()
    assert len(lines) <= 24 < len(full.stdout.splitlines())
    assert max(len(line) for line in lines) <= 80
    ids = {m["id"] for s in data["stages"] for m in s["measures"]}
    for s in data["stages"]:
        if s["recommended"]:
            assert any(f"recommended {s['recommended']}" in line for line in lines)
    words = {w.strip(",()") for line in lines for w in line.split()}
    open_ids = {m["id"] for s in data["stages"] for m in s["measures"]
                if m["status"] == "eligible"}
    more, section = 0, ""
    for line in lines:  # "+N more" on an "also open" line counts the open measures not shown
        section = line.split(":")[0].strip() if not line.startswith("    ") else section
        if section == "also open" and line.endswith(" more"):
            more += int(line.split("+")[-1].split()[0])
    assert len(open_ids - words) == more  # every other open measure is shown whole
    broken = {w for w in words if "_" in w and w not in ids}
    assert not broken, broken


def test_policy_list_and_web_count_verified_rules_with_one_function(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`policy list` (table and JSON) and the web's policy book both show book.rule_counts."""
    from divert.law import policy
    from divert.reports import book
    from divert.reports.book import pack_summary

    code, out, _ = run(["policy", "list", "--json"], capsys)
    assert code == 0
    listed = {d["code"]: d for d in json.loads(out)}
    for c, d in listed.items():
        counts = book.rule_counts(policy.load(c))
        assert d["rule_provenance"] == counts == pack_summary(policy.load(c))["rule_provenance"]
        assert counts["verified"] + counts["unverified"] == d["rules"]
    code, out, _ = run(["policy", "list"], capsys)
    for c, d in listed.items():
        row = next(line for line in out.splitlines() if f" {c} " in line)
        cells = [x.strip() for x in row.strip("│ ").split("│")]
        assert cells[2:5] == [str(d["rules"]), str(d["rule_provenance"]["verified"]),
                              str(d["rule_provenance"]["unverified"])], row


def test_policy_changes_between_two_dates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["policy", "changes", "usa", "--from", "1980-01-01", "--to",
                        "1990-01-01", "--json"], capsys)
    assert code == 0
    fine = next(r for r in json.loads(out)["rules"] if r["measure"] == "fine")
    assert "condition added: history.prior_drug_convictions == 0" in fine["changes"]
    code, _, err = run(["policy", "changes", "usa", "--from", "1990-01-01", "--to",
                        "1980-01-01"], capsys)
    assert code == 2 and err.startswith("error: --to: 1980-01-01 is before from 1990-01-01")
    code, _, err = run(["policy", "changes", "usa", "--from", "1990-13-01", "--to",
                        "1991-01-01"], capsys)
    assert code == 2 and "--from: '1990-13-01' is not a date" in err


def test_totals_name_their_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["simulate", "portugal", "--persons", "1000", "--years", "1",
                          "--no-uncertainty", "--engine", "numpy"], capsys)
    assert code == 0, err
    for label in ("arrests (count)", "time in prison (person-months)",
                  "time in treatment (person-months)", "overdose deaths (deaths)",
                  "public cost, discounted (EUR)"):
        assert label in out


def test_progress_says_what_is_being_done() -> None:
    from divert.cli import plan_text, progress_text

    plan = plan_text(8, 2, 100_000, 120, "numba")
    assert plan == ("simulating 2 scenarios x 4 replications, 120 months of 100,000 people; "
                    "the first run also compiles the simulation")
    assert "compiles" not in plan_text(8, 2, 100_000, 120, "numpy")
    assert progress_text(0, 8) == "first run under way"
    assert progress_text(3, 8) == "3 of 8 runs done"


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--lang", "de", "policy", "list"], None, "--lang"),
    (["--lang=de", "policy", "list"], None, "--lang"),
    (["policy", "book", "usa", "--out", "book.html", "--lang", "de"], None, "--lang"),
    (["brief", "model", "--lang", "de"], None, "--lang"),
    (["compare", "usa", "--out", "out", "--lang", "de"], None, "--lang"),
    (["policy", "list"], "de", "DIVERT_LANG"),
])
def test_a_language_divert_does_not_speak_is_one_line_naming_the_option_and_choices(
        args: list[str], env: str | None, named: str, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    if env is None:
        monkeypatch.delenv("DIVERT_LANG", raising=False)
    else:
        monkeypatch.setenv("DIVERT_LANG", env)
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    assert err == f"error: {named}: 'de' is not a supported language; use one of en, pt, fr, nl, fa, ms\n"
    assert list(tmp_path.iterdir()) == []  # refused before anything ran or was written


def test_the_installed_command_refuses_an_unknown_language_too() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DIVERT_LANG"}
    done = subprocess.run([sys.executable, "-m", "divert.cli", "--lang", "de", "policy", "list"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--lang" in done.stderr
    assert "en, pt, fr, nl, fa, ms" in done.stderr
