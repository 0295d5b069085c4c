"""`divert registry ...`: the programme registry on the command line (docs/registry.md).

Every command takes `--db URL` (else `DIVERT_DATABASE_URL`, else `./divert-registry.db`); every
change is one transaction, audited with `--actor` (default `$USER`). Commands that change things take
their input as options or as JSON (`--json FILE`, `-` for stdin) and answer in JSON when their input
was JSON or with `--json-out`; commands that only read answer in JSON with `--json`.

Exit codes: 0 done; 1 `verify` found the registry tampered with; 2 bad input or a registry that
cannot be used (one line on stderr naming the field); 3 conflict: the record changed since it was
read, nothing was stored, and your data are kept in a retry file (and printed with JSON output).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from divert.errors import InputError
from divert.registry import inputs, service
from divert.registry.database import RegistryError, shown
from divert.registry.store import ConflictError, Registry, Tx

app = typer.Typer(no_args_is_help=True, help="The programme registry: participants, tests, hearings.")
programme_app = typer.Typer(no_args_is_help=True, help="Programmes and their rules.")
participant_app = typer.Typer(no_args_is_help=True, help="Participants (pseudonymous codes).")
tests_app = typer.Typer(no_args_is_help=True, help="Random drug-test schedules and results.")
hearings_app = typer.Typer(no_args_is_help=True, help="Status hearings.")
calendar_app = typer.Typer(no_args_is_help=True, help="The court's calendar: the weekdays it sits "
                                                      "and the days it is closed (hearings are "
                                                      "booked on sitting days only).")
app.add_typer(programme_app, name="programme")
app.add_typer(participant_app, name="participant")
app.add_typer(tests_app, name="tests")
app.add_typer(hearings_app, name="hearings")
app.add_typer(calendar_app, name="calendar")

R = TypeVar("R")

Db = Annotated[str | None, typer.Option("--db", help="database URL or SQLite file "
                                        "(default: $DIVERT_DATABASE_URL, else ./divert-registry.db)")]
Actor = Annotated[str | None, typer.Option("--actor", help="who makes the change (default: $USER)")]
JsonIn = Annotated[Path | None, typer.Option("--json", metavar="FILE",
                                             help="input as JSON (a file, or - for stdin)")]
JsonOut = Annotated[bool, typer.Option("--json-out", help="answer in JSON")]
AsJson = Annotated[bool, typer.Option("--json", help="answer in JSON")]
Day = Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD (default: today)")]
Code = Annotated[str, typer.Argument(metavar="PARTICIPANT", help="pseudonymous code, e.g. P-7K2M9QXD")]
RetryDir = Annotated[Path, typer.Option("--retry-dir", help="where a conflicting change is kept")]


# ---- helpers --------------------------------------------------------------------------------------

def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n")


def _default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        sys.stderr.write(f"warning: {w}\n")


def _answer_warned(row: dict[str, Any], warnings: list[str], as_json: bool, text: str) -> None:
    """A write that the service accepted with warnings: the warnings on stderr, then the row."""
    _warn(warnings)
    if as_json:
        _emit({**row, "warnings": warnings})
    else:
        _say(text)


def _read_json(path: Path, what: str = "--json") -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{what}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}: {path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what}: {path}: line {exc.lineno}, column {exc.colno}: not JSON "
                         f"({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{what}: {path}: nested too deeply to be registry input") from None


def _gather(json_file: Path | None, **options: Any) -> dict[str, Any]:
    """The input: the JSON object (if any), with options given on the command line on top."""
    data: dict[str, Any] = {}
    if json_file is not None:
        loaded = _read_json(json_file)
        if not isinstance(loaded, dict):
            raise InputError(f"--json: expected a JSON object, got {type(loaded).__name__}")
        data = loaded
    data.update({k: v for k, v in options.items() if v is not None and v != []})
    return data


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name}: {value!r} is not a date; expected YYYY-MM-DD") from None
    if not inputs.EARLIEST <= day <= LATEST:
        raise InputError(f"{name}: {value} is out of range; allowed {inputs.EARLIEST} to {LATEST}")
    return day


LATEST = dt.date(2199, 12, 31)
_TOO_BIG = f"a number is out of range (ids, versions and counts are at most {inputs.MAX_INT})"


def _registry(db: str | None) -> Registry:
    return Registry(db)


def _write(db: str | None, actor: str | None, command: str, fn: Callable[[Tx], R],
           retry_dir: Path | None = None, as_json: bool = False) -> R:
    """Run `fn` in one audited transaction; a conflict keeps the caller's data and exits 3."""
    reg = _registry(db)
    try:
        with reg.write(actor, command) as tx:
            return fn(tx)
    except ConflictError as exc:
        payload = exc.to_json()
        where = _keep_for_retry(payload, retry_dir or Path("."))
        payload["kept_in"] = str(where) if where else None
        if as_json:
            _emit(payload)
        kept = f"; your data are kept in {where}" if where else ""
        sys.stderr.write(f"error: {exc}{kept}; nothing was stored: re-read and retry\n")
        raise typer.Exit(3) from None
    except SQLAlchemyError as exc:
        raise RegistryError(f"database error at {shown(reg.url)}: "
                            f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}") from None
    except OverflowError:
        raise InputError(_TOO_BIG) from None
    finally:
        reg.dispose()


def _keep_for_retry(payload: dict[str, Any], folder: Path) -> Path | None:
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"divert-retry-{payload['table']}-{payload['id']}-{stamp}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, default=_default) + "\n", encoding="utf-8")
    except OSError:
        return None
    return path


