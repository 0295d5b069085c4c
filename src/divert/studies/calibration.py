"""Calibration: fit a pack's uncertain practice parameters so its baseline reproduces observed targets.

Targets are data, one file per pack (`policies/<code>/targets.yaml`): each names the observed value,
the period it describes, how to compute the same quantity from a simulation (`metric`), the practice
parameters that should move to fit it, and its citation and provenance.

A metric reads the run's monthly series (`divert.simulation.run.SERIES`) or the person-level counts of
`divert.studies.observation.EXTRA` over the target's period (a year `YYYY` or a month `YYYY-MM`):

* `{sum: NAME}`: a flow summed over the period, scaled to the population;
* `{mean: NAME}` / `{stock: NAME}`: a stock averaged over the period / read in its last month, scaled;
* `{share: [NUM, DEN]}`: sum of NUM over sum of DEN (the scale cancels);
* any of these with `divide_by: X`: divided by an observed total (e.g. a country's prisoners, for a
  share of which the simulation knows only the numerator).

Each fitted parameter is multiplied by a factor at every date it has (its dated structure is kept);
the factor is bounded by the parameter's uncertainty range (`factor` low-high, or a `triangular`
range's low and high over the value at the run's start), so a fit never leaves what the pack says is
plausible. The objective is the sum of squared log errors, each over the target's `sd` (relative),
plus a weak pull of each log-factor towards 0 (`PRIOR_WEIGHT`, so that a parameter the targets do not
identify keeps the pack's value), evaluated with common random numbers (the same people and random
numbers at every evaluation) so that it changes smoothly with the parameters. SciPy minimises it on
log-factors: `least_squares` (trust region with bounds and forward differences of a 5% step, large
enough to see through the graininess of one sample) or `nelder_mead`. The evaluations are capped
(`max_evaluations`) and the best point seen is kept. The fit is reported as a table (target,
observed, simulated mean and interval across replications, error) and written as a scenario
overlay (`policies/<code>/scenarios/calibrated.yaml`, usable as `CODE+calibrated`).

The runs an evaluation needs at once (the finite-difference points of a Jacobian, the starting
simplex, the replications of the final table) go to the runner's executor as one batch of tasks,
so `--workers` and `--cluster` spread them over processes or a Dask cluster; each run depends only
on its parameters and replication, so the fit is the same on any executor.

`calibrate_from_registry` reads the de-identified tables of `divert registry export --deidentified`
and sets a programme measure's completion and duration from them, as an overlay too.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator, model_validator
from ruamel.yaml import YAML

from divert.advice.wording import Figure, Message, ngettext, render
from divert.errors import InputError
from divert.i18n import DEFAULT, N_, Translator, translator
from divert.law.policy import (
    Policy,
    Provenance,
    Strict,
    read_yaml,
)
from divert.law.practice import DEFAULTS, resolve, times
from divert.law.practice import scaled as scaled  # re-exported: calibration's fits are scaled packs
from divert.law.yaml_source import validate_model
from divert.simulation.run import SERIES, add_months
from divert.studies.observation import EXTRA, Observed, observe_run

METHODS = ("least_squares", "nelder_mead")
PRIOR_WEIGHT = 0.5
STEP = 0.05
"""A parameter moved to the edge of its range costs about a quarter of a target missed by one `sd`:
parameters the targets do not identify stay near the pack's values."""
DAYS_PER_MONTH = 365.25 / 12


# --- targets --------------------------------------------------------------------------------------


