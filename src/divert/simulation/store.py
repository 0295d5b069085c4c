"""Finished tasks on disk: one small file per (scenario, replication) under `OUT/tasks/`.

Each result is written as it arrives (to a temporary file, then renamed, so a file is either whole
or absent), which keeps the client's memory small and lets an interrupted run resume: `--resume`
reads what is there and redoes only the missing tasks. `tasks/run.json` holds the run's stamp; a
folder written under a different stamp (other seed, scenarios, sizes or packs) is refused, never
mixed. The number of replications may grow on resume.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from divert.errors import InputError
from divert.simulation.run import RunResult

# stamp fields that may differ on resume (more replications extend the run)
EXTENDABLE = ("replications",)


class TaskStore:
    """The per-task result files of one run, keyed by scenario index and replication."""

    def __init__(self, out: Path, scenarios: list[str], stamp: dict[str, Any], *,
                 resume: bool = False, info: dict[str, Any] | None = None) -> None:
        self.folder = Path(out) / "tasks"
        self.scenarios = list(scenarios)
        self.index = {s: i for i, s in enumerate(self.scenarios)}
        header = self.folder / "run.json"
        try:
            if resume and header.is_file():
                self._check(json.loads(header.read_text(encoding="utf-8")), stamp)
            elif resume:
                raise InputError(f"--resume: {self.folder} holds no run to resume")
            elif self.folder.exists():
                shutil.rmtree(self.folder)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write_json(header, {"stamp": stamp, "scenarios": self.scenarios,
                                      "info": info or {}})
        except OSError as exc:
            raise InputError(f"--out: cannot write {self.folder}: {exc.strerror}") from None

    def _check(self, held: dict[str, Any], stamp: dict[str, Any]) -> None:
        old = {k: v for k, v in held.get("stamp", {}).items() if k not in EXTENDABLE}
        new = {k: v for k, v in json.loads(json.dumps(stamp)).items() if k not in EXTENDABLE}
        if held.get("scenarios") != self.scenarios or old != new:
            differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            if held.get("scenarios") != self.scenarios:
                differ = ["scenarios", *[d for d in differ if d != "scenarios"]]
            raise InputError(f"--resume: {self.folder.parent} was written by a different run "
                             f"(different {', '.join(differ)}); "
                             "use another --out or drop --resume")

    @staticmethod
    def _write_json(path: Path, data: dict[str, Any]) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)

    def path(self, scenario: str, replication: int) -> Path:
        return self.folder / f"s{self.index[scenario]:03d}-r{replication:06d}.npz"

    def has(self, scenario: str, replication: int) -> bool:
        return self.path(scenario, replication).is_file()

    def put(self, result: RunResult) -> None:
        """Write a result atomically (temporary file in the same folder, then rename)."""
        target = self.path(result.scenario, result.replication)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, series=result.series, cohort=result.cohort,
                         scale=np.float64(result.scale),
                         meta=np.array(json.dumps({
                             "scenario": result.scenario, "replication": result.replication,
                             "persons": result.persons, "months": result.months,
                             "start": result.start.isoformat(), "final": result.final,
                             "values": result.values, "pathways": list(result.pathways),
                             "burn_in": result.burn_in, "start_alive": result.start_alive},
                             default=_plain)))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, scenario: str, replication: int) -> RunResult:
        return load_result(self.path(scenario, replication))

    def runs(self, scenario: str, replications: int) -> StoredRuns:
        return StoredRuns(self, scenario, replications)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def load_result(path: Path) -> RunResult:
    """A result written by `TaskStore.put`, exactly as it was."""
    with np.load(path) as f:
        meta = json.loads(str(f["meta"]))
        return RunResult(meta["scenario"], int(meta["replication"]), int(meta["persons"]),
                         int(meta["months"]), date.fromisoformat(meta["start"]),
                         float(f["scale"]), f["series"], f["cohort"], meta["final"],
                         meta["values"], tuple(meta.get("pathways", ())),
                         int(meta.get("burn_in", 0)), float(meta.get("start_alive", 0.0)))


class StoredRuns(Sequence[RunResult]):
    """A scenario's runs read from the store one at a time, on demand (nothing is cached)."""

    def __init__(self, store: TaskStore, scenario: str, replications: int) -> None:
        self.store, self.scenario, self.replications = store, scenario, replications

    def __len__(self) -> int:
        return self.replications

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self.store.get(self.scenario, i % len(self))

    def __iter__(self) -> Iterator[RunResult]:
        for r in range(self.replications):
            yield self.store.get(self.scenario, r)


__all__ = ["TaskStore", "StoredRuns", "load_result"]
