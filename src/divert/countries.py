"""The briefing's question for its countries: today's law against treatment instead of conviction.

For the USA, Iran, Malaysia, Portugal, Belgium and the UNODC/WHO model pack, each pack's baseline is
compared with its `treatment_not_conviction` scenario over ten years: people in prison for drug
offences, treatment coverage, overdose deaths and costs by sector, with 95% intervals across
replications and parameter draws. Pure functions over `Comparison`s; `write_index` renders HTML.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from divert.runner import Comparison
from divert.simulation import SERIES

BRIEFING = ("usa", "iran", "malaysia", "portugal", "belgium", "model")
REFORM = "treatment_not_conviction"


@dataclass
class CountryResult:
    """The headline figures of one country's comparison, scaled to its population."""

    code: str
    name: str
    currency: str
    comparison: Comparison

    @property
    def base(self) -> str:
        return self.comparison.scenarios[0]

    @property
    def reform(self) -> str:
        return self.comparison.scenarios[1]

    def _final(self, scenario: str, metric: str) -> np.ndarray:
        """The metric in the last year (mean of its 12 months), per replication, population."""
        i = SERIES.index(metric)
        return np.array([r.series[-12:, i].mean() * r.scale
                         for r in self.comparison.results[scenario]])

    def _total(self, scenario: str, metric: str) -> np.ndarray:
        i = SERIES.index(metric)
        return np.array([r.series[:, i].sum() * r.scale for r in self.comparison.results[scenario]])

    def _coverage(self, scenario: str) -> np.ndarray:
        """People in community treatment per person in active use with a moderate or severe
        disorder, in the last year."""
        treated = self._final(scenario, "in_community_treatment")
        need = self._final(scenario, "active_disorder")
        return np.where(need > 0, treated / np.maximum(need, 1e-9), 0.0)

    @cached_property
    def headline(self) -> dict[str, Any]:
        """Baseline, reform and paired difference (mean, 95% interval) for each headline."""
        from divert.outcomes import interval

        rows = {
            "drug_prisoners_final_year": (self._final, "in_prison_drug_offence"),
            "treatment_coverage_final_year": (None, None),
            "overdose_deaths_10y": (self._total, "overdose_deaths"),
            "arrests_10y": (self._total, "arrests"),
            "prison_admissions_10y": (self._total, "prison_admissions"),
        }
        out: dict[str, Any] = {}
        for key, (fn, metric) in rows.items():
            if fn is None:
                b, r = self._coverage(self.base), self._coverage(self.reform)
            else:
                b, r = fn(self.base, metric), fn(self.reform, metric)
            out[key] = {"baseline": float(b.mean()), "reform": float(r.mean()),
                        "difference": interval(r - b)}
        econ = self.comparison.economics(self.reform)
        out["costs_by_sector_10y"] = self._costs()
        out["economics"] = econ
        return out

    def _costs(self) -> dict[str, dict[str, float]]:
        from divert.outcomes import costs, interval

        out: dict[str, dict[str, float]] = {}
        base = self.comparison.results[self.base]
        reform = self.comparison.results[self.reform]
        base_costs = [(costs(r), r.scale) for r in base]
        reform_costs = [(costs(r), r.scale) for r in reform]
        for sector in ("police", "courts", "prison", "probation", "treatment", "health"):
            b = np.array([c[sector] * sc for c, sc in base_costs])
            f = np.array([c[sector] * sc for c, sc in reform_costs])
            out[sector] = {"baseline": float(b.mean()), "reform": float(f.mean()),
                           **{f"difference_{k}": v for k, v in interval(f - b).items()}}
        return out


def groups(codes: tuple[str, ...] = BRIEFING) -> list[list[str]]:
    """The comparisons to run: each pack's baseline and its treatment-not-conviction scenario."""
    return [[code, f"{code}+{REFORM}"] for code in codes]


def results(comparisons: list[Comparison]) -> list[CountryResult]:
    out = []
    for c in comparisons:
        policy = c.policies[c.scenarios[0]]
        out.append(CountryResult(policy.code, policy.meta.name, policy.meta.currency or "",
                                 c))
    return out


def to_json(countries: list[CountryResult]) -> dict[str, Any]:
    return {"countries": {c.code: {"name": c.name, "currency": c.currency,
                                   "stamp": c.comparison.stamp, **c.headline}
                          for c in countries}}


