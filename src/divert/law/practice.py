"""Practice: the simulation inputs a pack adds to its law, with defaults, units and uncertainty.

The law says which measures are open; practice says how often they are used, how many places they
have, how long they last, what they cost and what they change. Each practice parameter has a default
(generic, with its source and provenance) that a pack's `practice.yaml` overrides with its own
figures in the same format as `parameters.yaml`. Each may carry an uncertainty distribution for
probabilistic sensitivity analysis:

- `{dist: triangular, low: L, high: H}`: around the value (the mode), absolute bounds;
- `{dist: factor, low: a, high: b}`: the value (every entry of a table) times a factor drawn
  triangular on [a, b] with mode 1.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from divert.errors import PackError
from divert.law.catalogue import CATALOGUE
from divert.law.policy import Parameter, ParameterSpec, Policy
from divert.law.practice_schema import DEFAULTS, MEASURE_TABLES, Default, effect_table
from divert.law.vocabulary import DISORDER_LEVELS, FIELDS, OFFENCE_TYPES, SUBSTANCES


@dataclass(frozen=True)
class PracticeValue:
    """A resolved practice value with where it came from."""

    name: str
    value: Any
    citation: str
    provenance: str
    source: str  # "pack" or "default"
    uncertainty: Mapping[str, Any] | None


def resolve(policy: Policy, day: date) -> dict[str, PracticeValue]:
    """Every practice parameter's value on `day`: the pack's where it has one, else the default.

    Before a pack value's first date its earliest value holds. A table keyed by measure takes its
    defaults from the measures' effects (the pack's own measures included) and the pack's
    entries over them. Remembered per loaded pack and period between the dates its values change.
    """
    changes = policy.by_day("practice changes", date.min, lambda: sorted(
        {d for p in policy.practice.values() for d in p.spec.values}))
    # the values only change on the pack's dates: remember one mapping per period between them
    period = changes[bisect.bisect_right(changes, day) - 1] if changes and day >= changes[0] \
        else date.min
    return dict(policy.by_day("practice", period, lambda: _resolve(policy, day)))


def _resolve(policy: Policy, day: date) -> dict[str, PracticeValue]:
    out: dict[str, PracticeValue] = {}
    for name, d in DEFAULTS.items():
        p: Parameter | None = policy.practice.get(name)
        value = p.at(day) if p is not None else None
        if value is None and p is not None and p.spec.values:  # a date before the pack's figures
            value = p.spec.values[min(p.spec.values)]
        if name in MEASURE_TABLES:
            base = effect_table(name, policy.measures)
            if value is not None:
                value = {**base, **value}
            else:
                out[name] = PracticeValue(name, base, d.citation, d.provenance, "default",
                                          d.uncertainty)
                continue
        if value is None:
            out[name] = PracticeValue(name, d.value, d.citation, d.provenance, "default",
                                      d.uncertainty)
        else:
            assert p is not None  # a value comes from the pack's parameter
            out[name] = PracticeValue(name, value, p.spec.citation, p.spec.provenance, "pack",
                                      p.spec.uncertainty if p.spec.uncertainty else d.uncertainty)
    return out


def uncertainty_samples(rng: np.random.Generator) -> dict[str, float]:
    """One uniform per practice parameter, in the fixed order of DEFAULTS: a replication's draws."""
    return {name: float(rng.random()) for name in DEFAULTS}


def draw(values: Mapping[str, PracticeValue],
         source: np.random.Generator | Mapping[str, float] | None) -> dict[str, Any]:
    """Plain values, each drawn from its uncertainty distribution when a source is given.

    `source` is a generator, or the uniforms of `uncertainty_samples` (so that the same
    replication's draws apply to values that change with the date); None gives central values.
    """
    samples = uncertainty_samples(source) if isinstance(source, np.random.Generator) else source
    out: dict[str, Any] = {}
    for name in DEFAULTS:
        pv = values[name]
        u = pv.uncertainty
        sample = samples[name] if samples is not None else None
        if u is None or sample is None:
            out[name] = pv.value
            continue
        if u.get("dist") == "factor":
            factor = _triangular(sample, float(u["low"]), 1.0, float(u["high"]))
            out[name] = ({k: v * factor for k, v in pv.value.items()}
                         if isinstance(pv.value, Mapping) else pv.value * factor)
        elif u.get("dist") == "triangular" and not isinstance(pv.value, Mapping):
            out[name] = _triangular(sample, float(u["low"]), float(pv.value), float(u["high"]))
        else:
            raise PackError(f"{name}.uncertainty: allowed: {{dist: factor|triangular, low, high}}")
    return out


def _triangular(u: float, low: float, mode: float, high: float) -> float:
    """Inverse CDF of the triangular distribution at u (low <= mode <= high)."""
    if high <= low:
        return mode
    mode = min(max(mode, low), high)
    cut = (mode - low) / (high - low)
    if u < cut:
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1 - u) * (high - low) * (high - mode))


def table(values: Mapping[str, Any], name: str, default: float = 0.0,
          measures: tuple[str, ...] | None = None) -> np.ndarray:
    """A keyed practice table as a float64 vector in the order of its key field's values (for a
    table by measure: `measures`, the run's measure ids, else the catalogue's)."""
    d = DEFAULTS[name]
    keys: tuple[str, ...]
    if d.keys == "measure":
        keys = measures if measures is not None else tuple(CATALOGUE)
    else:
        assert d.keys is not None
        keys = FIELDS[d.keys].values
    raw = values[name]
    return np.array([float(raw.get(k, default)) for k in keys])


def shares(values: Mapping[str, Any], name: str) -> np.ndarray:
    """A share table normalised to sum to 1."""
    vec = table(values, name)
    total = vec.sum()
    if total <= 0:
        raise PackError(f"{name}: shares must add up to more than 0")
    normalised: np.ndarray = vec / total
    return normalised


#: the date a value holds from when it has no date of its own (a divert default made dated)
EARLIEST = date(1900, 1, 1)


def times(value: Any, factor: float) -> Any:
    """A practice value (a number, or a table of numbers) multiplied by `factor`."""
    if isinstance(value, Mapping):
        return {k: float(v) * factor for k, v in value.items()}
    return float(value) * factor


def scaled(policy: Policy, factors: Mapping[str, float]) -> Policy:
    """The pack with each named practice parameter multiplied by its factor at every date."""
    practice = dict(policy.practice)
    for name, factor in factors.items():
        p = policy.practice.get(name)
        if p is not None:
            spec = p.spec.model_copy(update={"values": {d: times(v, factor)
                                                       for d, v in p.spec.values.items()}})
        else:
            d = DEFAULTS[name]
            spec = ParameterSpec(unit=d.unit, keys=d.keys, citation=d.citation,
                                 provenance="unverified", values={EARLIEST: times(d.value, factor)},
                                 uncertainty=dict(d.uncertainty) if d.uncertainty else None)
        practice[name] = Parameter(name, spec)
    return dataclasses.replace(policy, practice=practice)


__all__ = ["DEFAULTS", "Default", "PracticeValue", "Parameter", "resolve", "draw", "uncertainty_samples",
           "table", "shares", "EARLIEST", "times", "scaled",
           "DISORDER_LEVELS", "OFFENCE_TYPES", "SUBSTANCES"]
