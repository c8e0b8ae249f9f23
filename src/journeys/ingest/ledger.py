"""The event ledger: event ids accepted within the window, refused entries, and the goals
events reach after their runs ended, kept in the store and shared by every API process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from journeys.engine.events import TriggerEvent
from journeys.ingest.contracts import Refusal
from journeys.ingest.group_commit import GroupCommit
from journeys.store.db import transaction
from journeys.store.entries import record_late_goal, record_refusal
from journeys.store.event_ids import Claim, claim_event, complete_event, purge_events, release_event
from journeys.store.journeys import LiveJourney

# How long a completion the store refused is tried again (see EventLedger.complete).
COMPLETION_RETRY = timedelta(minutes=10)

log = logging.getLogger("journeys.ingest")


class EventLedger:
    """Event ids accepted within the window, kept in the store (shared by every API process).

    Claims, refused entries and completions of concurrent events share transactions (group
    commit): each event writes two or three times, but concurrent events share the commits.
    """

    def __init__(
        self,
        engine: Engine,
        window: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        completion_retry: timedelta = COMPLETION_RETRY,
    ) -> None:
        self._engine = engine
        self._window = window
        self._clock = clock
        self._completion_retry = completion_retry.total_seconds()
        self._writes = GroupCommit(engine)
        self._retrying: set[asyncio.Task[None]] = set()  # completions waiting for the store

    async def claim(self, event_id: str, trigger: str) -> Claim:
        now = self._clock()
        return await self._writes.run(
            lambda session: claim_event(session, event_id, trigger, now, self._window), event_id
        )

    async def complete(self, event: TriggerEvent, late_goals: list[LiveJourney]) -> None:
        """Mark a routed event done, with the goals it reached after their runs had ended.

        The event has acted by now, so this never fails the request: a producer told to
        retry would make it act twice. If the store is away, it is written once it is back.
        """
        now = self._clock()

        def write(session: Session) -> None:
            for journey in late_goals:
                goal = journey.definition.goal
                assert goal is not None
                record_late_goal(session, journey.id, event.contact_id, now, goal.within)
            complete_event(session, event.event_id)

        try:
            await self._writes.run(write, event.event_id)
        except SQLAlchemyError as error:
            log.warning(
                "event %s acted; recording it waits for the store: %s", event.event_id, error
            )
            later = asyncio.create_task(self._retry(write, event.event_id))
            self._retrying.add(later)
            later.add_done_callback(self._retrying.discard)

    async def _retry(self, write: Callable[[Session], None], event_id: str) -> None:
        delay = 0.5
        deadline = asyncio.get_running_loop().time() + self._completion_retry
        while True:
            await asyncio.sleep(delay)
            try:
                await self._writes.run(write, event_id)
            except SQLAlchemyError as error:
                if asyncio.get_running_loop().time() > deadline:
                    log.error("event %s acted but could not be recorded: %s", event_id, error)
                    return
                delay = min(delay * 2, 10.0)
            else:
                return

    async def release(self, event_id: str) -> None:
        await self._writes.run(lambda session: release_event(session, event_id), event_id)

    async def record_refusals(self, event: TriggerEvent, refusals: list[Refusal]) -> None:
        now = self._clock()

        def write(session: Session) -> None:
            for refusal in refusals:
                record_refusal(
                    session,
                    journey_id=refusal.journey_id,
                    version=refusal.version,
                    contact_id=event.contact_id,
                    binding_id=event.binding_id,
                    event_id=event.event_id,
                    reason=refusal.reason,
                    at=now,
                )

        await self._writes.run(write, event.event_id)

    async def purge(self) -> int:
        return await asyncio.to_thread(self._run, purge_events, self._clock() - self._window)

    def _run(self, operation: Callable[..., Any], *args: Any) -> Any:
        with transaction(self._engine) as session:
            return operation(session, *args)
