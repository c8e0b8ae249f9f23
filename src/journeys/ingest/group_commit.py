"""Group commit: the store writes of concurrent events share one transaction.

Writes that arrive while a transaction is running wait for it and then go together in the
next one. Under load, one commit and one hop to a thread serve many events; when idle, a
write goes at once. Each write still gets its own result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from journeys.store.db import store_unavailable, transaction
from journeys.store.locks import hold

T = TypeVar("T")


@dataclass
class _Write:
    operation: Callable[[Session], Any]
    order: str  # writes run sorted by it: concurrent transactions lock rows in one order
    locks: Collection[str]  # held for the whole transaction, taken before any write runs
    done: asyncio.Future[Any]


class GroupCommit:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: list[_Write] = []
        self._flushing: asyncio.Task[None] | None = None

    async def run(
        self, operation: Callable[[Session], T], order: str, locks: Collection[str] = ()
    ) -> T:
        """Run `operation` in a transaction shared with the writes waiting beside it, holding
        the `locks` (`store.locks`) it names.

        A write that raises fails alone: the transaction is rolled back and the others go
        again without it. If the store is away, or the commit fails, every write fails with
        that error; nothing of it was committed.
        """
        loop = asyncio.get_running_loop()
        write = _Write(operation, order, locks, loop.create_future())
        self._pending.append(write)
        flushing = self._flushing
        if flushing is None or flushing.done() or flushing.get_loop() is not loop:
            self._flushing = loop.create_task(self._flush())
        result: T = await write.done
        return result

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = sorted(self._pending, key=lambda w: w.order), []
            try:
                outcomes = await asyncio.to_thread(self._transaction, batch)
            except Exception as error:
                outcomes = [_Failed(error)] * len(batch)
            for write, outcome in zip(batch, outcomes, strict=True):
                if write.done.done():  # its caller may have gone (a cancelled request)
                    continue
                if isinstance(outcome, _Failed):
                    write.done.set_exception(outcome.error)
                else:
                    write.done.set_result(outcome)

    def _transaction(self, batch: list[_Write]) -> list[Any]:
        """Each write's result or _Failed; the writes that did not fail are committed."""
        outcomes: dict[int, Any] = {}
        while True:
            going = [i for i in range(len(batch)) if i not in outcomes]
            try:
                results = self._attempt([batch[i] for i in going])
            except _WriteFailed as failed:
                if store_unavailable(failed.error):
                    raise failed.error from None
                outcomes[going[failed.index]] = _Failed(failed.error)
                continue
            outcomes.update(zip(going, results, strict=True))
            return [outcomes[i] for i in range(len(batch))]

    def _attempt(self, writes: list[_Write]) -> list[Any]:
        with transaction(self._engine) as session:
            # All of the batch's locks at once, in one order: no two transactions wait on
            # each other, whatever their writes.
            hold(session, [key for write in writes for key in write.locks])
            results = []
            for index, write in enumerate(writes):
                try:
                    results.append(write.operation(session))
                except Exception as error:
                    raise _WriteFailed(index, error) from error
            return results


@dataclass(frozen=True)
class _Failed:
    error: Exception


class _WriteFailed(Exception):
    """One write of a transaction raised: the transaction is rolled back."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error
