"""Streaming aggregation: the same figures bit for bit whatever order runs arrive in, and a run
that arrives again (a task re-run after a fault) is counted once."""

from __future__ import annotations

import random
from datetime import date

import numpy as np

from divert.simulation.aggregate import Aggregate, Record, difference_records, totals_of
from divert.simulation.decisions import PATHWAYS
from divert.simulation.outcomes import difference
from divert.simulation.run import COHORT_YEARS, SERIES, RunResult

VALUES = {"discount_rate_per_year": 0.03, "offence_type_share": {"use": 1.0},
          "victim_cost_per_offence": {}, "productivity_per_month": 10.0}


def _run(scenario: str, replication: int) -> RunResult:
    rng = np.random.default_rng([replication, len(scenario)])
    return RunResult(scenario, replication, 100, 24, date(2020, 1, 1), 1.0 + rng.random(),
                     rng.random((24, len(SERIES))) * 1e3,
                     np.zeros((len(PATHWAYS), 1 + len(COHORT_YEARS))),
                     {"alive": 90.0, "in_prison": 3.0, "in_treatment": 7.0}, VALUES)


def _fold(order: list[tuple[str, int]]) -> Aggregate:
    agg = Aggregate(["base", "reform"])
    for s, r in order:
        agg.add(_run(s, r))
    return agg


def test_any_arrival_order_gives_the_same_bits() -> None:
    tasks = [(s, r) for r in range(40) for s in ("base", "reform")]
    first = _fold(tasks)
    for seed in range(3):
        shuffled = list(tasks)
        random.Random(seed).shuffle(shuffled)
        other = _fold(shuffled + shuffled[:5])  # some arrive twice
        for s in ("base", "reform"):
            a, b = first.series_stats(s), other.series_stats(s)
            assert a["mean"].tobytes() == b["mean"].tobytes()
            assert a["sd"].tobytes() == b["sd"].tobytes()
            assert other.by_scenario[s].waiting() == 0
            assert totals_of(first.records(s)) == totals_of(other.records(s))
        assert (difference_records(first.records("base"), first.records("reform"))
                == difference_records(other.records("base"), other.records("reform")))


def test_records_reproduce_the_in_memory_figures() -> None:
    base = [_run("base", r) for r in range(5)]
    reform = [_run("reform", r) for r in range(5)]
    agg = _fold([("reform", r) for r in range(5)] + [("base", r) for r in range(5)])
    assert difference_records(agg.records("base"), agg.records("reform"), scaled=True) == \
        difference(base, reform, scaled=True)
    series = np.stack([r.series * r.scale for r in base])
    assert np.allclose(agg.series_stats("base")["mean"], series.mean(axis=0))
    assert np.allclose(agg.series_stats("base")["sd"], series.std(axis=0, ddof=1))
    assert Record.of(base[0]).scaled()["arrests"] == Record.of(base[0]).totals["arrests"] * \
        base[0].scale
