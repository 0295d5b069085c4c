"""Bulk import: the documented example, field-naming errors, all or nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from .conftest import Cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry" / "import.json"


def test_example_imports_and_verifies(cli: Cli) -> None:
    out = cli.json("import", str(EXAMPLE), "--json-out")
    assert [p["ref"] for p in out["participants"]] == ["intake sheet row 2", "intake sheet row 3",
                                                        "intake sheet row 4"]
    counts = out["counts"]
    assert counts["participants"] == 3 and counts["drug_tests"] == 10 and counts["responses"] == 3
    assert counts["phase_changes"] == 2 and counts["rearrests"] == 1 and counts["cases"] == 1
    assert cli("verify")[0] == 0
    jordan, sam, alex = (p["code"] for p in out["participants"])
    tl = cli.json("timeline", jordan, "--json")
    tests = {e["date"]: e for e in tl["events"] if e["event"] == "drug test"}
    # the positive test was answered (therapeutic), the missed one too (sanction): none awaits
    assert not any(t["awaiting_response"] for t in tests.values())
    assert tests["2025-01-18"]["status"] == "missed"
    assert tl["participant"]["status"] == "active"
    assert cli.json("participant", "show", jordan, "--identify", "--json")["name"] == "Jordan Example"
    sam_tl = cli.json("timeline", sam, "--json")
    assert sam_tl["participant"]["status"] == "graduated"
    enrolled = [e for e in sam_tl["events"] if e["event"] == "enrolled"][0]
    assert enrolled["phase"] == 3
    oral = [e for e in sam_tl["events"] if e["event"] == "drug test" and e["method"] == "oral_fluid"]
    assert oral and oral[0]["due_by"].endswith("T10:00:00")  # 4-hour window
    assert cli.json("timeline", alex, "--json")["participant"]["status"] == "terminated"
    # importing again adds new people (the file has no ids of ours): the programme exists now
    rc, _, err = cli("import", str(EXAMPLE), ok=False)
    assert rc == 2 and "programmes.0" in err and "exists already" in err


def _example() -> dict:
    return json.loads(EXAMPLE.read_text())


@pytest.mark.parametrize(("path", "value", "message"), [
    (("participants", 0, "tests", 1, "result"), "purple", "participants.0.tests.1.result: Input should be"),
    (("participants", 1, "phases", 0, "to"), 9, "participants.1.phases.0.to: phase 9 does not exist"),
    (("participants", 0, "responses", 0, "test_on"), "2025-01-12",
     "participants.0.responses.0.test_on: no test on 2025-01-12"),
    (("participants", 2, "consents", 0, "given"), False, "participants.2.enrolment: no informed consent"),
    (("format",), "spreadsheet", "format: Input should be 'divert-registry-import'"),
    (("participants", 0, "screenings", 0, "responses", "answers"), ["yes"],
     "participants.0.screenings.0"),
])
def test_errors_name_the_field_and_store_nothing(cli: Cli, tmp_path: Path, path: tuple, value: object,
                                                 message: str) -> None:
    data = copy.deepcopy(_example())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(data))
    before = cli.json("verify", "--json")
    rc, _, err = cli("import", str(src), ok=False)
    assert rc == 2 and message in err, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert cli.json("verify", "--json") == before


def test_events_need_an_enrolment(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "x.json"
    src.write_text(json.dumps({"format": "divert-registry-import", "version": 1, "participants": [
        {"name": "X", "tests": [{"on": "2025-01-01", "result": "negative"}]}]}))
    rc, _, err = cli("import", str(src), ok=False)
    assert rc == 2 and "participants.0" in err and "need an enrolment" in err