class TargetSpec(Strict):
    """One observed figure the baseline should reproduce (an entry of targets.yaml)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    value: float = Field(gt=0)
    period: str | None = Field(None, pattern=r"^\d{4}(-\d{2})?$")  # baseline: the first year
    observed: str | None = None       # when the observation was made, where not the period itself
    metric: dict[str, Any]
    parameters: list[str] = []
    sd: float = Field(0.05, gt=0)     # relative: the error counted as one unit in the objective
    tolerance: float | None = Field(None, gt=0)  # relative: a check passes within it (default sd)
    citation: str = Field(min_length=1)
    url: str | None = None
    provenance: Provenance
    notes: str | None = None

    @field_validator("period", "observed", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: dict[str, Any]) -> dict[str, Any]:
        kinds = [k for k in ("sum", "mean", "stock", "share") if k in v]
        extra = set(v) - {"sum", "mean", "stock", "share", "divide_by"}
        if len(kinds) != 1 or extra:
            raise ValueError("metric: give exactly one of sum, mean, stock (a series name) or share "
                             "([numerator, denominator]), optionally with divide_by")
        names = v[kinds[0]] if kinds[0] == "share" else [v[kinds[0]]]
        if kinds[0] == "share" and (not isinstance(names, list) or len(names) != 2):
            raise ValueError("metric.share: a list of two series names [numerator, denominator]")
        for n in names:
            if n not in SERIES and n not in EXTRA:
                raise ValueError(f"metric: unknown series {n!r}; allowed: "
                                 f"{', '.join((*SERIES, *EXTRA))}")
        if "divide_by" in v and not (isinstance(v["divide_by"], int | float) and v["divide_by"] > 0):
            raise ValueError("metric.divide_by: a positive number")
        return v

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in DEFAULTS:
                raise ValueError(f"{name!r} is not a practice parameter; allowed: {', '.join(DEFAULTS)}")
        return v


KINDS = ("backtest", "baseline", "held_out")
"""The sections of targets.yaml: `targets` (backtest: historical figures for runs across dated
changes of law, `period` the simulated year or month), `baseline` (the latest official figures the
present baseline is fitted to) and `held_out` (official figures the fit does not use, checked by
`divert validate`). A baseline or held-out target has no `period`: it is compared with the first
reported year of the baseline run (`BASELINE_START`, after the automatic burn-in); `observed`
gives the year the official figure describes."""
BASELINE_START = date(2026, 1, 1)
BASELINE_MONTHS = 12


class TargetsFile(Strict):
    """targets.yaml: the pack's backtest, baseline and held-out targets."""

    targets: list[TargetSpec] = []
    baseline: list[TargetSpec] = []
    held_out: list[TargetSpec] = []
    notes: str | None = None
    exempt: str | None = None         # why a pack has no official figures to fit (model pack)

    @model_validator(mode="after")
    def _unique(self) -> TargetsFile:
        if not (self.targets or self.baseline or self.held_out or self.exempt):
            raise ValueError("targets: give at least one target (targets, baseline or held_out), "
                             "or `exempt` with the reason there is none")
        names = [t.name for t in (*self.targets, *self.baseline, *self.held_out)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"targets: {dup[0]!r} appears more than once")
        for t in self.targets:
            if t.period is None:
                raise ValueError(f"targets: {t.name!r} needs a period (YYYY or YYYY-MM)")
        for t in (*self.baseline, *self.held_out):
            if t.period is not None:
                raise ValueError(f"{t.name!r}: a baseline or held-out target has no period (it is "
                                 "the baseline's first year); give the official year as observed")
            if not t.observed:
                raise ValueError(f"{t.name!r}: give `observed`, the year of the official figure")
        for t in self.held_out:
            if t.parameters:
                raise ValueError(f"{t.name!r}: a held-out target is not fitted (no parameters)")
        return self


@dataclass(frozen=True)
class Target:
    """A calibration target with the way to compute it from a run."""

    name: str
    value: float
    period: str
    metric: Mapping[str, Any]
    parameters: tuple[str, ...] = ()
    sd: float = 0.05
    citation: str = ""
    provenance: str = "unverified"
    description: str = ""
    observed: str | None = None
    kind: str = "backtest"
    tolerance: float | None = None

    @classmethod
    def from_spec(cls, s: TargetSpec, kind: str = "backtest") -> Target:
        period = s.period if s.period is not None else str(BASELINE_START.year)
        return cls(s.name, s.value, period, dict(s.metric), tuple(s.parameters), s.sd,
                   " ".join(s.citation.split()), s.provenance, " ".join(s.description.split()),
                   s.observed, kind, s.tolerance)

    @property
    def relative_tolerance(self) -> float:
        """The relative error within which the target counts as met (default its `sd`)."""
        return self.tolerance if self.tolerance is not None else self.sd

    def months(self) -> tuple[date, date]:
        """First and last month of the period."""
        if len(self.period) == 4:
            y = int(self.period)
            return date(y, 1, 1), date(y, 12, 1)
        y, m = (int(x) for x in self.period.split("-"))
        return date(y, m, 1), date(y, m, 1)

    def simulate(self, obs: Observed) -> float:
        """The target's quantity in an observed run (population units)."""
        r = obs.result
        first, last = self.months()
        days = [add_months(r.start, t) for t in range(r.months)]
        idx = [t for t, d in enumerate(days) if first <= d <= last]
        if not idx or days[idx[0]] != first or days[idx[-1]] != last:
            raise InputError(f"target {self.name}: period {self.period} is not inside the run "
                             f"({days[0]:%Y-%m} to {days[-1]:%Y-%m})")
        return self._measure(obs, idx)[0]

    def simulate_with_error(self, obs: Observed) -> tuple[float, float]:
        """The target's quantity and its Monte Carlo standard error in one run: Poisson on the
        simulated count of a sum or stock (people counted once per month for a mean), binomial
        for a share."""
        r = obs.result
        first, last = self.months()
        days = [add_months(r.start, t) for t in range(r.months)]
        idx = [t for t, d in enumerate(days) if first <= d <= last]
        if not idx:
            raise InputError(f"target {self.name}: period {self.period} is not inside the run")
        return self._measure(obs, idx)

    def _measure(self, obs: Observed, idx: list[int]) -> tuple[float, float]:
        r = obs.result
        m = self.metric
        div = float(m.get("divide_by", 1.0))
        if "share" in m:
            num, den = (float(obs.series(n)[idx].sum()) for n in m["share"])
            p = num / den if den > 0 else 0.0
            return p / div, math.sqrt(max(p * (1 - p), 0.0) / max(den / len(idx), 1.0)) / div
        if "sum" in m:
            count = float(obs.series(m["sum"])[idx].sum())
        elif "mean" in m:
            count = float(obs.series(m["mean"])[idx].mean())
        else:
            count = float(obs.series(m["stock"])[idx[-1]])
        return count * r.scale / div, math.sqrt(max(count, 1.0)) * r.scale / div


