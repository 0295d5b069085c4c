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
from divert.i18n import DEFAULT, N_, Translator, translator
from divert.law import words
from divert.law.catalogue import CATALOGUE
from divert.reports.i18n import FILTERS, messages
from divert.simulation.outcomes import cohort_rates, interval, totals
from divert.simulation.run import COHORT_YEARS, COST_SECTORS, SERIES, RunResult, add_months
from divert.simulation.runner import Comparison
from divert.simulation.scenarios import ScenarioSpec, resolve_overlay

MIN_COHORT = 30
"""Pathways with fewer people than this (simulated sample, pooled over replications) are not shown."""

TRAJECTORIES: tuple[tuple[str, str, str], ...] = (
    ("in_prison", N_("People in prison or pre-trial detention"), N_("people")),
    ("in_prison_drug_offence", N_("People in prison for a drug offence"), N_("people")),
    ("in_treatment", N_("People in treatment for drug use (community or prison)"), N_("people")),
    ("overdose_deaths", N_("Overdose deaths"), N_("deaths per month")),
    ("arrests", N_("Arrests"), N_("arrests per month")),
    ("diversions", N_("Diversions to a measure instead of prosecution or prison"),
     N_("people per month")),
    ("cost_total", N_("Public cost, all sectors"),
     N_("{currency} million per month, undiscounted")),
)
"""Metric, title and y-axis unit of each trajectory figure."""

# summary rows: key, label, unit, and how to get the value from one run's totals and final stocks
Row = tuple[str, str, str, Callable[[dict[str, float], dict[str, float]], float]]


def _total(name: str, divide: float = 1.0) -> Callable[[dict[str, float], dict[str, float]], float]:
    return lambda t, f: t[name] / divide


def _final(name: str) -> Callable[[dict[str, float], dict[str, float]], float]:
    return lambda t, f: f[name]


SECTOR_LABELS = {"police": N_("Cost: police"), "courts": N_("Cost: courts"),
                 "prison": N_("Cost: prison"),
                 "probation": N_("Cost: probation and community measures"),
                 "treatment": N_("Cost: treatment"), "health": N_("Cost: health (overdoses)")}

ROWS: tuple[Row, ...] = (
    ("arrests", N_("Arrests"), "", _total("arrests")),
    ("prosecutions", N_("Prosecutions"), "", _total("prosecutions")),
    ("convictions", N_("Convictions"), "", _total("convictions")),
    ("diversions", N_("Diversions"), "", _total("diversions")),
    ("prison_admissions", N_("Prison admissions"), "", _total("prison_admissions")),
    ("prison_years", N_("Prison and pre-trial detention"), N_("person-years"),
     _total("prison_person_months", 12.0)),
    ("treatment_years", N_("Treatment"), N_("person-years"), _total("treatment_person_months", 12.0)),
    ("overdose_deaths", N_("Overdose deaths"), "", _total("overdose_deaths")),
    ("overdose_deaths_after_release", N_("of which within 12 months of release"), "",
     _total("overdose_deaths_after_release")),
    ("deaths", N_("Deaths, all causes"), "", _total("deaths")),
    ("life_years_lost", N_("Life-years lost"), N_("years"), _total("life_years_lost")),
    *((f"cost_{s}", SECTOR_LABELS[s], "money", _total(f"cost_{s}_discounted", 1e6))
      for s in COST_SECTORS),
    ("cost_total", N_("Cost: all sectors"), "money", _total("cost_total_discounted", 1e6)),
    ("final_in_prison", N_("In prison or pre-trial detention at the end"), N_("people"),
     _final("in_prison")),
    ("final_in_treatment", N_("In treatment at the end"), N_("people"), _final("in_treatment")),
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
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                   extensions=["jinja2.ext.i18n"])
_ENV.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
_ENV.policies["ext.i18n.trimmed"] = True  # messages as extracted: whitespace folded
_ENV.filters.update(FILTERS)


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


def fmt(value: float, signed: bool = False, money: bool = False, t: Translator | None = None) -> str:
    """A number for the report: thousands separators; one decimal for money (millions) and for
    small values; in `t`'s language (its separators and digits) when given, else English."""
    decimals = 1 if money or (0 < abs(value) < 100) else 0
    text = f"{value:{'+' if signed else ''},.{decimals}f}"
    if text in ("-0", "+0", "-0.0", "+0.0", "0.0"):
        return "0" if t is None else t.number(0)
    if t is None or t.locale == DEFAULT:
        return text
    return t.number(float(text.replace(",", "")), decimals, signed=signed)


