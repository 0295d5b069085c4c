"""Countries side by side under one reform: the job's figures and what the page shows of them.

`build(comparisons, reform)` turns the job's comparisons (each pack's baseline against the same
reform, paired by common random numbers, as `divert countries` runs them) into the data of
`countries.json`: per country `divert.studies.countries.CountryResult.headline` (the CLI's own figures:
means, Monte Carlo errors, intervals, `resolved`), the PPP conversion of its money
(`divert.studies.parity`), the baseline's counts in the simulated sample, the reform's effective date
and monthly trajectories with the difference (reform minus today's law) and its 95% confidence
interval. `page(data)` formats it for `compare/countries.html`.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from divert.i18n import current_locale, translator
from divert.studies import headline as words
from divert.studies.parity import Parity, parity
from divert.web.lang import N_, _

COLOURS = ("#3b3b3b", "#1f77b4")  # today's law, the reform (divert.reports.comparison.COLOURS)
DIFFERENCE_COLOUR = "#b35806"
CHART_METRICS = (
    ("in_prison_drug_offence", N_("People in prison for a drug offence"), N_("people"), False),
    ("overdose_deaths", N_("Overdose deaths since the start"), N_("deaths, cumulative"), True),
)
"""Metric, title, unit and whether it is summed from the start (a flow) or read as a stock
(English; the page shows them in its language)."""
LEVEL_BAND = N_("2.5th to 97.5th percentile across replications")
DIFFERENCE_BAND = N_("95% confidence interval of the mean difference (paired replications)")
#: `divert.studies.headline.NOT_RESOLVED`, marked for the web catalogue
NOT_RESOLVED = N_("not resolved at this size")
NO_DIFFERENCE = N_("no difference")
NO_DIFFERENCE_ANY = N_("no difference in any replication")


def _short(x: float) -> float | None:
    return float(f"{x:.6g}") if math.isfinite(x) else None


def _list(values: np.ndarray) -> list[float | None]:
    return [_short(float(v)) for v in values]


def _matrix(comparison: Any, scenario: str, metric: str, cumulative: bool) -> np.ndarray:
    """Replications x months of one metric, population units, in replication order."""
    from divert.simulation.run import SERIES

    j = SERIES.index(metric)
    runs = sorted(comparison.results[scenario], key=lambda r: r.replication)
    values = np.stack([r.series[:, j] * r.scale for r in runs])
    return np.cumsum(values, axis=1) if cumulative else values


def _difference_band(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly mean of paired differences and its 95% confidence interval (t x MCSE); the mean
    alone where one replication leaves the error unknown."""
    from divert.simulation.outcomes import t_975

    mean = d.mean(axis=0)
    n = d.shape[0]
    if n < 2:
        return mean, mean, mean
    half = t_975(n) * d.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def _trajectories(comparison: Any, effective: date | None) -> dict[str, Any]:
    from divert.simulation.run import add_months

    st = comparison.stamp
    start = date.fromisoformat(st["start"] + "-01")
    months = [add_months(start, t) for t in range(int(st["months"]))]
    before = sum(1 for m in months if effective is not None and m < effective)
    base, reform = comparison.scenarios[:2]
    metrics = {}
    for metric, _title, _unit, cumulative in CHART_METRICS:
        b = _matrix(comparison, base, metric, cumulative)
        r = _matrix(comparison, reform, metric, cumulative)
        levels = {}
        for name, v in (("baseline", b), ("reform", r)):
            low, high = np.percentile(v, [2.5, 97.5], axis=0)
            levels[name] = {"mean": _list(v.mean(axis=0)), "low": _list(low), "high": _list(high)}
        mean, low, high = _difference_band(r - b)
        metrics[metric] = {**levels, "difference": {"mean": _list(mean), "low": _list(low),
                                                    "high": _list(high)}}
    return {"months": [f"{m:%Y-%m}" for m in months], "before_months": before,
            "metrics": metrics}


def _sample(comparison: Any, headline: dict[str, Any]) -> dict[str, float]:
    """The baseline's figures per run in the simulated sample (population / scale)."""
    scale = comparison.scale(comparison.scenarios[0]) or 1.0
    return {key: headline[key]["baseline"] / scale for key in words.FIGURES}


def build(comparisons: list[Any], reform: str) -> dict[str, Any]:
    """`countries.json`: every country's headline, money conversion, sample and trajectories."""
    from divert.reports.comparison import _overlay_info
    from divert.studies import countries as brief

    out: dict[str, Any] = {"reform": reform, "countries": []}
    for c in brief.results(comparisons):
        overlays, effective = _overlay_info(c.reform)
        found = parity(c.code, c.currency)
        headline = dict(c.headline)  # non-finite numbers become null as the job writes it
        out["countries"].append({
            "code": c.code, "name": c.name, "currency": c.currency, "scenario": c.reform,
            "reform_title": overlays[0]["title"] if overlays else reform,
            "effective": effective.isoformat() if effective else None,
            "stamp": c.comparison.stamp, "headline": headline,
            "ppp": found.cite() if found else None,
            "sample": _sample(c.comparison, c.headline),
            "trajectories": _trajectories(c.comparison, effective)})
    return out


