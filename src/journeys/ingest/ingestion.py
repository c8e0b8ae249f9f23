"""Accepting trigger events, whatever the format they came in: check, de-duplicate, route.

The single-event, batch, CloudEvents, Segment and record endpoints all come through here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus

from journeys.definitions.catalog import check_attributes
from journeys.definitions.triggers import TriggerStatus
from journeys.engine.conditions import evaluate
from journeys.engine.entry import JOURNEY_PAUSED, early_refusal
from journeys.engine.events import TriggerEvent
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.contracts import Accepted, EventRequest, Refusal, RefusedEntry, Rejected
from journeys.ingest.dispatch import Dispatched, Dispatcher
from journeys.ingest.ledger import EventLedger
from journeys.store.event_ids import Claim
from journeys.store.journeys import LiveJourney

# Routing takes well under this; a claim left by a gateway that died is taken over after
# event_ids.ABANDONED_AFTER, which the producer's retries reach in time.
IN_FLIGHT_RETRY_SECONDS = 2


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

    @property
    def catalog(self) -> CatalogCache:
        return self._catalog

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
        refused=[RefusedEntry(journey=r.journey_id, reason=r.reason) for r in refusals],
        duplicate=duplicate,
        missed=dispatched.missed,
    )
