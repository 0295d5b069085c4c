"""The `divert` command line: score, assess, policy list/validate/book, examples.

Bad input of any kind ends in one line on stderr naming the field and what is allowed, and exit
code 2; never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.exceptions import TyperException

from divert.errors import DivertError, InputError
from divert.law.vocabulary import STAGES

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="divert: treatment instead of conviction, advice by the law of a place.")
policy_app = typer.Typer(no_args_is_help=True, help="Browse, check and print policy packs.")
app.add_typer(policy_app, name="policy")

out = Console(highlight=False, soft_wrap=False,
              width=None if sys.stdout.isatty() else 150)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _parse_date(value: str | None, name: str = "--date") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name}: {value!r} is not a date; expected YYYY-MM-DD") from None


@app.command()
def score(
    instrument: Annotated[str, typer.Argument(help="assist dast10 audit crafft cage_aid uncope "
                                                   "dsm5 psa")],
    responses: Annotated[Path, typer.Argument(help="YAML file of responses as printed")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Score a screening instrument from the options chosen, as its manual says."""
    from divert.advice.screening import INSTRUMENTS
    from divert.advice.screening import score as score_instrument
    from divert.law.policy import read_yaml

    if instrument not in INSTRUMENTS:
        raise InputError(f"instrument: unknown {instrument!r}; allowed: {', '.join(INSTRUMENTS)}")
    data = read_yaml(responses)
    if not isinstance(data, dict):
        raise InputError("expected a mapping of responses", where=str(responses))
    try:
        result = score_instrument(instrument, data)
    except InputError as exc:
        raise InputError(str(exc), where=str(responses)) from None
    payload = result.to_json()
    if as_json:
        _emit_json(payload)
        return
    table = Table(title=f"{instrument} ({responses.name})", show_header=True)
    table.add_column("result")
    table.add_column("value")
    for key, value in payload.items():
        if key == "instrument":
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                table.add_row(f"{key}.{sub}", json.dumps(v) if isinstance(v, dict) else str(v))
        else:
            table.add_row(key, str(value))
    out.print(table)


@app.command()
def assess(
    case_file: Annotated[Path, typer.Argument(metavar="CASE.yaml", help="the case")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="pack code")],
    stage: Annotated[str | None, typer.Option(help="police|prosecution|court|post_sentence")] = None,
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD; default offence date")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Advise on a case, stage by stage, under a jurisdiction's law on a date."""
    from divert.advice.case import load_case
    from divert.advice.pathways import advise
    from divert.law import policy as policies

    if stage is not None and stage not in STAGES:
        raise InputError(f"--stage: unknown {stage!r}; allowed: {', '.join(STAGES)}")
    day = _parse_date(on)
    pack = policies.load(jurisdiction)
    case = load_case(case_file)
    advice = advise(case, pack, [stage] if stage else None, day)
    if as_json:
        _emit_json(advice.to_json())
        return
    _print_advice(advice)


def _print_advice(advice: Any) -> None:
    t = advice.triage
    out.print(f"[bold]{advice.jurisdiction}[/bold] on {advice.date.isoformat()}   triage: risk "
              f"[bold]{t.risk or 'unknown'}[/bold], need [bold]{t.need or 'unknown'}[/bold] -> "
              f"{t.quadrant or 'quadrant unknown'} (disorder {t.disorder or 'unknown'})")
    for reason in t.reasons:
        out.print(f"  - {escape(reason)}")
    for s in advice.stages:
        table = Table(title=f"{s.stage}: recommended {s.recommended or 'none'}", title_justify="left",
                      show_lines=True)
        table.add_column("measure", ratio=2, overflow="fold")
        table.add_column("open?", ratio=1, overflow="fold")
        table.add_column("consent", ratio=1)
        table.add_column("why", ratio=5, overflow="fold")
        table.add_column("law", ratio=2, overflow="fold")
        for m in s.measures:
            mark = {"eligible": "[green]yes[/green]", "not_eligible": "[red]no[/red]",
                    "undetermined": "[yellow]unknown[/yellow]"}[m.status]
            if m.id == s.recommended:
                mark += " [bold](recommended)[/bold]"
            table.add_row(escape(f"{m.id}\n{m.label}\n({m.kind})"), mark,
                          "required" if m.consent_required else "-",
                          escape("\n".join(m.reasons)), escape("\n".join(m.citations)))
        out.print(table)
        for note in s.notes:
            out.print(f"  note: {escape(note)}")