def fmt_interval(d: dict[str, Any], money: bool = False, t: Translator | None = None) -> str:
    """`mean ± MCSE [low, high]`, signed; a mean whose interval includes zero is said to be not
    resolved rather than given a sign (in `t`'s language when given)."""
    from divert.simulation.outcomes import resolved

    g = t.gettext if t is not None else str

    def f(v: float, signed: bool = True) -> str:
        return fmt(v, signed, money, t)

    if "mcse" not in d:  # a figure combined from several totals: no error of its own
        return f"{f(d['mean'])} [{f(d['low'])}, {f(d['high'])}]"
    se = d["mcse"]
    err = f" ± {f(se, False)}" if se is not None else " " + g(N_("(no MCSE: one replication)"))
    text = f"{f(d['mean'])}{err} [{f(d['low'])}, {f(d['high'])}]"
    if d["mean"] != 0 and se is not None and not resolved(d):
        text += " " + g(N_("not resolved at this precision"))
    return text


def _percent(value: float, t: Translator | None = None) -> str:
    if t is None or t.locale == DEFAULT:
        return f"{100 * value:.0f}%"
    return t.percent(value)


def _range(values: np.ndarray, text: Callable[[float], str], t: Translator | None = None) -> str:
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return text(lo)
    if t is None:
        return f"{text(lo)} to {text(hi)}"
    return t.gettext(N_("%(low)s to %(high)s")) % {"low": text(lo), "high": text(hi)}


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


def _axis_formatter(t: Translator | None) -> FuncFormatter:
    """Axis numbers in the report's language (English as before; short forms in another
    language's words, in full where the script needs shaping the figures cannot do)."""
    if t is None or t.locale == DEFAULT:
        return FuncFormatter(_axis_number)
    tr = t

    def form(value: float, _pos: Any = None) -> str:
        if abs(value) >= 1e6 and tr.dir == "ltr":
            return tr.compact(value)
        return tr.number(value, 0 if abs(value) >= 10 or value == 0 else 2)

    return FuncFormatter(form)


def _words(t: Translator | None) -> Callable[[str], str] | None:
    """The figures' words in the report's language, or None where its script cannot be drawn:
    matplotlib neither joins Persian letters nor lays them right to left, so a right-to-left
    report's figures carry no words (their titles, units and legends are in the page)."""
    if t is None:
        return str
    return t.gettext if t.dir == "ltr" else None


def trajectory_figure(data: Sequence[ScenarioData], months: list[datetime], metric: str, title: str,
                      unit: str, t: Translator | None = None) -> bytes:
    """Mean line and 2.5-97.5 percentile band across replications, per scenario, as PNG bytes;
    `title` and `unit` already in the report's language, `t` its language for the other words."""
    g = _words(t)
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
            if g is not None:
                ax.annotate(g(N_("reform")), (np.datetime64(d.effective, "D"), 1.0),
                            xycoords=("data", "axes fraction"), xytext=(3, -2),
                            textcoords="offset points", va="top", fontsize=8, color=d.colour)
    if g is not None:
        ax.set_title(title, loc="left", pad=17)
        ax.text(0, 1.02, unit, transform=ax.transAxes, ha="left", va="bottom", fontsize=8.5,
                color="#555555")
    ax.set_ylim(bottom=0)
    ax.set_xlim(x[0], x[-1])
    years = max(1, (len(months) - 1) // 12)
    ax.xaxis.set_major_locator(mdates.YearLocator(base=max(1, math.ceil(years / 10))))
    if t is None or t.locale == DEFAULT:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    else:
        tr = t
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _pos=None: tr.digits(f"{mdates.num2date(v):%Y}")))
    ax.yaxis.set_major_formatter(_axis_formatter(t))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    fig.legend(loc="lower left", bbox_to_anchor=(0.075, 0.0), ncols=min(len(data), 3),
               title=_legend_title(len(data[0].series), g) if g is not None else None,
               title_fontsize=8.5, fontsize=8.5, alignment="left")
    return _png(fig)


def _legend_title(replications: int, g: Callable[[str], str]) -> str:
    if g is str:  # English, as the figures have always said it
        band = "; band: 95% of replications" if replications > 1 else ""
        return f"line: mean of {replications} replication{'s' if replications > 1 else ''}{band}"
    line = g(N_("line: mean of %(n)s replications")) % {"n": replications}
    band = g(N_("band: 95%% of replications")) % {}  # a literal % is %% in every message
    return line + ("; " + band if replications > 1 else "")


