"""The briefing's question for its countries: today's law against treatment instead of conviction.

For the USA, Iran, Malaysia, Portugal, Belgium and the UNODC/WHO model pack, each pack's baseline is
compared with its `treatment_not_conviction` scenario over ten years: people in prison for drug
offences, treatment coverage, overdose deaths and costs by sector.

Two kinds of uncertainty are kept apart (the design, also in the index's methods note):

* **stochastic**: replications at the packs' central parameter values (`uncertainty=False`), paired
  by common random numbers. Their mean is the reform's effect at central values; its Monte Carlo
  standard error (MCSE) and confidence interval say how well the run resolved it. With
  `precision`, replications are added until every headline's MCSE is at most that share of its
  mean, or the time budget is spent; a headline whose confidence interval includes zero is *not
  resolved*, and is given without a sign.
* **parameter**: `draws` independent replications (numbered from `DRAWS_FIRST`) that each draw the
  sourced parameter distributions afresh, at a smaller sample, 10 at a time; all of them run
  whatever the time budget (the budget decides the stochastic replications after the pilot), so
  the intervals rest on the draws asked for (`design.draws`; below 40 the interval is the mean's
  confidence interval, not percentiles). Their 2.5th-97.5th percentiles
  (with at least 40 draws) and P(benefits > costs) describe parameter uncertainty; each draw also
  carries its own chance variation, reported beside it and removed from the parameter standard
  deviation (var(draws) - var(stochastic) x persons / draw persons: chance variance of a scaled
  total falls as 1 / persons).

Pure functions over `Comparison`s; `write_index` renders HTML.
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np

from divert.advice.wording import Figure, Message
from divert.i18n import DEFAULT, N_, direction, translator
from divert.simulation.outcomes import interval, resolved
from divert.simulation.run import SERIES
from divert.simulation.runner import Comparison
from divert.studies.headline import ENGLISH, Words, sentence  # the web page's headline
from divert.studies.parity import parity, to_international

BRIEFING = ("usa", "iran", "malaysia", "portugal", "belgium", "model")
REFORM = "treatment_not_conviction"
DRAWS_FIRST = 100_000   # parameter draws are numbered from here: independent of the replications
HEADLINES = ("drug_prisoners_final_year", "overdose_deaths_10y")
DRAW_BATCH = 10         # parameter draws run 10 at a time (a progress line after each batch)
NOT_RESOLVED = N_("not resolved at this precision")


@dataclass
class CountryResult:
    """The headline figures of one country's comparison, scaled to its population: `comparison`
    holds the stochastic replications (central values), `draws` the parameter draws, if any."""

    code: str
    name: str
    currency: str
    comparison: Comparison
    draws: Comparison | None = None
    precision: float | None = None
    design: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.comparison.scenarios[0]

    @property
    def reform(self) -> str:
        return self.comparison.scenarios[1]

    @staticmethod
    def _final(c: Comparison, scenario: str, metric: str) -> np.ndarray:
        """The metric in the last year (mean of its 12 months), per replication, population."""
        i = SERIES.index(metric)
        return np.array([r.series[-12:, i].mean() * r.scale for r in c.results[scenario]])

    @staticmethod
    def _total(c: Comparison, scenario: str, metric: str) -> np.ndarray:
        i = SERIES.index(metric)
        return np.array([r.series[:, i].sum() * r.scale for r in c.results[scenario]])

    @classmethod
    def _coverage(cls, c: Comparison, scenario: str, metric: str = "") -> np.ndarray:
        """People in community treatment per person in active use with a moderate or severe
        disorder, in the last year."""
        treated = cls._final(c, scenario, "in_community_treatment")
        need = cls._final(c, scenario, "active_disorder")
        return np.where(need > 0, treated / np.maximum(need, 1e-9), 0.0)

    def _rows(self) -> dict[str, tuple[Callable[..., np.ndarray], str]]:
        return {
            "drug_prisoners_final_year": (self._final, "in_prison_drug_offence"),
            "prisoners_final_year": (self._final, "in_prison"),
            "treatment_coverage_final_year": (self._coverage, ""),
            "overdose_deaths_10y": (self._total, "overdose_deaths"),
            "arrests_10y": (self._total, "arrests"),
            "prison_admissions_10y": (self._total, "prison_admissions"),
        }

    def _diffs(self, c: Comparison, key: str) -> tuple[np.ndarray, np.ndarray]:
        fn, metric = self._rows()[key]
        b, r = fn(c, c.scenarios[0], metric), fn(c, c.scenarios[1], metric)
        return b, r

    def _persons_ratio(self) -> float:
        assert self.draws is not None
        return float(self.comparison.stamp["persons"]) / float(self.draws.stamp["persons"])

    def _parameter(self, stochastic: np.ndarray, drawn: np.ndarray) -> dict[str, Any]:
        """The parameter draws' interval, with chance and parameter standard deviations apart."""
        sd_chance = (float(stochastic.std(ddof=1)) * math.sqrt(self._persons_ratio())
                     if stochastic.shape[0] > 1 else None)
        var_draws = float(drawn.var(ddof=1)) if drawn.shape[0] > 1 else 0.0
        sd_param = (math.sqrt(max(var_draws - sd_chance ** 2, 0.0)) if sd_chance is not None
                    else None)
        return {"interval": interval(drawn), "draws": int(drawn.shape[0]),
                "sd_draws": math.sqrt(var_draws), "sd_stochastic_at_draw_size": sd_chance,
                "sd_parameter": sd_param}

    @cached_property
    def headline(self) -> dict[str, Any]:
        """Baseline, reform and paired difference (mean, MCSE, 95% interval) for each headline,
        at central values; the parameter draws' interval beside it."""
        out: dict[str, Any] = {}
        for key in self._rows():
            b, r = self._diffs(self.comparison, key)
            d = interval(r - b)
            entry: dict[str, Any] = {"baseline": float(b.mean()), "reform": float(r.mean()),
                                     "difference": d,
                                     "resolved": resolved(d)}
            if self.draws is not None:
                db, dr = self._diffs(self.draws, key)
                entry["parameter"] = self._parameter(r - b, dr - db)
            out[key] = entry
        out["costs_by_sector_10y"] = self._costs()
        econ = self.comparison.economics(self.reform)
        for view in ("public", "society"):
            nb = econ[view]["net_benefit"]
            econ[view]["net_benefit_resolved"] = resolved(nb)
        out["economics"] = econ
        if self.draws is not None:
            out["economics_parameter"] = self.draws.economics(self.draws.scenarios[1])
        out["design"] = self.design
        return out

    def _costs(self) -> dict[str, dict[str, Any]]:
        from divert.simulation.outcomes import costs

        out: dict[str, dict[str, Any]] = {}
        base = self.comparison.results[self.base]
        reform = self.comparison.results[self.reform]
        base_costs = [(costs(r), r.scale) for r in base]
        reform_costs = [(costs(r), r.scale) for r in reform]
        for sector in ("police", "courts", "prison", "probation", "treatment", "health",
                       "victims"):
            b = np.array([c[sector] * sc for c, sc in base_costs])
            f = np.array([c[sector] * sc for c, sc in reform_costs])
            out[sector] = {"baseline": float(b.mean()), "reform": float(f.mean()),
                           **{f"difference_{k}": v for k, v in interval(f - b).items()}}
        return out