def _chart(countries: list[CountryResult], key: str, title: str, percent: bool) -> str:
    """A bar chart of the reform's change per country with its 95% interval, as a data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, means, lows, highs = [], [], [], []
    for c in countries:
        h = c.headline[key]
        base = h["baseline"] if percent and h["baseline"] else 1.0
        d = h["difference"]
        scale = 100.0 / base if percent else 1.0
        names.append(c.code)
        means.append(d["mean"] * scale)
        lows.append(d["low"] * scale)
        highs.append(d["high"] * scale)
    fig, ax = plt.subplots(figsize=(7, 3))
    m = np.array(means)
    err = np.array([m - np.array(lows), np.array(highs) - m])
    ax.bar(names, m, yerr=np.maximum(err, 0), capsize=4,
           color=["#2e7d32" if x <= 0 else "#b71c1c" for x in m])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("% change" if percent else "change")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _fmt(x: float, percent: bool = False) -> str:
    return f"{x * 100:.1f}%" if percent else f"{x:,.0f}"


def write_index(countries: list[CountryResult], out: Path, reports: dict[str, str]) -> Path:
    """`index.html`: the headline table for every country, charts, and links to each report."""
    rows = []
    for c in countries:
        h = c.headline
        cells = [f"<th>{html.escape(c.name)}</th>"]
        for key, pct in (("drug_prisoners_final_year", False),
                         ("treatment_coverage_final_year", True), ("overdose_deaths_10y", False)):
            d = h[key]["difference"]
            cells.append(f"<td>{_fmt(h[key]['baseline'], pct)} &rarr; {_fmt(h[key]['reform'], pct)}"
                         f"<br><small>{_fmt(d['mean'], pct)} [{_fmt(d['low'], pct)}, "
                         f"{_fmt(d['high'], pct)}]</small></td>")
        e = h["economics"]
        for view in ("public", "society"):
            nb = e[view]["net_benefit"]
            cells.append(f"<td>{_fmt(nb['mean'])} {html.escape(c.currency)}<br><small>"
                         f"[{_fmt(nb['low'])}, {_fmt(nb['high'])}]; P(benefit &gt; cost) "
                         f"{e[view]['probability_benefits_exceed_costs']:.0%}</small></td>")
        link = reports.get(c.code)
        cells.append(f'<td><a href="{html.escape(link)}">report</a></td>' if link else "<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    stamp = countries[0].comparison.stamp if countries else {}
    charts = "".join(
        f'<figure><img alt="{html.escape(t)}" src="{_chart(countries, k, t, p)}"></figure>'
        for k, t, p in (("drug_prisoners_final_year",
                         "People in prison for drug offences in year 10: reform vs today's law",
                         True),
                        ("overdose_deaths_10y", "Overdose deaths over 10 years: reform vs today's "
                                                "law", True)))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>divert: treatment instead of conviction, six jurisdictions</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
th, td {{ border: 1px solid #ccd; padding: .35rem .5rem; text-align: left; vertical-align: top; }}
small {{ color: #555; }} figure {{ margin: 1rem 0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Treatment instead of conviction for minor drug offences</h1>
<p>Each jurisdiction's law today (its policy pack) against the same law with treatment instead of
conviction for minor possession (its <code>{REFORM}</code> scenario, in force from 2026-01-01), over
{stamp.get('months', 0) // 12} years from {html.escape(str(stamp.get('start', '')))}. Figures are for the
whole population (a simulated sample of {stamp.get('persons', 0):,} people, scaled); brackets give
the reform's difference with a 95% interval across {stamp.get('replications', 0)} replications and
parameter draws (common random numbers). Money is in each country's currency, discounted.
Most practice parameters outside the USA are stated assumptions (see <code>divert policy book</code>).</p>
<table><tr><th>jurisdiction</th><th>in prison for drug offences (year 10)</th>
<th>treatment coverage (year 10)</th><th>overdose deaths (10 years)</th>
<th>net benefit, public budget</th><th>net benefit, society</th><th></th></tr>
{''.join(rows)}</table>
{charts}
<p><small>divert {html.escape(str(stamp.get('divert', '')))}, seed {stamp.get('seed', '')}.
Each country's report gives its trajectories, costs by sector, the stamp with the pack hashes,
and what the scenario changes in the law.</small></p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
