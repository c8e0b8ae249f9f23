"""Accepting trigger events, whatever the format they came in: check, de-duplicate, route.

The single-event, batch, CloudEvents, Segment and record endpoints all come through here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from journeys.catalog import check_attributes
from journeys.definitions.triggers import TriggerStatus
from journeys.engine.conditions import evaluate
from journeys.engine.entry import JOURNEY_PAUSED, early_refusal
from journeys.events import TriggerEvent
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.dispatch import Dispatched, Dispatcher
from journeys.ingest.group_commit import GroupCommit
from journeys.problems import Problem
from journeys.routing import LiveJourney
from journeys.store.db import transaction
from journeys.store.entries import record_late_goal, record_refusal
from journeys.store.event_ids import Claim, claim_event, complete_event, purge_events, release_event

# Routing takes well under this; a claim left by a gateway that died is taken over after
# event_ids.ABANDONED_AFTER, which the producer's retries reach in time.
IN_FLIGHT_RETRY_SECONDS = 2
# How long a completion the store refused is tried again (see EventLedger.complete).
COMPLETION_RETRY = timedelta(minutes=10)

log = logging.getLogger("journeys.ingest")


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
    refused: list[dict[str, str]]  # journeys that refused to start, each with its reason
    duplicate: bool
    missed: list[str] = field(default_factory=list)  # to continue or stop, but no run there


@dataclass(frozen=True)
class Refusal:
    journey_id: str
    version: int
    reason: str


class Rejected(Exception):
    """An event the gateway will not take, with the HTTP status that says why."""

    def __init__(
        self,
        status: HTTPStatus,
        detail: str,
        problems: list[Problem] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []
        self.retry_after = retry_after  # seconds, when the same request may succeed later


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


class Ingestion:
    def __init__(
        self,
        catalog: CatalogCache,
        dispatcher: Dispatcher,
        ledger: EventLedger,
        observe: Callable[[Accepted], None] = lambda _: None,
    ) -> None:
        self._catalog = catalog
        self._dispatcher = dispatcher
        self._ledger = ledger
        self._observe = observe  # told of every accepted event (metrics)

    async def accept(self, request: EventRequest) -> Accepted:
        """Check the event against its trigger, then start or signal the runs it concerns.

        Raises Rejected for an event that cannot be taken, and TemporalUnavailable (nothing
        done; retry with the same id) when Temporal cannot be reached.
        """
        accepted = await self._accept(request)
        self._observe(accepted)
        return accepted

    async def _accept(self, request: EventRequest) -> Accepted:
        snapshot = self._catalog.snapshot
        trigger = snapshot.catalog.get(request.trigger)
        if trigger is None:
            raise Rejected(HTTPStatus.NOT_FOUND, f"unknown trigger {request.trigger!r}")
        if trigger.interaction:
            raise Rejected(
                HTTPStatus.FORBIDDEN,
                f"{trigger.name} is an interaction trigger: only Journeys' channels raise it",
            )
        if trigger.status is not TriggerStatus.READY:
            raise Rejected(
                HTTPStatus.CONFLICT, f"trigger {trigger.name} is {trigger.status}, not ready"
            )
        attributes, problems = check_attributes(trigger, request.attributes)
        if problems:
            count = len(problems)
            raise Rejected(
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
            return _accepted(event, Dispatched(), [], duplicate=False)
        claim = await self._ledger.claim(event.event_id, event.trigger)
        if claim is Claim.DUPLICATE:
            return _accepted(event, Dispatched(), [], duplicate=True)
        if claim is Claim.IN_FLIGHT:
            # Not "duplicate": the routing under way may still fail, and the producer, told
            # its event was taken, would not send it again.
            raise Rejected(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"event {event.event_id} is being routed by another request; retry with the "
                "same event_id",
                retry_after=IN_FLIGHT_RETRY_SECONDS,
            )
        try:
            starts, refusals = self._plan(routes.start, event)
            if refusals:
                await self._ledger.record_refusals(event, refusals)
            dispatched = await self._dispatcher.dispatch(event, starts, list(routes.signal))
        except BaseException:
            await self._ledger.release(event.event_id)
            raise
        await self._ledger.complete(event, [j for j in routes.goals if _reaches_goal(j, event)])
        return _accepted(event, dispatched, refusals, duplicate=False)

    @staticmethod
    def _plan(
        candidates: tuple[LiveJourney, ...], event: TriggerEvent
    ) -> tuple[list[LiveJourney], list[Refusal]]:
        """Which journeys the event may start, and which refuse it before any run begins."""
        starts, refusals = [], []
        for journey in candidates:
            if journey.per_binding and not event.binding_id:
                continue  # a run per binding starts only on events that carry one
            reason = (
                JOURNEY_PAUSED
                if journey.paused
                else early_refusal(journey.definition, event.attributes, datetime.now(UTC))
            )
            if reason is None:
                starts.append(journey)
            else:
                refusals.append(Refusal(journey.id, journey.version, reason))
        return starts, refusals


def _reaches_goal(journey: LiveJourney, event: TriggerEvent) -> bool:
    goal = journey.definition.goal
    return goal is not None and evaluate(goal.when, {"event": event.attributes})


def _accepted(
    event: TriggerEvent, dispatched: Dispatched, refusals: list[Refusal], duplicate: bool
) -> Accepted:
    return Accepted(
        event_id=event.event_id,
        trigger=event.trigger,
        started=dispatched.started,
        signaled=dispatched.signaled,
        refused=[{"journey": r.journey_id, "reason": r.reason} for r in refusals],
        duplicate=duplicate,
        missed=dispatched.missed,
    )