def difference_figure(data: Sequence[ScenarioData], diffs: dict[str, list[dict[str, float]]],
                      currency: str, t: Translator | None = None) -> bytes:
    """Scenario minus baseline for the main totals, mean and 95% interval, one panel each."""
    g = _words(t)
    index = {key: j for j, (key, *_rest) in enumerate(ROWS)}
    fig = Figure(figsize=(10.5, 5.0), dpi=DPI)
    axes = fig.subplots(2, 4, gridspec_kw={"left": 0.02, "right": 0.98, "top": 0.9,
                                           "bottom": 0.2, "wspace": 0.18, "hspace": 0.75}).ravel()
    others = data[1:]
    for ax, key in zip(axes, CHART_ROWS, strict=True):
        j = index[key]
        _, label, unit, _get = ROWS[j]
        if g is not None:
            unit_text = (g(N_("%(currency)s million, discounted")) % {"currency": currency}
                         if unit == "money" else g(unit) if unit else "")
            ax.set_title(f"{g(label)}" + (f"\n({unit_text})" if unit_text else "\n"),
                         fontsize=9.5, loc="left")
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
        ax.xaxis.set_major_formatter(_axis_formatter(t))
        ax.xaxis.set_major_locator(MaxNLocator(4, symmetric=True))
        m = max((max(abs(diffs[d.label][j]["low"]), abs(diffs[d.label][j]["high"]))
                 for d in others), default=0.0)
        if m == 0 and g is not None:
            ax.text(0.5, 0.5, g(N_("no difference")), transform=ax.transAxes, ha="center",
                    va="center", color="#555555", backgroundcolor="white")
        m = m * 1.1 or 1.0
        ax.set_xlim(-m, m)
    handles = [Patch(color=d.colour, label=d.name) for d in others]
    title = None
    if g is not None:
        title = (g(N_("scenario minus baseline (%(baseline)s); whiskers: 95%% interval"))
                 % {"baseline": data[0].name})
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.0),
               ncols=min(len(others), 3), fontsize=9, title=title,
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


def _cohorts(comparison: Comparison, data: Sequence[ScenarioData],
             t: Translator | None = None) -> tuple[list[dict[str, Any]], int]:
    """Rows (pathway, scenario, people, rearrest rates) for pathways with at least MIN_COHORT
    people, and how many pathway-scenario groups were left out."""
    locale = t.locale if t is not None else DEFAULT
    rates = {d.label: cohort_rates(comparison.results[d.label]) for d in data}
    paths = [p for p in dict.fromkeys(p for r in rates.values() for p in r)]
    rows: list[dict[str, Any]] = []
    skipped = 0
    for p in paths:
        if p in CATALOGUE:
            label = words.label(CATALOGUE[p].label, locale)
        else:
            label = t.gettext(N_("No sanction (case ended)")) if t else "No sanction (case ended)"
        group = []
        for d in data:
            r = rates[d.label].get(p)
            if r is None:
                continue
            if r["people"] < MIN_COHORT:
                skipped += 1
                continue
            people = f"{round(r['people']):,}" if t is None else t.number(round(r["people"]))
            group.append({"scenario": d.name, "colour": d.colour, "people": people,
                          "rates": [_percent(r[f"rearrest_{y}y"], t) for y in COHORT_YEARS]})
        for i, g in enumerate(group):
            rows.append(g | {"pathway": label if i == 0 else "", "id": p, "span": len(group),
                             "first": i == 0})
    return rows, skipped


def render_report(comparison: Comparison, figures: dict[str, str], locale: str = DEFAULT) -> str:
    """The HTML text of the report in `locale`; `figures` maps figure keys to base64 PNG data."""
    data = _data(comparison)
    return _render(comparison, data, _all_differences(data), figures, locale)


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


def _translator(locale: str) -> Translator | None:
    """The report's language for the formatting helpers: None for English (as it has always been
    written), else the reports catalogue's translator."""
    return None if locale == DEFAULT else translator(locale, "reports")


