"""The registry commands end to end, on both backends: JSON in and out, one-line errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from .conftest import Cli

START = "2026-01-05"


def enrolled(cli: Cli, on: str = START, **extra: str) -> str:
    code = cli("participant", "add", "--name", "Ana Silva", "--birth-date", "1990-02-03",
               "--sex", "female")[1].strip()
    cli("consent", code, "--measure", "drug_treatment_court", "--on", on)
    args = [f"--{k.replace('_', '-')}={v}" for k, v in extra.items()]
    cli("enrol", code, "--on", on, *args)
    return code


def test_participant_add_json_in_and_out(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "p.json"
    src.write_text(json.dumps({"name": "Bo Ek", "birth_date": "1985-07-01", "contact": "+32 9 000",
                               "sex": "male", "referred_on": "2026-01-02",
                               "case": {"person": {"age": 40}, "offence": {"type": "possession"}}}))
    row = cli.json("participant", "add", "--json", str(src))
    assert row["code"].startswith("P-") and len(row["code"]) == 10
    assert "name_enc" not in row and row["status"] == "referred" and row["version"] == 1
    shown = cli.json("participant", "show", row["code"], "--identify", "--json")
    assert shown["name"] == "Bo Ek" and shown["birth_date"] == "1985-07-01"
    plain = cli.json("participant", "show", row["code"], "--json")
    assert "name" not in plain
    tl = cli.json("timeline", row["code"], "--json")
    assert [e["event"] for e in tl["events"]] == ["case"]
    assert "Bo Ek" not in json.dumps(tl)


def test_stdin_json(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"name": "Stdin Person"}'))
    row = cli.json("participant", "add", "--json", "-")
    assert row["code"].startswith("P-")


@pytest.mark.parametrize(("args", "message"), [
    (["participant", "add", "--name", "X", "--birth-date", "1990-13-01"], "birth_date"),
    (["participant", "add", "--name", "X", "--programme", "nope"], "programme: unknown 'nope'"),
    (["participant", "add"], "name: Field required"),
    (["enrol", "P-0000000Z"], "participant: no participant"),
    (["tests", "schedule", "--from", "2026-02-01", "--to", "2026-01-01"], "to: the range ends"),
    (["tests", "record", "999", "--result", "negative"], "test: no drug test with id 999"),
    (["tests", "record", "1", "--result", "purple"], "result: Input should be"),
    (["dashboard", "--on", "yesterday"], "--on: 'yesterday' is not a date"),
    (["export", "--out", "x"], "--deidentified: required"),
])
def test_bad_input_is_one_line_and_exit_2(cli: Cli, args: list[str], message: str) -> None:
    code, out, err = cli(*args, ok=False)
    assert code == 2, (code, err)
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_json_file_names_line(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "sex": }')
    code, _, err = cli("participant", "add", "--json", str(bad), ok=False)
    assert code == 2 and "line 2" in err
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"name": "x", "shoe_size": 44}')
    code, _, err = cli("participant", "add", "--json", str(unknown), ok=False)
    assert code == 2 and "shoe_size: unknown field; allowed: name" in err


def test_enrolment_needs_consent(cli: Cli) -> None:
    code = cli("participant", "add", "--name", "No Consent")[1].strip()
    rc, _, err = cli("enrol", code, ok=False)
    assert rc == 2 and "consent: no informed consent to drug_treatment_court" in err
    cli("consent", code, "--measure", "drug_treatment_court")
    cli("consent", code, "--withdrawn", "--measure", "drug_treatment_court")
    rc, _, err = cli("enrol", code, ok=False)
    assert rc == 2 and "consent" in err
    cli("consent", code)
    cli("enrol", code)
    rc, _, err = cli("enrol", code, ok=False)
    assert "already enrolled" in err


def test_case_screening_advice_and_decision(cli: Cli, tmp_path: Path) -> None:
    code = cli("participant", "add", "--name", "C")[1].strip()
    case = tmp_path / "case.yaml"
    case.write_text("person: {age: 30}\noffence: {type: possession, substance: heroin, quantity_g: 1,"
                    " date: 2024-03-01}\nhistory: {prior_drug_convictions: 0, prior_convictions: 0,"
                    " prior_incarcerations: 0, prior_diversion_failures: 0, pending_charge: false,"
                    " fta_past_2_years: 0}\nconsent: true\n")  # risk known: no fact is assumed
    cli("case", code, "--case", str(case))
    resp = tmp_path / "dast.yaml"
    resp.write_text("answers: [yes, yes, no, yes, yes, yes, no, no, no, no]\n")
    scr = cli.json("screen", code, "dast10", str(resp), "--json-out")
    assert scr["result"]["score"] == 6 and "divert" in scr["instrument_version"]
    adv = cli.json("advise", code, "-j", "model", "--json-out")
    assert adv["pack_hash"] and adv["quadrant"] in ("HR/HN", "LR/HN", "HR/LN", "LR/LN")
    assert adv["advice"]["screening"]["dast10"]["score"] == 6
    assert any(m["trace"] for s in adv["advice"]["stages"] for m in s["measures"])
    done = cli.json("confirm", str(adv["id"]), "--decision", "drug_treatment_court", "--json-out",
                    "--actor", "judge.k")
    assert done["confirmed_by"] == "judge.k" and done["final_decision"] == "drug_treatment_court"
    rc, _, err = cli("confirm", str(adv["id"]), "--decision", "banishment", ok=False)
    assert rc == 2 and "decision: unknown measure" in err
    cli("consent", code, "--measure", "drug_treatment_court")
    enr = cli.json("enrol", code, "--json-out")
    assert enr["quadrant"] == adv["quadrant"]  # from the advice snapshot


def test_court_day(cli: Cli, tmp_path: Path) -> None:
    code = enrolled(cli)
    out = cli.json("tests", "schedule", "--from", START, "--to", "2026-02-03", "--json-out")
    assert out["tests"] >= 4
    again = cli.json("tests", "schedule", "--from", START, "--to", "2026-02-03", "--json-out")
    assert again["tests"] == 0  # already scheduled
    tl = cli.json("timeline", code, "--json")
    tests = [e for e in tl["events"] if e["event"] == "drug test"]
    assert len(tests) == out["tests"]
    first, second = tests[0], tests[1]
    # the dashboard sees who is due and whose window closed
    day = first["date"]
    board = cli.json("dashboard", "--on", day, "--now", f"{day}T09:00", "--json")
    assert [r["participant"] for r in board["due"]] == [code]
    board = cli.json("dashboard", "--on", day, "--now", f"{day}T15:00", "--json")
    assert board["due"] == [] and [r["test"] for r in board["missed"]] == [first["id"]]
    # a positive result needs a response, shown on the dashboard
    rc, _, err = cli("tests", "record", str(first["id"]), "--result", "positive", ok=False)
    assert rc == 2 and "substances" in err
    cli("tests", "record", str(first["id"]), "--result", "positive", "--substances", "cocaine")
    board = cli.json("dashboard", "--on", day, "--now", f"{day}T15:00", "--json")
    assert [r["test"] for r in board["needs_response"]] == [first["id"]]
    sug = cli.json("suggest", code, "--test", str(first["id"]), "--json")
    assert sug["behaviour"] == "positive_test" and sug["sanction"]["jail_days"] is None
    assert sug["therapeutic"]
    cli("respond", code, "--kind", "therapeutic", "--type", sug["therapeutic"][0], "--test",
        str(first["id"]), "--on", day)
    board = cli.json("dashboard", "--on", day, "--now", f"{day}T15:00", "--json")
    assert board["needs_response"] == []
    resp = cli.json("respond", code, "--kind", "sanction", "--type", "essay", "--behaviour",
                    "positive_test", "--on", day, "--json-out")
    assert resp["status"] == "imposed"
    # jail above the cap: stored with a warning
    src = tmp_path / "jail.json"
    src.write_text(json.dumps({"kind": "sanction", "type": "jail", "jail_days": 7, "on": day}))
    rc, out_, err = cli("respond", code, "--json", str(src))
    assert "exceeds the cap of 5 days" in err and json.loads(out_)["warnings"]
    rc, _, err = cli("respond", code, "--kind", "therapeutic", "--type", "x", "--jail-days", "2",
                     ok=False)
    assert rc == 2 and "jail_days" in err
    # batch results from JSON; then close the missed ones
    results = tmp_path / "results.json"
    results.write_text(json.dumps([{"test": second["id"], "result": "negative"}]))
    rows = cli.json("tests", "record", "--json", str(results))
    assert rows[0]["status"] == "negative" and rows[0]["version"] == 2
    cli("tests", "close-missed", "--now", "2026-01-20T12:00")
    tl = cli.json("timeline", code, "--json")
    early = [e for e in tl["events"] if e["event"] == "drug test" and e["date"] < "2026-01-20"]
    assert all(e["status"] != "scheduled" for e in early)
    assert any(e["status"] == "missed" and e["awaiting_response"] for e in early) or len(early) == 2


def test_phases_graduation_termination(cli: Cli) -> None:
    code = enrolled(cli)
    check = cli.json("promotion", code, "--on", "2026-01-20", "--json")
    assert not check["eligible"]
    rc, _, err = cli("advance", code, "--on", "2026-01-20", ok=False)
    assert rc == 2 and "criteria: phase promotion not met" in err and "days_in_phase" in err
    for i in range(10):
        cli("attend", code, "--status", "attended", "--on", f"2026-01-{10 + i}")
    on = "2026-03-20"
    check = cli.json("promotion", code, "--on", on, "--json")
    assert check["eligible"], check
    enr = cli.json("advance", code, "--on", on, "--json-out")
    assert enr["phase"] == 2 and enr["phase_since"] == on
    rc, _, err = cli("advance", code, "--to", "1", ok=False)
    assert "reason" in err
    cli("advance", code, "--to", "1", "--reason", "relapse; remedial plan agreed", "--on", "2026-03-25")
    rc, _, err = cli("graduate", code, ok=False)
    assert rc == 2 and "graduation is from the final phase" in err
    cli("advance", code, "--to", "2", "--override", "team decision", "--on", "2026-03-26")
    rc, _, err = cli("terminate", code, ok=False)
    assert "reason" in err
    cli("terminate", code, "--reason", "new violent charge", "--on", "2026-04-01")
    tl = cli.json("timeline", code, "--json")
    assert tl["participant"]["status"] == "terminated"
    changes = [e for e in tl["events"] if e["event"] == "phase change"]
    assert [(c["from_phase"], c["to_phase"]) for c in changes] == [(1, 2), (2, 1), (1, 2)]
    assert "override: team decision" in changes[-1]["reason"]
    assert not [e for e in tl["events"] if e["event"] == "status hearing"
                and e["status"] == "scheduled" and e["date"] > "2026-04-01"]


def test_graduation_from_the_final_phase(cli: Cli, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"phases": [{"name": "only", "min_days": 10, "promotion": {
        "days_abstinent": 10, "attendance_rate": 0}}]}))
    cli("programme", "add", "--code", "short", "--name", "Short court", "--rules", str(rules))
    code = cli("participant", "add", "--name", "G", "--programme", "short")[1].strip()
    cli("consent", code)
    cli("enrol", code, "--on", START)
    enr = cli.json("graduate", code, "--on", "2026-01-30", "--json-out")
    assert enr["status"] == "graduated"
    shown = cli.json("programme", "show", "short", "--json")
    assert shown["rules"]["phases"][0]["name"] == "only"


def test_hearings_calendar(cli: Cli) -> None:
    code = enrolled(cli)
    out = cli.json("hearings", "schedule", "--until", "2026-03-31", "--json-out")
    assert out["hearings"] >= 5
    tl = cli.json("timeline", code, "--json")
    days = [dt.date.fromisoformat(e["date"]) for e in tl["events"] if e["event"] == "status hearing"]
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    assert days[0] == dt.date(2026, 1, 19) and set(gaps) == {14}
    first = [e for e in tl["events"] if e["event"] == "status hearing"][0]
    board = cli.json("dashboard", "--on", "2026-01-19", "--json")
    assert [h["hearing"] for h in board["hearings"]] == [first["id"]]
    row = cli.json("hearings", "record", str(first["id"]), "--minutes", "4", "--json-out")
    assert row["status"] == "held" and row["held_on"] == "2026-01-19"


def test_rearrest_and_db_from_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import run

    code = enrolled(cli)
    monkeypatch.setenv("DIVERT_DATABASE_URL", cli.url)
    rc, out, err = run(["registry", "rearrest", code, "--on", "2026-02-01", "--offence-type",
                        "possession"], capsys)
    assert rc == 0, err
    rc, out, err = run(["registry", "timeline", code, "--json"], capsys)
    assert "rearrest" in [e["event"] for e in json.loads(out)["events"]]


def test_uninitialised_registry_says_what_to_do(db_url: str, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    from .conftest import run

    rc, _, err = run(["registry", "timeline", "P-00000000", "--db", db_url], capsys)
    assert rc == 2 and "run `divert registry init` first" in err


def test_schedule_is_rederived_from_the_recorded_seed(cli: Cli) -> None:
    import numpy as np

    from divert.registry import court

    code = enrolled(cli)
    cli("tests", "schedule", "--from", START, "--to", "2026-03-31")
    seed = cli.json("programme", "show", "--json")["schedule_seed"]
    tl = cli.json("timeline", code, "--json")
    enrolment = [e for e in tl["events"] if e["event"] == "enrolled"][0]["id"]
    stored = sorted(e["date"] for e in tl["events"] if e["event"] == "drug test")
    _, days = court.drawn_days(seed, np.array([enrolment]), np.array([3.0]),
                               dt.date.fromisoformat(START), dt.date(2026, 3, 31))
    assert stored == [dt.date.fromordinal(int(d)).isoformat() for d in days]
    weekdays = {dt.date.fromisoformat(d).weekday() for d in stored}
    assert len(stored) > 20 and weekdays & {5, 6}  # weekends too


def test_dashboard_counts_and_pages(cli: Cli) -> None:
    codes = [enrolled(cli) for _ in range(3)]
    for code in codes:
        cli("tests", "add", code, "--on", "2026-02-02")
    board = cli.json("dashboard", "--on", "2026-02-02", "--now", "2026-02-02T08:00", "--limit", "2",
                     "--json")
    assert board["counts"]["due"] == 3 and len(board["due"]) == 2
    rest = cli.json("dashboard", "--on", "2026-02-02", "--now", "2026-02-02T08:00", "--limit", "2",
                    "--offset", "2", "--json")
    seen = {r["participant"] for r in board["due"] + rest["due"]}
    assert seen == set(codes)
    code, out, _ = cli("dashboard", "--on", "2026-02-02", "--now", "2026-02-02T08:00", "--limit", "1")
    assert "due to test: 3" in out and "2 more" in out


def test_an_ended_enrolment_leaves_nothing_open(cli: Cli) -> None:
    code = enrolled(cli)
    for day in ("2026-02-02", "2026-02-03", "2026-02-20"):
        cli("tests", "add", code, "--on", day)
    tl = cli.json("timeline", code, "--json")
    first = [e for e in tl["events"] if e["event"] == "drug test"][0]
    cli("tests", "record", str(first["id"]), "--result", "positive", "--substances", "heroin")
    board = cli.json("dashboard", "--on", "2026-02-04", "--now", "2026-02-04T09:00", "--json")
    assert board["counts"]["missed"] == 1 and board["counts"]["needs_response"] == 1
    cli("terminate", code, "--reason", "absconded", "--on", "2026-02-10")
    board = cli.json("dashboard", "--on", "2026-02-20", "--now", "2026-02-20T09:00", "--json")
    assert board["counts"] == {"due": 0, "missed": 0, "needs_response": 0, "hearings": 0}
    tests = [e for e in cli.json("timeline", code, "--json")["events"] if e["event"] == "drug test"]
    assert [(t["date"], t["status"]) for t in tests] == [("2026-02-02", "positive"),
                                                        ("2026-02-03", "excused")]
    assert cli("verify")[0] == 0
