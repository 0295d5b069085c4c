"""The Dask executor: the runner's tasks on a Dask cluster (`pip install divert[dask]`).

`--cluster ADDRESS` sends the work to a running scheduler (`dask scheduler` on one machine,
`dask worker ADDRESS` on the others, or a deployment by dask-kubernetes or dask-jobqueue);
`--cluster local:N` starts a local cluster of N single-threaded worker processes. Tasks are sent
in batches sized to last a few seconds each (many tiny tasks choke a scheduler), and results are
yielded as each batch finishes. A worker lost mid-run has its batches run again elsewhere by the
scheduler; as every result depends only on its task, the answers are unchanged.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from divert.errors import InputError
from divert.simulation.executors import ExecutorBase

T = TypeVar("T")
R = TypeVar("R")

CONNECT_SECONDS = 5.0
TARGET_SECONDS = 5.0          # a batch should last about this long
PERSON_MONTHS_PER_SECOND = 8e6  # one thread, kernel and decisions (bench/README.md)
TASK_OVERHEAD_SECONDS = 0.05
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss|inproc)://)?[\w.\-\[\]:]+:\d+$")
ALLOWED = "local:N (N >= 1 worker processes) or a scheduler address, HOST:PORT or tcp://HOST:PORT"


def parse_cluster(spec: str) -> tuple[str, Any]:
    """('local', N) or ('address', ADDRESS); anything else is refused naming what is allowed."""
    text = spec.strip()
    if text.startswith("local"):
        _, _, n = text.partition(":")
        if not n.isdigit() or int(n) < 1:
            raise InputError(f"--cluster: {spec!r} is not allowed; allowed: {ALLOWED}")
        return "local", int(n)
    if not _ADDRESS.match(text):
        raise InputError(f"--cluster: {spec!r} is not a scheduler address; allowed: {ALLOWED}")
    return "address", text


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError("--cluster: Dask is not installed; pip install divert[dask]") from None
    return distributed


def run_batch(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """Run a batch of tasks on a worker, the compiled kernel on one thread (the cluster's
    parallelism is its workers')."""
    import numba

    numba.set_num_threads(1)
    return [fn(item) for item in items]


def estimate_seconds(item: Any) -> float:
    """A rough time for one task from its size (persons x months), for batching."""
    persons, months = getattr(item, "persons", None), getattr(item, "months", None)
    if not persons or not months:
        return 1.0
    return float(TASK_OVERHEAD_SECONDS + persons * months / PERSON_MONTHS_PER_SECOND)


def batch_size(items: Sequence[Any], slots: int, target: float = TARGET_SECONDS) -> int:
    """Tasks per Dask task: about `target` seconds each, but at least two batches per worker
    slot so that the work spreads and the last batch does not leave the others idle."""
    if not items:
        return 1
    per = max(estimate_seconds(items[0]), 1e-3)
    size = max(1, round(target / per))
    return max(1, min(size, math.ceil(len(items) / (2 * max(slots, 1)))))


class Dask(ExecutorBase):
    """Runs tasks on a Dask cluster, connecting (or starting a local one) on first use."""

    def __init__(self, cluster: str, *, batch: int | None = None,
                 timeout: float | None = None) -> None:
        self.spec = cluster
        self.kind, self.target = parse_cluster(cluster)
        if batch is not None and batch < 1:
            raise InputError(f"--batch: must be at least 1, got {batch}")
        self.batch = batch
        self.timeout = CONNECT_SECONDS if timeout is None else timeout
        self._client: Any = None
        self._cluster: Any = None

    def describe(self) -> str:
        return f"dask {self.spec}"

    def client(self) -> Any:
        """The Dask client, connected on first use."""
        if self._client is not None:
            return self._client
        distributed = _dask()
        if self.kind == "local":
            self._cluster = distributed.LocalCluster(
                n_workers=self.target, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR,
                env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
            self._client = distributed.Client(self._cluster)
            return self._client
        try:
            self._client = distributed.Client(self.target, timeout=f"{self.timeout}s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--cluster: no Dask scheduler answered at {self.target} within "
                             f"{self.timeout:g} s ({type(exc).__name__})") from None
        return self._client

    def slots(self) -> int:
        """Worker threads the cluster has now (1 while none has joined)."""
        return int(max(1, sum(self.client().nthreads().values())))

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        if not tasks:
            return
        distributed = _dask()
        client = self.client()
        size = self.batch or batch_size(tasks, self.slots())
        futures = {}
        for i in range(0, len(tasks), size):
            f = client.submit(run_batch, fn, list(tasks[i:i + size]), pure=False)
            futures[f.key] = f
        try:
            for future in distributed.as_completed(list(futures.values())):
                results = future.result()
                del futures[future.key]  # frees the result on the cluster
                future.release()
                yield from results
        finally:
            if futures:
                client.cancel(list(futures.values()))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


__all__ = ["Dask", "parse_cluster", "run_batch", "batch_size", "estimate_seconds"]