def targets_path(policy: Policy) -> Path:
    return policy.path / "targets.yaml"


def load_targets(source: Policy | Path | str, kind: str = "backtest") -> list[Target]:
    """The targets of one kind (`KINDS`) of a pack (its targets.yaml) or of a targets file;
    errors name file and line."""
    if kind not in KINDS:
        raise InputError(f"--targets: {kind!r} is not allowed; allowed: {', '.join(KINDS)}")
    path = targets_path(source) if isinstance(source, Policy) else Path(source)
    if not path.is_file():
        raise InputError(f"no calibration targets: {path} does not exist")
    data = read_yaml(path)
    spec = validate_model(TargetsFile, data, path)
    section = {"backtest": spec.targets, "baseline": spec.baseline, "held_out": spec.held_out}
    return [Target.from_spec(t, kind) for t in section[kind]]


def exemption(policy: Policy) -> str | None:
    """Why the pack has no targets to fit (its targets.yaml `exempt`), or None."""
    path = targets_path(policy)
    if not path.is_file():
        return None
    return validate_model(TargetsFile, read_yaml(path), path).exempt


# --- fitted parameters ----------------------------------------------------------------------------


@dataclass
class FittedParameter:
    """A practice parameter multiplied by `factor` at every date, within [low, high]."""

    name: str
    low: float
    high: float
    factor: float = 1.0
    before: Any = None            # the central value at the run's start
    dated: dict[date, Any] | None = None  # the pack's values by date (None: the divert default)
    targets: tuple[str, ...] = ()

    @property
    def after(self) -> Any:
        return times(self.before, self.factor)


def _rounded(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _round(v) for k, v in value.items()}
    return _round(value)


def _round(x: float) -> float:
    """Four significant figures (what a fit can claim)."""
    return float(f"{float(x):.4g}")


def bounds_of(policy: Policy, name: str, day: date) -> tuple[float, float] | None:
    """The factor range a parameter may be moved within: its uncertainty range, or None."""
    pv = resolve(policy, day)[name]
    u = pv.uncertainty
    if not u:
        return None
    if u.get("dist") == "factor":
        return float(u["low"]), float(u["high"])
    if u.get("dist") == "triangular" and not isinstance(pv.value, Mapping) and float(pv.value) > 0:
        v = float(pv.value)
        return float(u["low"]) / v, float(u["high"]) / v
    return None


# --- the fit --------------------------------------------------------------------------------------


@dataclass
class FitRow:
    """One line of the fit table."""

    target: str
    period: str
    observed: float
    simulated: float
    low: float
    high: float

    @property
    def error(self) -> float:
        """Relative error of the simulated mean: simulated / observed - 1."""
        return self.simulated / self.observed - 1 if self.observed else math.nan

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "period": self.period, "observed": self.observed,
                "simulated": self.simulated, "low": self.low, "high": self.high,
                "error": self.error}


