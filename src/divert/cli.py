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
from divert.registry.cli import app as registry_app
from divert.vocabulary import STAGES

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="divert: treatment instead of conviction, advice by the law of a place.")
policy_app = typer.Typer(no_args_is_help=True, help="Browse, check and print policy packs.")
app.add_typer(policy_app, name="policy")
app.add_typer(registry_app, name="registry")

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
    from divert.policy import read_yaml
    from divert.screening import INSTRUMENTS
    from divert.screening import score as score_instrument

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
    from divert import policy as policies
    from divert.case import load_case
    from divert.pathways import advise

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
              f"[bold]{t.risk}[/bold], need [bold]{t.need}[/bold] -> {t.quadrant}"
              f" (disorder {t.disorder})")
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
    from divert import policy as policies
    from divert.examples import run_examples

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


@policy_app.command("list")
def policy_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The packs divert has, with their rule counts and provenance."""
    from divert import policy as policies

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
    from divert.examples import check_example
    from divert.policy import load_pack

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
    from divert import policy as policies
    from divert.book import render_book

    pack = policies.load(code)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(render_book(pack), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out: cannot write {out_file}: {exc.strerror}") from None
    out.print(f"wrote {out_file}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning bad input into one line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="divert", standalone_mode=False)
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
