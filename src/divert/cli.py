"""The `divert` command line: score, assess, policy list/validate/book/changes, examples.

Bad input of any kind ends in one line on stderr naming the field and what is allowed, and exit
code 2; never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.exceptions import TyperException

from divert.advice.wording import pgettext
from divert.cli_click import speaking
from divert.cli_help import add_examples, epilog
from divert.errors import DivertError, InputError
from divert.i18n import DEFAULT, LOCALES, N_, parse_locale, translator
from divert.law.vocabulary import STAGES

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  epilog=epilog(""),
                  help="divert: advice on treating people who use drugs instead of convicting "
                       "them, by the law of a place and date; country simulations of what such "
                       "reforms would change; the treatment court's registry and web app.")
policy_app = typer.Typer(no_args_is_help=True,
                         help="Read the law divert encodes. List, check and print the policy "
                              "packs, and see what changed between two dates.")
app.add_typer(policy_app, name="policy")


def package_version() -> str:
    """divert's version as installed (package metadata), else the source's own."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("divert")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        from divert import __version__

        return __version__


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"divert {package_version()}\n")
        raise typer.Exit(0)


_LANG: dict[str, str | None] = {"lang": None}
"""The language given with the global --lang (None: not given)."""


def _set_lang(value: str | None) -> str | None:
    if value is not None:
        _LANG["lang"] = parse_locale(value, "--lang")
    return value


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Print divert's version and stop.")] = False,
          lang: Annotated[str | None, typer.Option(
        "--lang", callback=_set_lang, metavar="LANG",
        help="Language of the messages and reports: en, pt, fr, nl, fa or ms (default "
             "$DIVERT_LANG, then $LC_ALL/$LANG for messages; English).")] = None) -> None:
    """Options for every command (--version, --lang)."""


def report_lang(lang: str | None) -> str:
    """A report's language: the command's --lang, else the global --lang, else $DIVERT_LANG,
    else English."""
    from divert.reports.i18n import report_locale

    return report_locale(parse_locale(lang, "--lang") if lang else _LANG["lang"])


def message_lang(argv: list[str]) -> str:
    """The language of the CLI's own messages: --lang on the command line, else $DIVERT_LANG,
    else $LC_ALL, $LC_MESSAGES or $LANG when divert speaks it, else English. A bad --lang or
    $DIVERT_LANG is an error (raised); an unsupported system locale is English."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return parse_locale(argv[i + 1], "--lang")
        if arg.startswith("--lang="):
            return parse_locale(arg.split("=", 1)[1], "--lang")
    if os.environ.get("DIVERT_LANG"):
        return parse_locale(os.environ["DIVERT_LANG"], "DIVERT_LANG")
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            code = value.split(".")[0].replace("-", "_").split("_")[0].lower()
            return code if code in LOCALES else DEFAULT
    return DEFAULT


def _(msgid: str, /, **values: Any) -> str:
    """A message of the CLI in the language chosen for this run."""
    text = translator(_LANG.get("messages") or DEFAULT, "cli").gettext(msgid)
    return text % values if values or "%%" in msgid else text  # a literal % is %%

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
        raise InputError(_("%(field)s: %(value)s is not a date; expected YYYY-MM-DD", field=name,
                           value=repr(value))) from None


@app.command()
def score(
    instrument: Annotated[str, typer.Argument(help="one of: assist, dast10, audit, crafft, "
                                                   "cage_aid, uncope, dsm5, psa")],
    responses: Annotated[Path, typer.Argument(metavar="ANSWERS.yaml",
                                              help="the answers given, one per question, as in "
                                                   "examples/screening/")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Score a screening questionnaire.

    The answers given, scored as the questionnaire's manual says."""
    from divert.advice.screening import INSTRUMENTS
    from divert.advice.screening import score as score_instrument
    from divert.law.policy import read_yaml

    if instrument not in INSTRUMENTS:
        raise InputError(_("instrument: unknown %(value)s; allowed: %(allowed)s",
                           value=repr(instrument), allowed=", ".join(INSTRUMENTS)))
    data = read_yaml(responses)
    if not isinstance(data, dict):
        raise InputError(_("expected a mapping of responses"), where=str(responses))
    try:
        result = score_instrument(instrument, data)
    except InputError as exc:
        raise InputError(str(exc), where=str(responses)) from None
    payload = result.to_json()
    if as_json:
        _emit_json(payload)
        return
    table = Table(title=f"{instrument} ({responses.name})", show_header=True)
    table.add_column(_("result"))
    table.add_column(_("value"))
    for key, value in payload.items():
        if key == "instrument":
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                table.add_row(f"{key}.{sub}", json.dumps(v) if isinstance(v, dict)
                              else _result(sub, v))
        else:
            table.add_row(key, _result(key, value))
    out.print(table)