def _read(db: str | None, fn: Callable[[Any], R], reg: Registry | None = None) -> R:
    reg = reg or _registry(db)
    try:
        with reg.read() as conn:
            return fn(conn)
    except SQLAlchemyError as exc:
        raise RegistryError(f"database error at {shown(reg.url)}: "
                            f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}") from None
    except OverflowError:
        raise InputError(_TOO_BIG) from None
    finally:
        reg.dispose()


def _cipher(reg: Registry) -> Any:
    return service.registry_cipher(reg)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """A row for output: identity ciphertexts left out."""
    return {k: v for k, v in row.items() if not k.endswith("_enc")}


# ---- set-up, import, export, verify ---------------------------------------------------------------

@app.command()
def init(
    db: Db = None, actor: Actor = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="JSON rules of the default "
                                                               "programme")] = None,
) -> None:
    """Create the registry (or upgrade its schema), the key file if none exists, and the default
    programme."""
    from divert.registry import crypto
    from divert.registry.store import init_registry, seal_plaintext, setup_keys

    rules_data = _read_json(rules, "--rules") if rules else {}
    reg = _registry(db)
    try:
        before, after = init_registry(reg)
        created_key = None
        if not os.environ.get(crypto.KEY_ENV):
            path = crypto.key_file_path()
            if not path.exists():
                try:
                    crypto.create_key_file(path)
                except OSError as exc:
                    raise InputError(f"{crypto.KEY_FILE_ENV}: cannot create {path}: "
                                     f"{exc.strerror}") from None
                created_key = path
        key, source = crypto.load_key()
        chained = setup_keys(reg, key, source, actor)
        sealed = seal_plaintext(reg, actor)
        with reg.write(actor, "registry init") as tx:
            if tx.conn.execute(select(service.T["programmes"].c.id)).first() is None:
                _, warnings = service.add_programme(tx, inputs.validate(inputs.ProgrammeIn, {
                    "code": "default", "name": "Default programme", "rules": rules_data}, "--rules"))
                _warn(warnings)
    finally:
        reg.dispose()
    state = ("created" if before is None else "up to date" if before == after
             else f"upgraded from {before}")
    _say(f"registry at {shown(reg.url)}: schema {after} ({state}), audit chain: {chained}")
    if sealed:
        _say(f"encrypted the free text and case references of {sealed} rows (audited)")
    if created_key:
        _say(f"created the encryption key file {created_key} (readable by you only): back it up "
             "safely; without it names and contacts cannot be read")
    else:
        _say(f"encryption key: {source}")
    _say(f"audit head {reg.last_head or reg.head()}: keep it elsewhere for `verify --expect-head`")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(metavar="FILE.json", help="participants and their events")],
    db: Db = None, actor: Actor = None, json_out: JsonOut = False,
) -> None:
    """Import participants and their events in bulk (format: docs/registry.md), all or nothing."""
    from divert.registry.importer import import_data, parse

    plan = parse(_read_json(file, str(file)), str(file))
    reg = _registry(db)
    cipher = _cipher(reg)
    result = _write(db, actor, f"registry import {file.name}",
                    lambda tx: import_data(tx, cipher, plan, progress=_progress))
    if json_out:
        _emit(result)
    else:
        counts = ", ".join(f"{n} {t}" for t, n in result["counts"].items() if n)
        _say(f"imported {len(result['participants'])} participants ({counts})")


def _progress(done: int, total: int) -> None:
    sys.stderr.write(f"imported {done} of {total} participants...\n")
    sys.stderr.flush()


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="folder for the tables")],
    deidentified: Annotated[bool, typer.Option("--deidentified", help="aggregate, de-identified "
                                                                      "tables (required)")] = False,
    min_cell: Annotated[int, typer.Option("--min-cell", help="suppress counts under this")] = 11,
    db: Db = None, actor: Actor = None,
) -> None:
    """Write de-identified aggregate tables (cells under 11 people suppressed; the export is
    audited; files readable by their owner only)."""
    from divert.registry.export import export_tables

    if not deidentified:
        raise InputError("--deidentified: required; the registry exports only de-identified "
                         "aggregates")
    if min_cell < 11:
        raise InputError("--min-cell: at least 11")
    def exported(tx: Tx) -> list[Path]:
        files = export_tables(tx.conn, out, min_cell)
        tx.record_export({"tables": [p.name for p in files], "min_cell": min_cell,
                          "to": str(out.resolve())})
        return files

    written = _write(db, actor, "registry export --deidentified", exported)
    _say(f"wrote {', '.join(str(p) for p in written)}")


@app.command()
def verify(db: Db = None, as_json: AsJson = False,
           expect_head: Annotated[str | None, typer.Option(
               "--expect-head", metavar="SEQ:HASH|FILE",
               help="a head kept elsewhere (`divert registry head`, or the last line of the "
                    "DIVERT_AUDIT_HEAD_LOG file): records cut from the end are found")] = None,
           ) -> None:
    """Check the keyed audit chain and every row against it; exit 1 naming the first broken
    record."""
    from divert.registry.audit import parse_head
    from divert.registry.audit import verify as run_verify

    expect = parse_head(expect_head) if expect_head is not None else None
    reg = _registry(db)
    report = _read(db, lambda conn: run_verify(conn, reg.chain_key(conn), expect=expect), reg)
    if as_json:
        _emit(report.to_json())
    elif report.intact:
        kept = f", including the head you kept ({expect})" if expect else ""
        _say(f"intact: {report.records} audit records{kept}, {report.rows} rows; head "
             f"{report.head_seq}:{report.head_hash}")
    if not report.intact:
        first = report.problems[0]
        more = len(report.problems) - 1
        sys.stderr.write(f"broken: {first.message}"
                         + (f" (and {more} more problem{'s' * (more > 1)})" if more else "") + "\n")
        raise typer.Exit(1)