# --- the page ------------------------------------------------------------------------------------


def _parity_of(country: dict[str, Any]) -> Parity | None:
    cite = country.get("ppp")
    return Parity.from_cite(country["code"], cite) if cite else None


def _difference(entry: dict[str, Any], percent: bool = False) -> str:
    """`-1,200 ± 150 [-1,500 to -900]`, or not resolved without its sign."""
    d = entry["difference"]
    scale = 100.0 if percent else 1.0
    unit = " " + _("points") if percent else ""

    def num(x: float | None, sign: bool = False) -> str:
        if x is None:
            return _("n/a")
        return f"{x * scale:{'+' if sign else ''},.1f}" if percent else (
            ("+" if sign and x > 0 else "-" if x < 0 else "") + words.count(x))

    se = (f" ± {num(d['mcse'])}{unit}" if d.get("mcse") is not None
          else " " + _("(error unknown)"))
    if d.get("mcse") == 0.0 and d["mean"] == 0.0:
        return _(NO_DIFFERENCE_ANY)
    if not entry["resolved"]:
        return f"{_(NOT_RESOLVED)} ({num(abs(d['mean']))}{se})"
    return f"{num(d['mean'], True)}{unit}{se} " + _("[%(low)s to %(high)s]") % {
        "low": num(d["ci_low"], True), "high": num(d["ci_high"], True)}


def money_cell(d: dict[str, Any], ok: bool, currency: str, p: Parity | None) -> dict[str, str]:
    """Net benefit in local currency and international dollars, each with its interval."""
    def both(x: float | None, sign: bool = True) -> tuple[str, str]:
        return words.money(x, currency, sign), words.international(x, p, sign)

    if d.get("mcse") == 0.0 and d["mean"] == 0.0:
        return {"local": _(NO_DIFFERENCE), "common": _(NO_DIFFERENCE), "resolved": "yes"}
    mean, common = both(d["mean"])
    low, low_c = both(d.get("ci_low"))
    high, high_c = both(d.get("ci_high"))
    if not ok:
        mean, common = (f"{_(NOT_RESOLVED)} ({words.money(abs(d['mean']), currency)})",
                        f"{_(NOT_RESOLVED)} ({words.international(abs(d['mean']), p)})")
    interval = _("[%(low)s to %(high)s]")
    return {"local": f"{mean} " + interval % {"low": low, "high": high},
            "common": f"{common} " + interval % {"low": low_c, "high": high_c},
            "resolved": "yes" if ok else "no"}


def _charts(country: dict[str, Any]) -> list[dict[str, Any]]:
    traj = country["trajectories"]
    months, before = traj["months"], traj["before_months"]
    out = []
    for metric, title, unit, _cumulative in CHART_METRICS:
        m = traj["metrics"][metric]
        base = {"label": _("today's law"), "colour": COLOURS[0], "slot": 0, **m["baseline"]}
        reform = {"label": country["reform_label"], "colour": COLOURS[1], "slot": 1, **m["reform"]}
        diff = {"label": _("%(reform)s minus today's law") % {"reform": country["reform_label"]},
                "colour": DIFFERENCE_COLOUR, "slot": "d", **m["difference"]}
        end = months[-1]
        for kind, series, band, name in (
                ("levels", [base, reform], _(LEVEL_BAND), _(title)),
                ("difference", [diff], _(DIFFERENCE_BAND),
                 _("%(title)s: the reform minus today's law") % {"title": _(title)})):
            last = "; ".join(f"{s['label']} {_cell(s['mean'][-1])} " + _("[%(low)s to %(high)s]")
                             % {"low": _cell(s["low"][-1]), "high": _cell(s["high"][-1])}
                             for s in series)
            out.append({"id": f"{country['code']}-{metric}-{kind}", "kind": kind, "title": name,
                        "unit": _(unit), "months": months, "before": before, "band": band,
                        "series": series,
                        "summary": _("In %(month)s: %(values)s.") % {"month": end, "values": last}})
    return out


OVERVIEW = (("drug_prisoners_final_year", N_("People in prison for drug offences, final year")),
            ("overdose_deaths_10y", N_("Overdose deaths over the run")))


def _share(x: float | None, base: float) -> float | None:
    return None if x is None or not base else 100.0 * x / base


