"""The country comparison in words: money with scale, one headline sentence per country, and
warnings where the run is too small for a figure.

Pure functions over one country's `CountryResult.headline` (`divert.studies.countries`): each difference
there carries its mean, Monte Carlo standard error and `resolved` (its confidence interval
excludes zero, `divert.simulation.outcomes.resolved`). A figure not resolved is never given a sign: the
sentence says "not resolved at this size" instead.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from divert.i18n import DEFAULT, N_
from divert.studies.parity import Parity, to_international


class Words(Protocol):
    """What the sentences need of a language: `divert.i18n.Translator` (reports domain) is one;
    without it the sentences are written in English, as they always were."""

    locale: str

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...

    def number(self, value: float | int, digits: int | None = None,
               signed: bool = False) -> str: ...

    def digits(self, text: str) -> str: ...

    def percent(self, value: float, digits: int = 0) -> str: ...


class _English:
    """English messages (the msgids themselves); numbers are formatted by the callers."""

    locale = DEFAULT

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def number(self, value: float | int, digits: int | None = None, signed: bool = False) -> str:
        return f"{value:{'+' if signed else ''},.{digits or 0}f}"

    def digits(self, text: str) -> str:
        return text

    def percent(self, value: float, digits: int = 0) -> str:
        return f"{value:.{digits}%}"


ENGLISH: Words = _English()


def _words(t: Words | None) -> Words:
    """The language to write in: English (Python's own number formats) without a translator or
    with the English one, so that English text stays as it was."""
    return ENGLISH if t is None or t.locale == DEFAULT else t



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
    "treatment_not_conviction": N_("Treating instead of convicting"),
    "prison_treatment": N_("Treatment in prison and at release"),
    "equivalence_of_care": N_("Treatment in prison equal to the community's"),
    "treatment_scale_up": N_("Scaling up treatment"),
    "prevention": N_("More prevention and drug education"),
}
FIGURES = {
    "drug_prisoners_final_year": ("people in prison for drug offences", "in the final year"),
    "overdose_deaths_10y": ("overdose deaths", "over the run"),
}
"""The headline figures in English words (what and when); the messages below say them whole."""
SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def reform_phrase(reform: str, t: Words | None = None) -> str:
    """The reform as the subject of a sentence ("Treating instead of convicting")."""
    phrase = REFORM_PHRASES.get(reform)
    return _words(t).gettext(phrase) if phrase else reform.replace("_", " ").capitalize()


def _significant(x: float, digits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _scaled(w: Words, word: str, number: str, n: int) -> str:
    """`1,23 milhões`: a number and its scale word, in the plural the number asks for."""
    if word == "trillion":
        text = w.ngettext("%(number)s trillion", "%(number)s trillion", n)
    elif word == "billion":
        text = w.ngettext("%(number)s billion", "%(number)s billion", n)
    else:
        text = w.ngettext("%(number)s million", "%(number)s million", n)
    return text % {"number": number}


def amount(value: float, digits: int = 3, t: Words | None = None) -> str:
    """A large number in words: `1.23 billion`, `45.6 million`, `950,000`, `12` (in the
    language of `t`, its digits and separators: `۴۵٫۶ میلیون` in Persian)."""
    w = _words(t)
    if not math.isfinite(value):
        return w.gettext("n/a")
    x = _significant(abs(value), digits)
    sign = "-" if value < 0 and x != 0 else ""
    for size, word in SCALES:
        if x >= size:
            decimals = max(digits - 1 - int(math.log10(x / size)), 0)
            if w is ENGLISH:
                return f"{sign}{x / size:,.{decimals}f} {word}"
            return sign + _scaled(w, word, w.number(x / size, decimals), int(x / size))
    if w is ENGLISH:
        return f"{sign}{x:,.0f}" if x >= 10 else f"{sign}{x:,.{max(digits - 1, 0)}g}"
    return sign + (w.number(x, 0) if x >= 10 else w.number(float(f"{x:.{max(digits - 1, 1)}g}")))


def money(value: float | None, currency: str, signed: bool = False, t: Words | None = None) -> str:
    """`IRR 1.23 trillion`; `+USD 4.5 million` with `signed`."""
    if value is None or not math.isfinite(value):
        return _words(t).gettext("n/a")
    text = f"{currency} {amount(abs(value), t=t)}"
    if signed and _significant(abs(value), 3) != 0:
        return ("+" if value > 0 else "-") + text
    return text


def international(value: float | None, parity: Parity | None, signed: bool = False,
                  t: Words | None = None) -> str:
    """The amount in international dollars, or n/a without a parity."""
    if parity is None or value is None:
        return _words(t).gettext("n/a")
    return money(to_international(value, parity), "Int$", signed, t)


def count(value: float, t: Words | None = None) -> str:
    """People or deaths: whole numbers, two significant figures from 100 up."""
    x = abs(value)
    shown = _significant(x, 2) if x >= 100 else x
    return _words(t).number(shown, 0)


def _n(value: float) -> int:
    """The count that chooses a plural form: the number as shown (a whole number)."""
    x = abs(value)
    return int(round(_significant(x, 2) if x >= 100 else x))


def _plural_of(x: float) -> int:
    """A count for ngettext from a number that may have a fraction (2.5 years: plural)."""
    return int(x) if float(x).is_integer() else 2


def _zero(d: dict[str, Any]) -> bool:
    return d.get("mcse") == 0.0 and d.get("mean") == 0.0


def _prisoners(entry: dict[str, Any], w: Words) -> str:
    """`1,200 fewer people in prison for drug offences in the final year`, or not resolved."""
    d = entry["difference"]
    if _zero(d):
        return w.gettext("no change in people in prison for drug offences in the final year")
    if not entry["resolved"]:
        return w.gettext("a change in people in prison for drug offences in the final year not "
                         "resolved at this size")
    values = {"count": count(d["mean"], w)}
    if d["mean"] < 0:
        return w.ngettext("%(count)s fewer people in prison for drug offences in the final year",
                          "%(count)s fewer people in prison for drug offences in the final year",
                          _n(d["mean"])) % values
    return w.ngettext("%(count)s more people in prison for drug offences in the final year",
                      "%(count)s more people in prison for drug offences in the final year",
                      _n(d["mean"])) % values


def _over(years: float | None, w: Words) -> str:
    """`over 10 years`; `over the run` where the length is not given."""
    if years is None:
        return w.gettext("over the run")
    shown = f"{years:g}" if w is ENGLISH else w.number(years)
    return w.ngettext("over %(years)s year", "over %(years)s years",
                      _plural_of(years)) % {"years": shown}


def _deaths(entry: dict[str, Any], years: float | None, w: Words) -> str:
    """`30 fewer overdose deaths over 10 years`, or not resolved."""
    d = entry["difference"]
    values = {"when": _over(years, w)}
    if _zero(d):
        return w.gettext("no change in overdose deaths %(when)s") % values
    if not entry["resolved"]:
        return w.gettext("a change in overdose deaths %(when)s not resolved at this size") % values
    values["count"] = count(d["mean"], w)
    if d["mean"] < 0:
        return w.ngettext("%(count)s fewer overdose deaths %(when)s",
                          "%(count)s fewer overdose deaths %(when)s", _n(d["mean"])) % values
    return w.ngettext("%(count)s more overdose deaths %(when)s",
                      "%(count)s more overdose deaths %(when)s", _n(d["mean"])) % values


def _cost(econ: dict[str, Any], currency: str, parity: Parity | None, w: Words) -> str:
    """`saving the public budget EUR 3.4 million (Int$ 5.8 million)`, or not resolved."""
    public = econ["public"]
    net = public["net_benefit"]
    if _zero(net):
        return w.gettext("at no difference in cost to the public budget")
    if not public.get("net_benefit_resolved"):
        return w.gettext("with a net effect on the public budget not resolved at this size")
    values = {"amount": money(abs(net["mean"]), currency, t=w)}
    if parity is not None and parity.factor != 1.0:
        values |= {"international": international(abs(net["mean"]), parity, t=w),
                   "year": w.digits(str(parity.price_year))}
        if net["mean"] > 0:
            return w.gettext("saving the public budget %(amount)s (%(international)s, "
                             "%(year)s prices)") % values
        return w.gettext("costing the public budget %(amount)s (%(international)s, "
                         "%(year)s prices)") % values
    if net["mean"] > 0:
        return w.gettext("saving the public budget %(amount)s") % values
    return w.gettext("costing the public budget %(amount)s") % values


def sentence(headline: dict[str, Any], *, reform: str, currency: str, parity: Parity | None,
             years: float, name: str = "", t: Words | None = None) -> str:
    """One country's headline: "Treating instead of convicting would mean N fewer people in
    prison ... and M fewer overdose deaths over ten years, saving X"; a figure whose interval
    includes zero is "not resolved at this size". In the language of `t` (a reports
    `Translator`), English without it."""
    w = _words(t)
    values = {"reform": reform_phrase(reform, w), "name": name,
              "prisoners": _prisoners(headline["drug_prisoners_final_year"], w),
              "deaths": _deaths(headline["overdose_deaths_10y"], years, w),
              "cost": _cost(headline["economics"], currency, parity, w)}
    if name:
        return w.gettext("%(reform)s in %(name)s would mean %(prisoners)s and %(deaths)s, "
                         "%(cost)s.") % values
    return w.gettext("%(reform)s would mean %(prisoners)s and %(deaths)s, %(cost)s.") % values


#: per figure, the warning that it has too few events in the sample (placeholders to fill)
_FEW = {
    "drug_prisoners_final_year": N_(
        "People in prison for drug offences in the final year: about %(events)s in the "
        "%(persons)s simulated people per run (fewer than %(least)s), too few to read as a count; "
        "simulate more people."),
    "overdose_deaths_10y": N_(
        "Overdose deaths over the run: about %(events)s in the %(persons)s simulated people per "
        "run (fewer than %(least)s), too few to read as a count; simulate more people."),
}
#: per figure, the warning that its resolved change has a large Monte Carlo error
_IMPRECISE = {
    "drug_prisoners_final_year": N_(
        "The change in people in prison for drug offences in the final year: its Monte Carlo "
        "error is %(share)s of the figure (above %(most)s); its size is imprecise."),
    "overdose_deaths_10y": N_(
        "The change in overdose deaths over the run: its Monte Carlo error is %(share)s of the "
        "figure (above %(most)s); its size is imprecise."),
}


def warnings(headline: dict[str, Any], *, replications: int, persons: int,
             sample: dict[str, float], t: Words | None = None) -> list[str]:
    """Why a figure shown may be too uncertain: too few replications, too few events in the
    simulated sample (`sample`: the baseline's count per run, before scaling), or a Monte Carlo
    error above a tenth of the figure. In the language of `t`, English without it."""
    w = _words(t)
    least = w.number(MIN_REPLICATIONS, 0)
    out: list[str] = []
    if replications < 2:
        out.append(w.gettext("One replication: its Monte Carlo error cannot be estimated, so no "
                             "difference can be resolved. Run at least %(least)s replications.")
                   % {"least": least})
    elif replications < MIN_REPLICATIONS:
        out.append(w.ngettext(
            "Only %(count)s replication (fewer than %(least)s): the intervals are wide and rest "
            "on few runs; run more before presenting figures.",
            "Only %(count)s replications (fewer than %(least)s): the intervals are wide and rest "
            "on few runs; run more before presenting figures.", replications)
            % {"count": w.number(replications, 0), "least": least})
    for key in FIGURES:
        events = sample.get(key)
        if events is not None and events < MIN_EVENTS:
            out.append(w.gettext(_FEW[key]) % {"events": w.number(events, 0),
                                       "persons": w.number(persons, 0),
                                       "least": w.number(MIN_EVENTS, 0)})
        entry = headline.get(key)
        if entry and entry["resolved"]:
            d = entry["difference"]
            rel = (d["mcse"] or 0.0) / abs(d["mean"])
            if rel > MAX_RELATIVE_MCSE:
                out.append(w.gettext(_IMPRECISE[key]) % {"share": w.percent(rel),
                                                 "most": w.percent(MAX_RELATIVE_MCSE)})
    return out