@dataclass
class Fit:
    """The fitted parameters, the fit table and how the fit was made."""

    code: str
    pack_path: Path
    targets: list[Target]
    parameters: list[FittedParameter]
    rows: list[FitRow]
    before: list[FitRow]
    objective: float
    objective_before: float
    method: str
    persons: int
    seed: int
    start: date
    months: int
    replications: int
    evaluations: int
    seconds: float
    skipped: dict[str, str] = field(default_factory=dict)
    made_on: date = field(default_factory=date.today)
    kind: str = "backtest"

    @property
    def values(self) -> dict[str, Any]:
        """Fitted central values at the run's start, by parameter."""
        return {p.name: _rounded(p.after) for p in self.parameters}

    def table(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": self.code, "made_on": self.made_on.isoformat(), "method": self.method,
            "persons": self.persons, "seed": self.seed,
            "start": self.start.strftime("%Y-%m"), "months": self.months,
            "replications": self.replications, "evaluations": self.evaluations,
            "seconds": round(self.seconds, 1), "objective": self.objective,
            "objective_before": self.objective_before,
            "parameters": [{"name": p.name, "factor": p.factor, "low": p.low, "high": p.high,
                            "before": p.before, "after": _rounded(p.after),
                            "targets": list(p.targets)} for p in self.parameters],
            "skipped": self.skipped, "table": self.table(),
            "table_before": [r.to_json() for r in self.before],
        }

    def lines(self, t: Translator | None = None) -> list[str]:
        """The fit as plain text: parameters, then the table; in the language of `t` (the
        reports catalogue's; English without it), the figures in its digits."""
        t = t or translator(DEFAULT, "reports")

        def say(msgid: str, **params: Any) -> str:
            return render(Message(msgid, params), t)

        def num(x: float) -> str:
            return "-" if math.isnan(x) else render(Figure(x, ".3f" if abs(x) < 10 else ",.0f"), t)

        def show(value: Any) -> str:  # a value or a table of them, as the pack writes it
            return render(Figure(_show(value), "s"), t)

        many = 2 if t.locale == DEFAULT else None  # English has always written "1 parameters"
        out = [say(N_("%(code)s: fitted %(parameters)s to %(targets)s (%(method)s, "
                      "%(evaluations)s, %(persons)s persons, %(start)s + %(months)s months, "
                      "%(seconds)s s)"),
                   code=self.code,
                   parameters=ngettext("%(count)s parameter", "%(count)s parameters",
                                       many or len(self.parameters),
                                       count=Figure(len(self.parameters), "d")),
                   targets=ngettext("%(count)s target", "%(count)s targets",
                                    many or len(self.targets), count=Figure(len(self.targets), "d")),
                   method=self.method,
                   evaluations=ngettext("%(count)s evaluation", "%(count)s evaluations",
                                        many or self.evaluations,
                                        count=Figure(self.evaluations, "d")),
                   persons=Figure(self.persons, ","),
                   start=Figure(f"{self.start:%Y-%m}", "s"), months=Figure(self.months, "d"),
                   seconds=Figure(self.seconds, ".0f"))]
        for p in self.parameters:
            out.append("  " + say(N_("%(name)s: x%(factor)s (allowed %(low)s-%(high)s): "
                                     "%(before)s -> %(after)s"),
                                  name=p.name, factor=Figure(p.factor, ".3f"),
                                  low=Figure(p.low, ".3g"), high=Figure(p.high, ".3g"),
                                  before=show(p.before), after=show(_rounded(p.after))))
        for name, why in self.skipped.items():
            out.append("  " + say(N_("%(name)s: not fitted (%(why)s)"), name=name,
                                  why=Message(why)))
        heads = [t.gettext(h) for h in (N_("target"), N_("observed"), N_("simulated"),
                                        N_("interval"), N_("error"), N_("before"))]
        out.append(f"  {heads[0]:34} {heads[1]:>12} {heads[2]:>12} {heads[3]:>25} "
                   f"{heads[4]:>7} {heads[5]:>7}")
        for r, b in zip(self.rows, self.before, strict=True):
            error, was = (render(Figure(x, "+.1%"), t) for x in (r.error, b.error))
            out.append(f"  {r.target:34} {num(r.observed):>12} {num(r.simulated):>12} "
                       f"{num(r.low) + ' - ' + num(r.high):>25} {error:>7} {was:>7}")
        return out

    def write_overlay(self, path: Path | str | None = None) -> Path:
        """Write the fit as a scenario overlay (default `policies/<code>/scenarios/calibrated.yaml`)."""
        path = Path(path) if path else self.pack_path / "scenarios" / "calibrated.yaml"
        names = ", ".join(t.name for t in self.targets)
        changes: list[dict[str, Any]] = []
        for p in self.parameters:
            citation = f"divert calibrate {self.made_on.isoformat()}: fitted to {', '.join(p.targets)}"
            why = (f"{p.factor:.4g} times the pack's values (allowed {p.low:.3g}-{p.high:.3g}, its "
                   f"uncertainty range), in a joint fit to {len(self.targets)} targets")
            changes.extend(_set_changes(p.dated, p, citation, why))
        summary = (f"Practice parameters of {self.code} fitted by divert calibrate "
                   f"({self.method}, {self.persons:,} persons, seed {self.seed}, "
                   f"{self.start:%Y-%m} + {self.months} months) so that the baseline reproduces "
                   f"{names}. Objective {self.objective:.3g} (before {self.objective_before:.3g}). "
                   "Fitted values are calibrated, not observed: each stays within its uncertainty "
                   "range.")
        data = {"title": f"Calibrated practice for {self.code} ({self.made_on.isoformat()})",
                "summary": summary, "pack": self.code, "changes": changes}
        return _write_yaml(path, data, header=[
            "Written by divert calibrate; regenerate rather than edit.",
            *(f"{r.target}: observed {_num(r.observed)}, simulated {_num(r.simulated)} "
              f"({_num(r.low)}-{_num(r.high)}), error {r.error:+.1%}" for r in self.rows)])


    def write_practice(self, path: Path | str | None = None) -> Path:
        """Write the fitted values into the pack's practice.yaml, provenance `fitted`.

        Only the value in force when the baseline's burn-in starts (and later dated values) is
        multiplied by the factor, so the pack's history (backtests) is kept: where that value
        is older than the fitted targets' earliest official year, the fitted value is a new dated
        value from 1 January of that year. The citation names the command, the targets and the
        citation before the fit; comments and layout of the file are kept."""
        source = self.pack_path / "practice.yaml"
        path = Path(path) if path else source
        yaml = YAML()
        yaml.width = 100
        yaml.preserve_quotes = True
        # the pack's practice, fitted, written to `path` (another file leaves the pack unchanged)
        data = yaml.load(source.read_text(encoding="utf-8"))
        before = add_months(self.start, -1)
        for p in self.parameters:
            year = min(int(str(t.observed or t.period)[:4]) for t in self.targets
                       if t.name in p.targets)
            since = date(year, 1, 1)
            note = (f"divert calibrate {self.code} ({self.made_on.isoformat()}; {self.method}, "
                    f"{self.persons:,} persons, seed {self.seed}): x{p.factor:.4g} within the "
                    f"uncertainty range {p.low:.3g}-{p.high:.3g}, fitted to "
                    f"{', '.join(p.targets)} (targets.yaml baseline)")
            entry = data.get(p.name)
            if entry is None:
                d = DEFAULTS[p.name]
                entry = {"description": f"divert default {d.value} fitted to the pack's "
                                        "baseline targets", "unit": d.unit}
                if d.keys:
                    entry["keys"] = d.keys
                entry.update({"citation": note, "provenance": "fitted",
                              "values": {since: _rounded(times(d.value, p.factor))}})
                if d.uncertainty:
                    entry["uncertainty"] = dict(d.uncertainty)
                data[p.name] = entry
                continue
            old = " ".join(str(entry.get("citation", "")).split())
            if old.startswith("divert calibrate ") and "; before the fit: " in old:
                old = old.split("; before the fit: ", 1)[1]
            entry["citation"] = f"{note}; before the fit: {old}"
            entry["provenance"] = "fitted"
            values = entry["values"]
            dates = sorted(values)
            current = max([d for d in dates if d <= before] or dates[:1])
            if current < since and all(d <= before for d in dates):
                values[since] = _scaled_copy(values[current], p.factor)
                continue
            for d in dates:
                if d >= current:
                    _scale_in_place(values, d, p.factor)
        with path.open("w", encoding="utf-8") as f:
            yaml.dump(data, f)
        return path


