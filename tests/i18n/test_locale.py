"""Choosing a language and writing numbers and dates in it (Babel's CLDR data is the source)."""

from __future__ import annotations

from datetime import date

import pytest

from divert.errors import DivertError
from divert.i18n import direction, negotiate, parse_locale, translator


def test_the_users_setting_wins_over_the_browser() -> None:
    assert negotiate("fr-BE,fr;q=0.9,en;q=0.5", preferred="nl") == "nl"


def test_accept_language_is_read_by_weight_and_region() -> None:
    assert negotiate("de-DE,fa;q=0.4,pt-PT;q=0.8") == "pt"
    assert negotiate("de-DE,es;q=0.5") == "en"
    assert negotiate(None) == "en"
    assert negotiate("fr;q=0,ms") == "ms"


def test_a_language_divert_does_not_speak_is_one_line_naming_the_choices() -> None:
    assert parse_locale("pt_PT") == "pt"
    with pytest.raises(DivertError, match=r"language: 'de' is not a supported language; use one of en, pt"):
        parse_locale("de")


def test_persian_is_right_to_left_with_persian_digits() -> None:
    fa = translator("fa", "web")
    assert direction("fa") == "rtl" and direction("pt") == "ltr"
    assert fa.number(1234567.5, 1) == "۱٬۲۳۴٬۵۶۷٫۵"
    assert fa.date(date(2026, 12, 3)).startswith("۳ ")


def test_numbers_dates_and_money_follow_the_locale() -> None:
    assert translator("pt", "web").number(1234567.5, 1) == "1\u00a0234\u00a0567,5"  # CLDR: no-break spaces
    assert translator("en", "web").number(1234567.5, 1) == "1,234,567.5"
    assert translator("ms", "web").currency(1234.5, "MYR") == "RM1,234.50"
    assert translator("fr", "web").date(date(2026, 12, 3), "long") == "3 décembre 2026"
    assert translator("nl", "web").percent(0.245, 1) == "24,5%"
