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
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

T = TypeVar("T")

RENDER_SECONDS = 5.0  # a message renders in milliseconds; a simulation in tens of them
MEMORY_BYTES = 1 << 30  # each worker's address space: the interpreter's own, and room
# How long past its time limit a call may go unanswered, counted from when it was asked,
# before it counts as lost: a render takes milliseconds, so a call still waiting then is
# queued behind a pool that stopped taking work, or was lost by it. pebble knows of both
# (noxdafox/pebble#153, #163); either would hold the caller's thread for good.
LOST_AFTER = 30.0


class Overrun(Exception):
    """The work went past its limit and its process was stopped; it says which limit."""


class Lost(Exception):
    """The call went unanswered long past its limit, and its pool was replaced. What runs
    here has no side effects, so asking again is safe; nothing else is known."""


def _cap_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _ready() -> None:
    """Nothing: scheduled once so that the pool starts."""


class Isolated:
    """A pool of worker processes: `run(function, *args)` calls `function` (importable, with
    picklable arguments and result) in one of them and answers what it returned or raised."""

    def __init__(
        self,
        workers: int = 2,
        seconds: float = RENDER_SECONDS,
        memory: int = MEMORY_BYTES,
        lost_after: float = LOST_AFTER,
    ) -> None:
        self._workers = workers
        self._seconds = seconds
        self._memory = memory
        self._lost_after = lost_after
        self._swap = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPool:
        # forkserver: workers are forked from a small, single-threaded server process,
        # never from this one and its threads.
        pool = ProcessPool(
            max_workers=self._workers,
            initializer=_cap_memory,
            initargs=(self._memory,),
            context=multiprocessing.get_context("forkserver"),
        )
        # pebble starts its manager threads and processes on the first schedule. Starting
        # them here, at the service's start, keeps that out of the first render (a send
        # holding a worker slot) and out of a shutdown racing it; nothing waits for it.
        pool.schedule(_ready)
        return pool

    def run(self, function: Callable[..., T], *args: Any) -> T:
        with self._swap:  # a pool being replaced by another caller takes no more work
            pool = self._pool
            future = pool.schedule(function, args=args, timeout=self._seconds)
        within = self._seconds + self._lost_after
        if not wait([future], timeout=within).done:
            future.cancel()  # type: ignore[no-untyped-call]
            self._replace(pool)
            raise Lost(f"no answer within {within:g} s of asking; its processes were replaced")
        try:
            result: T = future.result()
        except FutureTimeout:
            raise Overrun(f"it ran for more than {self._seconds:g} s and was stopped") from None
        except ProcessExpired as error:
            raise Overrun(f"its process ended ({error}); it may have run out of memory") from None
        except MemoryError:
            raise Overrun(f"it needed more than {self._memory >> 20:,} MB") from None
        return result

    def _replace(self, stuck: ProcessPool) -> None:
        with self._swap:
            if self._pool is stuck:  # not replaced already by another caller
                self._pool = self._start()
                # Not joined: a pool that stopped taking work may never finish stopping.
                stuck.stop()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join()

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