def _result(key: str, value: Any) -> str:
    """A score's value as the table shows it: in English as --json has it, in another language
    a number in its digits, yes or no, a band in words (the names of the results are ids)."""
    from divert.advice.triage import BAND_WORDS

    t = translator(_LANG.get("messages") or DEFAULT, "cli")
    if t.locale == DEFAULT or value is None:
        return str(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return t.number(value)
    if key.endswith("band") and value in BAND_WORDS:
        return t.pgettext("band", BAND_WORDS[value])
    return str(value)


@app.command()
def assess(
    case_file: Annotated[Path, typer.Argument(metavar="CASE.yaml",
                                              help="the case: person, offence, history, "
                                                   "screening (as in examples/cases/)")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", metavar="CODE",
                                              help="whose law: a pack code, as `divert policy "
                                                   "list` shows")],
    stage: Annotated[str | None, typer.Option(
        metavar="STAGE", help="only one stage: police, prosecution, court or post_sentence "
                              "(default: every stage)")] = None,
    on: Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD",
                                           help="the law in force on this day (default: the "
                                                "offence date)")] = None,
    brief: Annotated[bool, typer.Option("--brief", help="one screen: what is recommended and "
                                                        "what is open at each stage")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
    projection: Annotated[bool, typer.Option(
        "--projection/--no-projection",
        help="simulate the person's outcomes under each open measure (about 2 s)")] = True,
    copies: Annotated[int, typer.Option(help="simulated copies of the person")] = 2000,
    horizon: Annotated[int, typer.Option(help="years projected (1-10)")] = 3,
    seed: Annotated[int, typer.Option(help="root seed of the projection")] = 1,
) -> None:
    """Advise on one case, stage by stage.

    Which measures the law opens at each stage (police, prosecution, court, after sentence),
    which divert recommends and why, with the law cited, and each open measure's projected
    outcomes for the person (a decision aid, never the decision)."""
    from divert.advice.case import load_case
    from divert.advice.pathways import advise
    from divert.law import policy as policies
    from divert.simulation.projection import Settings, project_advice

    if stage is not None and stage not in STAGES:
        raise InputError(_("--stage: unknown %(value)s; allowed: %(allowed)s", value=repr(stage),
                           allowed=", ".join(STAGES)))
    if not 1 <= horizon <= 10:
        raise InputError(_("--horizon: %(value)s years; allowed: 1 to 10",
                           value=_words().t.digits(str(horizon))))
    if not 10 <= copies <= 1_000_000:
        raise InputError(_("--copies: %(value)s; allowed: 10 to 1000000",
                           value=_words().t.digits(str(copies))))
    day = _parse_date(on)
    pack = policies.load(jurisdiction)
    case = load_case(case_file)
    advice = advise(case, pack, [stage] if stage else None, day)
    if projection and (as_json or not brief):
        project_advice(advice, case, pack, Settings(copies, 12 * horizon, seed))
    if as_json:
        _emit_json(advice.to_json())
        return
    if brief:
        for line in brief_lines(advice):
            out.print(escape(line))
        return
    _print_advice(advice, pack.meta.currency or "")


def brief_lines(advice: Any, width: int = 80) -> list[str]:
    """The advice on one screen, in the language of this run's messages (divert.cli_advice)."""
    from divert.cli_advice import brief_lines as lines

    return lines(advice, _words(), width)


def _print_advice(advice: Any, currency: str = "") -> None:
    from divert.cli_advice import print_advice

    print_advice(out, advice, _words(), currency)


