"""Work on what journey authors wrote (templates, simulations), run in processes of its own
with a hard time and memory limit.

The template sandbox bounds every growth it knows of, with a reason; this is for the ones
nobody foresaw. A thread cannot be stopped in Python, and a render that takes a core or a
gigabyte in the API's process stalls every request there, health checks included. A
process can be: pebble's pool kills a worker that overruns its time and starts another,
and each worker's address space is capped, so a memory bomb is a MemoryError there.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

T = TypeVar("T")

RENDER_SECONDS = 5.0  # a message renders in milliseconds; a simulation in tens of them
MEMORY_BYTES = 1 << 30  # each worker's address space: the interpreter's own, and room


class Overrun(Exception):
    """The work went past its limit and its process was stopped; it says which limit."""


def _cap_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _ready() -> None:
    """Nothing: scheduled once so that the pool starts."""


class Isolated:
    """A pool of worker processes: `run(function, *args)` calls `function` (importable, with
    picklable arguments and result) in one of them and answers what it returned or raised."""

    def __init__(
        self, workers: int = 2, seconds: float = RENDER_SECONDS, memory: int = MEMORY_BYTES
    ) -> None:
        self._seconds = seconds
        self._memory = memory
        # forkserver: workers are forked from a small, single-threaded server process,
        # never from this one and its threads.
        self._pool = ProcessPool(
            max_workers=workers,
            initializer=_cap_memory,
            initargs=(memory,),
            context=multiprocessing.get_context("forkserver"),
        )
        # pebble starts its manager threads and processes on the first schedule. Starting
        # them here, at the service's start, keeps that out of the first render (a send
        # holding a worker slot) and out of a shutdown racing it; nothing waits for it.
        self._pool.schedule(_ready)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        future = self._pool.schedule(function, args=args, timeout=self._seconds)
        try:
            result: T = future.result()
        except FutureTimeout:
            raise Overrun(f"it ran for more than {self._seconds:g} s and was stopped") from None
        except ProcessExpired as error:
            raise Overrun(f"its process ended ({error}); it may have run out of memory") from None
        except MemoryError:
            raise Overrun(f"it needed more than {self._memory >> 20:,} MB") from None
        return result

    def close(self) -> None:
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join()

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
