"""Executors: where the runner's tasks run, behind one interface (`Executor`).

`InProcess` runs them one after another here, `Processes` in a pool of single-threaded worker
processes; the Dask executor (`divert.simulation.distributed`, optional) shares the same base.
`divert.simulation.runner.executor_for` picks one from the command line's --workers/--cluster.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs tasks and yields their results as they finish (any order); `close` frees it."""

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        ...

    def close(self) -> None:
        ...

    def __enter__(self) -> Any:
        ...

    def __exit__(self, *exc: object) -> None:
        ...


class ExecutorBase:
    """Executors are context managers: `with executor_for(...) as ex:`."""

    def close(self) -> None:
        return None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return type(self).__name__.lower()


class InProcess(ExecutorBase):
    """Runs tasks one after another in this process."""

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        for task in tasks:
            yield fn(task)


def _single_thread() -> None:
    import numba

    numba.set_num_threads(1)


class Processes(ExecutorBase):
    """Runs tasks in a pool of worker processes (each single-threaded, to share the cores).

    The pool is started on the first `map` and kept until `close`, so a run of several batches
    (the main job's parameter draws, pilot and further replications) starts its workers, imports
    divert, loads the packs and the compiled kernel once, not once a batch."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        return f"processes:{self.workers}"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        if self._pool is None:
            # spawn, not fork: the compiled kernel's thread pool must not be forked
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_single_thread,
                                             mp_context=context)
        futures = [self._pool.submit(fn, t) for t in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:  # an abandoned or failed map leaves no work queued
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
