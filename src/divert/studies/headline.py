"""The country comparison in words: money with scale, one headline sentence per country, and
warnings where the run is too small for a figure.

Pure functions over one country's `CountryResult.headline` (`divert.studies.countries`): each difference
there carries its mean, Monte Carlo standard error and `resolved` (its confidence interval
excludes zero, `divert.simulation.outcomes.resolved`). A figure not resolved is never given a sign: the
sentence says "not resolved at this size" instead.
"""

from __future__ import annotations

import math
from typing import Any

from divert.studies.parity import Parity, to_international

NOT_RESOLVED = "not resolved at this size"
MIN_REPLICATIONS = 20
"""Replications below which every figure is flagged (the form's advice for figures presented)."""
MIN_EVENTS = 30
"""Fewest events of a figure in the simulated sample (per run) for it to be read as a count
(the report's smallest cohort shown, `divert.reports.comparison.MIN_COHORT`)."""
MAX_RELATIVE_MCSE = 0.1
"""Largest Monte Carlo error, as a share of a resolved figure, before it is flagged imprecise
(`divert countries`' default precision)."""

REFORM_PHRASES = {
    "treatment_not_conviction": "Treating instead of convicting",
    "prison_treatment": "Treatment in prison and at release",
    "equivalence_of_care": "Treatment in prison equal to the community's",
    "treatment_scale_up": "Scaling up treatment",
    "prevention": "More prevention and drug education",
}
FIGURES = {
    "drug_prisoners_final_year": ("people in prison for drug offences", "in the final year"),
    "overdose_deaths_10y": ("overdose deaths", "over the run"),
}
SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def _significant(x: float, digits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def amount(value: float, digits: int = 3) -> str:
    """A large number in words: `1.23 billion`, `45.6 million`, `950,000`, `12`."""
    if not math.isfinite(value):
        return "n/a"
    x = _significant(abs(value), digits)
    sign = "-" if value < 0 and x != 0 else ""
    for size, word in SCALES:
        if x >= size:
            return f"{sign}{x / size:,.{max(digits - 1 - int(math.log10(x / size)), 0)}f} {word}"
    return f"{sign}{x:,.0f}" if x >= 10 else f"{sign}{x:,.{max(digits - 1, 0)}g}"


def money(value: float | None, currency: str, signed: bool = False) -> str:
    """`IRR 1.23 trillion`; `+USD 4.5 million` with `signed`."""
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{currency} {amount(abs(value))}"
    if signed and _significant(abs(value), 3) != 0:
        return ("+" if value > 0 else "-") + text
    return text


def international(value: float | None, parity: Parity | None, signed: bool = False) -> str:
    """The amount in international dollars, or n/a without a parity."""
    if parity is None or value is None:
        return "n/a"
    return money(to_international(value, parity), "Int$", signed)


def count(value: float) -> str:
    """People or deaths: whole numbers, two significant figures from 100 up."""
    x = abs(value)
    return f"{_significant(x, 2):,.0f}" if x >= 100 else f"{x:,.0f}"


def _zero(d: dict[str, Any]) -> bool:
    return d.get("mcse") == 0.0 and d.get("mean") == 0.0


def _change(entry: dict[str, Any], key: str, when: str | None = None) -> str:
    """`1,200 fewer people in prison for drug offences in the final year`, or not resolved."""
    what, default = FIGURES[key]
    when = when or default
    d = entry["difference"]
    if _zero(d):
        return f"no change in {what} {when}"
    if not entry["resolved"]:
        return f"a change in {what} {when} {NOT_RESOLVED}"
    word = "fewer" if d["mean"] < 0 else "more"
    return f"{count(d['mean'])} {word} {what} {when}"


def _cost(econ: dict[str, Any], currency: str, parity: Parity | None) -> str:
    """`saving the public budget EUR 3.4 million (Int$ 5.8 million)`, or not resolved."""
    public = econ["public"]
    net = public["net_benefit"]
    if _zero(net):
        return "at no difference in cost to the public budget"
    if not public.get("net_benefit_resolved"):
        return f"with a net effect on the public budget {NOT_RESOLVED}"
    verb = "saving" if net["mean"] > 0 else "costing"
    common = ""
    if parity is not None and parity.factor != 1.0:
        common = f" ({international(abs(net['mean']), parity)}, {parity.price_year} prices)"
    return f"{verb} the public budget {money(abs(net['mean']), currency)}{common}"


def sentence(headline: dict[str, Any], *, reform: str, currency: str, parity: Parity | None,
             years: float, name: str = "") -> str:
    """One country's headline: "Treating instead of convicting would mean N fewer people in
    prison ... and M fewer overdose deaths over ten years, saving X"; a figure whose interval
    includes zero is "not resolved at this size"."""
    opening = REFORM_PHRASES.get(reform, reform.replace("_", " ").capitalize())
    prisoners = _change(headline["drug_prisoners_final_year"], "drug_prisoners_final_year")
    deaths = _change(headline["overdose_deaths_10y"], "overdose_deaths_10y",
                     f"over {years:g} year{'s' if years != 1 else ''}")
    where = f" in {name}" if name else ""
    return (f"{opening}{where} would mean {prisoners} and {deaths}, "
            f"{_cost(headline['economics'], currency, parity)}.")


def warnings(headline: dict[str, Any], *, replications: int, persons: int,
             sample: dict[str, float]) -> list[str]:
    """Why a figure shown may be too uncertain: too few replications, too few events in the
    simulated sample (`sample`: the baseline's count per run, before scaling), or a Monte Carlo
    error above a tenth of the figure."""
    out: list[str] = []
    if replications < 2:
        out.append("One replication: its Monte Carlo error cannot be estimated, so no difference "
                   f"can be resolved. Run at least {MIN_REPLICATIONS} replications.")
    elif replications < MIN_REPLICATIONS:
        out.append(f"Only {replications} replications (fewer than {MIN_REPLICATIONS}): the "
                   "intervals are wide and rest on few runs; run more before presenting figures.")
    for key, (what, when) in FIGURES.items():
        events = sample.get(key)
        if events is not None and events < MIN_EVENTS:
            out.append(f"{what.capitalize()} {when}: about {events:,.0f} in the {persons:,} "
                       f"simulated people per run (fewer than {MIN_EVENTS}), too few to read as a "
                       "count; simulate more people.")
        entry = headline.get(key)
        if entry and entry["resolved"]:
            d = entry["difference"]
            rel = (d["mcse"] or 0.0) / abs(d["mean"])
            if rel > MAX_RELATIVE_MCSE:
                out.append(f"The change in {what} {when}: its Monte Carlo error is {rel:.0%} of "
                           f"the figure (above {MAX_RELATIVE_MCSE:.0%}); its size is imprecise.")
    return out
