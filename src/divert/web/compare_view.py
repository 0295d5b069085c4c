"""What the comparison pages show: form options, and a finished job's charts and tables.

The figures come from the job's own files (`summary.json` and `trajectories.json`), labelled and
formatted as the HTML report does (`divert.reports.comparison.ROWS`, `TRAJECTORIES`, `fmt`).
"""

from __future__ import annotations

from typing import Any

from divert.errors import DivertError, InputError
from divert.i18n import current_locale, translator
from divert.reports.comparison import COLOURS, ROWS, TRAJECTORIES, fmt, fmt_interval
from divert.web.jobs import FILES, Job, JobManager, files_of, packs
from divert.web.lang import N_, _

BAND = N_("2.5th to 97.5th percentile across replications")
ECONOMICS = (("public", N_("Public budget")), ("society", N_("Society (adds victims' costs and "
                                                             "lost productivity)")))


def _reports(message: str) -> str:
    """A figure's title or unit from the report (`divert.reports.comparison`) in the page's
    language: the reports catalogue translates them."""
    return translator(current_locale(), "reports").gettext(message) if message else message


def pack_options() -> list[dict[str, str]]:
    """Each pack's code and name (from its pack.yaml, without loading the pack), for the form."""
    from divert.law.policy import policies_root, read_yaml

    out = []
    for code in packs():
        try:
            name = str(read_yaml(policies_root() / code / "pack.yaml").get("name") or code)
        except (DivertError, OSError, AttributeError):
            name = code
        out.append({"code": code, "name": name})
    return out


def overlay_options(code: str) -> list[dict[str, Any]]:
    """The reforms shipped with pack `code`: name, title and summary."""
    from divert.simulation.scenarios import resolve_overlay, scenario_names

    out = []
    for name in scenario_names(code):
        try:
            o = resolve_overlay(code, name)
        except DivertError:
            continue
        out.append({"name": name, "title": o.title, "summary": (o.summary or "").strip()})
    return out


def scenarios_of(pack: str, overlays: list[str], together: bool) -> list[str]:
    """The form's choice as scenarios: today's law, each reform, and optionally all together."""
    if together and len(overlays) < 2:
        raise InputError("together: choose at least two reforms to run them together")
    out = [pack] + [f"{pack}+{o}" for o in overlays]
    if together:
        out.append("+".join([pack, *overlays]))
    return out


def label(spec: str) -> str:
    """A short name for a scenario: today's law, or its overlays."""
    names = spec.split("+")[1:]
    return " + ".join(n.replace("_", " ") for n in names) if names else _("today's law")


def title(spec: str) -> str:
    """The overlays' titles, or the pack's law today."""
    from divert.simulation.scenarios import resolve_overlay

    code, *names = spec.split("+")
    if not names:
        return _("%(pack)s: the law today") % {"pack": code}
    titles = []
    for name in names:
        try:
            titles.append(resolve_overlay(code, name).title)
        except DivertError:
            titles.append(name)
    return "; ".join(titles)


def series_of(trajectories: dict[str, Any], metrics: list[str] | None) -> dict[str, Any]:
    """The API's series: per scenario and metric, monthly mean, low and high (population)."""
    from divert.simulation.run import SERIES

    unknown = [m for m in metrics or [] if m not in SERIES]
    if unknown:
        raise InputError(f"metric: unknown {unknown[0][:40]!r}; allowed: {', '.join(SERIES)}")
    keep = set(metrics or SERIES)
    return {"months": trajectories["months"], "replications": trajectories["replications"],
            "band": _(BAND), "units": "population (the sample scaled); costs in "
                                   f"{trajectories['currency']} per month, undiscounted",
            "scenarios": [{"scenario": s["scenario"], "label": label(s["scenario"]),
                           "series": {m: v for m, v in s["series"].items() if m in keep}}
                          for s in trajectories["scenarios"]]}


def _number(value: float | None, money: bool = False) -> str:
    return _("n/a") if value is None else fmt(value, money=money)


def before_months(months: list[str], specs: list[str]) -> int:
    """Months of the run before the earliest reform changes the law (0 without a date)."""
    from divert.reports.comparison import _overlay_info

    dates = [d for d in (_overlay_info(s)[1] for s in specs[1:]) if d is not None]
    first = f"{min(dates):%Y-%m}" if dates else None
    return sum(1 for m in months if first is not None and m < first)


def _charts(traj: dict[str, Any], before: int = 0) -> list[dict[str, Any]]:
    """One chart per key metric: each scenario's mean line and band, with a text alternative;
    `before` months (before a reform takes effect) are shaded."""
    months = traj["months"]
    rows = list(range(len(months))) if len(months) <= 24 else [
        *range(0, len(months), 12), len(months) - 1]
    out = []
    for metric, name, unit in TRAJECTORIES:
        factor = 1e-6 if metric.startswith("cost_") else 1.0
        series = []
        for i, s in enumerate(traj["scenarios"]):
            values = s["series"][metric]
            scaled = {k: [None if v is None else v * factor for v in values[k]]
                      for k in ("mean", "low", "high")}
            series.append({"label": label(s["scenario"]), "colour": COLOURS[i % len(COLOURS)],
                           "slot": i % len(COLOURS), **scaled})
        money = factor != 1.0
        last = "; ".join(f"{s['label']} " + _("%(mean)s [%(low)s to %(high)s]") % {
            "mean": _number(s["mean"][-1], money), "low": _number(s["low"][-1], money),
            "high": _number(s["high"][-1], money)} for s in series)
        out.append({
            "metric": metric, "title": _reports(name),
            "unit": _reports(unit).format(currency=traj["currency"]),
            "months": months, "series": series, "before": before,
            "summary": _("In %(month)s: %(values)s.") % {"month": months[-1], "values": last},
            "table": [{"month": months[t], "cells": [
                _("%(mean)s [%(low)s to %(high)s]") % {
                    "mean": _number(s['mean'][t], money), "low": _number(s['low'][t], money),
                    "high": _number(s['high'][t], money)} for s in series]} for t in rows],
        })
    return out