def groups(codes: tuple[str, ...] = BRIEFING) -> list[list[str]]:
    """The comparisons to run: each pack's baseline and its treatment-not-conviction scenario."""
    return [[code, f"{code}+{REFORM}"] for code in codes]


def merged(a: Comparison, b: Comparison) -> Comparison:
    """Two batches of replications of the same comparison as one (in memory)."""
    results = {s: sorted([*a.results[s], *b.results[s]], key=lambda r: r.replication)
               for s in a.scenarios}
    reps = len(results[a.scenarios[0]])
    return Comparison(a.scenarios, results, a.stamp | {"replications": reps}, a.policies)


def worst_relative_mcse(c: Comparison) -> float:
    """The largest relative MCSE (MCSE / |mean|) of the headline differences and the net
    benefit to society; infinite where a mean is 0 or there is one replication."""
    probe = CountryResult("", "", "", c)
    worst = 0.0
    values = [probe._diffs(c, k) for k in HEADLINES]
    diffs = [r - b for b, r in values]
    econ = c.economics(c.scenarios[1])["society"]["net_benefit"]
    for d in [interval(x) for x in diffs] + [econ]:
        se = d["mcse"]
        if se == 0.0:  # identical in every replication: nothing more to resolve
            continue
        worst = max(worst, math.inf if se is None or d["mean"] == 0 else se / abs(d["mean"]))
    return worst


