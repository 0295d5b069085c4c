"""Weighted oversampling: the sampling design is right, and weighted runs estimate what
unweighted runs estimate, within their Monte Carlo errors."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from divert.law.policy import load
from divert.law.practice import draw, resolve
from divert.simulation.oversampling import check_factor, inclusion, select, systematic, thin
from divert.simulation.population import synthesise
from divert.simulation.run import involvement, run

from .conftest import run_cli


def test_inclusion_is_proportional_to_size_capped_at_one_and_adds_up_to_n() -> None:
    size = np.array([100.0, 1.0, 2.0, 3.0, 4.0, 50.0, 0.5])
    pi = inclusion(size, 3)
    assert pi.sum() == pytest.approx(3.0)
    assert pi.max() <= 1.0
    assert pi[0] == 1.0 and pi[5] == 1.0  # too big for a share below one: kept for certain
    rest = [1, 2, 3, 4, 6]
    assert np.allclose(pi[rest] / size[rest], pi[1] / size[1])


def test_systematic_sampling_keeps_exactly_n_each_at_its_probability() -> None:
    rng = np.random.default_rng(5)
    size = rng.gamma(0.7, size=40) + 0.05
    pi = inclusion(size, 12)
    draws = 6000
    seen = np.zeros(40)
    for _ in range(draws):
        kept = systematic(pi, rng)
        assert kept.shape[0] == 12 and np.unique(kept).shape[0] == 12
        seen[kept] += 1
    freq = seen / draws
    se = np.sqrt(pi * (1 - pi) / draws) + 1e-12
    assert np.all(np.abs(freq - pi) <= 4.5 * se + 1e-9), np.abs(freq - pi) / se


def test_weights_make_totals_unbiased_over_the_candidates() -> None:
    """Horvitz-Thompson: the weighted total of a trait in the kept sample estimates the
    candidates' total scaled to the sample (weights average one over the candidates)."""
    values = draw(resolve(load("usa"), date(2026, 1, 1)), None)
    pool = synthesise(20000, 0, values, np.random.default_rng(2), entrant_slots=0)
    size = involvement(pool, np.arange(pool.size), values)
    target = float((pool.severity >= 2).mean())
    estimates = []
    for k in range(40):
        kept = select(pool, size, 4000, np.random.default_rng(100 + k))
        assert kept.size == 4000
        estimates.append(float((kept.weight * (kept.severity >= 2)).sum() / 4000))
    est = np.array(estimates)
    assert abs(est.mean() - target) < 4 * est.std(ddof=1) / np.sqrt(est.shape[0]) + 1e-3
    # the oversampled really are the people who offend most: more of them kept than drawn
    kept_size = involvement(kept, np.arange(kept.size), values)
    assert (kept_size * kept.weight).mean() == pytest.approx(size.mean(), rel=0.1)
    assert kept_size.mean() > 1.3 * size.mean()


def test_thinning_keeps_the_share_by_record_and_weights_it_up() -> None:
    values = draw(resolve(load("usa"), date(2026, 1, 1)), None)
    pop = synthesise(8000, 0, values, np.random.default_rng(4), entrant_slots=500)
    pop.weight[:] = 0.25
    pop.status[:100] = 2  # dead slots are dropped
    pop.prior_incarcerations[100:1100] = 3
    alive = np.flatnonzero(pop.status[:8000] == 1)
    size = involvement(pop, alive, values)
    out, next_slot = thin(pop, alive, 8000, size, 0.25, np.random.default_rng(1))
    assert next_slot == round(alive.shape[0] * 0.25) and np.all(out.status[:next_slot] == 1)
    assert np.all(out.weight[next_slot:] == 1.0) and np.all(out.status[next_slot:] == 0)
    # the people with a record are kept more often, and stand for fewer each
    record = out.prior_incarcerations[:next_slot] == 3
    assert record.mean() > 2 * (1000 / alive.shape[0])
    assert out.weight[:next_slot][record].mean() < out.weight[:next_slot][~record].mean()
    assert out.weight[:next_slot].sum() == pytest.approx(alive.shape[0] * 0.25, rel=0.05)


def test_a_weighted_run_keeps_its_books_balanced() -> None:
    r = run(load("usa"), 3000, 36, date(2026, 1, 1), 1, 0, uncertainty=False, oversample=4.0)
    gone = r.metric("deaths").sum() + r.metric("exits").sum()
    assert r.final["alive"] + gone == pytest.approx(r.start_alive + r.metric("entrants").sum(),
                                                    rel=1e-9)


KEYS = ("arrests", "prison_admissions", "prison_drug_offence_person_months",
        "treatment_person_months", "deaths")


def _totals(persons: int, factor: float, reps: int) -> dict[str, np.ndarray]:
    from divert.simulation.outcomes import totals

    policy = load("usa")
    rows = [totals(run(policy, persons, 36, date(2026, 1, 1), 11, r, uncertainty=False,
                       oversample=factor)) for r in range(reps)]
    return {k: np.array([row[k] for row in rows]) for k in KEYS}


def test_weighted_and_unweighted_runs_agree_within_their_errors() -> None:
    """The same question with and without oversampling: every total's difference is within
    four combined standard errors (independent replications of each design)."""
    plain, weighted = _totals(2000, 1.0, 12), _totals(2000, 4.0, 12)
    for k in KEYS:
        a, b = plain[k], weighted[k]
        se = np.sqrt(a.var(ddof=1) / a.shape[0] + b.var(ddof=1) / b.shape[0])
        assert abs(a.mean() - b.mean()) <= 4 * se, (k, a.mean(), b.mean(), se)


def test_the_factor_is_checked_and_stamped(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="allowed: 1 \\(none\\) to 64"):
        check_factor(0.5)
    code, _, err = run_cli(["simulate", "usa", "--persons", "1000", "--years", "1",
                            "--oversample", "65"], capsys)
    assert code == 2 and "--oversample: 65.0 is not allowed" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run_cli(["simulate", "model", "--persons", "1000", "--years", "1",
                              "--oversample", "2", "--no-uncertainty", "--json"], capsys)
    assert code == 0, err
    stamp = json.loads(out)["stamp"]
    assert stamp["oversample"] == 2.0 and "Horvitz-Thompson" in stamp["sampling"]
    code, out, _ = run_cli(["simulate", "model", "--persons", "1000", "--years", "1",
                            "--no-uncertainty", "--json"], capsys)
    assert code == 0 and "oversample" not in json.loads(out)["stamp"]


def test_an_oversampled_comparison_replays_with_its_factor() -> None:
    from divert.reports.comparison import _replay_command
    from divert.simulation.runner import run_comparison

    comp = run_comparison(["model"], persons=1000, months=12, start=date(2026, 1, 1),
                          replications=1, seed=2, uncertainty=False, oversample=3.0)
    assert comp.stamp["oversample"] == 3.0
    assert "--oversample 3" in _replay_command(comp)
    plain = run_comparison(["model"], persons=1000, months=12, start=date(2026, 1, 1),
                           replications=1, seed=2, uncertainty=False)
    assert "--oversample" not in _replay_command(plain)
