"""Global sensitivity analysis: which of a pack's uncertain practice parameters drive an outcome.

The parameters are the practice values with an uncertainty range (`divert.law.practice`), each moved
by a factor within that range (as calibration does, `divert.studies.calibration.bounds_of`). SALib draws
the points (Morris elementary effects, or Sobol' indices from Saltelli's scheme); each point is one
run of the pack with those factors and central values otherwise, all with the same people and
random numbers (replication 0), so an index measures the parameter, not noise. The runs go to the
runner's executor as a batch of tasks, so they spread over processes or a Dask cluster and give the
same indices on any executor.

Morris reports mu* (mean absolute elementary effect, in the outcome's units) and sigma; Sobol'
reports the first-order (S1) and total (ST) indices. Results: a table, JSON and an HTML report with
a tornado plot of each outcome.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from divert.advice.wording import Figure, render
from divert.errors import InputError
from divert.i18n import DEFAULT, N_, Translator, translator
from divert.simulation.executors import Executor, InProcess
from divert.simulation.outcomes import TOTALS, totals
from divert.simulation.runner import Task, load_scenario_policy, run_task

METHODS = ("morris", "sobol")
OUTCOMES = ("arrests", "prison_person_months", "treatment_person_months", "overdose_deaths",
            "cost_total_discounted")
DEFAULT_SAMPLES = {"morris": 4, "sobol": 64}  # Morris trajectories; Sobol' base samples
LEVELS = 4


@dataclass(frozen=True)
class Point:
    """One run of the design: its row and the task that simulates it."""

    index: int
    task: Task
    outcomes: tuple[str, ...]


def run_point(point: Point) -> tuple[int, list[float]]:
    """The outcomes of one point, scaled to the population (top-level, so executors pickle it)."""
    result = run_task(point.task)
    t = totals(result)
    return point.index, [t[o] * result.scale for o in point.outcomes]


def uncertain_parameters(policy: Any, day: date) -> dict[str, tuple[float, float]]:
    """Practice parameters with a factor range to move within, by name."""
    from divert.law.practice import DEFAULTS
    from divert.studies.calibration import bounds_of

    out = {}
    for name in DEFAULTS:
        b = bounds_of(policy, name, day)
        if b is not None and b[0] < b[1]:
            out[name] = b
    return out


@dataclass
class Sensitivity:
    """Indices by outcome and parameter, with what replays them."""

    scenario: str
    method: str
    samples: int
    runs: int
    parameters: dict[str, tuple[float, float]]
    outcomes: list[str]
    indices: dict[str, list[dict[str, Any]]]     # outcome -> rows sorted by importance
    stamp: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return "mu_star" if self.method == "morris" else "ST"

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "method": self.method, "samples": self.samples,
                "runs": self.runs, "index": self.key, "stamp": self.stamp,
                "parameters": {k: {"low": v[0], "high": v[1]} for k, v in self.parameters.items()},
                "indices": self.indices}

    def ranking(self, outcome: str) -> list[str]:
        return [row["parameter"] for row in self.indices[outcome]]

    def lines(self, top: int = 10, t: Translator | None = None) -> list[str]:
        """The most influential parameters per outcome, as plain text; in the language of `t`
        (the reports catalogue's; English without it), the figures in its digits. The outcomes,
        parameters and indices (mu_star, ST) are ids, written as they are."""
        t = t or translator(DEFAULT, "reports")
        cols = ("mu_star", "sigma") if self.method == "morris" else ("S1", "ST")
        out = [t.gettext(N_("%(scenario)s: %(method)s sensitivity, %(parameters)s parameters, "
                            "%(runs)s runs (%(persons)s persons, %(months)s months)")) % {
            "scenario": self.scenario, "method": self.method,
            "parameters": render(Figure(len(self.parameters), "d"), t),
            "runs": render(Figure(self.runs, "d"), t),
            "persons": render(Figure(self.stamp.get("persons", 0), ","), t),
            "months": render(Figure(self.stamp.get("months", 0), "d"), t)}]
        parameter, relative = t.gettext(N_("parameter")), t.gettext(N_("relative"))
        for o in self.outcomes:
            if not any(row[cols[0]] for row in self.indices[o]):
                out.append(f"  {o}: {t.gettext(NO_EFFECT)}")
                continue
            out.append(f"  {o}: {parameter:36} {cols[0]:>14} {cols[1]:>14} {relative:>9}")
            for row in self.indices[o][:top]:
                a, b = (render(Figure(row[c], ".4g"), t) for c in cols)
                out.append(f"    {row['parameter']:38} {a:>14} {b:>14} "
                           f"{render(Figure(row['relative'], '.3f'), t):>9}")
        return out


def analyse(scenario: str, *, method: str = "morris", samples: int | None = None,
            persons: int = 5000, months: int = 60, start: date = date(2025, 1, 1), seed: int = 1,
            outcomes: Sequence[str] | None = None, parameters: Sequence[str] | None = None,
            engine: str = "numba", executor: Executor | None = None,
            progress: Callable[[int, int], None] | None = None) -> Sensitivity:
    """Sensitivity of `outcomes` to the scenario's uncertain practice parameters."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from divert.law.policy import policies_root
    from divert.simulation.runner import stamp

    if method not in METHODS:
        raise InputError(f"--method: {method!r} is not allowed; allowed: {', '.join(METHODS)}")
    n = DEFAULT_SAMPLES[method] if samples is None else samples
    if n < 2:
        raise InputError(f"--samples: must be at least 2, got {n}")
    if persons <= 0 or months <= 0:
        raise InputError("--persons and --years: must be positive")
    wanted = list(outcomes or OUTCOMES)
    for o in wanted:
        if o not in TOTALS:
            raise InputError(f"--outcome: {o!r} is not allowed; allowed: {', '.join(TOTALS)}")
    policy = load_scenario_policy(scenario)
    ranges = uncertain_parameters(policy, start)
    if parameters:
        for name in parameters:
            if name not in ranges:
                raise InputError(f"--parameter: {name!r} has no uncertainty range in {scenario}; "
                                 f"allowed: {', '.join(ranges)}")
        ranges = {k: ranges[k] for k in parameters}
    if len(ranges) < 2:
        raise InputError(f"{scenario}: fewer than two uncertain parameters to compare")
    names = list(ranges)
    problem = {"num_vars": len(names), "names": names, "bounds": [list(ranges[k]) for k in names]}
    if method == "morris":
        X = morris_sample.sample(problem, n, num_levels=LEVELS, seed=seed)
    else:
        X = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    root = str(policies_root().resolve())
    points = [Point(i, Task(scenario, 0, persons, months, start, seed, engine, False,
                            tuple(zip(names, (float(v) for v in row), strict=True)), root),
                    tuple(wanted)) for i, row in enumerate(X)]
    Y = np.full((len(points), len(wanted)), np.nan)
    ex = executor if executor is not None else InProcess()
    for done, (i, values) in enumerate(ex.map(run_point, points), start=1):
        Y[i] = values
        if progress is not None:
            progress(done, len(points))
    indices: dict[str, list[dict[str, Any]]] = {}
    for j, o in enumerate(wanted):
        y = Y[:, j]
        scale = float(np.abs(y).mean()) or 1.0
        if method == "morris":
            r = morris_analyze.analyze(problem, X, y, num_levels=LEVELS, seed=seed)
            rows = [{"parameter": k, "mu_star": float(r["mu_star"][i]), "mu": float(r["mu"][i]),
                     "sigma": float(r["sigma"][i]),
                     "mu_star_conf": float(r["mu_star_conf"][i]),
                     "relative": float(r["mu_star"][i]) / scale} for i, k in enumerate(names)]
        else:
            flat = bool(np.ptp(y) == 0)
            r = None if flat else sobol_analyze.analyze(problem, y, calc_second_order=False,
                                                         seed=seed)
            rows = [{"parameter": k, "S1": 0.0 if r is None else float(r["S1"][i]),
                     "ST": 0.0 if r is None else float(r["ST"][i]),
                     "ST_conf": 0.0 if r is None else float(r["ST_conf"][i]),
                     "relative": 0.0 if r is None else float(r["ST"][i])}
                    for i, k in enumerate(names)]
        key = "mu_star" if method == "morris" else "ST"
        indices[o] = sorted(rows, key=lambda row: (-row[key], row["parameter"]))
    st = stamp([scenario], {scenario: policy}, persons=persons, months=months, start=start,
               replications=1, seed=seed, engine=engine, uncertainty=False)
    st["sensitivity"] = {"method": method, "samples": n, "levels": LEVELS if method == "morris"
                         else None, "parameters": names, "outcomes": wanted}
    return Sensitivity(scenario, method, n, len(points), ranges, wanted, indices, st)


NO_EFFECT = N_("no parameter changed this outcome in these runs (a rare outcome in a small sample: "
             "raise --persons or --years)")


def tornado(result: Sensitivity, path: Path, top: int = 12) -> Path:
    """Horizontal bars of each outcome's most influential parameters (largest at the top)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.outcomes)
    fig, axes = plt.subplots(n, 1, figsize=(8, 1.2 + 0.32 * min(top, len(result.parameters)) * n),
                             squeeze=False)
    label = "mu* (outcome units)" if result.method == "morris" else "total-order index ST"
    for ax, o in zip(axes[:, 0], result.outcomes, strict=True):
        rows = result.indices[o][:top][::-1]
        values = [row[result.key] for row in rows]
        ax.set_title(o.replace("_", " "), loc="left", fontsize=10)
        if not any(values):
            ax.set_axis_off()
            ax.text(0.5, 0.5, NO_EFFECT, ha="center", va="center", fontsize=9,
                    transform=ax.transAxes, wrap=True)
            continue
        ax.barh([row["parameter"] for row in rows], values, color="#2b6cb0")
        ax.set_xlabel(label, fontsize=8)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(result: Sensitivity, out: Path) -> Path:
    """`sensitivity.json`, `tornado.png` and `sensitivity.html` in `out`."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create {out}: {exc.strerror}") from None
    (out / "sensitivity.json").write_text(json.dumps(result.to_json(), indent=2, sort_keys=True)
                                          + "\n")
    tornado(result, out / "tornado.png")
    cols = ("mu_star", "sigma") if result.method == "morris" else ("S1", "ST")
    parts = [f"<h1>Sensitivity of {html.escape(result.scenario)}</h1>",
             f"<p>{result.method} over {len(result.parameters)} uncertain practice parameters, "
             f"{result.runs} runs of {result.stamp['persons']:,} persons over "
             f"{result.stamp['months']} months from {result.stamp['start']} (seed "
             f"{result.stamp['seed']}; same people and random numbers at every point). Each "
             f"parameter moves by a factor within its uncertainty range.</p>",
             '<img src="tornado.png" alt="tornado plot of the indices">']
    for o in result.outcomes:
        rows = "".join(f"<tr><td>{html.escape(r['parameter'])}</td><td>{r[cols[0]]:.4g}</td>"
                       f"<td>{r[cols[1]]:.4g}</td><td>{r['relative']:.3f}</td></tr>"
                       for r in result.indices[o])
        if not any(r[result.key] for r in result.indices[o]):
            parts.append(f"<h2>{html.escape(o)}</h2><p>{html.escape(NO_EFFECT)}.</p>")
            continue
        parts.append(f"<h2>{html.escape(o)}</h2><table><tr><th>parameter</th><th>{cols[0]}</th>"
                     f"<th>{cols[1]}</th><th>relative</th></tr>{rows}</table>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>divert sensitivity</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "td,th{padding:2px 10px;text-align:right}td:first-child,th:first-child"
            "{text-align:left}img{max-width:100%}</style></head><body>"
            + "".join(parts) + "</body></html>\n")
    path = out / "sensitivity.html"
    path.write_text(page, encoding="utf-8")
    return path


__all__ = ["analyse", "Sensitivity", "write_report", "tornado", "uncertain_parameters",
           "METHODS", "OUTCOMES"]