def replications_for(rel: float, done: int, precision: float) -> int:
    """Replications that bring a relative MCSE `rel` (from `done`) down to `precision`: MCSE falls
    as 1 / sqrt(replications)."""
    if not math.isfinite(rel):
        return 10 ** 6
    return max(done, math.ceil(done * (rel / precision) ** 2))


def run_planned(codes: tuple[str, ...], *, persons: int, replications: int | None,
                draws: int, draw_persons: int, precision: float | None, budget_s: float,
                months: int, start: Any, seed: int, workers: int, cluster: str | None = None,
                pilot: int = 4, progress: Callable[[Message], None] | None = None
                ) -> list[CountryResult]:
    """The main job: the parameter draws (all of them), a pilot of `pilot` replications, then
    more stochastic replications in batches until every country's headlines reach `precision`
    or the time budget (seconds, counted from the start) is spent.

    With `replications` given, exactly that many are run (no planning). `progress` gets a line
    after each batch, as a message of the reports catalogue (the command writes it in its
    language)."""
    from divert.simulation.runner import executor_for, run_groups

    began = time.perf_counter()
    gs = groups(codes)
    common = dict(months=months, start=start, seed=seed)
    with executor_for(workers, cluster) as ex:
        drawn: list[Comparison] | None = None
        drawn_n = 0
        while drawn_n < draws:
            step = min(DRAW_BATCH, draws - drawn_n)
            batch = run_groups(gs, persons=draw_persons, replications=step, uncertainty=True,
                               executor=ex, first_replication=DRAWS_FIRST + drawn_n, **common)
            drawn = batch if drawn is None else [merged(a, b) for a, b in
                                                 zip(drawn, batch, strict=True)]
            drawn_n += step
            if progress:
                progress(Message(N_("%(draws)s parameter draws in %(seconds)s s"), {
                    "draws": Figure(drawn_n, "d"),
                    "seconds": Figure(time.perf_counter() - began, ".0f")}))
        draws_s = time.perf_counter() - began
        first = replications if replications is not None else pilot
        t0 = time.perf_counter()
        stoch = run_groups(gs, persons=persons, replications=first, uncertainty=False,
                           executor=ex, **common)
        pilot_s = time.perf_counter() - t0
        per_run = pilot_s / (first * len(gs))  # one country, one replication
        done = [first] * len(gs)
        while replications is None and precision is not None:
            want = [replications_for(worst_relative_mcse(c), n, precision)
                    for c, n in zip(stoch, done, strict=True)]
            # a country whose headlines are resolved stops; the others share one numbering
            todo = [i for i in range(len(gs)) if want[i] > done[i]]
            if not todo:
                break
            left = budget_s - (time.perf_counter() - began)
            step = min(max(want[i] - done[i] for i in todo), done[todo[0]],
                       int(0.9 * left / (per_run * len(todo))))
            if step <= 0:
                break
            t1 = time.perf_counter()
            batch = run_groups([gs[i] for i in todo], persons=persons, replications=step,
                               uncertainty=False, executor=ex, first_replication=done[todo[0]],
                               **common)
            per_run = (time.perf_counter() - t1) / (step * len(todo))
            for i, more in zip(todo, batch, strict=True):
                stoch[i] = merged(stoch[i], more)
                done[i] += step
            if progress:
                progress(Message(N_("replications %(done)s after %(seconds)s s"), {
                    "done": Figure(str(done), "s"),
                    "seconds": Figure(time.perf_counter() - began, ".0f")}))
    elapsed = time.perf_counter() - began
    out = []
    for i, c in enumerate(stoch):
        policy = c.policies[c.scenarios[0]]
        design = {"persons": persons, "replications": done[i], "draws": drawn_n,
                  "draw_persons": draw_persons, "draws_first_replication": DRAWS_FIRST,
                  "precision": precision, "budget_s": budget_s, "seconds": round(elapsed, 1),
                  "draws_seconds": round(draws_s, 1), "pilot_seconds": round(pilot_s, 1),
                  "relative_mcse": worst_relative_mcse(c), "seed": seed,
                  "replay": (f"divert countries -j {codes[i]} --persons {persons} --replications "
                             f"{done[i]} --draws {drawn_n} --draw-persons {draw_persons} "
                             f"--seed {seed} --years {months / 12:g} --start "
                             f"{start.strftime('%Y-%m')}")}
        out.append(CountryResult(policy.code, policy.meta.name, policy.meta.currency or "", c,
                                 drawn[i] if drawn else None, precision, design))
    return out