def _scaled_copy(value: Any, factor: float) -> Any:
    if isinstance(value, Mapping):
        from ruamel.yaml.comments import CommentedMap

        out = CommentedMap((k, _round(float(v) * factor)) for k, v in value.items())
        out.fa.set_flow_style()
        return out
    return _round(float(value) * factor)


def _scale_in_place(values: Any, key: Any, factor: float) -> None:
    """Multiply values[key] by the factor, keeping a mapping's layout (flow style, comments)."""
    v = values[key]
    if isinstance(v, Mapping):
        for k in list(v):
            v[k] = _round(float(v[k]) * factor)  # type: ignore[index]  # YAML maps are dicts
    else:
        values[key] = _round(float(v) * factor)


def _set_changes(values: dict[date, Any] | None, p: FittedParameter, citation: str,
                 why: str) -> list[dict[str, Any]]:
    """set_parameter changes giving every dated value of the pack times the factor."""
    if not values:
        default = DEFAULTS[p.name].value
        return [{"set_parameter": p.name, "value": _rounded(times(default, p.factor)),
                 "provenance": "unverified", "citation": citation, "rationale": why}]
    out = []
    for d in sorted(values):
        out.append({"set_parameter": p.name, "from": d.isoformat(),
                    "value": _rounded(times(values[d], p.factor)), "provenance": "unverified",
                    "citation": citation, "rationale": why})
    return out


def _write_yaml(path: Path, data: dict[str, Any], header: list[str]) -> Path:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for line in header:
            f.write(f"# {line}\n")
        yaml.dump(data, f)
    return path


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_round(v):g}" for k, v in value.items()) + "}"
    return f"{_round(value):g}"


def _num(x: float) -> str:
    if math.isnan(x):
        return "-"
    if abs(x) < 10:
        return f"{x:.3f}"
    return f"{x:,.0f}"


# --- calibrate ------------------------------------------------------------------------------------


class _Budget(Exception):
    """The evaluation budget is spent."""


@dataclass(frozen=True)
class Evaluation:
    """One run of the objective: the pack with its log-factors, for one replication."""

    policy: Policy
    names: tuple[str, ...]
    x: tuple[float, ...]
    replication: int
    persons: int
    months: int
    start: date
    seed: int
    targets: tuple[Target, ...]
    warm_up: int | None = 0

    @property
    def key(self) -> tuple[bytes, int]:
        return np.asarray(self.x, dtype=float).tobytes(), self.replication


def evaluate(e: Evaluation) -> tuple[tuple[bytes, int], np.ndarray]:
    """The targets' quantities in one run (a top-level function, so executors can pickle it)."""
    pack = scaled(e.policy, {n: math.exp(v) for n, v in zip(e.names, e.x, strict=True)})
    obs = observe_run(pack, e.persons, e.months, e.start, e.seed, e.replication,
                      warm_up=e.warm_up)
    return e.key, np.array([t.simulate(obs) for t in e.targets])


