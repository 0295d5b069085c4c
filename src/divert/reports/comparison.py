"""The comparison report: PNG figures and one self-contained HTML file for `divert compare`.

`write_report(comparison, out_dir)` writes trajectories with 95% bands, a chart of differences from
the baseline, and `report.html`, which embeds the figures as data URIs and needs no network: the
stamp that replays the run, a summary table with differences and intervals, cohort rearrest by
pathway, and what each scenario changes in the law. Everything is aggregated with NumPy over
(replications x months x series) arrays. Figures are drawn on matplotlib's Agg canvas directly
(no pyplot, so no interactive backend and no global figure state).
"""

from __future__ import annotations

import base64
import io
import math
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from divert.errors import DivertError, InputError
from divert.law.catalogue import CATALOGUE
from divert.simulation.outcomes import cohort_rates, interval, totals
from divert.simulation.run import COHORT_YEARS, COST_SECTORS, SERIES, RunResult, add_months
from divert.simulation.runner import Comparison
from divert.simulation.scenarios import ScenarioSpec, resolve_overlay

MIN_COHORT = 30
"""Pathways with fewer people than this (simulated sample, pooled over replications) are not shown."""

TRAJECTORIES: tuple[tuple[str, str, str], ...] = (
    ("in_prison", "People in prison or pre-trial detention", "people"),
    ("in_prison_drug_offence", "People in prison for a drug offence", "people"),
    ("in_treatment", "People in treatment for drug use (community or prison)", "people"),
    ("overdose_deaths", "Overdose deaths", "deaths per month"),
    ("arrests", "Arrests", "arrests per month"),
    ("diversions", "Diversions to a measure instead of prosecution or prison", "people per month"),
    ("cost_total", "Public cost, all sectors", "{currency} million per month, undiscounted"),
)
"""Metric, title and y-axis unit of each trajectory figure."""

# summary rows: key, label, unit, and how to get the value from one run's totals and final stocks
Row = tuple[str, str, str, Callable[[dict[str, float], dict[str, float]], float]]


def _total(name: str, divide: float = 1.0) -> Callable[[dict[str, float], dict[str, float]], float]:
    return lambda t, f: t[name] / divide


def _final(name: str) -> Callable[[dict[str, float], dict[str, float]], float]:
    return lambda t, f: f[name]


SECTOR_LABELS = {"police": "police", "courts": "courts", "prison": "prison",
                 "probation": "probation and community measures", "treatment": "treatment",
                 "health": "health (overdoses)"}

ROWS: tuple[Row, ...] = (
    ("arrests", "Arrests", "", _total("arrests")),
    ("prosecutions", "Prosecutions", "", _total("prosecutions")),
    ("convictions", "Convictions", "", _total("convictions")),
    ("diversions", "Diversions", "", _total("diversions")),
    ("prison_admissions", "Prison admissions", "", _total("prison_admissions")),
    ("prison_years", "Prison and pre-trial detention", "person-years",
     _total("prison_person_months", 12.0)),
    ("treatment_years", "Treatment", "person-years", _total("treatment_person_months", 12.0)),
    ("overdose_deaths", "Overdose deaths", "", _total("overdose_deaths")),
    ("overdose_deaths_after_release", "of which within 12 months of release", "",
     _total("overdose_deaths_after_release")),
    ("deaths", "Deaths, all causes", "", _total("deaths")),
    ("life_years_lost", "Life-years lost", "years", _total("life_years_lost")),
    *((f"cost_{s}", f"Cost: {SECTOR_LABELS[s]}", "money", _total(f"cost_{s}_discounted", 1e6))
      for s in COST_SECTORS),
    ("cost_total", "Cost: all sectors", "money", _total("cost_total_discounted", 1e6)),
    ("final_in_prison", "In prison or pre-trial detention at the end", "people",
     _final("in_prison")),
    ("final_in_treatment", "In treatment at the end", "people", _final("in_treatment")),
)

ROW_CSS = {"overdose_deaths_after_release": "sub", "cost_police": "cost-first",
           "final_in_prison": "final-first"}

CHART_ROWS = ("arrests", "convictions", "diversions", "prison_years", "treatment_years",
              "overdose_deaths", "deaths", "cost_total")
"""The main totals in the chart of differences from the baseline."""