@app.command()
def examples(
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", "-j")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The main job for now: the advice on every pack's example cases, as a readable table."""
    from divert.advice.examples import run_examples
    from divert.law import policy as policies

    packs = [policies.load(jurisdiction)] if jurisdiction else list(policies.iter_packs())
    rows = run_examples(packs)
    if as_json:
        _emit_json([r.to_json() for r in rows])
    else:
        table = Table(title="Advice on every pack's example cases", show_lines=False)
        for col in ("pack", "case", "date", "quadrant", "stage", "recommended", "open measures",
                    "as expected"):
            table.add_column(col)
        previous = None
        for r in rows:
            first = (r.pack, r.case) != previous
            previous = (r.pack, r.case)
            table.add_row(r.pack if first else "", escape(r.case) if first else "",
                          r.date if first else "", r.quadrant if first else "", r.stage,
                          r.recommended or "-", ", ".join(r.eligible) or "-",
                          {True: "[green]yes[/green]", False: "[red]NO[/red]", None: "-"}[r.ok])
        out.print(table)
        bad = [r for r in rows if r.ok is False]
        n_cases = len({(r.pack, r.case) for r in rows})
        out.print(f"{len(packs)} packs, {n_cases} cases, {len(rows)} stage decisions; "
                  f"{len(bad)} differ from the pack's expectations.")
    if any(r.ok is False for r in rows):
        raise typer.Exit(1)


def _parse_month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise InputError(f"--start: {value!r} is not a month; expected YYYY-MM") from None


def _cluster(value: str | None) -> str | None:
    """--cluster, else $DIVERT_DASK_SCHEDULER, else None (no Dask)."""
    import os

    return value or os.environ.get("DIVERT_DASK_SCHEDULER") or None


def _run(specs: list[str], persons: int, years: float, start: str, replications: int, seed: int,
         workers: int, engine: str, uncertainty: bool, quiet: bool, *, cluster: str | None = None,
         out_dir: Path | None = None, resume: bool = False) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from divert.simulation.runner import check_sizes, run_comparison

    check_sizes(persons, int(round(years * 12)) if years > 0 else 0, seed)
    if out_dir is not None:
        _writable(out_dir)
    if resume and out_dir is None:
        raise InputError("--resume: needs --out, the folder of the run to resume")
    months = int(round(years * 12))
    kwargs = dict(persons=persons, months=months, start=_parse_month(start),
                  replications=replications, seed=seed, workers=workers, engine=engine,
                  uncertainty=uncertainty, cluster=_cluster(cluster), out=out_dir, resume=resume)
    if quiet or not sys.stderr.isatty():
        return run_comparison(specs, **kwargs)
    err = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} runs"), TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("simulating", total=len(specs) * replications)
        return run_comparison(specs, progress=lambda done, total: bar.update(task, completed=done),
                              **kwargs)


Persons = Annotated[int, typer.Option(help="people to simulate (a sample, scaled)")]
Years = Annotated[float, typer.Option(help="years to simulate")]
Start = Annotated[str, typer.Option(help="first month, YYYY-MM")]
Replications = Annotated[int, typer.Option(help="replications (parameter draws)")]
Seed = Annotated[int, typer.Option(help="root seed")]
Workers = Annotated[int, typer.Option(help="worker processes")]
Cluster = Annotated[str | None, typer.Option(
    "--cluster", help="Dask: a scheduler address (HOST:PORT, tcp://HOST:PORT) or local:N; "
                      "default $DIVERT_DASK_SCHEDULER")]