def _render(comparison: Comparison, data: Sequence[ScenarioData],
            diffs: dict[str, list[dict[str, float]]], figures: dict[str, str],
            locale: str = DEFAULT) -> str:
    st = comparison.stamp
    t = _translator(locale)
    tr = translator(locale, "reports")
    g = tr.gettext
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
            cell = {"value": fmt(float(d.rows[:, j].mean()), money=money, t=t)}
            if d.label in diffs:
                cell["difference"] = fmt_interval(diffs[d.label][j], money, t)
                # right to left: the numbers kept left to right, the verdict after them
                verdict = " " + g(N_("not resolved at this precision"))
                numbers, found, _rest = cell["difference"].partition(verdict)
                cell["numbers"], cell["verdict"] = numbers, verdict if found else ""
            cells.append(cell)
        table.append({"key": key, "label": g(label), "cells": cells, "css": ROW_CSS.get(key, ""),
                      "unit": (g(N_("%(currency)s million")) % {"currency": currency} if money
                               else g(unit) if unit else "")})
    cohort_rows, cohort_skipped = _cohorts(comparison, data, t)
    scenarios = []
    for d in data:
        policy = comparison.policies.get(d.label)
        scenario_stamp = st.get("scenarios", {}).get(d.label, {})
        scenarios.append({
            "label": d.label, "name": d.name, "colour": d.colour, "overlays": d.overlays,
            "pack": policy.meta.name if policy else ScenarioSpec.parse(d.label).code,
            "code": policy.code if policy else ScenarioSpec.parse(d.label).code,
            "hash": scenario_stamp.get("pack_hash") or (policy.hash if policy else ""),
            "scale": _range(d.scales, lambda v: f"{v:,.4g}" if t is None
                            else t.number(float(f"{v:.4g}")), t),
            "currency": (policy.meta.currency if policy else None) or "currency units",
            "effective": (None if d.effective is None else d.effective.isoformat() if t is None
                          else t.date(d.effective, "long")),
        })
    replications = int(st["replications"])
    month = (lambda m: f"{m:%Y-%m}") if t is None else (lambda m: tr.digits(f"{m:%Y-%m}"))
    packs = (" and ".join(pack_names) if t is None
             else (" " + g(N_("and")) + " ").join(pack_names))
    title = (f"{packs}: {month(start)} to {month(end)}" if t is None else
             g(N_("%(packs)s: %(start)s to %(end)s")) % {"packs": packs, "start": month(start),
                                                          "end": month(end)})

    def n(value: int) -> str:
        return str(value) if t is None else t.number(value)

    return _ENV.get_template("report.html").render(
        title=title, stamp=st, start=month(start), end=month(end), scenarios=scenarios,
        baseline=scenarios[0], reforms=scenarios[1:], table=table, figures=figures,
        trajectories=[(m, g(title_), g(unit).format(currency=currency))
                      for m, title_, unit in TRAJECTORIES],
        currency=currency, same_currency=same_currency,
        discount=_range(data[0].discount, lambda v: _percent_rate(v, t), t),
        cohort_rows=cohort_rows, cohort_skipped=cohort_skipped, min_cohort=MIN_COHORT,
        cohort_years=COHORT_YEARS, cohort_possible=st["months"] > 12 * max(COHORT_YEARS),
        replications=replications, persons=f"{int(st['persons']):,}" if t is None
        else t.number(int(st["persons"])), months_text=n(int(st["months"])),
        replications_text=n(replications), seed=n(int(st["seed"])) if t else st["seed"],
        last_year=n(max(COHORT_YEARS)), min_cohort_text=n(MIN_COHORT),
        skipped_text=n(cohort_skipped), years_text=[n(y) for y in COHORT_YEARS],
        oversample=float(st.get("oversample", 1.0) or 1.0),
        replay=_replay_command(comparison), uncertainty=st.get("uncertainty", True),
        **messages(locale))


def _percent_rate(value: float, t: Translator | None = None) -> str:
    if t is None:
        return f"{100 * value:.3g}%"
    return t.percent(float(f"{value:.3g}"), 1 if round(1000 * value) % 10 else 0)


def write_report(comparison: Comparison, out_dir: Path, locale: str = DEFAULT) -> Path:
    """Write the PNG figures and `report.html` into `out_dir`, in `locale`; returns the path of
    the report."""
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
    tr = _translator(locale)
    g = tr.gettext if tr is not None else str
    pngs: dict[str, bytes] = {}
    with matplotlib.rc_context(FIGURE_RC):  # type: ignore[arg-type]  # rcParams names as text
        for metric, title, unit in TRAJECTORIES:
            pngs[metric] = trajectory_figure(data, months, metric, g(title),
                                             g(unit).format(currency=currency), tr)
        if len(data) > 1:
            pngs["differences"] = difference_figure(data, diffs, currency, tr)
    figures = {}
    for key, png in pngs.items():
        (out_dir / f"{key}.png").write_bytes(png)
        figures[key] = base64.b64encode(png).decode("ascii")
    path = out_dir / "report.html"
    path.write_text(_render(comparison, data, diffs, figures, locale), encoding="utf-8")
    return path


__all__ = ["write_report", "render_report", "trajectory_figure", "difference_figure", "fmt",
           "fmt_interval", "MIN_COHORT", "TRAJECTORIES", "ROWS"]
