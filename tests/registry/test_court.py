"""The treatment court engine: random testing, windows, promotion, graduated responses, hearings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from divert.errors import InputError
from divert.registry import court

RULES = court.ProgrammeRules()
D = dt.date(2026, 3, 2)  # a Monday


def test_draws_are_reproducible_and_independent_of_the_range() -> None:
    ids = np.arange(1, 201)
    whole = court.drawn_days(42, ids, np.full(200, 2.0), D, D + dt.timedelta(days=27))
    parts = [court.drawn_days(42, ids, np.full(200, 2.0), D + dt.timedelta(days=7 * w),
                              D + dt.timedelta(days=7 * w + 6)) for w in range(4)]
    joined = set().union(*(set(zip(*p, strict=True)) for p in parts))
    assert set(zip(*whole, strict=True)) == joined
    other = court.drawn_days(43, ids, np.full(200, 2.0), D, D + dt.timedelta(days=27))
    assert set(zip(*other, strict=True)) != joined  # the seed matters


def test_every_weekday_equally_likely_at_the_phase_rate() -> None:
    n = 20000
    ids = np.arange(1, n + 1)
    e, days = court.drawn_days(7, ids, np.full(n, 2.0), D, D + dt.timedelta(days=13))
    weekday = np.array([dt.date.fromordinal(int(d)).weekday() for d in days])
    per_day = np.bincount(weekday, minlength=7) / (2 * n)  # each weekday occurs twice
    assert np.allclose(per_day, 2 / 7, atol=0.01), per_day  # Saturday and Sunday too
    per_week = len(e) / n / 2
    assert 1.95 < per_week < 2.05
    # not weekly blocks: the number of tests a person has in a week varies
    counts = np.bincount(e[days < D.toordinal() + 7], minlength=n + 1)[1:]
    assert counts.min() == 0 and counts.max() >= 5


def test_uniform_draws() -> None:
    u = court.draws(1, np.arange(100000), 739000)
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005
    hist = np.histogram(u, bins=10, range=(0, 1))[0]
    assert hist.min() > 9500


def test_defaults_follow_nadcp() -> None:
    assert all(p.tests_per_week >= 2 for p in RULES.phases)
    assert RULES.phases[0].hearing_interval_days == 14
    assert all(p.hearing_interval_days <= 42 for p in RULES.phases[:-1])
    assert RULES.jail_cap_days == 5
    assert court.due_window(RULES, D, "urine") == (dt.datetime(2026, 3, 2, 6), dt.datetime(2026, 3, 2, 14))
    assert court.due_window(RULES, D, "oral_fluid")[1] == dt.datetime(2026, 3, 2, 10)
    assert RULES.warnings() == []


def test_rules_refuse_hearings_too_far_apart_before_the_final_phase() -> None:
    phases = [{"name": "one", "hearing_interval_days": 43}, {"name": "two", "hearing_interval_days": 60}]
    with pytest.raises(InputError, match=r"phases\.0\.hearing_interval_days: 43 .*4-6 weeks"):
        court.parse_rules({"phases": phases})
    ok = court.parse_rules({"phases": [{"name": "one", "hearing_interval_days": 42},
                                       {"name": "final", "hearing_interval_days": 60}]})
    assert ok.phases[1].hearing_interval_days == 60
    with pytest.raises(InputError, match="phases.0.tests_per_week"):
        court.parse_rules({"phases": [{"name": "x", "tests_per_week": 0}]})
    with pytest.raises(InputError, match="unknown_field"):
        court.parse_rules({"unknown_field": 1})


def test_rules_warn_under_two_tests_a_week_and_jail_over_the_cap() -> None:
    rules = court.parse_rules({"phases": [{"name": "x", "tests_per_week": 1}],
                               "sanctions": [{"type": "jail", "jail_days": 10}]})
    text = " ".join(rules.warnings())
    assert "under 2 a week" in text and "exceeds jail_cap_days" in text


def _test(day: dt.date, status: str) -> dict:
    return {"scheduled_on": day, "status": status}


def test_promotion_on_objective_criteria() -> None:
    enr = {"phase": 1, "phase_since": D, "started_on": D}
    on = D + dt.timedelta(days=70)
    tests = [_test(D + dt.timedelta(days=10), "positive"), _test(D + dt.timedelta(days=30), "negative")]
    attendance = [{"day": D + dt.timedelta(days=i), "status": "attended"} for i in range(10)]
    check = court.promotion_check(RULES, enr, tests, attendance, [], on)
    assert check["eligible"], check
    assert {c["name"]: c["actual"] for c in check["criteria"]}["days_abstinent"] == 60
    # a missed test counts as not abstinent
    check = court.promotion_check(RULES, enr, tests + [_test(on - dt.timedelta(days=5), "missed")],
                                  attendance, [], on)
    assert not check["eligible"]
    # attendance below the rate
    poor = attendance + [{"day": D, "status": "missed"}] * 5
    assert not court.promotion_check(RULES, enr, tests, poor, [], on)["eligible"]
    # a pending sanction
    pending = [{"id": 9, "kind": "sanction", "status": "imposed"}]
    check = court.promotion_check(RULES, enr, tests, attendance, pending, on)
    assert not check["eligible"]
    assert [c for c in check["criteria"] if c["name"] == "no_pending_sanction"][0]["actual"] == [9]
    # therapeutic adjustments are not sanctions
    therapy = [{"id": 3, "kind": "therapeutic", "status": "completed"}]
    assert court.promotion_check(RULES, enr, tests, attendance, therapy, on)["eligible"]
    # too early in the phase
    assert not court.promotion_check(RULES, enr, [], attendance, [], D + dt.timedelta(days=40))[
        "eligible"]


def _sanction(day: dt.date) -> dict:
    return {"kind": "sanction", "status": "completed", "day": day}


def test_sanctions_escalate_and_jail_is_capped() -> None:
    on = D + dt.timedelta(days=100)
    levels = []
    history: list[dict] = []
    for _ in range(9):
        s = court.suggest(RULES, 3, "positive_test", history, [], on)["sanction"]
        levels.append(s["level"])
        assert s["jail_days"] is None or s["jail_days"] <= RULES.jail_cap_days
        history.append(_sanction(on))
    assert levels == sorted(levels) and levels[0] == 1 and levels[-1] == len(RULES.sanctions)
    # old sanctions (outside the look-back) do not count
    old = [_sanction(on - dt.timedelta(days=200))] * 5
    assert court.suggest(RULES, 3, "positive_test", old, [], on)["sanction"]["level"] == 1
    # the ladder's jail rung above the cap is capped in the suggestion
    rules = court.parse_rules({"sanctions": [{"type": "jail", "jail_days": 14}]})
    s = court.suggest(rules, 3, "missed_test", [], [], on)
    assert s["sanction"]["jail_days"] == 5 and "capped" in s["notes"][0]
    assert court.jail_warning(RULES, 6) and court.jail_warning(RULES, 5) is None


def test_proximal_goals_start_higher_and_early_positives_get_therapy_not_jail() -> None:
    on = D + dt.timedelta(days=10)
    distal = court.suggest(RULES, 3, "positive_test", [], [], on)["sanction"]["level"]
    proximal = court.suggest(RULES, 3, "missed_test", [], [], on)["sanction"]["level"]
    assert proximal == distal + 1
    many = [_sanction(on)] * 10
    early = court.suggest(RULES, 1, "positive_test", many, [], on)
    assert early["sanction"]["jail_days"] is None
    assert early["therapeutic"] and "clinical reassessment" in early["therapeutic"]
    later = court.suggest(RULES, 3, "positive_test", many, [], on)
    assert later["sanction"]["jail_days"]


def test_incentives_grow_with_a_run_of_negatives() -> None:
    on = D + dt.timedelta(days=30)
    tests = [_test(D + dt.timedelta(days=i), "negative") for i in range(10)]
    one = court.suggest(RULES, 1, "negative_test", [], tests[:1], on)["incentive"]
    ten = court.suggest(RULES, 1, "negative_test", [], tests, on)["incentive"]
    assert one["level"] == 1 and ten["level"] > one["level"]
    broken = tests + [_test(D + dt.timedelta(days=11), "positive"), _test(D + dt.timedelta(days=12),
                                                                          "negative")]
    assert court.suggest(RULES, 1, "negative_test", [], broken, on)["incentive"]["negative_streak"] == 1
    with pytest.raises(InputError, match="behaviour"):
        court.suggest(RULES, 1, "dancing", [], [], on)


def test_hearing_dates_follow_the_phase_interval() -> None:
    days = court.hearing_dates(RULES, 1, D, D + dt.timedelta(days=60))
    assert days == [D + dt.timedelta(days=14 * i) for i in range(1, 5)]
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    assert max(gaps) <= 42
