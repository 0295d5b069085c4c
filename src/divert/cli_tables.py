"""The tables and lines the command line prints for a run (`divert countries`, `simulate`,
`compare`, `validate`), in the language of its messages: the words from the cli catalogue, the
numbers in the locale's digits and separators (Babel, through divert.i18n), codes, pack names and
paths as they are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from rich.markup import escape
from rich.table import Table

from divert.i18n import DEFAULT, N_, Translator, translator


@dataclass(frozen=True)
class Words:
    """The cli catalogue and the locale's numbers for one language."""

    t: Translator

    @classmethod
    def of(cls, locale: str) -> Words:
        return cls(translator(locale, "cli"))

    def _(self, message: str, **values: Any) -> str:
        """`message` translated and formatted (a literal % is %% in every message)."""
        return self.t.gettext(message) % values

    def ngettext(self, singular: str, plural: str, n: float, **values: Any) -> str:
        """A message with a plural, its form chosen by `n` as the language counts (French: 0,5
        an, 1,5 an; 2 ans). English is the plural message, as the command has always written it."""
        if self.t.locale == DEFAULT:
            return plural % values
        count = int(n) if float(n).is_integer() else (
            1 if self.t._babel.plural_form(abs(n)) == "one" else 2)
        return self.t.ngettext(singular, plural, count) % values

    def number(self, value: float, digits: int, signed: bool = False) -> str:
        """`value` to `digits` decimals as the locale writes it, rounded as Python rounds it (the
        English figures stay those the command has always printed)."""
        return self.t.number(float(f"{value:.{digits}f}"), digits, signed=signed)

    def count(self, value: float, signed: bool = False) -> str:
        """A whole number, 12,345 (+12,345 when `signed`), as the locale writes it."""
        return self.number(value, 0, signed)

    def percent(self, share: float, signed: bool = False) -> str:
        """A share to a tenth of a percent, 12.3% (+1.2% when `signed`)."""
        return self.t.percent(float(f"{100 * share:.1f}") / 100, 1, signed=signed)

    def reports(self) -> Translator:
        """The reports catalogue in the same language (the studies' own wording)."""
        return translator(self.t.locale, "reports")


#: the totals the terminal shows: metric, words and unit ({currency}: the pack's currency code)
TOTALS: tuple[tuple[str, str, str], ...] = (
    ("arrests", N_("arrests"), N_("count")),
    ("convictions", N_("convictions"), N_("count")),
    ("diversions", N_("diversions"), N_("persons")),
    ("prison_person_months", N_("time in prison"), N_("person-months")),
    ("treatment_person_months", N_("time in treatment"), N_("person-months")),
    ("overdose_deaths", N_("overdose deaths"), N_("deaths")),
    ("deaths", N_("deaths, all causes"), N_("deaths")),
    ("cost_total_discounted", N_("public cost, discounted"), "{currency}"),
)


def total_label(name: str, words: str, unit: str, currency: str, w: Words | None = None) -> str:
    """A total's row label: its words and unit, e.g. "time in treatment (person-months)", and
    under them the metric's name where it reads otherwise (as in --json)."""
    w = w or Words.of("en")
    shown = currency if unit == "{currency}" else w._(unit)
    label = w._("%(total)s (%(unit)s)", total=w._(words), unit=shown)
    return label if name == words.replace(" ", "_") else f"{label}\n[dim]{name}[/dim]"


def difference_text(d: dict[str, Any], w: Words) -> str:
    """`mean ± MCSE [low, high]`, or the mean without a sign where the run cannot resolve it."""
    from divert.simulation.outcomes import resolved

    se = w._("no MCSE") if d.get("mcse") is None else f"± {w.count(d['mcse'])}"
    head = f"{w.count(d['mean'], signed=True)} {se}"
    if d["mean"] != 0 and not resolved(d):
        figure = f"{w.count(abs(d['mean']))} {se}"
        head = w._("%(figure)s, not resolved at this precision", figure=figure)
    between = w.t.list_separator()
    return f"{head} [{w.count(d['low'], signed=True)}{between}{w.count(d['high'], signed=True)}]"