@app.command()
def head(db: Db = None) -> None:
    """Print the audit chain's head as SEQ:HASH, to keep elsewhere for `verify --expect-head`."""
    reg = _registry(db)
    try:
        _say(str(reg.head()))
    finally:
        reg.dispose()


@app.command()
def backup(
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="a new file for the copy")],
    db: Db = None,
) -> None:
    """Copy a live SQLite registry with SQLite's online backup API (consistent while others write),
    then verify the copy (PostgreSQL: pg_dump, see docs/registry.md)."""
    from divert.registry.backup import backup_sqlite

    reg = _registry(db)
    try:
        report = backup_sqlite(reg, out)
    finally:
        reg.dispose()
    if not report.intact:
        sys.stderr.write(f"broken: the copy in {out} does not verify: {report.problems[0].message}\n")
        raise typer.Exit(1)
    _say(f"backed up to {out} (mode 0600): intact, {report.records} audit records, {report.rows} "
         f"rows; head {report.head_seq}:{report.head_hash}")


@app.command()
def rekey(
    new_key_file: Annotated[Path, typer.Option("--new-key-file", metavar="FILE",
                                               help="the new key (created, mode 0600, if absent)")],
    db: Db = None, actor: Actor = None,
) -> None:
    """Re-encrypt identities, notes and free text under a new key, in one audited transaction (the current
    key, from DIVERT_KEY / DIVERT_KEY_FILE, is needed once more)."""
    from divert.registry import crypto
    from divert.registry.rekey import rekey as run_rekey

    if new_key_file.exists():
        try:
            new_key = crypto.decode_key(new_key_file.read_text(encoding="ascii"), str(new_key_file))
        except (OSError, UnicodeDecodeError):
            raise InputError(f"--new-key-file: cannot read {new_key_file}") from None
    else:
        try:
            new_key = crypto.create_key_file(new_key_file)
        except OSError as exc:
            raise InputError(f"--new-key-file: cannot create {new_key_file}: {exc.strerror}") \
                from None
    reg = _registry(db)
    try:
        counts = run_rekey(reg, actor, new_key)
        head = reg.last_head
    finally:
        reg.dispose()
    _say(f"rekeyed {counts['participants']} participants, {counts['notes']} notes and the free text "
         f"of {counts['free_text']} rows; from now on "
         f"use {new_key_file} (DIVERT_KEY_FILE) and keep the old key only as long as its backups; "
         f"audit head {head}")


# ---- programmes -----------------------------------------------------------------------------------

@programme_app.command("add")
def programme_add(
    json_file: JsonIn = None, code: Annotated[str | None, typer.Option("--code")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    jurisdiction: Annotated[str | None, typer.Option("--jurisdiction")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="JSON rules")] = None,
    db: Db = None, actor: Actor = None, json_out: JsonOut = False,
) -> None:
    """Add a programme (treatment court or diversion programme) with its rules."""
    data = _gather(json_file, code=code, name=name, jurisdiction=jurisdiction,
                   rules=_read_json(rules, "--rules") if rules else None)
    parsed = inputs.validate(inputs.ProgrammeIn, data)
    row, warnings = _write(db, actor, "programme add", lambda tx: service.add_programme(tx, parsed))
    _answer_warned(row, warnings, bool(json_out or json_file), f"programme {row['code']} added")


@programme_app.command("show")
def programme_show(code: Annotated[str, typer.Argument()] = "default", db: Db = None,
                   as_json: AsJson = False) -> None:
    """A programme and its rules."""
    row = _read(db, lambda conn: service.programme(conn, code))
    if as_json:
        _emit(row)
        return
    rules = service.rules_of(row)
    _say(f"{row['code']}: {row['name']} (jurisdiction {row['jurisdiction'] or '-'}, schedule seed "
         f"{row['schedule_seed']})")
    for i, p in enumerate(rules.phases, 1):
        _say(f"  phase {i} {p.name}: {p.tests_per_week} tests/week ({p.test_method}), hearings every "
             f"{p.hearing_interval_days} days, at least {p.min_days} days, promotion after "
             f"{p.promotion.days_abstinent} days abstinent")
    _say(f"  sample due within {rules.window_hours} hours of notification at {rules.notify_time}; "
         f"jail capped at {rules.jail_cap_days} days")


# ---- participants ---------------------------------------------------------------------------------

