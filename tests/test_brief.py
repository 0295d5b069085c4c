"""The country brief: sections, sources of every figure, HTML, command line."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from divert.cli import main
from divert.law.policy import pack_dirs
from divert.reports import brief
from tests.i18n.english import Visible

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


def stamp_of(html: str) -> tuple[str, list[str]]:
    """The brief's stamp (its header line and the stamped runs): the text a reader reads, and
    what is in <code> (pack codes and hashes, the replay command)."""
    head = html.split('<p class="muted">', 1)[1].split("</p>", 1)[0]
    runs = html.split('<section id="sources">', 1)[1].split("</ol>", 1)[1]
    page = Visible()
    page.feed(f"<p>{head}</p>{runs}")
    return " ".join(page.text), re.findall(r"<code[^>]*>(.*?)</code>", head + runs, re.S)


def test_the_persian_stamp_has_persian_digits_and_the_replay_stays_ascii(
        built: dict[str, Any]) -> None:
    """Counts, the seed, the month and divert's version read in Persian digits; what a machine
    reads (pack codes, hashes, the command that replays the runs) stays ASCII, marked ltr."""
    html = brief.render_html(built, "fa")
    text, codes = stamp_of(html)
    assert not re.search(r"[0-9]", text), text
    assert "۳۰۰" in text and "۱۲" in text and "۰.۱" in text  # persons, months, version
    assert "ژانویه ۲۰۲۶" in text  # the first month in words
    assert codes and all(c.isascii() for c in codes)
    assert built["jurisdiction"] in codes and built["pack_hash"][:16] in codes
    replay = re.search(r'<pre class="replay" dir="ltr"><code dir="ltr">(.*?)</code>', html)
    assert replay is not None
    assert replay.group(1) == (f"divert brief {built['jurisdiction']} --persons 300 "
                               "--replications 2 --years 1 --seed 0")
    english_text, _ = stamp_of(brief.render_html(built))
    assert "300 people" in english_text and "from 2026-01" in english_text  # English as before


def test_the_stamp_lists_its_packs_with_the_languages_comma(built: dict[str, Any]) -> None:
    """Between a run's packs (scenario code and hash): the Persian comma "،" in Persian (with
    CLDR's right-to-left mark), ", " in English."""
    def separators(html: str) -> list[str]:
        runs = html.split('<section id="sources">', 1)[1].split("</ol>", 1)[1]
        return re.findall(r'<code dir="ltr">[0-9a-f]{12}</code>([^<]*)<code dir="ltr">', runs)

    persian, english = separators(brief.render_html(built, "fa")), separators(brief.render_html(built))
    assert persian and set(persian) == {"،\u200f "}
    assert english and set(english) == {", "}


def test_a_brief_whose_sizes_the_command_cannot_give_has_no_replay() -> None:
    assert brief.replay("usa", brief.Sizes()) is None  # the web's: 4,000 people, backtest 3,000
    assert brief.replay("usa", TINY) is not None


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