def totals_table(specs: list[str], comparison: Any, w: Words) -> Table:
    """The totals of each scenario, and each reform's difference from the first."""
    stamp = comparison.stamp
    table = Table(title=w._("Totals over %(months)s months, scaled to the population (means of "
                          "%(replications)s replications ± Monte Carlo standard error; "
                          "differences with a 95%% interval)",
                          months=w.count(stamp["months"]),
                          replications=w.count(stamp["replications"])))
    table.add_column(w._("total (unit)"))
    for s in specs:
        table.add_column(escape(s), justify="right")
    policies = getattr(comparison, "policies", {}) or {}
    base = policies.get(specs[0])
    currency = (base.meta.currency if base is not None else None) or w._("currency units")
    for name, words, unit in TOTALS:
        row = [total_label(name, words, unit, currency, w)]
        for s in specs:
            se = comparison.totals_mcse(s, scaled=True)[name]
            cell = w.count(comparison.totals_population(s)[name]) + (
                f" ± {w.count(se)}" if se is not None else "")
            if s != specs[0]:
                cell += "\n" + difference_text(comparison.difference(s, scaled=True)[name], w)
            row.append(cell)
        table.add_row(*row)
    return table


COUNTRY_COLUMNS = (
    N_("jurisdiction"),
    N_("in prison for drug offences, final year (persons)"),
    N_("treatment coverage, final year (%% of people with a disorder in treatment)"),
    N_("overdose deaths over the years (deaths)"),
    N_("change in public cost, discounted (currency code in each cell)"),
    N_("net benefit to society (currency code in each cell)"),
    N_("replications (runs x persons)"),
)
"""The columns of `divert countries`' table."""


def countries_table(results: list[Any], years: float, start: date, w: Words) -> Table:
    """`divert countries`' table: per country the reform's change in prisoners, treatment,
    overdose deaths, public cost and net benefit, with the run's error and the parameters'
    range; the replications behind each row."""
    from divert.studies.countries import signed

    r = w.reports()
    draws = results[0].design["draws"] if results else 0
    table = Table(title=w.ngettext("Treatment instead of conviction vs today's law, %(years)s year "
                             "from %(start)s (population; reform - today at central values ± "
                             "Monte Carlo error; parameters: 95%% range over %(draws)s draws)",
                             "Treatment instead of conviction vs today's law, %(years)s years "
                             "from %(start)s (population; reform - today at central values ± "
                             "Monte Carlo error; parameters: 95%% range over %(draws)s draws)",
                             years, years=w.t.number(years), start=w.t.month(start),
                             draws=w.count(draws)))
    for col in COUNTRY_COLUMNS:
        table.add_column(w._(col), overflow="fold")
    for c in results:
        h = c.headline
        cells = [escape(c.name)]
        for key, pct in (("drug_prisoners_final_year", False),
                         ("treatment_coverage_final_year", True), ("overdose_deaths_10y", False)):
            d = h[key]["difference"]
            f: Callable[[float], str] = partial(w.percent if pct else w.count, signed=True)
            g: Callable[[float], str] = w.percent if pct else w.count
            cell = (f"{g(h[key]['baseline'])} -> {g(h[key]['reform'])}\n"
                    f"{signed(d, h[key]['resolved'], f, r)}")
            par = h[key].get("parameter")
            if par:
                cell += "\n" + w._("parameters [%(low)s, %(high)s]", low=f(par["interval"]["low"]),
                                 high=f(par["interval"]["high"]))
            cells.append(escape(cell))
        pub = h["economics"]["public"]["net_benefit"]
        cells.append(escape(f"{w.count(-pub['mean'], signed=True)} ± {w.count(pub['mcse'] or 0)} "
                            f"{c.currency}"))
        soc = h["economics"]["society"]
        money: Callable[[float], str] = partial(w.count, signed=True)
        cell = f"{signed(soc['net_benefit'], soc['net_benefit_resolved'], money, r)} {c.currency}"
        ep = h.get("economics_parameter")
        if ep:
            e = ep["society"]
            cell += "\n" + w._("parameters [%(low)s, %(high)s]; P(benefits > costs) %(share)s of "
                             "%(draws)s draws", low=money(e["net_benefit"]["low"]),
                             high=money(e["net_benefit"]["high"]),
                             share=w.t.percent(e["probability_benefits_exceed_costs"]),
                             draws=w.count(e["draws"]))
        cells.append(escape(cell))
        cells.append(f"{w.count(c.design['replications'])} x {w.count(c.design['persons'])}")
        table.add_row(*cells)
    return table