Resume = Annotated[bool, typer.Option("--resume", help="redo only the tasks --out lacks")]
Engine = Annotated[str, typer.Option(help="numba (compiled) or numpy (reference)")]
NoUncertainty = Annotated[bool, typer.Option("--no-uncertainty", help="use central values, no draws")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


@app.command()
def simulate(
    code: Annotated[str, typer.Argument(help="pack code")],
    overlay: Annotated[list[Path] | None, typer.Option("--overlay", help="scenario overlay file")] = None,
    persons: Persons = 100_000,
    years: Years = 10.0,
    start: Start = "2025-01",
    replications: Replications = 1,
    seed: Seed = 1,
    workers: Workers = 1,
    cluster: Cluster = None,
    engine: Engine = "numba",
    no_uncertainty: NoUncertainty = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder for outputs")] = None,
    resume: Resume = False,
    as_json: AsJson = False,
) -> None:
    """Simulate a country's population under a pack (and overlays), month by month."""
    from divert.simulation.runner import simulate_json, write_outputs

    spec = "+".join([code, *(str(o) for o in overlay or [])])
    comparison = _run([spec], persons, years, start, replications, seed, workers, engine,
                      not no_uncertainty, as_json, cluster=cluster, out_dir=out_dir, resume=resume)
    if out_dir is not None:
        write_outputs(comparison, out_dir)
    data = simulate_json(comparison)
    if as_json:
        _emit_json(data)
        return
    _print_totals([spec], comparison)
    if out_dir is not None:
        out.print(f"wrote {out_dir}/series.parquet and {out_dir}/summary.json")


@app.command()
def compare(
    specs: Annotated[list[str], typer.Argument(metavar="CODE[+OVERLAY]...",
                                               help="scenarios; the first is the baseline")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for outputs and the report")],
    persons: Persons = 100_000,
    years: Years = 10.0,
    start: Start = "2025-01",
    replications: Replications = 5,
    seed: Seed = 1,
    workers: Workers = 1,
    cluster: Cluster = None,
    engine: Engine = "numba",
    no_uncertainty: NoUncertainty = False,
    resume: Resume = False,
    as_json: AsJson = False,
) -> None:
    """Compare scenarios: today's law and reforms, with differences and 95% intervals."""
    from divert.simulation.runner import compare_json, write_outputs

    comparison = _run(specs, persons, years, start, replications, seed, workers, engine,
                      not no_uncertainty, as_json, cluster=cluster, out_dir=out_dir, resume=resume)
    write_outputs(comparison, out_dir)
    try:
        from divert.reports.comparison import write_report
    except ImportError:  # pragma: no cover - reports arrive with their own module
        write_report = None
    if write_report is not None:
        write_report(comparison, out_dir)
    if as_json:
        _emit_json(compare_json(comparison))
        return
    _print_totals(specs, comparison)
    out.print(f"wrote {out_dir}")


def _print_totals(specs: list[str], comparison: Any) -> None:
    names = ("arrests", "convictions", "diversions", "prison_person_months",
             "treatment_person_months", "overdose_deaths", "deaths", "cost_total_discounted")
    table = Table(title=f"Totals over {comparison.stamp['months']} months, scaled to the "
                        f"population (means of {comparison.stamp['replications']} replications "
                        "± Monte Carlo standard error; differences with a 95% interval)")
    table.add_column("measure")
    for s in specs:
        table.add_column(escape(s), justify="right")
    for name in names:
        row = [name]
        for s in specs:
            se = comparison.totals_mcse(s, scaled=True)[name]
            cell = f"{comparison.totals_population(s)[name]:,.0f}" + (
                f" ± {se:,.0f}" if se is not None else "")
            if s != specs[0]:
                cell += "\n" + _difference_text(comparison.difference(s, scaled=True)[name])
            row.append(cell)
        table.add_row(*row)
    out.print(table)


def _difference_text(d: dict[str, Any], fmt: str = "+,.0f") -> str:
    """`mean ± MCSE [low, high]`, or the mean without a sign where the run cannot resolve it."""
    from divert.simulation.outcomes import resolved

    se = "no MCSE" if d.get("mcse") is None else f"± {d['mcse']:,.0f}"
    head = f"{d['mean']:{fmt}} {se}"
    if d["mean"] != 0 and not resolved(d):
        head = f"{abs(d['mean']):,.0f} {se}, not resolved at this precision"
    return f"{head} [{d['low']:{fmt}}, {d['high']:{fmt}}]"


@app.command()
def countries(
    persons: Annotated[int, typer.Option(help="people simulated per scenario (scaled)")] = 20_000,
    years: Annotated[float, typer.Option(help="years to simulate")] = 10.0,
    start: Annotated[str, typer.Option(help="first month, YYYY-MM")] = "2026-01",
    replications: Annotated[int | None, typer.Option(
        help="replications at central values (default: as many as --precision needs within "
             "--budget)")] = None,
    draws: Annotated[int, typer.Option(
        help="parameter draws (0: none); run 10 at a time within 60% of --budget")] = 40,
    draw_persons: Annotated[int, typer.Option(help="people simulated per draw")] = 2_000,
    precision: Annotated[float, typer.Option(
        help="target relative Monte Carlo error of the headline differences")] = 0.1,
    budget: Annotated[float, typer.Option(
        help="seconds the simulations may take (10 parameter draws and a pilot of 4 "
             "replications always run)")] = 210.0,
    seed: Annotated[int, typer.Option(help="root seed")] = 1,
    workers: Annotated[int, typer.Option(help="worker processes")] = 2,
    cluster: Cluster = None,
    only: Annotated[list[str] | None, typer.Option("--jurisdiction", "-j",
                                                   help="limit to these packs")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the reports")] = Path(
        "out/countries"),
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The main job: today's law against treatment instead of conviction, for the briefing's
    countries and the UNODC/WHO model, over ten years; effects at central values with their Monte
    Carlo error, parameter uncertainty from independent draws; terminal table and HTML."""
    from divert.simulation.runner import check_sizes, write_outputs
    from divert.studies import countries as brief

    codes = tuple(only) if only else brief.BRIEFING
    check_sizes(persons, int(round(years * 12)) if years > 0 else 0, seed)
    check_sizes(draw_persons, 12, seed)
    if not 0 < precision < 1:
        raise InputError(f"--precision: a relative error between 0 and 1, got {precision:g}")
    if budget <= 0:
        raise InputError(f"--budget: must be a positive number of seconds, got {budget:g}")
    if draws < 0 or draw_persons <= 0:
        raise InputError("--draws: must be 0 or more, --draw-persons positive")
    for code in codes:  # an unknown pack fails before anything runs
        from divert.law import policy as policies

        policies.load(code)
    err = Console(stderr=True)
    say = None if as_json or not sys.stderr.isatty() else (lambda m: err.print(escape(m)))
    results = brief.run_planned(codes, persons=persons, replications=replications, draws=draws,
                                draw_persons=draw_persons, precision=precision,
                                budget_s=budget, months=int(round(years * 12)),
                                start=_parse_month(start), seed=seed, workers=workers,
                                cluster=_cluster(cluster), progress=say)
    reports: dict[str, str] = {}
    try:
        from divert.reports.comparison import write_report
    except ImportError:  # pragma: no cover - reports arrive with their own module
        write_report = None
    for c in results:
        folder = out_dir / c.code
        write_outputs(c.comparison, folder)
        if write_report is not None:
            reports[c.code] = str(write_report(c.comparison, folder).relative_to(out_dir))
    index = brief.write_index(results, out_dir, reports)
    if as_json:
        _emit_json(brief.to_json(results))
        return
    table = Table(title=f"Treatment instead of conviction vs today's law, {years:g} years from "
                        f"{start} (population; reform - today at central values ± Monte Carlo "
                        f"error; parameters: 95% range over "
                        f"{results[0].design['draws'] if results else 0} draws)")
    for col in ("jurisdiction", "in prison for drug offences (final year)",
                "treatment coverage (final year)", "overdose deaths", "change in public cost (disc.)",
                "net benefit to society", "replications"):
        table.add_column(col, overflow="fold")
    for c in results:
        h = c.headline
        cells = [escape(c.name)]
        for key, pct in (("drug_prisoners_final_year", False),
                         ("treatment_coverage_final_year", True), ("overdose_deaths_10y", False)):
            d = h[key]["difference"]
            f = (lambda x: f"{x * 100:+.1f}%") if pct else (lambda x: f"{x:+,.0f}")
            g = (lambda x: f"{x * 100:.1f}%") if pct else (lambda x: f"{x:,.0f}")
            cell = (f"{g(h[key]['baseline'])} -> {g(h[key]['reform'])}\n"
                    f"{brief.signed(d, h[key]['resolved'], f)}")
            par = h[key].get("parameter")
            if par:
                cell += f"\nparameters [{f(par['interval']['low'])}, {f(par['interval']['high'])}]"
            cells.append(escape(cell))
        pub = h["economics"]["public"]["net_benefit"]
        cells.append(escape(f"{-pub['mean']:+,.0f} ± {pub['mcse'] or 0:,.0f} {c.currency}"))
        soc = h["economics"]["society"]
        cell = (f"{brief.signed(soc['net_benefit'], soc['net_benefit_resolved'], lambda x: f'{x:+,.0f}')}"
                f" {c.currency}")
        ep = h.get("economics_parameter")
        if ep:
            e = ep["society"]
            cell += (f"\nparameters [{e['net_benefit']['low']:+,.0f}, "
                     f"{e['net_benefit']['high']:+,.0f}]; P(benefits > costs) "
                     f"{e['probability_benefits_exceed_costs']:.0%} of {e['draws']} draws")
        cells.append(escape(cell))
        cells.append(f"{c.design['replications']} x {c.design['persons']:,}")
        table.add_row(*cells)
    out.print(table)
    out.print(f"report: {index}")


@app.command()
def backtest(
    code: Annotated[str, typer.Argument(help="pack code with a backtest.yaml")],
    persons: Annotated[int, typer.Option(help="people simulated (scaled)")] = 20_000,
    replications: Annotated[int, typer.Option(help="replications (parameter draws)")] = 4,
    seed: Annotated[int, typer.Option(help="root seed")] = 1,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Simulate across a dated change of law and set it beside what was observed."""
    from divert.law import policy as policies
    from divert.simulation.runner import check_sizes
    from divert.studies.backtest import backtest as run_backtest

    check_sizes(persons, 12, seed)
    result = run_backtest(policies.load(code), persons=persons, replications=replications,
                          seed=seed, workers=workers)
    if as_json:
        _emit_json(result.to_json())
        return
    spec = result.spec
    out.print(f"[bold]{code}[/bold]: change of law on {spec.change.date}: "
              f"{escape(spec.change.description)}")
    shown = [m for m in ("arrests", "prosecutions", "prison_admissions", "diversions",
                         "compulsory_admissions", "death_sentences", "in_prison")
             if any(result.simulated[m]["mean"]) or m in spec.observed]
    table = Table(title="Simulated per year (population; mean [95% interval]) and observed")
    table.add_column("year")
    for m in shown:
        table.add_column(m.replace("_", " "), justify="right")
    for k, year in enumerate(result.years):
        row = [str(year) + (" *" if year == spec.change.date.year else "")]
        for m in shown:
            sim = result.simulated[m]
            cell = f"{sim['mean'][k]:,.0f} [{sim['low'][k]:,.0f}, {sim['high'][k]:,.0f}]"
            obs = spec.observed.get(m)
            if obs is not None and year in obs.values:
                cell += f"\nobserved {obs.values[year]:,.0f}"
            row.append(cell)
        table.add_row(*row)
    out.print(table)
    for m, obs in spec.observed.items():
        out.print(f"  observed {m}: {escape(obs.citation)} ({obs.provenance})")
    out.print("  * the year the law changed")


@app.command()
def validate(
    code: Annotated[str | None, typer.Argument(help="pack code (default: every pack)")] = None,
    persons: Annotated[int, typer.Option(help="people in each experiment")] = 80_000,
    seed: Annotated[int, typer.Option(help="root seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Set published results beside what divert simulates for the same question, pass or fail."""
    from divert.law import policy as policies
    from divert.simulation.runner import check_sizes
    from divert.studies.validation import validate as run_checks

    check_sizes(persons, 12, seed)
    packs = [policies.load(code)] if code else list(policies.iter_packs())
    checks = []
    for pack in packs:
        for check in run_checks(pack, persons=persons, seed=seed):
            checks.append((pack.code, check))
    if as_json:
        _emit_json({"checks": [{"jurisdiction": c, **k.to_json()} for c, k in checks]})
    else:
        _print_checks(checks)
    if any(k.passed is False for _, k in checks):
        raise typer.Exit(1)


def _num(x: float | None, prefix: str = "") -> str:
    """A check's figure to 3 significant digits, or a dash where there is none."""
    return "-" if x is None else f"{prefix}{x:.3g}"


def _print_checks(checks: list[tuple[str, Any]]) -> None:
    """The validation table: every check, the not-applicable ones with their reason, and a count
    in which they are neither passes nor failures."""
    table = Table(title="Validation against published results", show_lines=True)
    for col in ("pack", "check", "published", "simulated", "tolerance", "result", "source"):
        table.add_column(col, overflow="fold")
    for c, k in checks:
        result = {True: "[green]pass[/green]", False: "[red]FAIL[/red]",
                  None: "n/a (not counted)"}[k.passed]
        table.add_row(c, escape(k.name), _num(k.published), _num(k.simulated),
                      _num(k.tolerance, "±"), result, escape(k.source))
    out.print(table)
    for c, k in checks:
        out.print(f"  {c} {escape(k.name)}: {escape(k.detail)}")
    passed = sum(k.passed is True for _, k in checks)
    failed = sum(k.passed is False for _, k in checks)
    na = sum(k.passed is None for _, k in checks)
    verdict = "every applicable check passes" if not failed else f"{failed} failed"
    out.print(f"{passed} passed, {failed} failed, {na} not applicable ({verdict})")


@app.command()
def calibrate(
    code: Annotated[str, typer.Argument(help="pack code with a targets.yaml")],
    persons: Annotated[int, typer.Option(help="people per evaluation")] = 40_000,
    seed: Annotated[int, typer.Option(help="root seed")] = 1,
    method: Annotated[str, typer.Option(help="least_squares or nelder_mead")] = "least_squares",
    evaluations: Annotated[int, typer.Option(help="most evaluations")] = 60,
    targets: Annotated[str, typer.Option(
        "--targets", help="baseline (the latest official figures; writes the fitted values into "
                          "practice.yaml) or backtest (historical; writes an overlay)")] = "baseline",
    workers: Workers = 1,
    cluster: Cluster = None,
    from_registry: Annotated[str | None, typer.Option(
        "--from-registry", help="a registry (database URL or SQLite file), or a folder written by "
                                "`divert registry export --deidentified`")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="file to write (default policies/CODE/practice.yaml for baseline targets, "
                      "policies/CODE/scenarios/calibrated.yaml otherwise)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Fit the pack's uncertain practice to observed targets (or to a registry's aggregates):
    baseline targets write the fitted values into practice.yaml (provenance fitted), backtest
    targets and registry aggregates a scenario overlay beside the pack; with a fit table."""
    from divert.law import policy as policies
    from divert.simulation.runner import check_sizes
    from divert.studies.calibration import calibrate as fit_pack
    from divert.studies.calibration import calibrate_from_registry

    check_sizes(persons, 12, seed)
    pack = policies.load(code)
    if from_registry is not None:
        fit = calibrate_from_registry(pack, _registry_aggregates(from_registry))
    else:
        from divert.simulation.runner import executor_for

        if targets not in ("baseline", "backtest"):
            raise InputError(f"--targets: {targets!r} is not allowed; allowed: baseline, backtest")
        with executor_for(workers, _cluster(cluster)) as executor:
            fit = fit_pack(pack, persons=persons, seed=seed, method=method,
                           max_evaluations=evaluations, executor=executor, kind=targets)
    if from_registry is None and targets == "baseline":
        path, key = fit.write_practice(out_file), "practice"
        done = f"wrote the fitted values into {path} (provenance fitted)"
    else:
        path, key = fit.write_overlay(out_file), "overlay"
        done = f"wrote {path} (use it as {code}+{path.stem})"
    if as_json:
        _emit_json({**fit.to_json(), key: str(path)})
        return
    for line in fit.lines():
        out.print(escape(line))
    out.print(done)


@app.command()
def sensitivity(
    spec: Annotated[str, typer.Argument(metavar="CODE[+OVERLAY]", help="pack or scenario")],
    method: Annotated[str, typer.Option(help="morris or sobol")] = "morris",
    samples: Annotated[int | None, typer.Option(
        help="Morris trajectories (default 4) or Sobol' base samples (default 64)")] = None,
    persons: Annotated[int, typer.Option(help="people per run (scaled)")] = 5_000,
    years: Years = 5.0,
    start: Start = "2025-01",
    seed: Seed = 1,
    outcome: Annotated[list[str] | None, typer.Option(
        "--outcome", help="a total to explain (repeatable; default five headline totals)")] = None,
    parameter: Annotated[list[str] | None, typer.Option(
        "--parameter", help="limit to these uncertain parameters (repeatable)")] = None,
    workers: Workers = 1,
    cluster: Cluster = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="folder for sensitivity.json, tornado.png and sensitivity.html")] = None,
    as_json: AsJson = False,
) -> None:
    """Global sensitivity (Morris or Sobol' with SALib) of outcomes to the pack's uncertain
    practice parameters, with a tornado plot in an HTML report."""
    from divert.simulation.runner import check_sizes, executor_for
    from divert.studies.sensitivity import analyse, write_report

    check_sizes(persons, int(round(years * 12)) if years > 0 else 0, seed)
    if out_dir is not None:  # a folder that cannot be written fails now, not after the runs
        _writable(out_dir)
    with executor_for(workers, _cluster(cluster)) as executor:
        result = analyse(spec, method=method, samples=samples, persons=persons,
                         months=int(round(years * 12)), start=_parse_month(start), seed=seed,
                         outcomes=outcome, parameters=parameter, executor=executor)
    report = write_report(result, out_dir) if out_dir is not None else None
    if as_json:
        _emit_json(result.to_json())
        return
    for line in result.lines():
        out.print(escape(line))
    if report is not None:
        out.print(f"wrote {report}")


def _writable(folder: Path) -> None:
    """Create `folder` if needed and check a file can be written in it (one line if not)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".divert-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write there: {exc.strerror}", where=f"--out {folder}") from None


def _registry_aggregates(source: str) -> Path:
    """A folder of de-identified aggregate tables: `source` itself, or an export of the registry
    it names (cells under 11 people suppressed, as `registry export --deidentified` writes)."""
    import tempfile

    if Path(source).is_dir():
        return Path(source)
    from divert.registry.cli import _read
    from divert.registry.export import export_tables

    folder = Path(tempfile.mkdtemp(prefix="divert-aggregates-"))
    _read(source, lambda conn: export_tables(conn, folder, 11))
    return folder


@policy_app.command("list")
def policy_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The packs divert has, with their rule counts and provenance."""
    from divert.law import policy as policies

    packs = list(policies.iter_packs())
    data = [{
        "code": p.code, "name": p.meta.name, "hash": p.hash,
        "rules": sum(len(r) for r in p.rules.values()),
        "parameters": len(p.parameters), "examples": len(p.examples),
        "provenance": p.provenance_counts(),
    } for p in packs]
    if as_json:
        _emit_json(data)
        return
    table = Table(title="Policy packs")
    for col in ("code", "name", "rules", "verified", "unverified", "parameters", "examples"):
        table.add_column(col)
    for d in data:
        prov = d["provenance"]
        ver = sum(v["verified"] for k, v in prov.items() if k != "parameters")
        unv = sum(v["unverified"] for k, v in prov.items() if k != "parameters")
        table.add_row(d["code"], d["name"], str(d["rules"]), str(ver), str(unv),
                      str(d["parameters"]), str(d["examples"]))
    out.print(table)


@policy_app.command("validate")
def policy_validate(path: Annotated[Path, typer.Argument(help="a pack folder")]) -> None:
    """Check a pack: schema, rules, parameters and that every example case gives its advice."""
    from divert.advice.examples import check_example
    from divert.law.policy import load_pack

    pack = load_pack(path)
    failures = []
    for i, ex in enumerate(pack.examples):
        problems = check_example(pack, ex)
        line = pack.example_lines[i] if i < len(pack.example_lines) else 0
        failures += [f"{path / 'cases.yaml'}:{line}: {ex.name}: {p}" for p in problems]
    if failures:
        for f in failures:
            sys.stderr.write(f + "\n")
        raise typer.Exit(1)
    n = sum(len(r) for r in pack.rules.values())
    out.print(f"{pack.code}: valid ({n} rules, {len(pack.parameters)} parameters, "
              f"{len(pack.examples)} example cases as expected)")


@policy_app.command("book")
def policy_book(
    code: Annotated[str, typer.Argument(help="pack code")],
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write")],
) -> None:
    """Write the pack as a readable book: each rule beside its law and citation."""
    from divert.law import policy as policies
    from divert.reports.book import render_book

    pack = policies.load(code)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(render_book(pack), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out: cannot write {out_file}: {exc.strerror}") from None
    out.print(f"wrote {out_file}")


@app.command("brief")
def brief(
    code: Annotated[str, typer.Argument(help="pack code")],
    out_file: Annotated[Path | None, typer.Option("--out", help="HTML file to write")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the brief as JSON")] = False,
    persons: Annotated[int, typer.Option(help="people simulated per run")] = 2000,
    replications: Annotated[int, typer.Option(help="replications of each scenario")] = 2,
    years: Annotated[int, typer.Option(help="years simulated")] = 10,
    seed: Annotated[int, typer.Option(help="root seed")] = 0,
) -> None:
    """A country brief: the law, who is convicted or treated, problems, reforms and levers."""
    from divert.law import policy as policies
    from divert.reports import brief as briefs

    if replications < 2:
        raise InputError(f"--replications: at least 2 (an interval needs two), got {replications}")
    policies.load(code)
    sizes = briefs.Sizes(persons=persons, replications=replications, years=years, seed=seed,
                         backtest_persons=persons)
    data = briefs.build(code, sizes)
    if out_file is not None:
        try:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            out_file.write_text(briefs.render_html(data), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--out: cannot write {out_file}: {exc.strerror}") from None
    if as_json:
        _emit_json(data)
    elif out_file is not None:
        out.print(f"wrote {out_file}")
    else:
        out.print(briefs.summary_text(data))


def _add_registry() -> None:
    """The registry's commands, imported only when asked for (the database libraries take a
    second or two to load, which every other command would otherwise pay)."""
    from divert.registry.cli import app as registry_app

    if not any(g.name == "registry" for g in app.registered_groups):
        app.add_typer(registry_app, name="registry")


def _add_web() -> None:
    """`divert serve` and `divert admin`, imported only when asked for (the web stack is heavy)."""
    from divert.web.cli import admin_app, serve

    if not any(g.name == "admin" for g in app.registered_groups):
        app.add_typer(admin_app, name="admin")
        app.command("serve")(serve)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning bad input into one line and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("registry", "--help", "-h"):
        _add_registry()
    if not args or args[0] in ("serve", "admin", "--help", "-h"):
        _add_web()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="divert", standalone_mode=False)
    except DivertError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    except TyperException as exc:  # usage errors: bad option, missing argument
        message = " ".join(exc.format_message().split())
        sys.stderr.write(f"error: {message}\n")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    if isinstance(code, int) and code != 0:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