def results(comparisons: list[Comparison], draws: list[Comparison] | None = None,
            precision: float | None = None) -> list[CountryResult]:
    out = []
    for i, c in enumerate(comparisons):
        policy = c.policies[c.scenarios[0]]
        out.append(CountryResult(policy.code, policy.meta.name, policy.meta.currency or "",
                                 c, draws[i] if draws else None, precision))
    return out


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    return x


def international(c: CountryResult) -> dict[str, Any] | None:
    """The net benefits in international dollars (`divert.studies.parity`, with the factor's source
    and provenance), or None where the PPP table has no factor for the pack."""


    p = parity(c.code, c.currency)
    if p is None:
        return None
    econ = c.headline["economics"]
    keys = ("mean", "low", "high", "mcse", "ci_low", "ci_high")
    return {"unit": p.unit, "conversion": p.cite(), "net_benefit": {
        view: {k: (None if econ[view]["net_benefit"].get(k) is None else
                   to_international(econ[view]["net_benefit"][k], p)) for k in keys}
        for view in ("public", "society")}}


def to_json(countries: list[CountryResult]) -> dict[str, Any]:
    return {"countries": {c.code: _json_safe({"name": c.name, "currency": c.currency,
                                              "stamp": c.comparison.stamp, **c.headline,
                                              "international_dollars": international(c)})
                          for c in countries}}


def signed(d: dict[str, Any], ok: bool, text: Callable[[float], str],
           t: Words | None = None) -> str:
    """A difference as `mean ± MCSE`, or `not resolved at this precision` without its sign (in
    the language of `t`, English without it)."""
    w = t or ENGLISH
    se = d.get("mcse")
    err = f" ± {text(se).lstrip('+')}" if se is not None else ""
    if se == 0.0 and d["mean"] == 0.0:
        return w.gettext("no difference in any replication")
    if ok:
        return f"{text(d['mean'])}{err}"
    return w.gettext("not resolved at this precision (%(figure)s)") % {
        "figure": f"{text(abs(d['mean'])).lstrip('+')}{err}"}