COLOURS = ("#3b3b3b", "#1f77b4", "#d95f02", "#2ca02c", "#7b3294", "#a6761d", "#e7298a", "#66a61e")
FIGURE_RC = {"font.family": "DejaVu Sans", "font.size": 9.5, "axes.titlesize": 11,
             "axes.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
             "axes.grid": True, "grid.color": "#e3e3e3", "grid.linewidth": 0.7,
             "legend.frameon": False}
DPI = 110

_ENV = Environment(loader=PackageLoader("divert.reports", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


# --- aggregation ---------------------------------------------------------------------------------


@dataclass
class ScenarioData:
    """One scenario's results as arrays, scaled to the population, each run by its own scale."""

    label: str
    name: str
    colour: str
    replications: np.ndarray                   # R replication numbers, sorted
    series: np.ndarray                         # R x months x len(SERIES), population units
    rows: np.ndarray                           # R x len(ROWS), population units
    scales: np.ndarray                         # R
    discount: np.ndarray                       # R yearly discount rates
    overlays: list[dict[str, Any]] = field(default_factory=list)
    effective: date | None = None              # earliest date the overlays change the law


def _scenario_data(comparison: Comparison, label: str, colour: str) -> ScenarioData:
    runs: list[RunResult] = sorted(comparison.results[label], key=lambda r: r.replication)
    scales = np.array([r.scale for r in runs])
    series = np.stack([r.series for r in runs]) * scales[:, None, None]
    rows = np.array([[get(totals(r), r.final) for _, _, _, get in ROWS] for r in runs])
    rows *= scales[:, None]
    overlays, effective = _overlay_info(label)
    policy = comparison.policies.get(label)
    names = policy.overlays if policy is not None else [o["name"] for o in overlays]
    code = policy.code if policy is not None else ScenarioSpec.parse(label).code
    return ScenarioData(
        label=label, name=" + ".join([code, *names]), colour=colour,
        replications=np.array([r.replication for r in runs]), series=series, rows=rows,
        scales=scales,
        discount=np.array([float(r.values.get("discount_rate_per_year", 0.0)) for r in runs]),
        overlays=overlays, effective=effective)


def _overlay_info(label: str) -> tuple[list[dict[str, Any]], date | None]:
    """Title, summary and plain-language changes of each overlay in `CODE+OVERLAY...`."""
    scenario = ScenarioSpec.parse(label)
    code, names = scenario.code, scenario.overlays
    out: list[dict[str, Any]] = []
    dates: list[date] = []
    for name in names:
        try:
            o = resolve_overlay(code, name)
        except (DivertError, OSError) as exc:
            out.append({"name": Path(name).stem, "title": name, "summary": None, "lines": [],
                        "error": f"the overlay could not be read again: {exc}"})
            continue
        out.append({"name": o.name, "title": o.title, "summary": (o.summary or "").strip() or None,
                    "lines": o.describe(), "error": None})
        when = o.law_effective_from()
        if when is not None:
            dates.append(when)
    return out, (min(dates) if dates else None)


def _differences(base: ScenarioData, other: ScenarioData) -> list[dict[str, float]]:
    """Per summary row: scenario minus baseline, paired by replication, mean and 95% interval."""
    if not np.array_equal(base.replications, other.replications):
        raise InputError(f"scenarios {base.label!r} and {other.label!r} have different replications")
    d = other.rows - base.rows
    return [interval(d[:, j]) for j in range(len(ROWS))]


# --- formatting ----------------------------------------------------------------------------------


def fmt(value: float, signed: bool = False, money: bool = False) -> str:
    """A number for the report: thousands separators; one decimal for money (millions) and for
    small values."""
    decimals = 1 if money or (0 < abs(value) < 100) else 0
    text = f"{value:{'+' if signed else ''},.{decimals}f}"
    return "0" if text in ("-0", "+0", "-0.0", "+0.0", "0.0") else text


def fmt_interval(d: dict[str, Any], money: bool = False) -> str:
    """`mean ± MCSE [low, high]`, signed; a mean whose interval includes zero is said to be not
    resolved rather than given a sign."""
    from divert.simulation.outcomes import resolved

    if "mcse" not in d:  # a figure combined from several totals: no error of its own
        return (f"{fmt(d['mean'], True, money)} [{fmt(d['low'], True, money)}, "
                f"{fmt(d['high'], True, money)}]")
    se = d["mcse"]
    err = f" ± {fmt(se, False, money)}" if se is not None else " (no MCSE: one replication)"
    text = (f"{fmt(d['mean'], True, money)}{err} [{fmt(d['low'], True, money)}, "
            f"{fmt(d['high'], True, money)}]")
    if d["mean"] != 0 and se is not None and not resolved(d):
        text += " not resolved at this precision"
    return text


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _range(values: np.ndarray, text: Callable[[float], str]) -> str:
    lo, hi = float(values.min()), float(values.max())
    return text(lo) if lo == hi else f"{text(lo)} to {text(hi)}"


# --- figures -------------------------------------------------------------------------------------


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes: drawn once on the Agg canvas and encoded by Pillow (savefig would
    draw it a second time)."""
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA",
                             0, 1).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="png", dpi=(fig.dpi, fig.dpi))
    return buf.getvalue()


def _axis_number(value: float, _pos: Any = None) -> str:
    a = abs(value)
    if a >= 1e9:
        return f"{value / 1e9:,.1f} bn".replace(".0 ", " ")
    if a >= 1e6:
        return f"{value / 1e6:,.1f} M".replace(".0 ", " ")
    return f"{value:,.0f}" if a >= 10 or value == 0 else f"{value:,.2f}".rstrip("0").rstrip(".")


def trajectory_figure(data: Sequence[ScenarioData], months: list[datetime], metric: str, title: str,
                      unit: str) -> bytes:
    """Mean line and 2.5-97.5 percentile band across replications, per scenario, as PNG bytes."""
    col = SERIES.index(metric)
    factor = 1e-6 if metric.startswith("cost_") else 1.0
    fig = Figure(figsize=(8.0, 3.9), dpi=DPI)
    ax = fig.add_axes((0.085, 0.25, 0.895, 0.63))
    x = np.array(months, dtype="datetime64[D]")
    for d in data:
        values = d.series[:, :, col] * factor
        ax.plot(x, values.mean(axis=0), color=d.colour, linewidth=1.8, label=d.name)
        if len(values) > 1:
            low, high = np.percentile(values, [2.5, 97.5], axis=0)
            ax.fill_between(x, low, high, color=d.colour, alpha=0.18, linewidth=0)
    for d in data[1:]:
        if d.effective is not None and months[0].date() <= d.effective <= months[-1].date():
            ax.axvline(np.datetime64(d.effective, "D"),  # type: ignore[arg-type]  # a date axis
                       color=d.colour, linestyle=":", linewidth=1.2)
            ax.annotate("reform", (np.datetime64(d.effective, "D"), 1.0),
                        xycoords=("data", "axes fraction"), xytext=(3, -2),
                        textcoords="offset points", va="top", fontsize=8, color=d.colour)
    ax.set_title(title, loc="left", pad=17)
    ax.text(0, 1.02, unit, transform=ax.transAxes, ha="left", va="bottom", fontsize=8.5,
            color="#555555")
    ax.set_ylim(bottom=0)
    ax.set_xlim(x[0], x[-1])
    years = max(1, (len(months) - 1) // 12)
    ax.xaxis.set_major_locator(mdates.YearLocator(base=max(1, math.ceil(years / 10))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.yaxis.set_major_formatter(FuncFormatter(_axis_number))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    band = "; band: 95% of replications" if len(data[0].series) > 1 else ""
    fig.legend(loc="lower left", bbox_to_anchor=(0.075, 0.0), ncols=min(len(data), 3),
              title=f"line: mean of {len(data[0].series)} replication"
                    f"{'s' if len(data[0].series) > 1 else ''}{band}",
              title_fontsize=8.5, fontsize=8.5, alignment="left")
    return _png(fig)


def difference_figure(data: Sequence[ScenarioData], diffs: dict[str, list[dict[str, float]]],
                      currency: str) -> bytes:
    """Scenario minus baseline for the main totals, mean and 95% interval, one panel each."""
    index = {key: j for j, (key, *_rest) in enumerate(ROWS)}
    fig = Figure(figsize=(10.5, 5.0), dpi=DPI)
    axes = fig.subplots(2, 4, gridspec_kw={"left": 0.02, "right": 0.98, "top": 0.9,
                                           "bottom": 0.2, "wspace": 0.18, "hspace": 0.75}).ravel()
    others = data[1:]
    for ax, key in zip(axes, CHART_ROWS, strict=True):
        j = index[key]
        _, label, unit, _get = ROWS[j]
        unit_text = f"{currency} million, discounted" if unit == "money" else unit
        ax.set_title(f"{label}" + (f"\n({unit_text})" if unit_text else "\n"), fontsize=9.5,
                     loc="left")
        y = np.arange(len(others))[::-1]
        for yi, d in zip(y, others, strict=True):
            v = diffs[d.label][j]
            ax.barh(yi, v["mean"], color=d.colour, height=0.6, alpha=0.85)
            if v["high"] > v["low"]:
                ax.errorbar(v["mean"], yi, xerr=[[v["mean"] - v["low"]], [v["high"] - v["mean"]]],
                            color="#222222", capsize=3, linewidth=1)
        ax.set_axisbelow(True)
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_yticks([])
        ax.set_ylim(-0.7, len(others) - 0.3)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(FuncFormatter(_axis_number))
        ax.xaxis.set_major_locator(MaxNLocator(4, symmetric=True))
        m = max((max(abs(diffs[d.label][j]["low"]), abs(diffs[d.label][j]["high"]))
                 for d in others), default=0.0)
        if m == 0:
            ax.text(0.5, 0.5, "no difference", transform=ax.transAxes, ha="center", va="center",
                    color="#555555", backgroundcolor="white")
        m = m * 1.1 or 1.0
        ax.set_xlim(-m, m)
    handles = [Patch(color=d.colour, label=d.name) for d in others]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.0),
               ncols=min(len(others), 3), fontsize=9,
               title="scenario minus baseline (" + data[0].name + "); whiskers: 95% interval",
               title_fontsize=9, alignment="left")
    return _png(fig)


# --- the report ----------------------------------------------------------------------------------


def _replay_command(comparison: Comparison) -> str:
    st = comparison.stamp
    parts = ["divert", "compare", *comparison.scenarios, "--persons", str(st["persons"]),
             "--years", f"{st['months'] / 12:.10g}", "--start", st["start"], "--replications",
             str(st["replications"]), "--seed", str(st["seed"]), "--engine", st["engine"]]
    if not st.get("uncertainty", True):
        parts.append("--no-uncertainty")
    if st.get("oversample", 1.0) > 1.0:
        parts += ["--oversample", f"{st['oversample']:g}"]
    parts += ["--out", "DIR"]
    return shlex.join(parts)


def _cohorts(comparison: Comparison, data: Sequence[ScenarioData]) -> tuple[list[dict[str, Any]], int]:
    """Rows (pathway, scenario, people, rearrest rates) for pathways with at least MIN_COHORT
    people, and how many pathway-scenario groups were left out."""
    rates = {d.label: cohort_rates(comparison.results[d.label]) for d in data}
    paths = [p for p in dict.fromkeys(p for r in rates.values() for p in r)]
    rows: list[dict[str, Any]] = []
    skipped = 0
    for p in paths:
        label = CATALOGUE[p].label if p in CATALOGUE else "No sanction (case ended)"
        group = []
        for d in data:
            r = rates[d.label].get(p)
            if r is None:
                continue
            if r["people"] < MIN_COHORT:
                skipped += 1
                continue
            group.append({"scenario": d.name, "colour": d.colour, "people": f"{round(r['people']):,}",
                          "rates": [_percent(r[f"rearrest_{y}y"]) for y in COHORT_YEARS]})
        for i, g in enumerate(group):
            rows.append(g | {"pathway": label if i == 0 else "", "id": p, "span": len(group),
                             "first": i == 0})
    return rows, skipped


def render_report(comparison: Comparison, figures: dict[str, str]) -> str:
    """The HTML text of the report; `figures` maps figure keys to base64 PNG data."""
    data = _data(comparison)
    return _render(comparison, data, _all_differences(data), figures)


def _data(comparison: Comparison) -> list[ScenarioData]:
    return [_scenario_data(comparison, s, COLOURS[i % len(COLOURS)])
            for i, s in enumerate(comparison.scenarios)]


def _all_differences(data: Sequence[ScenarioData]) -> dict[str, list[dict[str, float]]]:
    return {d.label: _differences(data[0], d) for d in data[1:]}


def _currency(comparison: Comparison) -> tuple[str, bool]:
    """The baseline pack's currency, and whether every scenario's pack uses the same one."""
    found = [p.meta.currency or "currency units" for p in comparison.policies.values()]
    if not found:
        return "currency units", True
    base = comparison.policies.get(comparison.scenarios[0])
    currency = (base.meta.currency if base is not None else None) or found[0]
    return currency, len(set(found)) == 1


def _render(comparison: Comparison, data: Sequence[ScenarioData],
            diffs: dict[str, list[dict[str, float]]], figures: dict[str, str]) -> str:
    st = comparison.stamp
    start = date.fromisoformat(st["start"] + "-01")
    end = add_months(start, st["months"] - 1)
    currency, same_currency = _currency(comparison)
    pack_names = list(dict.fromkeys(
        p.meta.name for p in (comparison.policies.get(s) for s in comparison.scenarios) if p))
    if not pack_names:
        pack_names = list(dict.fromkeys(ScenarioSpec.parse(s).code for s in comparison.scenarios))
    table = []
    for j, (key, label, unit, _get) in enumerate(ROWS):
        money = unit == "money"
        cells = []
        for d in data:
            cell = {"value": fmt(float(d.rows[:, j].mean()), money=money)}
            if d.label in diffs:
                cell["difference"] = fmt_interval(diffs[d.label][j], money)
            cells.append(cell)
        table.append({"key": key, "label": label, "cells": cells, "css": ROW_CSS.get(key, ""),
                      "unit": f"{currency} million" if money else unit})
    cohort_rows, cohort_skipped = _cohorts(comparison, data)
    scenarios = []
    for d in data:
        policy = comparison.policies.get(d.label)
        scenario_stamp = st.get("scenarios", {}).get(d.label, {})
        scenarios.append({
            "label": d.label, "name": d.name, "colour": d.colour, "overlays": d.overlays,
            "pack": policy.meta.name if policy else ScenarioSpec.parse(d.label).code,
            "code": policy.code if policy else ScenarioSpec.parse(d.label).code,
            "hash": scenario_stamp.get("pack_hash") or (policy.hash if policy else ""),
            "scale": _range(d.scales, lambda v: f"{v:,.4g}"),
            "currency": (policy.meta.currency if policy else None) or "currency units",
            "effective": d.effective.isoformat() if d.effective else None,
        })
    replications = int(st["replications"])
    return _ENV.get_template("report.html").render(
        title=f"{' and '.join(pack_names)}: {start:%Y-%m} to {end:%Y-%m}",
        stamp=st, start=f"{start:%Y-%m}", end=f"{end:%Y-%m}", scenarios=scenarios,
        baseline=scenarios[0], reforms=scenarios[1:], table=table, figures=figures,
        trajectories=[(m, t) for m, t, _ in TRAJECTORIES], currency=currency,
        same_currency=same_currency, discount=_range(data[0].discount, _percent_rate),
        cohort_rows=cohort_rows, cohort_skipped=cohort_skipped, min_cohort=MIN_COHORT,
        cohort_years=COHORT_YEARS, cohort_possible=st["months"] > 12 * max(COHORT_YEARS),
        replications=replications, persons=f"{int(st['persons']):,}",
        replay=_replay_command(comparison), uncertainty=st.get("uncertainty", True))


def _percent_rate(value: float) -> str:
    return f"{100 * value:.3g}%"


def write_report(comparison: Comparison, out_dir: Path) -> Path:
    """Write the PNG figures and `report.html` into `out_dir`; returns the path of the report."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create {out_dir}: {exc.strerror}") from None
    data = _data(comparison)
    diffs = _all_differences(data)
    start = date.fromisoformat(comparison.stamp["start"] + "-01")
    months = [datetime.combine(add_months(start, t), datetime.min.time())
              for t in range(int(comparison.stamp["months"]))]
    currency, _ = _currency(comparison)
    pngs: dict[str, bytes] = {}
    with matplotlib.rc_context(FIGURE_RC):  # type: ignore[arg-type]  # rcParams names as text
        for metric, title, unit in TRAJECTORIES:
            pngs[metric] = trajectory_figure(data, months, metric, title,
                                             unit.format(currency=currency))
        if len(data) > 1:
            pngs["differences"] = difference_figure(data, diffs, currency)
    figures = {}
    for key, png in pngs.items():
        (out_dir / f"{key}.png").write_bytes(png)
        figures[key] = base64.b64encode(png).decode("ascii")
    path = out_dir / "report.html"
    path.write_text(_render(comparison, data, diffs, figures), encoding="utf-8")
    return path


__all__ = ["write_report", "render_report", "trajectory_figure", "difference_figure", "fmt",
           "fmt_interval", "MIN_COHORT", "TRAJECTORIES", "ROWS"]