CHECK_COLUMNS = (N_("pack"), N_("check"), N_("published"), N_("simulated"), N_("tolerance"),
                 N_("result"), N_("source"))
"""The columns of `divert validate`'s table."""


def _figure(x: float | None, w: Words, prefix: str = "") -> str:
    """A check's figure to 3 significant digits, or a dash where there is none."""
    if x is None:
        return "-"
    text = f"{x:.3g}"
    if "e" in text:  # very large or small: the exponent as Python writes it, the locale's digits
        return prefix + w.t.digits(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return prefix + w.t.number(float(text), decimals)


def checks_table(checks: list[tuple[str, Any]], w: Words) -> Table:
    """The validation table: every check, the not-applicable ones marked as not counted."""
    table = Table(title=w._("Validation against published results"), show_lines=True)
    for col in CHECK_COLUMNS:
        table.add_column(w._(col), overflow="fold")
    for c, k in checks:
        passed, failed = w._("pass"), w._("FAIL")
        result = {True: f"[green]{passed}[/green]", False: f"[red]{failed}[/red]",
                  None: w._("n/a (not counted)")}[k.passed]
        table.add_row(c, escape(check_name(k, w)), _figure(k.published, w),
                      _figure(k.simulated, w),
                      _figure(k.tolerance, w, "±"), result, escape(k.source))
    return table


def _said(message: Any, english: str, w: Words) -> str:
    """A check's message in the language of `w` (the reports catalogue's, the studies' own
    wording); its English where it has none (a check built elsewhere)."""
    from divert.advice.wording import render

    return english if message is None else render(message, w.reports()).strip()


def check_name(k: Any, w: Words) -> str:
    """The check's name in the language of `w`."""
    return _said(getattr(k, "title", None), k.name, w)


def check_line(code: str, k: Any, w: Words) -> str:
    """The line under the table for one check: the pack, the check and what was simulated."""
    return f"  {code} {check_name(k, w)}: {_said(getattr(k, 'said', None), k.detail, w)}"


def checks_summary(checks: list[tuple[str, Any]], w: Words) -> str:
    """How many checks passed, failed and did not apply (the last neither pass nor failure)."""
    passed = sum(k.passed is True for _, k in checks)
    failed = sum(k.passed is False for _, k in checks)
    na = sum(k.passed is None for _, k in checks)
    def failures(n: int) -> str:
        return w.ngettext("%(count)s failed", "%(count)s failed", n, count=w.count(n))

    verdict = w._("every applicable check passes") if not failed else failures(failed)
    # each count a phrase of its own, its form chosen by the count (1 réussie, 2 réussies)
    return w._("%(passed)s, %(failed)s, %(na)s (%(verdict)s)",
               passed=w.ngettext("%(count)s passed", "%(count)s passed", passed,
                                 count=w.count(passed)),
               failed=failures(failed),
               na=w.ngettext("%(count)s not applicable", "%(count)s not applicable", na,
                             count=w.count(na)), verdict=verdict)