def _table(summary: dict[str, Any], specs: list[str], finals: dict[str, dict[str, float]],
           currency: str) -> list[dict[str, Any]]:
    """The report's summary rows: each scenario's value and its difference from the baseline."""
    out = []
    for key, name, unit, get in ROWS:
        money = unit == "money"
        cells = []
        for s in specs:
            entry = summary["scenarios"][s]
            diffs = entry.get("difference_population")
            try:
                if key.startswith("final_"):
                    value, diff = get({}, finals[s]), None
                else:
                    value = get(entry["totals_population"], {})
                    diff = ({p: get({k: v[p] for k, v in diffs.items()}, {})
                             for p in ("mean", "low", "high")} if diffs else None)
                cells.append({"value": fmt(value, money=money),
                              "difference": fmt_interval(diff, money) if diff else None})
            except (KeyError, TypeError):  # a figure the summary lacks or could not compute
                cells.append({"value": _("n/a"), "difference": None})
        out.append({"label": _reports(name), "cells": cells,
                    "unit": (_reports("%(currency)s million, discounted") % {"currency": currency}
                             if money else _reports(unit))})
    return out


def _economics(summary: dict[str, Any], specs: list[str], currency: str) -> list[dict[str, Any]]:
    """Each reform's net benefit in local currency and international dollars (with scale words:
    `IRR 6.96 trillion`), "not resolved at this size" where its interval includes zero."""
    from divert.errors import InputError
    from divert.simulation.outcomes import resolved
    from divert.studies.parity import parity
    from divert.web.compare_countries import money_cell

    try:
        common = parity(specs[0].split("+")[0], currency)
    except InputError:  # a pack whose currency the PPP table does not match: local only
        common = None
    out = []
    for s in specs[1:]:
        econ = summary["scenarios"][s].get("economics") or {}
        for key, perspective in ECONOMICS:
            e = econ.get(key)
            if not e:
                continue
            cell = money_cell(e["net_benefit"], resolved(e["net_benefit"]), currency, common)
            ratio = e.get("benefit_cost_ratio")
            prob = e.get("probability_benefits_exceed_costs")
            out.append({
                "scenario": label(s), "perspective": _(perspective),
                "net": cell["local"], "net_common": cell["common"],
                "ratio": (f"{ratio['mean']:.2f} [{ratio['low']:.2f}, {ratio['high']:.2f}]"
                          if ratio and None not in (ratio["mean"], ratio["low"], ratio["high"])
                          else _("no extra programme spending")),
                "probability": _("n/a") if prob is None else f"{100 * prob:.0f}%",
            })
    return out


def results(manager: JobManager, job: Job) -> dict[str, Any]:
    """Everything the page shows of a finished job."""
    summary = manager.summary(job.id) or {"stamp": {}, "scenarios": {}}
    traj = manager.trajectories(job.id)
    specs = list(job.spec["scenarios"])
    finals = {s["scenario"]: {m: s["series"][m]["mean"][-1] for m in ("in_prison", "in_treatment")}
              for s in traj["scenarios"]}
    currency = traj["currency"]
    stamp = summary.get("stamp", {})
    before = before_months(traj["months"], specs)
    charts = _charts(traj, before)
    return {
        "summary": summary, "stamp": stamp, "replay": traj["replay"], "currency": currency,
        "pack_name": traj["pack_name"], "band": _(BAND), "months": traj["months"],
        "scenarios": [{"spec": s, "label": label(s), "title": title(s),
                       "colour": COLOURS[i % len(COLOURS)], "slot": i % len(COLOURS),
                       "stamp": stamp.get("scenarios", {}).get(s, {})}
                      for i, s in enumerate(specs)],
        "charts": charts, "table": _table(summary, specs, finals, currency),
        "charts_json": [{k: c[k] for k in ("metric", "title", "unit", "months", "series",
                                           "before")} for c in charts],
        "economics": _economics(summary, specs, currency), "files": list(FILES),
    }


# --- side by side ----------------------------------------------------------------------------------


def reform_options() -> list[dict[str, str]]:
    """The reforms every pack ships (the country brief's levers), for the side-by-side form."""
    from divert.simulation.scenarios import scenario_names
    from divert.studies.headline import REFORM_PHRASES

    codes = packs()
    shipped = set.intersection(*(set(scenario_names(c)) for c in codes)) if codes else set()
    return [{"name": name, "label": _reports(phrase)} for name, phrase in REFORM_PHRASES.items()
            if name in shipped]


def countries_results(manager: JobManager, job: Job) -> dict[str, Any]:
    """Everything the side-by-side page shows of a finished job."""
    from divert.web.compare_countries import page

    spec = job.spec
    return page(manager.countries(job.id), int(spec["replications"]), int(spec["persons"]),
                int(spec["years"])) | {"files": list(files_of(spec))}


def countries_summary(data: dict[str, Any]) -> dict[str, Any]:
    """The API's summary of a side-by-side job: countries.json without the monthly series."""
    return {"reform": data["reform"],
            "countries": [{k: v for k, v in c.items() if k != "trajectories"}
                          for c in data["countries"]]}
