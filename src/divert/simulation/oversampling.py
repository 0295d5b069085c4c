"""Weighted oversampling: more of the people who reach the justice system, each weighted by the
people they stand for, so that every count stays unbiased.

With `--oversample F` a run's burn-in simulates F x persons people, each standing for 1/F, so
that at the reported start everyone has a criminal history. `thin` then keeps `persons` of the
living by systematic sampling with probability proportional to size (Madow 1949; Särndal,
Swensson and Wretman, *Model Assisted Survey Sampling*, 1992, sections 2.8 and 3.6), the size
being how likely the person is to meet the justice system again (`run.involvement`: offending
times record, more while held), and weights each by 1 / pi (Horvitz-Thompson): weighted totals
times the run's scale estimate the population's without bias. Scenarios branch after the
burn-in and thin the same people, so common random numbers still pair them. F = 1 is the
unweighted design. Whether it pays depends on the question: bench/oversampling_bench.py.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from divert.simulation.population import Population

MAX_FACTOR = 64.0


def inclusion(size: np.ndarray, n: int) -> np.ndarray:
    """Inclusion probabilities proportional to `size` that add up to `n`, none above one (a
    candidate whose share would exceed one is kept for certain and the rest share the remainder)."""
    size = np.maximum(np.asarray(size, dtype=np.float64), 0.0)
    if n <= 0:
        return np.zeros(size.shape[0])
    if n >= size.shape[0]:
        return np.ones(size.shape[0])
    if not np.any(size > 0):
        size = np.ones(size.shape[0])
    size = np.where(size > 0, size, size[size > 0].min() * 1e-6)
    pi = np.zeros(size.shape[0])
    certain = np.zeros(size.shape[0], dtype=bool)
    while True:
        left = n - int(certain.sum())
        rest = ~certain
        pi[rest] = left * size[rest] / size[rest].sum()
        over = rest & (pi >= 1.0)
        if not over.any():
            break
        certain |= over
        pi[certain] = 1.0
    return pi


def systematic(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices kept by systematic sampling with inclusion probabilities `pi` (which add up to a
    whole number) in a random order: exactly round(sum(pi)) of them, each with its own pi."""
    order = rng.permutation(pi.shape[0])
    cum = np.cumsum(pi[order])
    n = int(round(float(cum[-1]))) if cum.shape[0] else 0
    if n:
        cum *= n / cum[-1]  # no rounding error leaves the last point past the end
    points = rng.random() + np.arange(n)
    hit = np.searchsorted(cum, points, side="right")
    return np.sort(order[np.minimum(hit, pi.shape[0] - 1)])


def select(candidates: Population, size: np.ndarray, keep: int,
           rng: np.random.Generator) -> Population:
    """`keep` of the candidates, drawn with probability proportional to `size`, each weighted
    1 / (pi x N / keep): the weights average one over the candidates."""
    pi = inclusion(size, keep)
    kept = systematic(pi, rng)
    out = Population(**{f.name: getattr(candidates, f.name)[kept] for f in fields(candidates)})
    n_cand = candidates.size
    out.weight = (candidates.weight[kept] * (keep / n_cand) / pi[kept]).astype(np.float32)
    return out


def thin(pop: Population, alive: np.ndarray, next_slot: int, size: np.ndarray, share: float,
         rng: np.random.Generator) -> tuple[Population, int]:
    """The population kept at the end of an oversampled burn-in: about `share` of the `alive`
    people, drawn in proportion to `size` and weighted up by 1 / pi; the dead and exited slots
    dropped; the unscheduled entrant slots (from `next_slot` on) kept, standing for one person
    each. Returns the population and its next free entrant slot."""
    keep = int(round(alive.shape[0] * share))
    pi = inclusion(size, keep)
    kept = alive[systematic(pi, rng)]
    weight = pop.weight[kept] / pi[np.searchsorted(alive, kept)]
    free = np.arange(next_slot, pop.size)[: max(256, int((pop.size - next_slot) * share))]
    slots = np.concatenate([kept, free])
    out = Population(**{f.name: getattr(pop, f.name)[slots] for f in fields(pop)})
    out.weight = np.concatenate([weight, np.ones(free.shape[0])]).astype(np.float32)
    return out, kept.shape[0]


def check_factor(factor: float) -> float:
    """The oversampling factor, or a ValueError naming what is allowed."""
    if not 1.0 <= float(factor) <= MAX_FACTOR or not np.isfinite(factor):
        raise ValueError(f"--oversample: {factor} is not allowed; allowed: 1 (none) to "
                         f"{MAX_FACTOR:g}")
    return float(factor)


__all__ = ["inclusion", "systematic", "select", "thin", "check_factor", "MAX_FACTOR"]
