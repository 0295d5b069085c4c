"""The policy book and the country brief as the command line writes them, in each language divert
speaks besides English: <html lang dir>, no English message of the catalogues left (the pack's
own English is marked lang="en"), no doubled %, and the brief's replay command still ASCII.

Each language with a pack of a country that speaks it (Portuguese for Portugal, French for Côte
d'Ivoire, Dutch for Belgium, Persian for Iran, Malay for Malaysia); the brief at the smallest
sizes (a few seconds each)."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import pytest

from divert.i18n import direction
from tests.conftest import run_cli

from .english import english_left, leftovers

PACKS = {"pt": "portugal", "fr": "cote_divoire", "nl": "belgium", "fa": "iran", "ms": "malaysia"}
BRIEF_SIZES = ["--persons", "100", "--replications", "2", "--years", "1", "--seed", "3"]


@cache
def _english(locale: str) -> tuple[set[str], set[str]]:
    return english_left(locale, ("reports", "web", "law"))


def _check(html: str, locale: str) -> None:
    attrs, found = leftovers(html, *_english(locale))
    assert (attrs.get("lang"), attrs.get("dir")) == (locale, direction(locale))
    assert found == [], f"English left in the {locale} page: {found}"
    assert "%%" not in html


@pytest.mark.parametrize("locale", list(PACKS))
def test_the_policy_book_is_written_in_the_language_asked_for(
        locale: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "book.html"
    code, _, err = run_cli(["policy", "book", PACKS[locale], "--lang", locale, "--out", str(out)],
                           capsys)
    assert code == 0, err
    _check(out.read_text(encoding="utf-8"), locale)


@pytest.mark.parametrize("locale", list(PACKS))
def test_the_brief_is_written_in_the_language_asked_for(
        locale: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "brief.html"
    args = ["brief", PACKS[locale], *BRIEF_SIZES]
    code, _, err = run_cli([*args, "--lang", locale, "--out", str(out)], capsys)
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    _check(html, locale)
    replay = re.search(r'<pre class="replay" dir="ltr"><code dir="ltr">(.*?)</code>', html)
    assert replay is not None and replay.group(1).isascii()
    assert shlex.split(replay.group(1)) == ["divert", *args]  # the command, copied, runs it again
    if locale == "fa":
        assert "۱۰۰" in html  # the persons of the stamp, in Persian digits


def test_the_books_practice_table_describes_divert_defaults_in_the_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The practice table's descriptions of divert's defaults come from the law catalogue, not
    marked as English (the pack's own texts stay English, marked)."""
    import html as html_lib

    from divert.i18n import translator
    from divert.law.practice_schema import DEFAULTS

    out = tmp_path / "book.html"
    code, _, err = run_cli(["policy", "book", "cote_divoire", "--lang", "fr", "--out", str(out)],
                           capsys)
    assert code == 0, err
    page = html_lib.unescape(out.read_text(encoding="utf-8"))
    t = translator("fr", "law")
    d = DEFAULTS["conviction_prob"]
    assert t.gettext(d.description) != d.description
    assert f'<span class="muted">{t.gettext(d.description)}</span>' in page
    assert d.description not in page