@app.command()
def examples(
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction", "-j", metavar="CODE",
                                                     help="one pack only (default: every "
                                                          "pack)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Check every pack's example cases.

    The advice on each example case beside what its pack expects (exit 1 if any differs): a
    quick check that the law is encoded as intended."""
    from divert.advice.examples import run_examples
    from divert.law import policy as policies

    packs = [policies.load(jurisdiction)] if jurisdiction else list(policies.iter_packs())
    rows = run_examples(packs)
    if as_json:
        _emit_json([r.to_json() for r in rows])
    else:
        w = _words()
        table = Table(title=_("Advice on every pack's example cases"), show_lines=False)
        for col in (N_("pack"), N_("case"), N_("date"), N_("quadrant"), N_("stage"),
                    N_("recommended"), N_("open measures"), N_("as expected")):
            table.add_column(_(col))
        yes, no = _("yes"), _("NO")
        previous = None
        for r in rows:
            first = (r.pack, r.case) != previous
            previous = (r.pack, r.case)
            table.add_row(r.pack if first else "", escape(r.case) if first else "",
                          w.t.digits(r.date) if first else "", r.quadrant if first else "",
                          r.stage, r.recommended or "-",
                          w.t.list_separator().join(r.eligible) or "-",
                          {True: f"[green]{yes}[/green]", False: f"[red]{no}[/red]",
                           None: "-"}[r.ok])
        out.print(table)
        bad = [r for r in rows if r.ok is False]
        n_cases = len({(r.pack, r.case) for r in rows})
        out.print(w.ngettext("%(packs)s pack, %(cases)s cases, %(decisions)s stage decisions; "
                       "%(differ)s differ from the pack's expectations.",
                       "%(packs)s packs, %(cases)s cases, %(decisions)s stage decisions; "
                       "%(differ)s differ from the pack's expectations.", len(packs),
                       packs=w.count(len(packs)), cases=w.count(n_cases),
                       decisions=w.count(len(rows)), differ=w.count(len(bad))))
    if any(r.ok is False for r in rows):
        raise typer.Exit(1)


def _parse_month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise InputError(_("--start: %(value)s is not a month; expected YYYY-MM",
                           value=repr(value))) from None


def _cluster(value: str | None) -> str | None:
    """--cluster, else $DIVERT_DASK_SCHEDULER, else None (no Dask)."""
    import os

    return value or os.environ.get("DIVERT_DASK_SCHEDULER") or None


def _run(specs: list[str], persons: int, years: float, start: str, replications: int, seed: int,
         workers: int, engine: str, uncertainty: bool, quiet: bool, *, cluster: str | None = None,
         out_dir: Path | None = None, resume: bool = False, oversample: float = 1.0) -> Any:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from divert.simulation.runner import check_sizes, run_comparison

    check_sizes(persons, int(round(years * 12)) if years > 0 else 0, seed)
    if out_dir is not None:
        _writable(out_dir)
    if resume and out_dir is None:
        raise InputError(_("--resume: needs --out, the folder of the run to resume"))
    months = int(round(years * 12))
    kwargs = dict(persons=persons, months=months, start=_parse_month(start),
                  replications=replications, seed=seed, workers=workers, engine=engine,
                  uncertainty=uncertainty, cluster=_cluster(cluster), out=out_dir, resume=resume,
                  oversample=oversample)
    if quiet or not sys.stderr.isatty():
        return run_comparison(specs, **kwargs)
    err = Console(stderr=True)
    total = len(specs) * replications
    err.print(plan_text(total, len(specs), persons, months, engine))
    runs = _("%(done)s/%(total)s runs", done="{task.completed}", total="{task.total}")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20),
                  TextColumn(runs), TimeElapsedColumn(), console=err, transient=True) as bar:
        # a run takes seconds: the spinner and the words say it is working before one ends
        task = bar.add_task(progress_text(0, total), total=total)

        def moved(done: int, total: int) -> None:
            bar.update(task, completed=done, description=progress_text(done, total))

        return run_comparison(specs, progress=moved, **kwargs)


def plan_text(total: int, scenarios: int, persons: int, months: int, engine: str) -> str:
    """The line printed before a run: what is simulated (and that the first run compiles)."""
    w = _words()
    values = dict(scenarios=w.t.digits(str(scenarios)),
                  replications=w.t.digits(str(total // max(scenarios, 1))),
                  months=w.t.digits(str(months)), persons=w.count(persons))
    if scenarios == 1:
        text = (_("simulating %(scenarios)s scenario x %(replications)s replications, %(months)s "
                  "months of %(persons)s people; the first run also compiles the simulation",
                  **values) if engine == "numba" else
                _("simulating %(scenarios)s scenario x %(replications)s replications, %(months)s "
                  "months of %(persons)s people", **values))
    else:
        text = (_("simulating %(scenarios)s scenarios x %(replications)s replications, "
                  "%(months)s months of %(persons)s people; the first run also compiles the "
                  "simulation", **values) if engine == "numba" else
                _("simulating %(scenarios)s scenarios x %(replications)s replications, "
                  "%(months)s months of %(persons)s people", **values))
    return text


def progress_text(done: int, total: int) -> str:
    """What the progress bar says: the run under way, then how many are done."""
    if done == 0:
        return _("first run under way")
    return _("%(done)s of %(total)s runs done", done=_words().t.digits(str(done)),
             total=_words().t.digits(str(total)))


Persons = Annotated[int, typer.Option(metavar="N", help="people to simulate: a sample, "
                                                        "scaled up to the population")]
Years = Annotated[float, typer.Option(metavar="YEARS", help="years to simulate")]
Start = Annotated[str, typer.Option(metavar="YYYY-MM", help="first month simulated")]
Replications = Annotated[int, typer.Option(metavar="N", help="repeated runs, each with its own "
                                                             "draw of the uncertain values")]
Seed = Annotated[int, typer.Option(metavar="N", help="random seed: the same seed, the same "
                                                     "results")]
Workers = Annotated[int, typer.Option(metavar="N", help="processes to run at once")]
Cluster = Annotated[str | None, typer.Option(
    "--cluster", help="Dask: a scheduler address (HOST:PORT, tcp://HOST:PORT) or local:N; "
                      "default $DIVERT_DASK_SCHEDULER")]
Resume = Annotated[bool, typer.Option("--resume", help="redo only the tasks --out lacks")]
Engine = Annotated[str, typer.Option(help="numba (compiled) or numpy (reference)")]
NoUncertainty = Annotated[bool, typer.Option("--no-uncertainty", help="use central values, no draws")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]
Oversample = Annotated[float, typer.Option(
    help="run the burn-in with this many times the persons, then keep --persons of them in "
         "proportion to their record, weighted (1: no oversampling; up to 64)")]


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
    oversample: Oversample = 1.0,
) -> None:
    """Simulate a country under its law.

    The population month by month under a pack, optionally changed by scenario files
    (overlays); prints the totals."""
    from divert.cli_json import simulate_json
    from divert.simulation.runner import write_outputs

    spec = "+".join([code, *(str(o) for o in overlay or [])])
    comparison = _run([spec], persons, years, start, replications, seed, workers, engine,
                      not no_uncertainty, as_json, cluster=cluster, out_dir=out_dir, resume=resume,
                      oversample=oversample)
    if out_dir is not None:
        write_outputs(comparison, out_dir)
    data = simulate_json(comparison)
    if as_json:
        _emit_json(data)
        return
    _print_totals([spec], comparison)
    if out_dir is not None:
        out.print(_("wrote %(series)s and %(summary)s", series=out_dir / "series.parquet",
                    summary=out_dir / "summary.json"))


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
    oversample: Oversample = 1.0,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="language of the report: en, pt, fr, nl, fa or ms")] = None,
) -> None:
    """Compare today's law with reforms.

    The same people simulated under each, the totals side by side and the differences with 95%
    intervals; writes an HTML report to --out."""
    from divert.cli_json import compare_json
    from divert.simulation.runner import write_outputs

    locale = report_lang(lang)
    comparison = _run(specs, persons, years, start, replications, seed, workers, engine,
                      not no_uncertainty, as_json, cluster=cluster, out_dir=out_dir, resume=resume,
                      oversample=oversample)
    write_outputs(comparison, out_dir)
    try:
        from divert.reports.comparison import write_report
    except ImportError:  # pragma: no cover - reports arrive with their own module
        write_report = None
    if write_report is not None:
        write_report(comparison, out_dir, locale)
    if as_json:
        _emit_json(compare_json(comparison))
        return
    _print_totals(specs, comparison)
    out.print(_("wrote %(path)s", path=out_dir))


def _words() -> Any:
    """The tables' words and numbers in the language of this run's messages."""
    from divert.cli_tables import Words

    return Words.of(_LANG.get("messages") or DEFAULT)


def _print_totals(specs: list[str], comparison: Any) -> None:
    from divert.cli_tables import totals_table

    out.print(totals_table(specs, comparison, _words()))


@app.command()
def countries(
    persons: Annotated[int, typer.Option(help="people simulated per scenario (scaled)")] = 20_000,
    years: Annotated[float, typer.Option(help="years to simulate")] = 10.0,
    start: Annotated[str, typer.Option(help="first month, YYYY-MM")] = "2026-01",
    replications: Annotated[int | None, typer.Option(
        help="replications at central values (default: as many as --precision needs within "
             "--budget)")] = None,
    draws: Annotated[int, typer.Option(
        help="parameter draws (0: none), all run whatever --budget")] = 40,
    draw_persons: Annotated[int, typer.Option(help="people simulated per draw")] = 2_000,
    precision: Annotated[float, typer.Option(
        help="target relative Monte Carlo error of the headline differences")] = 0.1,
    budget: Annotated[float, typer.Option(
        help="seconds the simulations may take: the parameter draws and a pilot of 4 "
             "replications always run, then replications for --precision while time is left"
             )] = 210.0,
    seed: Annotated[int, typer.Option(help="root seed")] = 1,
    workers: Annotated[int, typer.Option(help="worker processes")] = 2,
    cluster: Cluster = None,
    only: Annotated[list[str] | None, typer.Option("--jurisdiction", "-j",
                                                   help="limit to these packs")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the reports")] = Path(
        "out/countries"),
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Treatment instead of conviction, country by country.

    Treatment instead of conviction against today's law in six places (the USA, Iran,
    Malaysia, Portugal, Belgium and the UNODC/WHO model pack; -j to choose), over ten years:
    the change in prisoners, treatment, overdose deaths and cost, with how sure each figure is;
    a table here and an HTML report in --out."""
    from divert.advice.wording import render
    from divert.simulation.runner import check_sizes, write_outputs
    from divert.studies import countries as brief

    codes = tuple(only) if only else brief.BRIEFING
    check_sizes(persons, int(round(years * 12)) if years > 0 else 0, seed)
    check_sizes(draw_persons, 12, seed)
    if not 0 < precision < 1:
        raise InputError(_("--precision: a relative error between 0 and 1, got %(value)s",
                           value=format(precision, "g")))
    if budget <= 0:
        raise InputError(_("--budget: must be a positive number of seconds, got %(value)s",
                           value=format(budget, "g")))
    if draws < 0 or draw_persons <= 0:
        raise InputError(_("--draws: must be 0 or more, --draw-persons positive"))
    for code in codes:  # an unknown pack fails before anything runs
        from divert.law import policy as policies

        policies.load(code)
    err = Console(stderr=True)
    say = None if as_json or not sys.stderr.isatty() else (
        lambda m: err.print(escape(render(m, _words().reports()))))
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
            reports[c.code] = str(write_report(c.comparison, folder, report_lang(None))
                                 .relative_to(out_dir))
    index = brief.write_index(results, out_dir, reports, report_lang(None))
    if as_json:
        _emit_json(brief.to_json(results))
        return
    from divert.cli_tables import countries_table

    w = _words()
    out.print(countries_table(results, years, _parse_month(start), w))
    out.print(w._("report: %(path)s", path=index))


@app.command()
def backtest(
    code: Annotated[str, typer.Argument(help="pack code with a backtest.yaml")],
    persons: Annotated[int, typer.Option(help="people simulated (scaled)")] = 20_000,
    replications: Annotated[int, typer.Option(help="replications (parameter draws)")] = 4,
    seed: Annotated[int, typer.Option(help="root seed")] = 1,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Replay a past change of the law.

    Simulate the years around it and set the results beside what was observed, to see whether
    divert reproduces what happened."""
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
    w = _words()
    # the change's description, citations and provenance are the pack's (backtest.yaml)
    bold = f"[bold]{code}[/bold]"
    out.print(_("%(code)s: change of law on %(date)s: %(description)s",
                code=bold, date=w.t.digits(str(spec.change.date)),
                description=escape(spec.change.description)))
    shown = [m for m in ("arrests", "prosecutions", "prison_admissions", "diversions",
                         "compulsory_admissions", "death_sentences", "in_prison")
             if any(result.simulated[m]["mean"]) or m in spec.observed]
    table = Table(title=_("Simulated per year (population; mean [95%% interval]) and observed"))
    table.add_column(_("year"))
    for m in shown:
        table.add_column(_(BACKTEST_COLUMNS[m]), justify="right")
    between = w.t.list_separator()
    for k, year in enumerate(result.years):
        row = [w.t.digits(str(year)) + (" *" if year == spec.change.date.year else "")]
        for m in shown:
            sim = result.simulated[m]
            cell = (f"{w.count(sim['mean'][k])} [{w.count(sim['low'][k])}{between}"
                    f"{w.count(sim['high'][k])}]")
            obs = spec.observed.get(m)
            if obs is not None and year in obs.values:
                cell += "\n" + _("observed %(count)s", count=w.count(obs.values[year]))
            row.append(cell)
        table.add_row(*row)
    out.print(table)
    for m, obs in spec.observed.items():
        out.print("  " + _("observed %(metric)s: %(citation)s (%(provenance)s)", metric=m,
                           citation=escape(obs.citation),
                           provenance=_provenance({"provenance": obs.provenance})))
    out.print("  " + _("* the year the law changed"))


#: backtest's columns: each series with its unit
BACKTEST_COLUMNS = {
    "arrests": N_("arrests (per year)"), "prosecutions": N_("prosecutions (per year)"),
    "prison_admissions": N_("prison admissions (per year)"),
    "diversions": N_("diversions (per year)"),
    "compulsory_admissions": N_("compulsory admissions (per year)"),
    "death_sentences": N_("death sentences (per year)"),
    "in_prison": N_("in prison (persons, average over the year)")}


@app.command()
def validate(
    code: Annotated[str | None, typer.Argument(help="pack code (default: every pack)")] = None,
    persons: Annotated[int, typer.Option(help="people in each experiment")] = 80_000,
    seed: Annotated[int, typer.Option(help="root seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check divert against published studies.

    Simulate each study's question and say whether the result is within its tolerance (exit 1
    if any fails)."""
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


def _print_checks(checks: list[tuple[str, Any]]) -> None:
    """The validation table: every check, the not-applicable ones with their reason, and a count
    in which they are neither passes nor failures."""
    from divert.cli_tables import check_line, checks_summary, checks_table

    w = _words()
    out.print(checks_table(checks, w))
    for c, k in checks:
        out.print(escape(check_line(c, k, w)))
    out.print(checks_summary(checks, w))


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
    """Fit a pack's practice to observed figures.

    The uncertain practice values (how often police arrest, courts convict, ...) fitted to
    observed figures: the latest official figures write the fitted values into practice.yaml,
    historical figures or a registry's figures a scenario file beside the pack."""
    from divert.law import policy as policies
    from divert.simulation.runner import check_sizes
    from divert.studies.calibration import calibrate as fit_pack
    from divert.studies.calibration import calibrate_from_registry

    check_sizes(persons, 12, seed)
    if out_file is not None and not out_file.parent.is_dir():
        raise InputError(_("--out: the folder %(folder)s does not exist; give a file in an "
                           "existing folder (or leave --out out to write beside the pack)",
                           folder=out_file.parent))
    pack = policies.load(code)
    if from_registry is not None:
        fit = calibrate_from_registry(pack, _registry_aggregates(from_registry))
    else:
        from divert.simulation.runner import executor_for

        if targets not in ("baseline", "backtest"):
            raise InputError(_("--targets: %(value)s is not allowed; allowed: baseline, backtest",
                               value=repr(targets)))
        with executor_for(workers, _cluster(cluster)) as executor:
            fit = fit_pack(pack, persons=persons, seed=seed, method=method,
                           max_evaluations=evaluations, executor=executor, kind=targets)
    if from_registry is None and targets == "baseline":
        path, key = fit.write_practice(out_file), "practice"
        done = _("wrote the fitted values into %(path)s (provenance fitted)", path=path)
    else:
        path, key = fit.write_overlay(out_file), "overlay"
        spec = code + "+" + path.stem
        done = _("wrote %(path)s (use it as %(spec)s)", path=path, spec=spec)
    if as_json:
        _emit_json({**fit.to_json(), key: str(path)})
        return
    for line in fit.lines(_words().reports()):
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
    """Which uncertain values matter most.

    How much each of a pack's uncertain practice values moves the totals (Morris or Sobol'
    methods), with a tornado chart in an HTML report."""
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
    for line in result.lines(t=_words().reports()):
        out.print(escape(line))
    if report is not None:
        out.print(_("wrote %(path)s", path=report))


def _writable(folder: Path) -> None:
    """Create `folder` if needed and check a file can be written in it (one line if not)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".divert-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InputError(_("cannot write there: %(reason)s", reason=exc.strerror),
                         where=f"--out {folder}") from None


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
def policy_list(as_json: Annotated[bool, typer.Option(
        "--json", help="print JSON instead of a table")] = False) -> None:
    """List the packs and their rules.
    from divert.law import policy as policies

    Every pack divert has, how many rules it has, and how many of them were checked against the
    law's text (verified) or not yet (unverified)."""
    from divert.law import policy as policies
    from divert.reports.book import pack_summary

    data = [pack_summary(p) for p in policies.iter_packs()]  # the web's policy book shows the same
    if as_json:
        _emit_json(data)
        return
    table = Table(title=_("Policy packs"))
    for col in (N_("code"), N_("name"), N_("rules"), N_("verified"), N_("unverified"),
                N_("parameters"), N_("examples")):
        table.add_column(_(col))
    digits = _words().t.digits
    for d in data:  # the pack's name as the pack writes it
        table.add_row(d["code"], escape(d["name"]), digits(str(d["rules"])),
                      digits(str(d["rule_provenance"]["verified"])),
                      digits(str(d["rule_provenance"]["unverified"])),
                      digits(str(d["parameters"])), digits(str(d["examples"])))
    out.print(table)


@policy_app.command("validate")
def policy_validate(path: Annotated[Path, typer.Argument(help="a pack folder")]) -> None:
    """Check a pack folder.

    Its files, rules and parameters, and that every example case gets the advice the pack
    expects (exit 1 naming the case if not)."""
    from divert.advice.examples import example_problems
    from divert.advice.wording import render
    from divert.law.policy import load_pack

    pack = load_pack(path)
    w = _words()
    failures = []
    for i, ex in enumerate(pack.examples):
        problems = example_problems(pack, ex)
        line = pack.example_lines[i] if i < len(pack.example_lines) else 0
        failures += [f"{path / 'cases.yaml'}:{line}: {ex.name}: {render(p, w.t)}"
                     for p in problems]
    if failures:
        for f in failures:
            sys.stderr.write(f + "\n")
        raise typer.Exit(1)
    n = sum(len(r) for r in pack.rules.values())
    out.print(_("%(code)s: valid (%(rules)s, %(parameters)s, %(examples)s as expected)",
                code=pack.code,
                rules=w.ngettext("%(count)s rule", "%(count)s rules", n, count=w.count(n)),
                parameters=w.ngettext("%(count)s parameter", "%(count)s parameters",
                                      len(pack.parameters), count=w.count(len(pack.parameters))),
                examples=w.ngettext("%(count)s example case", "%(count)s example cases",
                                    len(pack.examples), count=w.count(len(pack.examples)))))


#: the differences `policy validate` names (divert.advice.examples.PROBLEMS, which writes them in
#: English), marked here for the cli catalogue: the ids, measures and values stay as they are
EXAMPLE_PROBLEMS = (N_("triage.%(key)s: expected %(expected)s, got %(got)s"),
                    N_("%(stage)s: expected eligible %(expected)s, got %(got)s"),
                    N_("%(stage)s: expected %(measure)s not eligible"),
                    N_("%(stage)s: expected recommended %(expected)s, got %(got)s"))


@policy_app.command("changes")
def policy_changes(
    code: Annotated[str, typer.Argument(metavar="CODE", help="pack code")],
    start: Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD", help="the earlier date")],
    end: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD", help="the later date")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
) -> None:
    """What changed in a pack between two dates.

    Only the differences in its law and practice: each rule added, removed or changed (with the
    law cited on each date), each law parameter and practice value."""
    from divert.advice.wording import render
    from divert.law import policy as policies
    from divert.reports.book import NOT_IN_FORCE, changes_between

    a, b = _parse_date(start, "--from"), _parse_date(end, "--to")
    assert a is not None and b is not None
    try:
        data = changes_between(policies.load(code), a, b, said=not as_json)
    except InputError as exc:
        raise InputError(f"--{exc}") from None
    if as_json:
        _emit_json(data)
        return
    w = _words()
    name = f"[bold]{escape(data['name'])}[/bold]"
    out.print(_("%(name)s: what changed from %(start)s to %(end)s",
                name=name, start=w.t.digits(str(a)),
                end=w.t.digits(str(b))))
    changed = {"added": N_("%(stage)s: %(measure)s added"),
               "removed": N_("%(stage)s: %(measure)s removed"),
               "changed": N_("%(stage)s: %(measure)s changed")}
    for c in data["rules"]:
        out.print(_(changed[c["change"]], stage=c["stage"], measure=c["measure"]))
        for what in c["changes"]:
            out.print(f"  - {escape(render(what, w.reports()))}")
        law = c["law_after"] or c["law_before"]
        for lb in law:
            out.print("  " + _("law: %(citation)s (%(provenance)s)",
                               citation=escape(lb["citation"]), provenance=_provenance(lb)))
    for key, title in (("parameters", N_("law parameter %(name)s: %(before)s -> %(after)s%(unit)s "
                                         "(%(citation)s, %(provenance)s)")),
                       ("practice", N_("practice value %(name)s: %(before)s -> %(after)s%(unit)s "
                                       "(%(citation)s, %(provenance)s)"))):
        for v in data[key]:
            unit = f" {v['unit']}" if v["unit"] else ""
            before, after = (w.reports().gettext(x) if x == NOT_IN_FORCE else x
                             for x in (v["before"], v["after"]))
            out.print(_(title, name=v["name"], before=escape(before),
                        after=escape(after), unit=unit, citation=escape(v["citation"]),
                        provenance=_provenance(v)))
    rules, laws, values = (len(data[k]) for k in ("rules", "parameters", "practice"))
    out.print(_("%(rules)s, %(parameters)s and %(practice)s changed.",
                rules=w.ngettext("%(count)s rule", "%(count)s rules", rules,
                                 count=w.count(rules)),
                parameters=w.ngettext("%(count)s law parameter", "%(count)s law parameters",
                                      laws, count=w.count(laws)),
                practice=w.ngettext("%(count)s practice value", "%(count)s practice values",
                                    values, count=w.count(values))))


#: a rule's or value's provenance in words (`policy changes`, `backtest`)
PROVENANCE = {"verified": pgettext("provenance", "verified"),
              "unverified": pgettext("provenance", "unverified"),
              "fitted": pgettext("provenance", "fitted")}


def _provenance(item: dict[str, Any]) -> str:
    """The provenance of a rule, value or figure, in the language of the messages."""
    code = str(item["provenance"])
    t = translator(_LANG.get("messages") or DEFAULT, "cli")
    return t.pgettext("provenance", PROVENANCE[code]) if code in PROVENANCE else code


@policy_app.command("book")
def policy_book(
    code: Annotated[str, typer.Argument(help="pack code")],
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write")],
    lang: Annotated[str | None, typer.Option(
        "--lang", help="language of the book: en, pt, fr, nl, fa or ms")] = None,
) -> None:
    """Write a pack as an HTML book.

    One page to read offline: each rule beside the law it encodes, with its citation, dates and
    sources."""
    from divert.law import policy as policies
    from divert.reports.book import render_book

    locale = report_lang(lang)
    pack = policies.load(code)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(render_book(pack, locale=locale), encoding="utf-8")
    except OSError as exc:
        raise InputError(_("--out: cannot write %(file)s: %(reason)s", file=out_file,
                               reason=exc.strerror)) from None
    out.print(_("wrote %(path)s", path=out_file))


@app.command("brief")
def brief(
    code: Annotated[str, typer.Argument(help="pack code")],
    out_file: Annotated[Path | None, typer.Option("--out", help="HTML file to write")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the brief as JSON")] = False,
    persons: Annotated[int, typer.Option(help="people simulated per run")] = 2000,
    replications: Annotated[int, typer.Option(help="replications of each scenario")] = 2,
    years: Annotated[int, typer.Option(help="years simulated")] = 10,
    seed: Annotated[int, typer.Option(help="root seed")] = 0,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="language of the brief: en, pt, fr, nl, fa or ms")] = None,
) -> None:
    """Write a country brief.

    The law today, who is convicted or treated, the problems, and what the reforms and levers
    would change."""
    from divert.law import policy as policies
    from divert.reports import brief as briefs

    locale = report_lang(lang)
    if replications < 2:
        raise InputError(_("--replications: at least 2 (an interval needs two), got %(value)s",
                           value=_words().t.digits(str(replications))))
    policies.load(code)
    sizes = briefs.Sizes(persons=persons, replications=replications, years=years, seed=seed,
                         backtest_persons=persons)
    data = briefs.build(code, sizes)
    if out_file is not None:
        try:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            out_file.write_text(briefs.render_html(data, locale), encoding="utf-8")
        except OSError as exc:
            raise InputError(_("--out: cannot write %(file)s: %(reason)s", file=out_file,
                               reason=exc.strerror)) from None
    if as_json:
        _emit_json(data)
    elif out_file is not None:
        out.print(_("wrote %(path)s", path=out_file))
    else:
        out.print(briefs.summary_text(data))


def _add_registry() -> None:
    """The registry's commands, imported only when asked for (the database libraries take a
    second or two to load, which every other command would otherwise pay)."""
    from divert.registry.cli import app as registry_app

    if not any(g.name == "registry" for g in app.registered_groups):
        app.add_typer(registry_app, name="registry")
        add_examples(app)


def _add_web() -> None:
    """`divert serve` and `divert admin`, imported only when asked for (the web stack is heavy)."""
    from divert.web.cli import admin_app, serve

    if not any(g.name == "admin" for g in app.registered_groups):
        app.add_typer(admin_app, name="admin")
        app.command("serve")(serve)
        add_examples(app)


add_examples(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning bad input into one line and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("registry", "--help", "-h"):
        _add_registry()
    if not args or args[0] in ("serve", "admin", "--help", "-h"):
        _add_web()
    command = typer.main.get_command(app)
    _LANG.update(lang=None, messages=DEFAULT)
    try:
        _LANG["messages"] = message_lang(args)
        with speaking(translator(_LANG["messages"] or DEFAULT, "cli")):  # click's own messages
            code = command.main(args=args, prog_name="divert", standalone_mode=False)
    except DivertError as exc:
        sys.stderr.write(_("error: %(message)s", message=exc) + "\n")
        sys.exit(2)
    except TyperException as exc:  # usage errors: bad option, missing argument
        message = " ".join(exc.format_message().split())
        sys.stderr.write(_("error: %(message)s", message=message) + "\n")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write(_("aborted") + "\n")
        sys.exit(1)
    finally:  # the next run in the same process (a test, an embedding) starts in English
        _LANG.update(lang=None, messages=DEFAULT)
    if isinstance(code, int) and code != 0:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
