"""Comparison jobs for the web: a queue of `run_comparison` runs, each in its own process.

A job is a folder `WORK/jobs/<id>/` holding `job.json` (who asked, the spec, status, progress,
times, error) and, once done, the outputs of `divert compare`: `series.parquet`, `summary.json`,
`series.csv`, `report.html` with its figures, and `trajectories.json` (monthly means and 95% bands
for the charts). A dispatcher thread in the server starts queued jobs in spawned processes (the
simulation holds the GIL in places; the server stays responsive), `concurrency` at a time. The job
process writes its progress atomically (temp file and rename); the server writes `job.json` only
while no process runs the job. Starting a job claims it (an exclusive `claim` file), so two servers
on one work folder never run a job twice. A job left running by a server that stopped is shown as
failed ("interrupted"); finished jobs stay listed.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import multiprocessing
import os
import re
import secrets
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from divert.errors import DivertError, InputError
from divert.i18n.locale import DEFAULT, LOCALES

log = logging.getLogger(__name__)

LIMITS: dict[str, tuple[int, int]] = {"persons": (1_000, 500_000), "years": (1, 30),
                                      "replications": (1, 100), "seed": (0, 2**31 - 1)}
FIRST_START, LAST_START = date(1950, 1, 1), date(2100, 12, 1)
MAX_SCENARIOS = 8
MAX_WAITING = 20
"""Queued and running jobs one account may have at once."""

STATUSES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")
FILES: dict[str, tuple[str, str]] = {
    "series.csv": ("text/csv; charset=utf-8", "series.csv"),
    "series.parquet": ("application/vnd.apache.parquet", "series.parquet"),
    "report.html": ("text/html; charset=utf-8", "report.html"),
    "summary.json": ("application/json", "summary.json"),
}
"""Files a finished job offers for download: media type and the suffix of the download name."""
COUNTRIES_FILE = "countries.json"
COUNTRY_FILES: dict[str, tuple[str, str]] = {
    COUNTRIES_FILE: ("application/json", "countries.json")}
"""What a side-by-side (countries) job offers: its figures for every country, stamped."""
MAX_PACKS = 8

TRAJECTORIES_FILE = "trajectories.json"
INTERRUPTED = "interrupted: the server stopped while this comparison was running; run it again"
_ID = re.compile(r"^[0-9a-f]{16}$")


class JobNotFound(LookupError):
    """No job with this id (404)."""


class ConflictError(InputError):
    """The job is not in a state that allows this (409)."""

    http_status = 409


class TooManyJobs(InputError):
    """The account has too many jobs waiting (429)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # orders the queue


# --- the spec ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _RunSizes:
    """The scenarios and sizes every job spec has, and what they derive: months, the start as a
    date, and the runs it queues. Keyword-only, so a spec's own fields come first."""

    scenarios: list[str]
    persons: int
    years: int
    replications: int
    seed: int
    start: str
    lang: str = DEFAULT
    """The language of the job's report: the submitter's page language (a spec stored before
    jobs had one reads as English)."""

    @property
    def months(self) -> int:
        return self.years * 12

    @property
    def start_date(self) -> date:
        return date.fromisoformat(self.start + "-01")

    @property
    def runs(self) -> int:
        return len(self.scenarios) * self.replications


@dataclass(frozen=True)
class Spec(_RunSizes):
    """What to run: scenarios (the first is the baseline) and the sizes of the run."""


