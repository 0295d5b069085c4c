"""The country brief: sections, sources of every figure, HTML, command line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from divert.cli import main
from divert.law.policy import pack_dirs
from divert.reports import brief

CODES = [d.name for d in pack_dirs()]
TINY = brief.Sizes(persons=300, replications=2, years=1, backtest_persons=300)
SECTIONS = ("law", "against_model", "flow", "problems", "reforms", "levers", "runs", "method")


@pytest.fixture(scope="module", params=CODES)
def built(request: pytest.FixtureRequest) -> dict[str, Any]:
    return brief.build(request.param, TINY)


def test_every_pack_has_the_sections_and_every_figure_a_source(built: dict[str, Any]) -> None:
    assert set(SECTIONS) <= set(built)
    assert set(built["law"]["today"]) == {"police", "prosecution", "court", "post_sentence"}
    assert {lv["lever"] for lv in built["levers"]} >= {"equivalence_of_care", "prevention",
                                                       "treatment_not_conviction"}
    assert brief.figures(built) and brief.unsourced(built) == []
    for lv in built["levers"]:
        for e in lv["effects"].values():
            assert e["resolved"] or e["verdict"] == "not resolved at this precision"
    assert [r["stage"] for r in built["against_model"]] == list(built["law"]["today"])


def test_the_page_is_self_contained_and_links_each_figure_to_its_source(
        built: dict[str, Any]) -> None:
    html = brief.render_html(built)
    assert "<script" not in html and "<link" not in html
    _, sources = brief.referenced(built)
    assert f'id="src-{len(sources)}"' in html and 'href="#src-1"' in html
    for section in ("law", "model", "flow", "problems", "reforms", "levers", "sources"):
        assert f'<section id="{section}">' in html


def test_a_figure_without_a_source_is_found() -> None:
    bad = {"runs": {"baseline": {}},
           "a": {"value": 1, "source": {"kind": "run", "run": "elsewhere"}},
           "b": [{"value": 2, "source": {"kind": "pack", "citation": ""}}],
           "c": {"value": 3, "source": {"kind": "run", "run": "baseline"}}}
    assert brief.unsourced(bad) == ["a", "b[0]"]


def test_portugal_backtest_sets_the_2001_reform_beside_what_was_observed() -> None:
    got = brief.build("portugal", TINY)
    (reform,) = got["reforms"]
    assert reform["date"] == "2001-07-01"
    arrests = [r for r in reform["rows"] if r["metric"] == "arrests"]
    assert arrests and arrests[0]["observed"]["value"] == 14000
    assert arrests[0]["simulated"]["source"]["run"] == "backtest"


def test_cli_writes_json(capsys: pytest.CaptureFixture[str]) -> None:
    main(["brief", "model", "--persons", "300", "--years", "1", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["jurisdiction"] == "model" and brief.unsourced(data) == []


@pytest.mark.parametrize(("argv", "field"), [
    (["brief", "atlantis"], "unknown jurisdiction 'atlantis'"),
    (["brief", "usa", "--replications", "1"], "--replications"),
    (["brief", "usa", "--persons", "0"], "--persons"),
    (["brief", "usa", "--years", "0"], "--years"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv: list[str], field: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err
