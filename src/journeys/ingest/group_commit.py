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

from journeys.store.db import transaction
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

        If the transaction fails, every write in it fails with the same error (the store
        was away, as a rule); nothing of it was committed.
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
                results = await asyncio.to_thread(self._transaction, batch)
            except Exception as error:
                for write in batch:
                    if not write.done.done():
                        write.done.set_exception(error)
                continue
            for write, result in zip(batch, results, strict=True):
                if not write.done.done():  # its caller may have gone (a cancelled request)
                    write.done.set_result(result)

    def _transaction(self, batch: list[_Write]) -> list[Any]:
        with transaction(self._engine) as session:
            # All of the batch's locks at once, in one order: no two transactions wait on
            # each other, whatever their writes.
            hold(session, [key for write in batch for key in write.locks])
            return [write.operation(session) for write in batch]