def _share_text(mean: float | None, low: float | None, high: float | None, ok: bool) -> str:
    if mean is None:
        return _("n/a (none under today's law)")
    text = f"{mean:+.1f}%" + (" " + _("[%(low)s to %(high)s]") % {"low": f"{low:+.1f}%",
                                                                  "high": f"{high:+.1f}%"}
                              if low is not None and high is not None else "")
    return text if ok else f"{text}, {_(NOT_RESOLVED)}"


def _overview(countries: list[dict[str, Any]], reform: str) -> list[dict[str, Any]]:
    """Per headline, every country's change as a share of today's law with its 95% confidence
    interval (so countries of any size share one axis); grey where not resolved."""
    out = []
    for key, title in OVERVIEW:
        entries = [c["headline"][key] for c in countries]
        mean = [_share(e["difference"]["mean"], e["baseline"]) for e in entries]
        low = [_share(e["difference"].get("ci_low"), e["baseline"]) for e in entries]
        high = [_share(e["difference"].get("ci_high"), e["baseline"]) for e in entries]
        ok = [bool(e["resolved"]) for e in entries]
        names = [c["name"].split(" (")[0] for c in countries]
        rows = [{"name": n, "text": _(NO_DIFFERENCE_ANY)
                 if e["difference"].get("mcse") == 0.0 and e["difference"]["mean"] == 0.0
                 else _share_text(*v)} for n, e, v in
                zip(names, entries, zip(mean, low, high, ok, strict=True), strict=True)]
        out.append({"id": f"overview-{key}", "kind": "overview", "title": _(title),
                    "unit": _("change, %(percent)s of today's law") % {"percent": "%"},
                    "labels": names, "mean": mean, "low": low, "high": high, "resolved": ok, "rows": rows,
                    "reform": _reform(reform)})
    return out


def _reform(name: str) -> str:
    """A reform's phrase (`Treating instead of convicting`) in the page's language (the reports
    catalogue has it)."""
    phrase = words.REFORM_PHRASES.get(name)
    return translator(current_locale(), "reports").gettext(phrase) if phrase else name


def _cell(x: float | None) -> str:
    if x is None:
        return _("n/a")
    return ("-" if x < 0 and round(x) != 0 else "") + words.count(x)


def page(data: dict[str, Any], replications: int, persons: int, years: int) -> dict[str, Any]:
    """What `compare/countries.html` shows of a finished side-by-side job (the sentences and
    warnings in the request's language, from the reports catalogue)."""
    t = translator(current_locale(), "reports")
    rows, sentences, charts, money, warnings = [], [], [], [], []
    for c in data["countries"]:
        h, p = c["headline"], _parity_of(c)
        c = {**c, "reform_label": _reform(data["reform"])}
        before = c["trajectories"]["before_months"]
        after_years = (len(c["trajectories"]["months"]) - before) / 12
        sentences.append({"code": c["code"], "name": c["name"], "text": words.sentence(
            h, reform=data["reform"], currency=c["currency"], parity=p, years=after_years, t=t)})
        econ = h["economics"]
        rows.append({
            "code": c["code"], "name": c["name"],
            "prisoners": f"{_cell(h['drug_prisoners_final_year']['baseline'])} → "
                         f"{_cell(h['drug_prisoners_final_year']['reform'])}",
            "prisoners_change": _difference(h["drug_prisoners_final_year"]),
            "deaths": f"{_cell(h['overdose_deaths_10y']['baseline'])} → "
                      f"{_cell(h['overdose_deaths_10y']['reform'])}",
            "deaths_change": _difference(h["overdose_deaths_10y"]),
            "coverage_change": _difference(h["treatment_coverage_final_year"], percent=True),
            "public": money_cell(econ["public"]["net_benefit"],
                                  bool(econ["public"].get("net_benefit_resolved")),
                                  c["currency"], p),
            "society": money_cell(econ["society"]["net_benefit"],
                                   bool(econ["society"].get("net_benefit_resolved")),
                                   c["currency"], p)})
        money.append({"code": c["code"], "name": c["name"], "currency": c["currency"],
                      "ppp": c.get("ppp")})
        for w in words.warnings(h, replications=replications, persons=persons,
                                sample=c.get("sample", {}), t=t):
            warnings.append({"code": c["code"], "name": c["name"], "text": w})
        charts.append({"code": c["code"], "name": c["name"], "effective": c["effective"],
                       "before": before, "charts": _charts(c), "scenario": c["scenario"],
                       "reform_title": c["reform_title"]})
    overview = _overview(data["countries"], data["reform"])
    return {"reform": data["reform"],
            "reform_label": _reform(data["reform"]),
            "sentences": sentences, "rows": rows, "money": money, "warnings": warnings,
            "countries": charts, "level_band": _(LEVEL_BAND), "difference_band": _(DIFFERENCE_BAND),
            "overview": overview,
            "charts_json": overview + [ch for c in charts for ch in c["charts"]]}