def window(policy: Policy, targets: Sequence[Target], burn_in_years: int = 2) -> tuple[date, int]:
    """The run's start and length: from `burn_in_years` before the first target (not before the
    pack's first population figure) to the end of the last target's period."""
    first = min(t.months()[0] for t in targets)
    last = max(t.months()[1] for t in targets)
    start = date(first.year - burn_in_years, 1, 1)
    pop = policy.practice.get("population_size")
    if pop is not None:
        start = max(start, min(pop.spec.values).replace(day=1))
    if start > first:
        raise InputError(f"targets from {first:%Y-%m}: the pack's practice starts on {start}")
    months = (last.year - start.year) * 12 + last.month - start.month + 1
    return start, months


def calibrate(policy: Policy, targets: Sequence[Target] | Path | str | None = None, *,
              persons: int = 40000, seed: int = 1, method: str = "least_squares",
              replications: int = 3, max_evaluations: int = 60, burn_in_years: int = 2,
              progress: Callable[[int, float], None] | None = None,
              executor: Any = None, kind: str = "backtest") -> Fit:
    """Fit the uncertain practice parameters that the targets name so the baseline reproduces them.

    `targets`: the pack's targets.yaml (None: its section `kind`), a targets file, or Target
    objects. Backtest targets are simulated from `burn_in_years` before the first one without a
    burn-in; baseline targets in the first year from `BASELINE_START` after the simulation's
    automatic burn-in, as `divert simulate` reports it. Each evaluation
    is one run of `persons` people with central values and the same random numbers; the fitted
    point is then run for `replications` replications for the table's intervals. `progress(n,
    objective)` is called after each evaluation. `executor` (the runner's; default in this
    process) runs the evaluations that are needed together.
    """
    from divert.simulation.executors import InProcess

    began = time.perf_counter()
    if method not in METHODS:
        raise InputError(f"--method: {method!r} is not allowed; allowed: {', '.join(METHODS)}")
    if persons <= 0 or replications <= 0 or max_evaluations <= 0:
        raise InputError("persons, replications and max_evaluations must be positive")
    if targets is None:
        goal = load_targets(policy, kind)
    elif isinstance(targets, Path | str):
        goal = load_targets(targets, kind)
    else:
        goal = list(targets)
    if not goal and targets is None:
        why = exemption(policy)
        raise InputError(f"no calibration targets: {policy.code} is exempt ({' '.join(why.split())})"
                         if why else f"no calibration targets: no {kind} targets in "
                                     f"{targets_path(policy)}")
    if not goal or any(t.value <= 0 for t in goal):
        raise InputError(f"targets: at least one {kind} target, each with a positive observed "
                         "value")
    baseline = all(t.kind != "backtest" for t in goal)
    warm_up: int | None = None if baseline else 0
    if baseline:
        start, months = BASELINE_START, BASELINE_MONTHS
    else:
        start, months = window(policy, goal, burn_in_years)
    params: dict[str, FittedParameter] = {}
    skipped: dict[str, str] = {}
    values = resolve(policy, start)
    for t in goal:
        for name in t.parameters:
            if name in params:
                params[name].targets += (t.name,)
                continue
            if name in skipped:
                continue
            b = bounds_of(policy, name, start)
            if b is None or not b[0] < b[1]:
                skipped[name] = N_("no uncertainty range to fit within")
                continue
            p = policy.practice.get(name)
            params[name] = FittedParameter(
                name, b[0], b[1], 1.0, _rounded(values[name].value),
                dict(p.spec.values) if p is not None else None, (t.name,))
    fitted = list(params.values())
    lo = np.log([p.low for p in fitted])
    hi = np.log([p.high for p in fitted])
    x0 = np.clip(np.zeros(len(fitted)), lo + 1e-6, hi - 1e-6)
    half = np.maximum((hi - lo) / 2, 1e-6)
    log_obs = np.log([t.value for t in goal])
    sds = np.array([t.sd for t in goal])
    evaluations = 0
    best: dict[str, Any] = {"cost": math.inf, "x": x0}

    runs: dict[tuple[bytes, int], np.ndarray] = {}
    ex = executor if executor is not None else InProcess()
    names = tuple(p.name for p in fitted)

    def task(x: np.ndarray, replication: int) -> Evaluation:
        return Evaluation(policy, names, tuple(float(v) for v in np.asarray(x, dtype=float)),
                          replication, persons, months, start, seed, tuple(goal), warm_up)

    def prefetch(points: Sequence[tuple[np.ndarray, int]]) -> None:
        """Run the points not yet run, together on the executor."""
        todo = {t.key: t for t in (task(x, r) for x, r in points) if t.key not in runs}
        for key, values in ex.map(evaluate, list(todo.values())):
            runs[key] = values

    def simulate(x: np.ndarray, replication: int = 0) -> np.ndarray:
        key = (np.asarray(x, dtype=float).tobytes(), replication)
        if key not in runs:
            prefetch([(x, replication)])
        return runs[key]

    def residuals(x: np.ndarray) -> np.ndarray:
        nonlocal evaluations
        if evaluations >= max_evaluations:
            raise _Budget
        evaluations += 1
        sim = simulate(np.clip(x, lo, hi).astype(float))
        res = np.concatenate([(np.log(np.maximum(sim, 1e-12)) - log_obs) / sds,
                              PRIOR_WEIGHT * x / half])
        cost = float(res @ res)
        if cost < best["cost"]:
            best.update(cost=cost, x=np.array(x))
        if progress is not None:
            progress(evaluations, cost)
        return res

    def jacobian(x: np.ndarray) -> np.ndarray:
        """Forward differences with a step of STEP in log-factor (backward at the upper bound):
        large enough to see through the person-level graininess of one simulated sample."""
        f0 = cached(x)
        out = np.zeros((f0.shape[0], x.shape[0]))
        steps = [STEP if x[j] + STEP <= hi[j] else -STEP for j in range(x.shape[0])]
        points = []
        for j in range(x.shape[0]):
            xj = np.array(x)
            xj[j] += steps[j]
            points.append(xj)
        left = max_evaluations - evaluations
        prefetch([(np.clip(xj, lo, hi).astype(float), 0) for xj in points
                   if np.asarray(xj, dtype=float).tobytes() not in seen][:left])
        for j, xj in enumerate(points):
            out[:, j] = (cached(xj) - f0) / steps[j]
        return out

    seen: dict[bytes, np.ndarray] = {}

    def cached(x: np.ndarray) -> np.ndarray:
        key = np.asarray(x, dtype=float).tobytes()
        if key not in seen:
            seen[key] = residuals(np.asarray(x, dtype=float))
        return seen[key]

    cost0 = float(np.sum(cached(x0)[:len(goal)] ** 2))
    if fitted:
        from scipy.optimize import least_squares, minimize

        try:
            if method == "least_squares":
                least_squares(cached, x0, jac=jacobian, bounds=(lo, hi), method="trf",
                              x_scale=half, xtol=1e-3, ftol=1e-4)
            else:
                simplex = [x0] + [np.clip(x0 + np.eye(len(x0))[i] * 0.1, lo, hi)
                                  for i in range(len(x0))]
                prefetch([(np.clip(xs, lo, hi).astype(float), 0)
                          for xs in simplex][:max_evaluations - evaluations])
                minimize(lambda x: float(np.sum(cached(x) ** 2)), x0, method="Nelder-Mead",
                         bounds=list(zip(lo, hi, strict=True)),
                         options={"initial_simplex": np.array(simplex), "xatol": 5e-3,
                                  "fatol": 1e-3})
        except _Budget:
            pass
    x = np.clip(best["x"], lo, hi)
    for fp, v in zip(fitted, x, strict=True):
        fp.factor = _round(math.exp(v))
    x_fit = np.log([fp.factor for fp in fitted]) if fitted else None
    prefetch([(np.clip(x0, lo, hi).astype(float), r) for r in range(replications)]
             + ([(x_fit, r) for r in range(replications)] if x_fit is not None else []))
    final = np.array([simulate(np.log([p.factor for p in fitted]), r)
                      for r in range(replications)]) if fitted else None
    first = np.array([simulate(np.clip(x0, lo, hi).astype(float), r) for r in range(replications)])
    after = final if final is not None else first
    rows = _rows(goal, after)
    res = (np.log(np.maximum(after.mean(axis=0), 1e-12)) - log_obs) / sds
    return Fit(policy.code, policy.path, goal, fitted, rows, _rows(goal, first), float(res @ res),
               cost0, method, persons, seed, start, months, replications, evaluations,
               time.perf_counter() - began, skipped, kind=goal[0].kind)


