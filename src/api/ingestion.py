"""Accepting trigger events, whatever the format they came in: check, de-duplicate, route.

The single-event, batch, CloudEvents, Segment and record endpoints all come through here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from sqlalchemy import Engine

from api.catalog import CatalogCache
from api.dispatch import Dispatched, Dispatcher
from journeys.catalog import check_attributes
from journeys.definitions.triggers import TriggerStatus
from journeys.events import TriggerEvent
from journeys.problems import Problem
from journeys.store.db import transaction
from journeys.store.event_ids import claim_event, complete_event, purge_events, release_event


@dataclass(frozen=True)
class EventRequest:
    trigger: str
    contact_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    binding_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Accepted:
    event_id: str
    trigger: str
    started: list[str]
    signaled: list[str]
    duplicate: bool


class Refused(Exception):
    """An event the gateway will not take, with the HTTP status that says why."""

    def __init__(self, status: HTTPStatus, detail: str, problems: list[Problem] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []


class EventLedger:
    """Event ids accepted within the window, kept in the store (shared by every API process)."""

    def __init__(
        self,
        engine: Engine,
        window: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._window = window
        self._clock = clock

    async def claim(self, event_id: str, trigger: str) -> bool:
        return await asyncio.to_thread(
            self._run, claim_event, event_id, trigger, self._clock(), self._window
        )

    async def complete(self, event_id: str) -> None:
        await asyncio.to_thread(self._run, complete_event, event_id)

    async def release(self, event_id: str) -> None:
        await asyncio.to_thread(self._run, release_event, event_id)

    async def purge(self) -> int:
        return await asyncio.to_thread(self._run, purge_events, self._clock() - self._window)

    def _run(self, operation: Callable[..., Any], *args: Any) -> Any:
        with transaction(self._engine) as session:
            return operation(session, *args)


class Ingestion:
    def __init__(self, catalog: CatalogCache, dispatcher: Dispatcher, ledger: EventLedger) -> None:
        self._catalog = catalog
        self._dispatcher = dispatcher
        self._ledger = ledger

    async def accept(self, request: EventRequest) -> Accepted:
        """Check the event against its trigger, then start or signal the runs it concerns.

        Raises Refused for an event that cannot be taken, and TemporalUnavailable (nothing
        done; retry with the same id) when Temporal cannot be reached.
        """
        snapshot = self._catalog.snapshot
        trigger = snapshot.catalog.get(request.trigger)
        if trigger is None:
            raise Refused(HTTPStatus.NOT_FOUND, f"unknown trigger {request.trigger!r}")
        if trigger.interaction:
            raise Refused(
                HTTPStatus.FORBIDDEN,
                f"{trigger.name} is an interaction trigger: only Journeys' channels raise it",
            )
        if trigger.status is not TriggerStatus.READY:
            raise Refused(
                HTTPStatus.CONFLICT, f"trigger {trigger.name} is {trigger.status}, not ready"
            )
        attributes, problems = check_attributes(trigger, request.attributes)
        if problems:
            count = len(problems)
            raise Refused(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                f"{count} problem{'s' * (count != 1)} found",
                problems,
            )
        event = TriggerEvent(
            event_id=request.event_id or uuid.uuid4().hex,
            trigger=trigger.name,
            contact_id=request.contact_id,
            binding_id=request.binding_id,
            occurred_at=request.occurred_at or datetime.now(UTC),
            attributes=attributes,
        )
        routes = snapshot.routing.routes(trigger.name)
        if not (routes.start or routes.signal):
            # Acts on nothing, so a repeat would too: no need to remember its id.
            return _accepted(event, Dispatched(), duplicate=False)
        if not await self._ledger.claim(event.event_id, event.trigger):
            return _accepted(event, Dispatched(), duplicate=True)
        try:
            dispatched = await self._dispatcher.dispatch(event, routes)
        except BaseException:
            await self._ledger.release(event.event_id)
            raise
        await self._ledger.complete(event.event_id)
        return _accepted(event, dispatched, duplicate=False)


def _accepted(event: TriggerEvent, dispatched: Dispatched, duplicate: bool) -> Accepted:
    return Accepted(
        event_id=event.event_id,
        trigger=event.trigger,
        started=dispatched.started,
        signaled=dispatched.signaled,
        duplicate=duplicate,
    )