@participant_app.command("add")
def participant_add(
    json_file: JsonIn = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    birth_date: Annotated[str | None, typer.Option("--birth-date")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    sex: Annotated[str | None, typer.Option("--sex")] = None,
    programme: Annotated[str | None, typer.Option("--programme")] = None,
    referred_on: Annotated[str | None, typer.Option("--referred-on")] = None,
    case: Annotated[Path | None, typer.Option("--case", help="a case file (YAML, README)")] = None,
    db: Db = None, actor: Actor = None, json_out: JsonOut = False,
) -> None:
    """Add a participant: prints their new pseudonymous code."""
    case_facts = None
    if case is not None:
        from divert.law.policy import read_yaml

        case_facts = read_yaml(case)
    data = _gather(json_file, name=name, birth_date=birth_date, contact=contact, sex=sex,
                   programme=programme, referred_on=referred_on, case=case_facts)
    parsed = inputs.validate(inputs.ParticipantIn, data)
    cipher = _cipher(_registry(db))
    row = _write(db, actor, "participant add", lambda tx: service.add_participant(tx, cipher, parsed))
    if json_out or json_file:
        _emit(_row(row))
    else:
        _say(row["code"])


@participant_app.command("show")
def participant_show(code: Code, identify: Annotated[bool, typer.Option(
        "--identify", help="decrypt name, birth date and contact (audited as a view)")] = False,
        db: Db = None, actor: Actor = None, as_json: AsJson = False) -> None:
    """A participant's record (identity only with --identify and the key; the view is audited)."""
    if identify:
        reg = _registry(db)
        cipher = _cipher(reg)

        def viewed(tx: Tx) -> dict[str, Any]:
            found = service.participant(tx.conn, code)
            tx.record_views("participants", [found["id"]])
            return found

        row = _write(db, actor, "participant show --identify", viewed)
        out = _row(row) | service.identity(cipher, row)
    else:
        out = _row(_read(db, lambda conn: service.participant(conn, code)))
    if as_json:
        _emit(out)
    else:
        for k, v in out.items():
            _say(f"{k}: {v}")


@participant_app.command("update")
def participant_update(
    code: Code, json_file: JsonIn = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    birth_date: Annotated[str | None, typer.Option("--birth-date")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    sex: Annotated[str | None, typer.Option("--sex")] = None,
    version: Annotated[int | None, typer.Option("--if-version", help="the version you read")] = None,
    retry_dir: RetryDir = Path("."), db: Db = None, actor: Actor = None, json_out: JsonOut = False,
) -> None:
    """Change a participant's identity or sex; with the version you read, a conflict is caught."""
    data = _gather(json_file, name=name, birth_date=birth_date, contact=contact, sex=sex,
                   version=version)
    parsed = inputs.validate(inputs.ParticipantUpdate, data)
    cipher = _cipher(_registry(db))
    row = _write(db, actor, "participant update",
                 lambda tx: service.update_participant(tx, cipher, code, parsed, data), retry_dir,
                 json_out or bool(json_file))
    if json_out or json_file:
        _emit(_row(row))
    else:
        _say(f"{row['code']} updated (version {row['version']})")


# ---- case, screening, advice, consent -------------------------------------------------------------

def _simple(command: str, model: type[inputs.In], action: Callable[[Tx, Any], dict[str, Any]],
            data: dict[str, Any], db: str | None, actor: str | None, as_json: bool,
            text: Callable[[dict[str, Any]], str]) -> None:
    parsed = inputs.validate(model, data)
    row = _write(db, actor, command, lambda tx: action(tx, parsed), None, as_json)
    if as_json:
        _emit(_row(row))
    else:
        _say(text(row))


@app.command("case")
def case_add(code: Code, case_file: Annotated[Path | None, typer.Option(
        "--case", help="a case file (YAML, as for `divert assess`)")] = None,
        reference: Annotated[str | None, typer.Option("--reference")] = None,
        json_file: JsonIn = None, db: Db = None, actor: Actor = None,
        json_out: JsonOut = False) -> None:
    """Add a case (in the case vocabulary) to a participant."""
    facts = None
    if case_file is not None:
        from divert.law.policy import read_yaml

        facts = read_yaml(case_file)
    data = _gather(json_file, facts=facts, reference=reference)
    _simple("case", inputs.CaseIn, lambda tx, d: service.add_case(tx, code, d), data, db, actor,
            json_out or bool(json_file), lambda r: f"case {r['id']} added")


@app.command()
def screen(code: Code, instrument: Annotated[str, typer.Argument()],
           responses: Annotated[Path, typer.Argument(help="responses as printed (YAML or JSON)")],
           on: Day = None, db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Score a screening instrument for a participant and keep responses and scores."""
    from divert.law.policy import read_yaml

    data = {"instrument": instrument, "responses": read_yaml(responses), "on": on}
    _simple("screen", inputs.ScreeningIn, lambda tx, d: service.add_screening(tx, code, d),
            {k: v for k, v in data.items() if v is not None}, db, actor, json_out,
            lambda r: f"screening {r['id']}: {json.dumps(r['result'])}")


@app.command()
def advise(code: Code, jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j")],
           case_id: Annotated[int | None, typer.Option("--case-id")] = None,
           on: Annotated[str | None, typer.Option("--date", help="whose law: YYYY-MM-DD")] = None,
           db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Run divert's advice on the participant's case and keep it (trace, pack hash, triage)."""
    data = {k: v for k, v in {"jurisdiction": jurisdiction, "case_id": case_id, "on": on}.items()
            if v is not None}

    def text(r: dict[str, Any]) -> str:
        rec = ", ".join(f"{s['stage']}: {s['recommended'] or '-'}" for s in r["advice"]["stages"])
        return f"advice {r['id']} ({r['quadrant']}): {rec}"

    _simple("advise", inputs.AdviceIn, lambda tx, d: service.snapshot_advice(tx, code, d), data, db,
            actor, json_out, text)


@app.command()
def confirm(advice_id: Annotated[int, typer.Argument(metavar="ADVICE_ID", min=1, max=inputs.MAX_INT)],
            decision: Annotated[str, typer.Option("--decision", help="the measure decided, or none")],
            note: Annotated[str | None, typer.Option("--note")] = None, on: Day = None,
            version: Annotated[int | None, typer.Option("--if-version")] = None,
            retry_dir: RetryDir = Path("."), db: Db = None, actor: Actor = None,
            json_out: JsonOut = False) -> None:
    """Confirm an advice snapshot with the final decision (the actor is who confirmed it)."""
    data = {k: v for k, v in {"decision": decision, "note": note, "on": on,
                              "version": version}.items() if v is not None}
    parsed = inputs.validate(inputs.ConfirmIn, data)
    row = _write(db, actor, "confirm", lambda tx: service.confirm_advice(tx, advice_id, parsed, data),
                 retry_dir, json_out)
    if json_out:
        _emit(row)
    else:
        _say(f"advice {row['id']}: decision {row['final_decision']} confirmed by {row['confirmed_by']}")


@app.command()
def consent(code: Code, given: Annotated[bool, typer.Option(
        "--given/--withdrawn", help="consent given, or withdrawn")] = True,
        measure: Annotated[str | None, typer.Option("--measure")] = None, on: Day = None,
        note: Annotated[str | None, typer.Option("--note")] = None,
        db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Record informed consent given (or withdrawn), with its date."""
    data = {k: v for k, v in {"given": given, "measure": measure, "on": on, "note": note}.items()
            if v is not None}
    _simple("consent", inputs.ConsentIn, lambda tx, d: service.record_consent(tx, code, d), data, db,
            actor, json_out, lambda r: f"consent {'given' if r['given'] else 'withdrawn'} on "
                                       f"{r['day']}")


# ---- enrolment and phases -------------------------------------------------------------------------

@app.command()
def enrol(code: Code, json_file: JsonIn = None,
          measure: Annotated[str | None, typer.Option("--measure")] = None, on: Day = None,
          planned_end: Annotated[str | None, typer.Option("--planned-end")] = None,
          quadrant: Annotated[str | None, typer.Option("--quadrant")] = None,
          db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Enrol a participant (phase 1; consent needed for treatment measures)."""
    data = _gather(json_file, measure=measure, on=on, planned_end=planned_end, quadrant=quadrant)
    _simple("enrol", inputs.EnrolIn, lambda tx, d: service.enrol(tx, code, d), data, db, actor,
            json_out or bool(json_file),
            lambda r: f"enrolled in {r['measure']} from {r['started_on']} (enrolment {r['id']})")


@app.command()
def attend(code: Code, status: Annotated[str, typer.Option("--status", help="attended|missed|"
                                                                            "excused")],
           on: Day = None, kind: Annotated[str | None, typer.Option("--kind")] = None,
           note: Annotated[str | None, typer.Option("--note")] = None,
           db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Record attendance at a treatment session."""
    data = {k: v for k, v in {"status": status, "on": on, "kind": kind, "note": note}.items()
            if v is not None}
    _simple("attend", inputs.AttendanceIn, lambda tx, d: service.record_attendance(tx, code, d), data,
            db, actor, json_out, lambda r: f"attendance {r['id']}: {r['status']} on {r['day']}")


@app.command()
def promotion(code: Code, on: Day = None, db: Db = None, as_json: AsJson = False) -> None:
    """Whether the participant meets the objective criteria to move on (or to graduate)."""
    day = _date(on, "--on")
    check = _read(db, lambda conn: service.check_promotion(conn, code, day))
    if as_json:
        _emit(check)
        return
    _say(f"{check['participant']} phase {check['phase']} ({check['phase_name']}) -> {check['next']}: "
         f"{'eligible' if check['eligible'] else 'not yet'}")
    for c in check["criteria"]:
        _say(f"  {'ok ' if c['met'] else 'NO '} {c['name']}: {c['actual']} (needs {c['required']})")


@app.command()
def advance(code: Code, to: Annotated[int | None, typer.Option("--to", help="phase (default: next; "
                                                                            "earlier: a return)")
                                      ] = None,
            on: Day = None, reason: Annotated[str | None, typer.Option("--reason")] = None,
            override: Annotated[str | None, typer.Option("--override", help="decide against the "
                                                                            "criteria: why")] = None,
            version: Annotated[int | None, typer.Option("--if-version")] = None,
            retry_dir: RetryDir = Path("."), db: Db = None, actor: Actor = None,
            json_out: JsonOut = False) -> None:
    """Move to the next phase when the criteria are met (or back, with a remedial reason)."""
    data = {k: v for k, v in {"to": to, "on": on, "reason": reason, "override": override,
                              "version": version}.items() if v is not None}
    parsed = inputs.validate(inputs.PhaseIn, data)
    row = _write(db, actor, "advance", lambda tx: service.change_phase(tx, code, parsed, data),
                 retry_dir, json_out)
    if json_out:
        _emit(row)
    else:
        _say(f"now in phase {row['phase']} since {row['phase_since']}")


def _exit_command(kind: str) -> Callable[..., None]:
    def command(code: Code, on: Day = None,
                reason: Annotated[str | None, typer.Option("--reason")] = None,
                override: Annotated[str | None, typer.Option(
                    "--override", help="decide against the criteria: why")] = None,
                version: Annotated[int | None, typer.Option("--if-version")] = None,
                retry_dir: RetryDir = Path("."), db: Db = None, actor: Actor = None,
                json_out: JsonOut = False) -> None:
        data = {k: v for k, v in {"on": on, "reason": reason, "override": override,
                                  "version": version}.items() if v is not None}
        parsed = inputs.validate(inputs.ExitIn, data)
        row = _write(db, actor, kind, lambda tx: service.end_enrolment(tx, code, kind, parsed, data),
                     retry_dir, json_out)
        if json_out:
            _emit(row)
        else:
            _say(f"{code}: {kind} on {row['ended_on']}")

    return command


app.command("graduate", help="Graduate from the final phase (criteria met, or --override).")(
    _exit_command("graduated"))
app.command("terminate", help="Terminate the enrolment (a reason is required).")(
    _exit_command("terminated"))
app.command("withdraw", help="Record a voluntary withdrawal (a reason is required).")(
    _exit_command("withdrawn"))


@app.command()
def rearrest(code: Code, on: Annotated[str, typer.Option("--on", help="YYYY-MM-DD")],
             offence_type: Annotated[str | None, typer.Option("--offence-type")] = None,
             note: Annotated[str | None, typer.Option("--note")] = None,
             db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Record a new arrest."""
    data = {k: v for k, v in {"on": on, "offence_type": offence_type, "note": note}.items()
            if v is not None}
    _simple("rearrest", inputs.RearrestIn, lambda tx, d: service.record_rearrest(tx, code, d), data,
            db, actor, json_out, lambda r: f"rearrest {r['id']} on {r['day']}")


# ---- drug tests -----------------------------------------------------------------------------------

@tests_app.command("schedule")
def tests_schedule(first: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
                   last: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
                   programme: Annotated[str, typer.Option("--programme")] = "default",
                   db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Draw random tests for every active participant, each day with equal probability."""
    a, b = _date(first, "--from"), _date(last, "--to")
    assert a is not None and b is not None
    out = _write(db, actor, "tests schedule", lambda tx: service.schedule_tests(tx, programme, a, b))
    if json_out:
        _emit(out)
    else:
        _say(f"{out['tests']} tests drawn for {out['enrolments']} participants from {out['from']} to "
             f"{out['to']} (seed {out['seed']}, run {out['run']})")


@tests_app.command("add")
def tests_add(code: Code, on: Day = None,
              method: Annotated[str | None, typer.Option("--method")] = None,
              db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Add a test for cause (outside the random schedule)."""
    data = {k: v for k, v in {"on": on, "method": method}.items() if v is not None}
    _simple("tests add", inputs.DrugTestIn, lambda tx, d: service.add_test(tx, code, d), data, db,
            actor, json_out, lambda r: f"test {r['id']} on {r['scheduled_on']}, due by {r['due_by']}")


@tests_app.command("record")
def tests_record(
    test: Annotated[int | None, typer.Argument(metavar="[TEST_ID]", min=1, max=inputs.MAX_INT)] = None,
    result: Annotated[str | None, typer.Option("--result", help="negative|positive|dilute|"
                                                                "adulterated|refused|missed|excused|"
                                                                "collected")] = None,
    substances: Annotated[str | None, typer.Option("--substances", help="comma-separated")] = None,
    collected_at: Annotated[str | None, typer.Option("--collected-at")] = None,
    state: Annotated[str | None, typer.Option("--state", help="pending|confirmed|contested|"
                                                          "lab_confirmed (default: pending for "
                                                          "a reading of a sample, else confirmed)")
                     ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="why a recorded result or its "
                                                            "state changes (required then)")] = None,
    version: Annotated[int | None, typer.Option("--if-version")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="a result or a "
                                                   "list of results (- for stdin)")] = None,
    retry_dir: RetryDir = Path("."), db: Db = None, actor: Actor = None, json_out: JsonOut = False,
) -> None:
    """Record results: one from options, or many from JSON, in one transaction. Each is a new entry
    of the test's history; changing a recorded result or its state needs --reason."""
    if json_file is not None:
        loaded = _read_json(json_file)
        raw = loaded if isinstance(loaded, list) else [loaded]
    else:
        raw = [{k: v for k, v in {
            "test": test, "result": result, "collected_at": collected_at, "version": version,
            "state": state, "reason": reason,
            "substances": [s.strip() for s in substances.split(",") if s.strip()] if substances
            else None}.items() if v is not None}]
    if not raw:
        raise InputError("--json: no results")
    items = [inputs.validate(inputs.ResultIn, r, f"results.{i}" if len(raw) > 1 else "")
             for i, r in enumerate(raw)]
    rows = _write(db, actor, "tests record", lambda tx: service.record_results(tx, items, raw),
                  retry_dir, json_out or bool(json_file))
    if json_out or json_file:
        _emit(rows)
    else:
        for r in rows:
            flag = " (needs a response)" if r["awaiting_response"] else ""
            _say(f"test {r['id']}: {r['status']}{flag}")


@tests_app.command("close-missed")
def tests_close_missed(now: Annotated[str | None, typer.Option(
        "--now", help="YYYY-MM-DDTHH:MM (default: now, local)")] = None,
        db: Db = None, actor: Actor = None) -> None:
    """Mark tests whose sample window has closed with no sample as missed."""
    moment = _datetime(now)
    n = _write(db, actor, "tests close-missed", lambda tx: service.close_missed(tx, moment))
    _say(f"{n} tests marked missed")


def _datetime(value: str | None) -> dt.datetime:
    if value is None:
        return service.local_now()
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--now: {value!r} is not a date and time; expected YYYY-MM-DDTHH:MM") \
            from None


# ---- responses ------------------------------------------------------------------------------------

@app.command()
def suggest(code: Code, behaviour: Annotated[str | None, typer.Option("--behaviour")] = None,
            test: Annotated[int | None, typer.Option("--test", help="respond to this test")] = None,
            on: Day = None, db: Db = None, as_json: AsJson = False) -> None:
    """The programme's suggested incentive or sanction (and therapeutic adjustments, apart)."""
    day = _date(on, "--on")
    if behaviour is not None and test is not None:
        raise InputError("--behaviour and --test: give one (a test's result names the behaviour)")
    out = _read(db, lambda conn: service.suggest_response(conn, code, behaviour, test, day))
    if as_json:
        _emit(out)
        return
    _say(f"{out['participant']}: {out['behaviour']} in phase {out['phase']}")
    if out["incentive"]:
        _say(f"  incentive: {out['incentive']['type']} (level {out['incentive']['level']})")
    if out["sanction"]:
        s = out["sanction"]
        jail = f", {s['jail_days']} days" if s["jail_days"] else ""
        _say(f"  sanction: {s['type']} (level {s['level']}{jail})")
    for t in out["therapeutic"]:
        _say(f"  therapeutic adjustment (not a sanction): {t}")
    for n in out["notes"]:
        _say(f"  note: {n}")


@app.command()
def respond(code: Code, json_file: JsonIn = None,
            kind: Annotated[str | None, typer.Option("--kind", help="incentive|sanction|"
                                                                    "therapeutic")] = None,
            type_: Annotated[str | None, typer.Option("--type", help="e.g. verbal praise")] = None,
            behaviour: Annotated[str | None, typer.Option("--behaviour")] = None,
            level: Annotated[int | None, typer.Option("--level")] = None,
            jail_days: Annotated[int | None, typer.Option("--jail-days")] = None,
            test: Annotated[int | None, typer.Option("--test")] = None, on: Day = None,
            completed_on: Annotated[str | None, typer.Option("--completed-on")] = None,
            note: Annotated[str | None, typer.Option("--note")] = None,
            db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Record an incentive, a sanction or a therapeutic adjustment."""
    data = _gather(json_file, kind=kind, type=type_, behaviour=behaviour, level=level,
                   jail_days=jail_days, test=test, on=on, completed_on=completed_on, note=note)
    parsed = inputs.validate(inputs.ResponseIn, data)
    row, warnings = _write(db, actor, "respond", lambda tx: service.add_response(tx, code, parsed))
    _answer_warned(row, warnings, bool(json_out or json_file),
                   f"{row['kind']} {row['id']}: {row['type']} on {row['day']} ({row['status']})")


@app.command("complete")
def complete(response_id: Annotated[int, typer.Argument(metavar="RESPONSE_ID", min=1,
                                                        max=inputs.MAX_INT)], on: Day = None,
             cancel: Annotated[bool, typer.Option("--cancel", help="cancelled, not completed")] = False,
             db: Db = None, actor: Actor = None) -> None:
    """Mark a sanction completed (or cancelled), so it is no longer pending."""
    day = _date(on, "--on")
    row = _write(db, actor, "complete",
                 lambda tx: service.complete_response(tx, response_id, day, cancel))
    _say(f"response {row['id']}: {row['status']} on {row['completed_on']}")


# ---- hearings -------------------------------------------------------------------------------------

@hearings_app.command("schedule")
def hearings_schedule(until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD")],
                      programme: Annotated[str, typer.Option("--programme")] = "default",
                      db: Db = None, actor: Actor = None, json_out: JsonOut = False) -> None:
    """Book status hearings for every active participant up to a day, at each phase's interval, on
    the court's sitting days (`calendar`), none in the past."""
    day = _date(until, "--until")
    assert day is not None
    out = _write(db, actor, "hearings schedule", lambda tx: service.schedule_hearings(tx, programme, day))
    if json_out:
        _emit(out)
    else:
        _say(f"{out['hearings']} hearings booked for {out['enrolments']} participants until "
             f"{out['until']}")


@hearings_app.command("record")
def hearings_record(
    hearing: Annotated[int | None, typer.Argument(metavar="[HEARING_ID]", min=1, max=inputs.MAX_INT)] = None,
    json_file: JsonIn = None,
    status: Annotated[str | None, typer.Option("--status", help="held|missed|cancelled")] = None,
    held_on: Annotated[str | None, typer.Option("--held-on")] = None,
    minutes: Annotated[int | None, typer.Option("--minutes", help="judge-participant minutes")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    version: Annotated[int | None, typer.Option("--if-version")] = None,
    retry_dir: RetryDir = Path("."), db: Db = None, actor: Actor = None, json_out: JsonOut = False,
) -> None:
    """Record a hearing held, missed or cancelled (the next one is booked)."""
    data = _gather(json_file, hearing=hearing, status=status, held_on=held_on, minutes=minutes,
                   note=note, version=version)
    parsed = inputs.validate(inputs.HearingIn, data)
    row = _write(db, actor, "hearings record", lambda tx: service.record_hearing(tx, parsed, data),
                 retry_dir, json_out or bool(json_file))
    if json_out or json_file:
        _emit(row)
    else:
        _say(f"hearing {row['id']}: {row['status']}")


# ---- the court calendar ---------------------------------------------------------------------------

ProgrammeOpt = Annotated[str, typer.Option("--programme")]


@calendar_app.command("show")
def calendar_show(programme: ProgrammeOpt = "default", db: Db = None, as_json: AsJson = False
                  ) -> None:
    """The weekdays the court sits and its closed days."""
    from divert.registry import calendar, scheduling

    out = _read(db, lambda conn: scheduling.calendar_rows(conn, programme))
    if as_json:
        _emit({"programme": out["programme"], "sitting_weekdays": list(out["sitting"]),
               "closed": [_row(c) for c in out["closed"]]})
        return
    _say(f"{out['programme']}: sits on {calendar.sitting_words(out['sitting'])}")
    for c in out["closed"]:
        _say(f"  closed {c['day']}{' (every year)' if c['yearly'] else ''}: {c['reason']}")
    if not out["closed"]:
        _say("  no closed days recorded: add the court's public holidays (`calendar close`)")


@calendar_app.command("sitting")
def calendar_sitting(days: Annotated[str, typer.Option("--days", help="e.g. mon,tue,wed,thu,fri")],
                     programme: ProgrammeOpt = "default", db: Db = None, actor: Actor = None
                     ) -> None:
    """Set the weekdays the court sits; hearings booked on other days move to the next sitting day."""
    from divert.registry import calendar, scheduling

    weekdays = calendar.parse_weekdays(days.split(","), "--days")
    row = _write(db, actor, "calendar sitting",
                 lambda tx: scheduling.set_sitting_days(tx, programme, weekdays))
    _say(f"{programme}: sits on {calendar.sitting_words(weekdays)}")
    for m in row["moved"]:
        _say(f"  hearing {m['hearing']} moved to {m['to']}")


@calendar_app.command("close")
def calendar_close(on: Annotated[str, typer.Option("--on", help="YYYY-MM-DD")],
                   reason: Annotated[str, typer.Option("--reason", help="e.g. Christmas Day")],
                   yearly: Annotated[bool, typer.Option("--yearly", help="closed on this month and "
                                                                         "day every year")] = False,
                   programme: ProgrammeOpt = "default", db: Db = None, actor: Actor = None,
                   json_out: JsonOut = False) -> None:
    """Close the court on a day; hearings booked on it move to the next sitting day."""
    from divert.registry import scheduling

    data = inputs.validate(inputs.ClosedDayIn, {"day": on, "reason": reason, "yearly": yearly})
    row = _write(db, actor, "calendar close", lambda tx: scheduling.close_day(tx, programme, data))
    if json_out:
        _emit(_row(row))
        return
    _say(f"closed on {row['day']}{' every year' if row['yearly'] else ''}: {row['reason']}")
    for m in row["moved"]:
        _say(f"  hearing {m['hearing']} moved to {m['to']}")


@calendar_app.command("reopen")
def calendar_reopen(closed_id: Annotated[int, typer.Argument(metavar="CLOSED_DAY_ID", min=1,
                                                             max=inputs.MAX_INT)],
                    db: Db = None, actor: Actor = None) -> None:
    """Remove a closed day (see `calendar show --json` for ids)."""
    from divert.registry import scheduling

    row = _write(db, actor, "calendar reopen", lambda tx: scheduling.reopen_day(tx, closed_id))
    _say(f"{row['day']} is no longer closed")


# ---- reading --------------------------------------------------------------------------------------

@app.command()
def timeline(code: Code, db: Db = None, as_json: AsJson = False) -> None:
    """Everything recorded about a participant, in date order (no identity)."""
    out = _read(db, lambda conn: service.timeline(conn, code))
    if as_json:
        _emit(out)
        return
    p = out["participant"]
    _say(f"{p['code']} ({p['status']}, referred {p['referred_on']})")
    for ev in out["events"]:
        detail = {k: v for k, v in ev.items()
                  if k not in ("date", "event", "table", "id", "version", "facts", "result")
                  and v not in (None, [], {}, False)}
        _say(f"  {ev['date'] or '':10}  {ev['event']:<17} #{ev['id']}  "
             + ", ".join(f"{k}={v}" for k, v in detail.items()))


@app.command()
def dashboard(on: Day = None, now: Annotated[str | None, typer.Option(
        "--now", help="YYYY-MM-DDTHH:MM (default: now, local)")] = None,
        programme: Annotated[str | None, typer.Option("--programme")] = None,
        limit: Annotated[int, typer.Option("--limit", help="rows per list (0: all)", min=0)] = 200,
        offset: Annotated[int, typer.Option("--offset", help="skip rows (next pages)", min=0)] = 0,
        db: Db = None, as_json: AsJson = False) -> None:
    """The day's work: who is due to test, who missed, who needs a response, today's hearings."""
    moment = _datetime(now)
    day = _date(on, "--on") or moment.date()
    out = _read(db, lambda conn: service.dashboard(conn, day, moment, programme, limit, offset))
    if as_json:
        _emit(out)
        return
    _say(f"{out['date']} (now {out['now']})")
    for key, title in (("due", "due to test"), ("missed", "window closed, no sample"),
                       ("needs_response", "needs a response"), ("hearings", "status hearings")):
        rows = out[key]
        _say(f"{title}: {out['counts'][key]}")
        for r in rows:
            extra = f" test {r['test']} {r['day']} {r['status']} due by {r['due_by']}" if "test" in r \
                else f" hearing {r['hearing']}"
            _say(f"  {r['participant']}{extra}")
        if offset + len(rows) < out["counts"][key]:
            _say(f"  ... {out['counts'][key] - offset - len(rows)} more (--offset, --limit 0 for all)")