def _chart(countries: list[CountryResult], key: str, title: str, percent: bool,
           w: Words = ENGLISH) -> str:
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
    ax.set_ylabel(w.gettext("%% change").replace("%%", "%") if percent else w.gettext("change"))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _fmt(x: float, percent: bool = False, sign: bool = False, w: Words = ENGLISH) -> str:
    plus = "+" if sign else ""
    if w is ENGLISH:
        return f"{x * 100:{plus}.1f}%" if percent else f"{x:{plus},.0f}"
    if percent:
        return (plus if x > 0 else "") + w.percent(x, 1)
    return w.number(x, 0, signed=sign)


def _replications(countries: list[CountryResult], w: Words = ENGLISH) -> str:
    return ", ".join(f"{c.code} {w.digits(str(c.comparison.stamp.get('replications')))}"
                     for c in countries)


def _unit(unit: str, p: Any, w: Words) -> str:
    """The international dollars' unit ("international $ (2014 prices)") in the language."""
    if w is ENGLISH or p is None:
        return unit
    return w.gettext("international $ (%(year)s prices)") % {"year": w.digits(str(p.price_year))}


CHARTS = (("drug_prisoners_final_year",
           N_("People in prison for drug offences in year 10: reform vs today's law"), True),
          ("overdose_deaths_10y", N_("Overdose deaths over 10 years: reform vs today's law"), True))