def _bounded(name: str, value: Any) -> int:
    low, high = LIMITS[name]
    try:
        number = int(str(value).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise InputError(f"{name}: {str(value)[:40]!r} is not a whole number; allowed: "
                         f"{low:,} to {high:,}") from None
    if not low <= number <= high:
        raise InputError(f"{name}: {number:,} is out of range; allowed: {low:,} to {high:,}")
    return number


def _month(value: str) -> str:
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = int(text[:4]), int(text[5:])
        if 1 <= month <= 12 and FIRST_START <= date(year, month, 1) <= LAST_START:
            return text
    raise InputError(f"start: {text[:40]!r} is not an allowed month; allowed: YYYY-MM from "
                     f"{FIRST_START:%Y-%m} to {LAST_START:%Y-%m}")


def packs() -> list[str]:
    """The codes of the packs in the policies folder."""
    from divert.law.policy import pack_dirs

    return [p.name for p in pack_dirs()]


def check_scenario(spec: str) -> str:
    """`CODE[+OVERLAY]...` with a known pack and its shipped overlays (never a path), loaded once
    so that a pack or overlay that does not load is refused before the job is queued."""
    from divert.law.policy import pack_hash, policies_root
    from divert.simulation.runner import load_scenario_policy
    from divert.simulation.scenarios import scenario_dir, scenario_names

    text = spec.strip()
    code, *names = text.split("+")
    known = packs()
    if code not in known:
        raise InputError(f"scenarios: unknown pack {code[:40]!r}; allowed: {', '.join(known)}")
    shipped = scenario_names(code)
    for name in names:
        if name not in shipped:
            raise InputError(f"scenarios: unknown overlay {name[:40]!r} for {code}; allowed: "
                             f"{', '.join(shipped) or 'none'}")
    if len(set(names)) != len(names):
        raise InputError(f"scenarios: {text!r} names an overlay twice")
    key = (text, pack_hash(policies_root() / code),
           *((scenario_dir(code) / f"{n}.yaml").stat().st_mtime_ns for n in names))
    if key not in _LOADED:
        try:
            load_scenario_policy(text)
        except DivertError as exc:
            raise InputError(f"scenarios: {text!r} does not load: {exc}") from None
        _LOADED.add(key)
    return text


_LOADED: set[tuple[Any, ...]] = set()
"""Scenarios that loaded, by their files' state: a second request does not load them again."""


def _sizes(persons: Any, years: Any, replications: Any, seed: Any, start: Any) -> dict[str, Any]:
    """The checked run sizes every spec shares, by field name."""
    return {"persons": _bounded("persons", persons), "years": _bounded("years", years),
            "replications": _bounded("replications", replications),
            "seed": _bounded("seed", seed), "start": _month(start)}


def make_spec(scenarios: list[str], persons: Any, years: Any, replications: Any, seed: Any,
              start: Any) -> Spec:
    """A checked spec, or an InputError naming the field and what is allowed."""
    if not scenarios:
        raise InputError("scenarios: none given; allowed: CODE (the baseline) then CODE+OVERLAY...")
    if len(scenarios) > MAX_SCENARIOS:
        raise InputError(f"scenarios: {len(scenarios)} given; allowed: 1 to {MAX_SCENARIOS}")
    checked = [check_scenario(str(s)) for s in scenarios]
    if len(set(checked)) != len(checked):
        raise InputError("scenarios: the same scenario is listed twice")
    return Spec(scenarios=checked, **_sizes(persons, years, replications, seed, start))


@dataclass(frozen=True)
class CountriesSpec(_RunSizes):
    """Several packs side by side under one reform: each pack's law today against the same
    shipped overlay, as `divert countries` runs them; `scenarios` lists every run scenario."""

    packs: list[str]
    reform: str
    kind: str = "countries"


def make_countries_spec(packs_chosen: list[str], reform: Any, persons: Any, years: Any,
                        replications: Any, seed: Any, start: Any) -> CountriesSpec:
    """A checked side-by-side spec, or an InputError naming the field and what is allowed."""
    chosen = list(dict.fromkeys(str(p).strip() for p in packs_chosen if str(p).strip()))
    known = packs()
    if len(chosen) < 2:
        raise InputError(f"packs: choose at least two jurisdictions to compare; allowed: "
                         f"{', '.join(known)}")
    if len(chosen) > MAX_PACKS:
        raise InputError(f"packs: {len(chosen)} chosen; allowed: 2 to {MAX_PACKS}")
    for code in chosen:
        if code not in known:
            raise InputError(f"packs: unknown pack {code[:40]!r}; allowed: {', '.join(known)}")
    lever = str(reform or "").strip()
    if not lever:
        raise InputError("reform: choose the reform to compare with today's law")
    if "+" in lever or "/" in lever:
        raise InputError(f"reform: {lever[:40]!r} is not a reform's name")
    scenarios: list[str] = []
    for code in chosen:
        try:
            scenarios += [check_scenario(code), check_scenario(f"{code}+{lever}")]
        except InputError as exc:
            raise InputError(f"reform: {lever[:40]!r} cannot be run for {code}: "
                             f"{str(exc).removeprefix('scenarios: ')}") from None
    return CountriesSpec(packs=chosen, reform=lever, scenarios=scenarios,
                         **_sizes(persons, years, replications, seed, start))


def files_of(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The files a finished job of this spec offers."""
    return COUNTRY_FILES if spec.get("kind") == "countries" else FILES


# --- the job record ------------------------------------------------------------------------------


@dataclass
class Job:
    """One comparison job, as `job.json` holds it."""

    id: str
    owner: str
    spec: dict[str, Any]
    status: str = "queued"
    stage: str = "waiting in the queue"
    done: int = 0
    total: int = 0
    created: str = field(default_factory=_now)
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    pid: int | None = None

    @classmethod
    def read(cls, folder: Path) -> Job:
        data = json.loads((folder / "job.json").read_text(encoding="utf-8"))
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def write(self, folder: Path) -> None:
        """Atomically: a reader sees the old record or the new one, never half of one."""
        tmp = folder / f".job.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, folder / "job.json")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def title(self) -> str:
        """`usa: today's law vs treatment_not_conviction, prison_treatment`, in the page's
        language (the scenarios' codes as they are)."""
        from divert.web.lang import _

        scenarios = self.spec.get("scenarios", [])
        if self.spec.get("kind") == "countries":
            return _("%(packs)s side by side: today's law vs %(reform)s") % {
                "packs": ", ".join(self.spec.get("packs", [])),
                "reform": self.spec.get("reform", "?")}
        base = scenarios[0] if scenarios else "?"
        reforms = [s.split("+", 1)[1] for s in scenarios[1:] if "+" in s]
        if not reforms:
            return _("%(pack)s: today's law") % {"pack": base}
        return _("%(pack)s: today's law vs %(reforms)s") % {"pack": base,
                                                           "reforms": ", ".join(reforms)}

    def public(self) -> dict[str, Any]:
        """The record for the API (no process id)."""
        out = asdict(self)
        out.pop("pid")
        out["progress"] = {"done": out.pop("done"), "total": out.pop("total")}
        out["title"] = self.title
        return out


# --- the job process -----------------------------------------------------------------------------


class _Cancelled(Exception):
    pass


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def execute(folder_name: str, workers: int = 1) -> None:
    """Run the job in `folder_name` (a top-level function: the spawned process imports it)."""
    folder = Path(folder_name)
    signal.signal(signal.SIGTERM, _terminated)
    job = Job.read(folder)
    job.status, job.pid, job.stage = "running", os.getpid(), "simulating"
    job.started = job.started or _now()
    job.write(folder)
    try:
        _run(job, folder, workers)
    except _Cancelled:
        job.status, job.error = "cancelled", None
    except DivertError as exc:
        job.status, job.error = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - the record says what went wrong, the log how
        (folder / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
        job.status, job.error = "failed", f"internal error ({type(exc).__name__}): {exc}"
    except BaseException:  # SIGTERM or Ctrl-C: cancelled, or the server stopped
        cancelled = (folder / "cancel").exists()
        job.status, job.error = ("cancelled", None) if cancelled else ("failed", INTERRUPTED)
    job.finished = _now()
    if job.status != "done":
        job.stage = job.status
    job.write(folder)


def _run(job: Job, folder: Path, workers: int) -> None:
    from divert.reports.comparison import write_report
    from divert.simulation.runner import run_comparison, write_outputs

    def progress(done: int, total: int) -> None:
        if (folder / "cancel").exists():
            raise _Cancelled()
        job.done, job.total = done, total
        job.write(folder)

    if job.spec.get("kind") == "countries":
        _run_countries(job, folder, workers, progress)
        return
    spec = Spec(**job.spec)

    comparison = run_comparison(spec.scenarios, persons=spec.persons, months=spec.months,
                                start=spec.start_date, replications=spec.replications,
                                seed=spec.seed, workers=workers, progress=progress)
    for stage, step in (("writing the series and summary", lambda: write_outputs(comparison, folder)),
                        ("writing the CSV", lambda: _write_csv(folder)),
                        ("computing the chart bands",
                         lambda: _write_trajectories(comparison, folder)),
                        ("drawing the report",
                         lambda: write_report(comparison, folder, _report_lang(spec)))):
        if (folder / "cancel").exists():
            raise _Cancelled()
        job.stage = stage
        job.write(folder)
        step()
    job.status, job.stage = "done", "done"


def _report_lang(spec: _RunSizes) -> str:
    """The spec's language if divert speaks it, else English (a hand-edited job.json)."""
    return spec.lang if spec.lang in LOCALES else DEFAULT


def _run_countries(job: Job, folder: Path, workers: int,
                   progress: Callable[[int, int], None]) -> None:
    """Every pack against the same reform on one executor (`divert countries`' grouping), then
    `countries.json` with each country's headline, money conversion and trajectories."""
    from divert.simulation.runner import run_groups
    from divert.web.compare_countries import build

    spec = CountriesSpec(**job.spec)
    groups = [[code, f"{code}+{spec.reform}"] for code in spec.packs]
    comparisons = run_groups(groups, persons=spec.persons, months=spec.months,
                             start=spec.start_date, replications=spec.replications,
                             seed=spec.seed, workers=workers, uncertainty=False,
                             progress=progress)
    if (folder / "cancel").exists():
        raise _Cancelled()
    job.stage = "computing the headlines and charts"
    job.write(folder)
    data = build(comparisons, spec.reform)
    tmp = folder / f"{COUNTRIES_FILE}.part"
    tmp.write_text(json.dumps(_finite(data), allow_nan=False), encoding="utf-8")
    os.replace(tmp, folder / COUNTRIES_FILE)
    job.status, job.stage = "done", "done"


def _write_csv(folder: Path) -> None:
    """`series.csv` from `series.parquet`, a row group at a time."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    source = pq.ParquetFile(folder / "series.parquet")
    tmp = folder / "series.csv.part"
    with pacsv.CSVWriter(tmp, source.schema_arrow) as writer:
        for i in range(source.num_row_groups):
            writer.write_table(source.read_row_group(i))
    os.replace(tmp, folder / "series.csv")


def _short(value: float) -> float | None:
    return float(f"{value:.6g}") if math.isfinite(value) else None


def _write_trajectories(comparison: Any, folder: Path) -> None:
    """Per scenario and metric: the monthly mean and 2.5-97.5 percentile band across
    replications (population units), the pack's currency and the replay command."""
    import numpy as np

    from divert.reports.comparison import _replay_command  # one replay line for the report and the page
    from divert.simulation.run import SERIES, add_months

    st = comparison.stamp
    start = date.fromisoformat(st["start"] + "-01")
    scenarios = []
    for s in comparison.scenarios:
        runs = sorted(comparison.results[s], key=lambda r: r.replication)
        values = np.stack([r.series * r.scale for r in runs])  # R x months x SERIES
        low, high = np.percentile(values, [2.5, 97.5], axis=0)
        mean = values.mean(axis=0)
        scenarios.append({"scenario": s, "series": {
            m: {"mean": [_short(v) for v in mean[:, j]], "low": [_short(v) for v in low[:, j]],
                "high": [_short(v) for v in high[:, j]]} for j, m in enumerate(SERIES)}})
    base = comparison.policies.get(comparison.scenarios[0])
    data = {"months": [f"{add_months(start, t):%Y-%m}" for t in range(int(st["months"]))],
            "replications": int(st["replications"]),
            "currency": (base.meta.currency if base is not None else None) or "currency units",
            "pack_name": base.meta.name if base is not None else comparison.scenarios[0],
            "replay": _replay_command(comparison), "scenarios": scenarios}
    (folder / TRAJECTORIES_FILE).write_text(json.dumps(data, allow_nan=False), encoding="utf-8")


# --- the manager ---------------------------------------------------------------------------------


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobManager:
    """The jobs under `work_dir/jobs`: submit, list, read, cancel; a dispatcher thread runs them.

    `paused()` true keeps queued jobs waiting (used while fuzzing the API).
    """

    def __init__(self, work_dir: Path, *, concurrency: int = 1, workers: int = 1,
                 paused: Callable[[], bool] = lambda: False) -> None:
        self.root = Path(work_dir) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.concurrency = max(1, concurrency)
        self.workers = max(1, workers)
        self.paused = paused
        self._context = multiprocessing.get_context("spawn")
        self._procs: dict[str, Any] = {}
        self._terminating: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._recover()
        self._thread = threading.Thread(target=self._loop, name="divert-jobs", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # reading ------------------------------------------------------------------------------------

    def folder(self, job_id: str) -> Path:
        if not isinstance(job_id, str) or not _ID.match(job_id) or not (
                self.root / job_id / "job.json").is_file():
            raise JobNotFound(f"no comparison {str(job_id)[:40]!r}")
        return self.root / job_id

    def get(self, job_id: str) -> Job:
        folder = self.folder(job_id)
        try:
            return Job.read(folder)
        except (OSError, ValueError, TypeError):
            raise JobNotFound(f"the record of comparison {job_id!r} cannot be read") from None

    def jobs(self, owner: str | None = None) -> list[Job]:
        """Every readable job (of `owner`, if given), newest first."""
        out = []
        for folder in self._folders():
            try:
                job = Job.read(folder)
            except (OSError, ValueError, TypeError):
                continue
            if owner is None or job.owner == owner:
                out.append(job)
        return sorted(out, key=lambda j: (j.created, j.id), reverse=True)

    def queue_position(self, job: Job) -> int:
        """How many queued jobs are ahead of `job`."""
        return sum(1 for j in self.jobs() if j.status == "queued" and (j.created, j.id)
                   < (job.created, job.id))

    def path(self, job_id: str, name: str) -> Path:
        """A finished job's output file."""
        job = self.get(job_id)
        offered = files_of(job.spec)
        if name not in offered:
            raise JobNotFound(f"no file {str(name)[:40]!r}; allowed: {', '.join(offered)}")
        path = self.folder(job_id) / name
        if job.status != "done" or not path.is_file():
            raise ConflictError(f"comparison {job_id}: {name} is not there; the comparison is "
                                f"{job.status}")
        return path

    def trajectories(self, job_id: str) -> dict[str, Any]:
        job = self.get(job_id)
        path = self.folder(job_id) / TRAJECTORIES_FILE
        if job.status != "done" or not path.is_file():
            raise ConflictError(f"comparison {job_id}: no results yet; the comparison is "
                                f"{job.status}")
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def countries(self, job_id: str) -> dict[str, Any]:
        """countries.json of a finished side-by-side job."""
        job = self.get(job_id)
        path = self.folder(job_id) / COUNTRIES_FILE
        if job.status != "done" or not path.is_file():
            raise ConflictError(f"comparison {job_id}: no results yet; the comparison is "
                                f"{job.status}")
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def summary(self, job_id: str) -> dict[str, Any] | None:
        """summary.json of a finished job, with non-finite numbers as null (valid JSON)."""
        path = self.folder(job_id) / "summary.json"
        if not path.is_file():
            return None
        return _finite(json.loads(path.read_text(encoding="utf-8")))

    # changing -----------------------------------------------------------------------------------

    def submit(self, owner: str, spec: Spec | CountriesSpec) -> Job:
        waiting = sum(1 for j in self.jobs(owner) if j.active)
        if waiting >= MAX_WAITING:
            raise TooManyJobs(f"{owner} has {waiting} comparisons queued or running; allowed: "
                              f"{MAX_WAITING}; cancel one or wait for them to finish")
        job_id = secrets.token_hex(8)
        folder = self.root / job_id
        folder.mkdir()
        job = Job(job_id, owner, asdict(spec), total=spec.runs)
        job.write(folder)
        self._wake.set()
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once; ask a running one to stop (it ends within seconds)."""
        folder = self.folder(job_id)
        with self._lock:
            job = self.get(job_id)
            if not job.active:
                raise ConflictError(f"comparison {job_id} is {job.status}; only a queued or running "
                                    "comparison can be cancelled")
            (folder / "cancel").touch()
            if self._claim(folder):  # not started by anyone: cancelled here
                job.status = job.stage = "cancelled"
                job.finished = _now()
                job.write(folder)
        self._wake.set()
        return self.get(job_id)

    def close(self) -> None:
        """Stop the dispatcher and end running jobs (they record themselves as interrupted)."""
        self._stop.set()
        self._wake.set()
        for proc in list(self._procs.values()):
            if proc.is_alive():
                proc.terminate()
        for job_id, proc in list(self._procs.items()):
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
            self._finalise(job_id, proc.exitcode)
        self._procs.clear()

    # dispatching --------------------------------------------------------------------------------

    def _folders(self) -> Iterator[Path]:
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if _ID.match(folder.name) and (folder / "job.json").is_file():
                    yield folder

    def _claim(self, folder: Path) -> bool:
        try:
            fd = os.open(folder / "claim", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return True

    def _claimant(self, folder: Path) -> int | None:
        try:
            return int((folder / "claim").read_text().strip())
        except (OSError, ValueError):
            return None

    def _recover(self) -> None:
        """Jobs left running by a server that stopped (no live process, no live claimant) are
        failed: interrupted."""
        for folder in self._folders():
            try:
                job = Job.read(folder)
            except (OSError, ValueError, TypeError):
                continue
            started = job.status == "running" or (folder / "claim").exists()
            if job.active and started and not _alive(job.pid) and not _alive(self._claimant(folder)):
                job.status, job.stage, job.error = "failed", "failed", INTERRUPTED
                job.finished = _now()
                job.write(folder)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the dispatcher must survive a bad folder
                log.exception("comparison jobs: dispatcher step failed")
            self._wake.wait(0.3)
            self._wake.clear()

    def _tick(self) -> None:
        with self._lock:
            self._reap()
            if self.paused():
                return
            while len(self._procs) < self.concurrency:
                folder = self._next_queued()
                if folder is None:
                    break
                self._start(folder)

    def _reap(self) -> None:
        for job_id, proc in list(self._procs.items()):
            if proc.is_alive():
                if (self.root / job_id / "cancel").exists():
                    asked = self._terminating.setdefault(job_id, time.monotonic())
                    if time.monotonic() - asked > 5:
                        proc.kill()
                    elif time.monotonic() - asked > 2:
                        proc.terminate()  # it did not stop at its next run: stop it now
                continue
            proc.join()
            del self._procs[job_id]
            self._terminating.pop(job_id, None)
            self._finalise(job_id, proc.exitcode)

    def _finalise(self, job_id: str, exitcode: int | None) -> None:
        """After the process ended: a record still active means it died without saying so."""
        folder = self.root / job_id
        try:
            job = Job.read(folder)
        except (OSError, ValueError, TypeError):
            return
        if job.active:
            if (folder / "cancel").exists():
                job.status, job.error = "cancelled", None
            else:
                job.status = "failed"
                job.error = f"the comparison's process ended unexpectedly (exit code {exitcode})"
            job.stage, job.finished = job.status, _now()
            job.write(folder)

    def _next_queued(self) -> Path | None:
        queued = []
        for folder in self._folders():
            if (folder / "claim").exists():
                continue
            try:
                job = Job.read(folder)
            except (OSError, ValueError, TypeError):
                continue
            if job.status == "queued":
                queued.append((job.created, job.id, folder))
        for _, _, folder in sorted(queued):
            if self._claim(folder):
                return folder
        return None

    def _start(self, folder: Path) -> None:
        job = Job.read(folder)
        job.status, job.stage, job.started = "running", "starting", _now()
        job.write(folder)
        proc = self._context.Process(target=execute, args=(str(folder), self.workers),
                                     name=f"divert-job-{job.id}")
        proc.start()
        self._procs[job.id] = proc


def _finite(value: Any) -> Any:
    """NaN and infinities as None, recursively (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


__all__ = ["JobManager", "Job", "Spec", "make_spec", "CountriesSpec", "make_countries_spec",
           "files_of", "check_scenario", "packs", "LIMITS", "FILES",
           "JobNotFound", "ConflictError", "TooManyJobs", "execute"]