def _rows(goal: Sequence[Target], sims: np.ndarray) -> list[FitRow]:
    rows = []
    for j, t in enumerate(goal):
        col = sims[:, j]
        rows.append(FitRow(t.name, t.period, t.value, float(col.mean()),
                           float(np.percentile(col, 2.5)), float(np.percentile(col, 97.5))))
    return rows


# --- from the registry ----------------------------------------------------------------------------


@dataclass
class RegistryFit:
    """Practice values measured in a programme registry's de-identified tables."""

    code: str
    pack_path: Path
    measure: str
    programmes: list[str]
    values: dict[str, float]          # practice parameter -> value for `measure`
    evidence: dict[str, str]          # practice parameter -> what it was computed from
    source: Path
    made_on: date = field(default_factory=date.today)
    said: dict[str, Message] = field(default_factory=dict)  # the evidence as messages

    def to_json(self) -> dict[str, Any]:
        return {"jurisdiction": self.code, "measure": self.measure, "programmes": self.programmes,
                "values": self.values, "evidence": self.evidence, "source": str(self.source)}

    def lines(self, t: Translator | None = None) -> list[str]:
        """The values and what each was computed from, for the terminal, in the language of `t`
        (the reports catalogue's; English without it)."""
        t = t or translator(DEFAULT, "reports")
        head = render(Message(N_("%(code)s: %(measure)s from the registry (%(programmes)s)"),
                              {"code": self.code, "measure": self.measure,
                               "programmes": ", ".join(self.programmes)}), t)
        return [head, *(f"  {k}: {render(Figure(v, '.4g'), t)} "
                        f"({render(self.said.get(k, self.evidence.get(k, '')), t)})"
                        for k, v in self.values.items())]

    def write_overlay(self, path: Path | str | None = None) -> Path:
        """The values as a scenario overlay (default `policies/<code>/scenarios/registry.yaml`)."""
        path = Path(path) if path else self.pack_path / "scenarios" / "registry.yaml"
        progs = ", ".join(self.programmes)
        citation = (f"divert calibrate {self.made_on.isoformat()} from the registry's de-identified "
                    f"tables ({self.source.name}; programmes {progs})")
        changes = [{"set_parameter": name, "entries": {self.measure: _round(value)},
                    "provenance": "verified", "citation": citation,
                    "rationale": self.evidence[name]} for name, value in self.values.items()]
        data = {"title": f"{self.measure} practice measured in the registry ({self.made_on})",
                "summary": f"Completion and duration of {self.measure} in {self.code} set from "
                           f"the de-identified aggregate tables of programmes {progs}.",
                "pack": self.code, "changes": changes}
        return _write_yaml(path, data, header=["Written by divert calibrate from registry tables; "
                                               "regenerate rather than edit."])