def write_index(countries: list[CountryResult], out: Path, reports: dict[str, str],
                locale: str = DEFAULT) -> Path:
    """`index.html`: the headline table for every country, charts, and links to each report, in
    `locale` (the reports' language, `divert --lang`; numbers in its digits)."""
    t = translator(locale, "reports")
    w: Words = ENGLISH if locale == DEFAULT else t
    _ = w.gettext
    rows = []
    for c in countries:
        h = c.headline
        cells = [f"<th>{html.escape(c.name)}</th>"]
        for key, pct in (("drug_prisoners_final_year", False),
                         ("treatment_coverage_final_year", True), ("overdose_deaths_10y", False)):
            d = h[key]["difference"]
            text = partial(_fmt, percent=pct, sign=True, w=w)
            par = h[key].get("parameter")
            spread = ("<br>" + html.escape(_("parameters: [%(low)s, %(high)s] (%(draws)s draws)") % {
                "low": text(par["interval"]["low"]), "high": text(par["interval"]["high"]),
                "draws": w.number(par["draws"], 0)}) if par else "")
            cells.append(f"<td>{_fmt(h[key]['baseline'], pct, w=w)} &rarr; "
                         f"{_fmt(h[key]['reform'], pct, w=w)}"
                         f"<br><small>{html.escape(signed(d, h[key]['resolved'], text, w))}"
                         f"{spread}</small></td>")
        e = h["economics"]
        ep = h.get("economics_parameter")
        for view in ("public", "society"):
            nb = e[view]["net_benefit"]
            text = partial(_fmt, percent=False, sign=True, w=w)
            extra = ""
            if ep is not None:
                pi = ep[view]["net_benefit"]
                extra = "<br>" + html.escape(_(
                    "parameters: [%(low)s, %(high)s]; P(benefit > cost) %(share)s of %(draws)s "
                    "draws") % {"low": text(pi["low"]), "high": text(pi["high"]),
                                "share": w.percent(ep[view]["probability_benefits_exceed_costs"]),
                                "draws": w.number(ep[view]["draws"], 0)})
            common = international(c)
            if common is not None:
                m = common["net_benefit"][view]
                unit = _unit(common["unit"], parity(c.code, c.currency), w)
                extra = (f"{html.escape(signed(m, e[view]['net_benefit_resolved'], text, w))} "
                         f"{html.escape(unit)}{extra}")
            cells.append(f"<td>{html.escape(signed(nb, e[view]['net_benefit_resolved'], text, w))} "
                         f"{html.escape(c.currency)}<br><small>{extra}</small></td>")
        link = reports.get(c.code)
        cells.append(f'<td><a href="{html.escape(link)}">{html.escape(_("report"))}</a></td>'
                     if link else "<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    stamp = countries[0].comparison.stamp if countries else {}
    headlines = "".join(
        f"<li><strong>{html.escape(c.name)}.</strong> "
        + html.escape(sentence(c.headline, reform=REFORM, currency=c.currency,
                               parity=parity(c.code, c.currency),
                               years=stamp.get("months", 0) / 12, t=w)) + "</li>"
        for c in countries)
    charts = "".join(
        f'<figure><img alt="{html.escape(_(title))}" '
        f'src="{_chart(countries, k, _(title), p, w)}"></figure>' for k, title, p in CHARTS)
    values = {
        "reform": f"<code>{REFORM}</code>", "years": w.number(stamp.get("months", 0) // 12, 0),
        "start": html.escape(w.digits(str(stamp.get("start", "")))),
        "persons": w.number(stamp.get("persons", 0), 0),
        "book": "<code>divert policy book</code>",
        "not_resolved": html.escape(_(NOT_RESOLVED)),
        "replications": html.escape(_replications(countries, w))}
    about = _("""\
Each jurisdiction's law today (its policy pack) against the same law with treatment instead of
conviction for minor possession (its %(reform)s scenario, in force from 2026-01-01), over
%(years)s years from %(start)s. Figures are for the
whole population (a simulated sample of %(persons)s people, scaled). Money is in each
country's currency, discounted, and below it in international dollars of the pack's price year (the
World Bank's PPP conversion factor, GDP, from divert's table src/divert/studies/ppp.yaml; most factors
there are marked unverified). Most practice parameters outside the USA are stated assumptions (see
%(book)s).""") % values
    methods = _("""\
<strong>Methods: two kinds of uncertainty, kept apart.</strong> The first line under each figure
is the reform's effect at the packs' central parameter values: the mean of paired replications
(common random numbers) &plusmn; its Monte Carlo standard error. Where its 95%% confidence interval
includes zero it says <em>%(not_resolved)s</em> instead of giving a sign. Replications are added
until each headline's error is at most the precision asked for (a share of its mean), or the time
budget is spent. The line <em>parameters</em> is the 2.5th-97.5th percentile range over
independent draws of the sourced parameter distributions (each at a smaller sample, so it also
holds some chance variation), with the share of draws whose benefits exceed their costs. Net
benefit is computed per draw; the benefit-cost ratio is mean benefits over mean costs.
Replications per country: %(replications)s.""") % values
    footer = _("""divert %(version)s, seed %(seed)s.
Each country's report gives its trajectories, costs by sector, the stamp with the pack hashes,
and what the scenario changes in the law.""") % {
        "version": html.escape(str(stamp.get("divert", ""))),
        "seed": w.digits(str(stamp.get("seed", "")))}
    head = [f"<th>{html.escape(x)}</th>" for x in (
        _("jurisdiction"), _("in prison for drug offences (year 10)"),
        _("treatment coverage (year 10)"), _("overdose deaths (10 years)"),
        _("net benefit, public budget"), _("net benefit, society"))]
    title = html.escape(_("divert: treatment instead of conviction, six jurisdictions"))
    heading = html.escape(_("Treatment instead of conviction for minor drug offences"))
    in_one = html.escape(_("In one sentence per country"))
    align = "right" if direction(locale) == "rtl" else "left"
    page = f"""<!doctype html>
<html lang="{locale}" dir="{direction(locale)}"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; }}
th, td {{ border: 1px solid #ccd; padding: .35rem .5rem; text-align: {align}; vertical-align: top; }}
small {{ color: #555; }} figure {{ margin: 1rem 0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>{heading}</h1>
<p>{about}</p>
<p>{methods}</p>
<h2>{in_one}</h2>
<ul>{headlines}</ul>
<table><tr>{''.join(head[:2])}
{''.join(head[2:4])}
{''.join(head[4:])}<th></th></tr>
{''.join(rows)}</table>
{charts}
<p><small>{footer}</small></p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
