"""The comparison job manager: checked specs, the queue, cancelling, and jobs that outlive a server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from divert.errors import InputError
from divert.web.jobs import (
    INTERRUPTED,
    MAX_WAITING,
    ConflictError,
    CountriesSpec,
    Job,
    JobManager,
    JobNotFound,
    Spec,
    TooManyJobs,
    make_countries_spec,
    make_spec,
)

TINY = {"persons": 1000, "years": 1, "replications": 2, "seed": 3, "start": "2025-01"}


@pytest.fixture
def paused(tmp_path: Path) -> Iterator[JobManager]:
    """A manager whose jobs queue but never start."""
    m = JobManager(tmp_path, paused=lambda: True)
    yield m
    m.close()


def wait_for(m: JobManager, job_id: str, statuses: tuple[str, ...], timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = m.get(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {m.get(job_id).status} after {timeout} s")


@pytest.mark.parametrize(("scenarios", "values", "message"), [
    (["usa"], {"persons": 999}, "persons: 999 is out of range; allowed: 1,000 to 500,000"),
    (["usa"], {"persons": "lots"}, "persons: 'lots' is not a whole number"),
    (["usa"], {"years": 31}, "years: 31 is out of range; allowed: 1 to 30"),
    (["usa"], {"replications": 0}, "replications: 0 is out of range; allowed: 1 to 100"),
    (["usa"], {"seed": -1}, "seed: -1 is out of range"),
    (["usa"], {"start": "2025-13"}, "start: '2025-13' is not an allowed month"),
    (["atlantis"], {}, "scenarios: unknown pack 'atlantis'; allowed: belgium"),
    (["usa", "usa+nonsense"], {}, "scenarios: unknown overlay 'nonsense' for usa; allowed: calibrated"),
    (["usa", "usa+../../etc/passwd"], {}, "scenarios: unknown overlay '../../etc/passwd'"),
    (["usa", "usa+prison_treatment+prison_treatment"], {}, "names an overlay twice"),
    (["usa", "usa"], {}, "the same scenario is listed twice"),
    ([], {}, "scenarios: none given"),
])
def test_a_bad_spec_is_refused_with_one_clear_message(scenarios: list[str], values: dict[str, object],
                                                       message: str) -> None:
    with pytest.raises(InputError) as err:
        make_spec(scenarios, **(TINY | values))
    assert message in str(err.value)


def test_a_good_spec_is_kept_as_given() -> None:
    spec = make_spec(["usa", "usa+treatment_not_conviction"], **TINY)
    assert spec.scenarios == ["usa", "usa+treatment_not_conviction"]
    assert (spec.months, spec.runs, spec.start) == (12, 4, "2025-01")


def test_a_spec_stored_before_the_shared_sizes_moved_still_loads() -> None:
    """Stored job.json files keep their keys in the old order (scenarios or packs first, then
    the sizes); a spec is read back by name, so that order must not matter."""
    old = json.loads('{"scenarios": ["usa", "usa+treatment_not_conviction"], "persons": 1000, '
                     '"years": 1, "replications": 2, "seed": 3, "start": "2025-01"}')
    assert Spec(**old) == make_spec(["usa", "usa+treatment_not_conviction"], **TINY)
    assert Spec(**old).lang == "en"  # stored before jobs recorded a language: English, as then
    old_countries = json.loads(
        '{"packs": ["usa", "portugal"], "reform": "treatment_not_conviction", "scenarios": '
        '["usa", "usa+treatment_not_conviction", "portugal", "portugal+treatment_not_conviction"], '
        '"persons": 1000, "years": 1, "replications": 2, "seed": 3, "start": "2025-01", '
        '"kind": "countries"}')
    made = make_countries_spec(["usa", "portugal"], "treatment_not_conviction", **TINY)
    assert CountriesSpec(**old_countries) == made
    assert (made.months, made.runs, made.kind) == (12, 8, "countries")


def test_a_queued_job_is_cancelled_at_once_and_only_once(paused: JobManager) -> None:
    job = paused.submit("analyst", make_spec(["usa"], **TINY))
    assert paused.get(job.id).status == "queued" and job.total == 2
    assert paused.cancel(job.id).status == "cancelled"
    with pytest.raises(ConflictError, match="only a queued or running comparison"):
        paused.cancel(job.id)
    time.sleep(0.5)
    assert paused.get(job.id).status == "cancelled"  # the dispatcher never started it


def test_an_account_has_a_limit_of_waiting_jobs(paused: JobManager) -> None:
    spec = make_spec(["usa"], **TINY)
    for _ in range(MAX_WAITING):
        paused.submit("analyst", spec)
    with pytest.raises(TooManyJobs, match=f"allowed: {MAX_WAITING}"):
        paused.submit("analyst", spec)
    paused.submit("admin", spec)  # others are not held up


def test_unknown_ids_and_files_are_not_found(paused: JobManager) -> None:
    for job_id in ("nope", "../jobs", "0123456789abcdef"):
        with pytest.raises(JobNotFound):
            paused.get(job_id)
    job = paused.submit("analyst", make_spec(["usa"], **TINY))
    with pytest.raises(JobNotFound, match="allowed: series.csv"):
        paused.path(job.id, "job.json")
    with pytest.raises(ConflictError, match="the comparison is queued"):
        paused.path(job.id, "series.csv")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_job_running_when_the_server_stopped_is_failed_on_restart(tmp_path: Path) -> None:
    folder = tmp_path / "jobs" / "00000000000000aa"
    folder.mkdir(parents=True)
    Job("00000000000000aa", "analyst", {"scenarios": ["usa"]}, status="running", done=1, total=2,
        pid=_dead_pid()).write(folder)
    (folder / "claim").write_text(str(_dead_pid()))
    finished = tmp_path / "jobs" / "00000000000000bb"
    finished.mkdir()
    Job("00000000000000bb", "analyst", {"scenarios": ["usa"]}, status="done", done=2,
        total=2).write(finished)
    m = JobManager(tmp_path, paused=lambda: True)
    try:
        job = m.get("00000000000000aa")
        assert (job.status, job.error) == ("failed", INTERRUPTED) and job.finished
        assert m.get("00000000000000bb").status == "done"
        assert {j.id for j in m.jobs()} == {"00000000000000aa", "00000000000000bb"}
        assert json.loads((folder / "job.json").read_text())["status"] == "failed"
    finally:
        m.close()


def test_a_running_job_is_cancelled_and_the_queue_moves_on(tmp_path: Path) -> None:
    m = JobManager(tmp_path)
    try:
        big = m.submit("analyst", make_spec(["usa"], persons=20_000, years=10, replications=50,
                                            seed=1, start="2025-01"))
        small = m.submit("analyst", make_spec(["usa"], **TINY))
        wait_for(m, big.id, ("running",))
        assert m.get(small.id).status == "queued"  # first come, first served; one at a time
        deadline = time.monotonic() + 60
        while m.get(big.id).done < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert m.get(big.id).status == "running" and m.get(small.id).status == "queued"
        m.cancel(big.id)
        job = wait_for(m, big.id, ("cancelled", "failed", "done"), timeout=30)
        assert job.status == "cancelled" and job.done < job.total
        assert wait_for(m, small.id, ("running", "done")).status in ("running", "done")
    finally:
        m.close()