def _registry_tables(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The export's tables: tables.json where present, else the CSV files."""
    path = folder / "tables.json"
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: v for k, v in data.items() if k != "manifest"}
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in ("outcomes", "phase_durations", "rearrest_by_quadrant"):
        f = folder / f"{name}.csv"
        if f.is_file():
            with f.open(newline="", encoding="utf-8") as fh:
                tables[name] = [{k: _cell(v) for k, v in row.items()}
                                for row in csv.DictReader(fh)]
    if not tables:
        raise InputError(f"{folder}: no tables.json or CSV tables of `divert registry export "
                         "--deidentified`")
    return tables


def _cell(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def calibrate_from_registry(policy: Policy, aggregates_dir: Path | str, *,
                            measure: str = "drug_treatment_court",
                            programmes: Sequence[str] | None = None) -> RegistryFit:
    """Completion (graduation rate) and duration of `measure` from a registry's aggregate tables.

    Graduation rate: graduated / left (graduated, terminated or withdrawn), pooled over the
    programmes' `all` rows that are not suppressed. Duration: the sum over phases of the mean
    completed stay, pooled over programmes (weighted by people), in months: the time a graduate
    spends in the programme (earlier phases also count the stays of people who later left).
    Suppressed cells (null) are left out; a value with no unsuppressed cell is not set.
    """
    from divert.law.catalogue import CATALOGUE

    if measure not in CATALOGUE:
        raise InputError(f"--measure: {measure!r} is not a catalogue measure")
    folder = Path(aggregates_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of registry tables")
    tables = _registry_tables(folder)
    wanted = set(programmes) if programmes else None

    def rows(name: str) -> list[dict[str, Any]]:
        return [r for r in tables.get(name, []) if wanted is None or r.get("programme") in wanted]

    values: dict[str, float] = {}
    said: dict[str, Message] = {}
    used: set[str] = set()
    graduated = left = 0.0
    for r in rows("outcomes"):
        if r.get("quadrant") == "all" and r.get("graduated") is not None and r.get("left"):
            graduated += float(r["graduated"])
            left += float(r["left"])
            used.add(str(r["programme"]))
    if left > 0:
        values["measure_completion_prob"] = graduated / left
        said["measure_completion_prob"] = Message(
            N_("%(graduated)s graduated of %(left)s who left (graduated, terminated or withdrawn)"),
            {"graduated": Figure(graduated, ".0f"), "left": Figure(left, ".0f")})
    phases: dict[int, list[tuple[float, float]]] = {}
    for r in rows("phase_durations"):
        if r.get("people") and r.get("mean_days") is not None:
            phases.setdefault(int(float(r["phase"])), []).append(
                (float(r["people"]), float(r["mean_days"])))
            used.add(str(r["programme"]))
    if phases:
        days = sum(sum(n * d for n, d in stays) / sum(n for n, _ in stays)
                   for stays in phases.values())
        values["measure_duration_months"] = days / DAYS_PER_MONTH
        said["measure_duration_months"] = Message(
            N_("sum over %(phases)s phases of the mean completed stay: %(days)s days"),
            {"phases": Figure(len(phases), "d"), "days": Figure(days, ".0f")})
    if not values:
        raise InputError(f"{folder}: no unsuppressed outcomes or phase durations"
                         + (f" for programmes {', '.join(sorted(wanted))}" if wanted else ""))
    evidence = {k: render(m, translator(DEFAULT, "reports")) for k, m in said.items()}
    return RegistryFit(policy.code, policy.path, measure, sorted(used), values, evidence, folder,
                       said=said)


__all__ = ["Target", "TargetSpec", "load_targets", "exemption", "calibrate", "KINDS",
           "BASELINE_START", "BASELINE_MONTHS", "Fit", "FitRow",
           "FittedParameter", "calibrate_from_registry", "RegistryFit", "scaled", "bounds_of",
           "window", "METHODS"]
