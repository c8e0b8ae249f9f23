"""Accepting trigger events, whatever the format they came in: check, de-duplicate, route.

The single-event, batch, CloudEvents, Segment and record endpoints all come through here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus

from journeys.contacts.model import ConsentWithdrawn, NotAllowed
from journeys.definitions.catalog import check_attributes
from journeys.definitions.triggers import TriggerStatus
from journeys.engine.entry import EntryRefusal
from journeys.engine.events import TriggerEvent
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.contracts import (
    Accepted,
    EventRequest,
    FailedSignal,
    RefusedEntry,
    Rejected,
)
from journeys.ingest.dispatch import Dispatched, Dispatcher, Signal
from journeys.ingest.ledger import EventLedger
from journeys.ingest.routing import reaches
from journeys.kit.problems import ProblemsError
from journeys.store.entries import Run
from journeys.store.event_ids import Claim
from journeys.store.journeys import LiveJourney
from journeys.temporal import names
from journeys.temporal.errors import TemporalUnavailable

# Routing takes well under this; a claim left by a gateway that died is taken over after
# event_ids.ABANDONED_AFTER, which the producer's retries reach in time.
IN_FLIGHT_RETRY_SECONDS = 2
UNREACHED_RETRY_SECONDS = 5


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
        drafts = snapshot.drafts.get(trigger.name, [])
        # A journey run per binding starts only on events that carry one.
        starts = [j for j in routes.start if event.binding_id or not j.per_binding]
        if not (starts or routes.signal):
            # Acts on nothing, so a repeat would too: no need to remember its id.
            if request.contact is not None:
                try:
                    await self._ledger.keep_contact(
                        event.contact_id, request.contact, request.contact_writer
                    )
                except ProblemsError as error:
                    raise _contact_refused(error) from None
            return _accepted(event, drafts=drafts)
        starting = {j.id for j in starts}
        lookups = [j.id for j in routes.signal if _runs_from_ledger(j, j.id in starting)]
        try:
            intake = await self._ledger.take(
                event, starts, lookups, request.contact, request.contact_writer
            )
        except ProblemsError as error:  # the contact it carries would grow past its bounds
            raise _contact_refused(error) from None
        if intake.claim is Claim.DUPLICATE:
            return _accepted(event, drafts=drafts, duplicate=True)
        if intake.claim is Claim.IN_FLIGHT:
            # Not "duplicate": the routing under way may still fail, and the producer, told
            # its event was taken, would not send it again.
            raise Rejected(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"event {event.event_id} is being routed by another request; retry with the "
                "same event_id",
                retry_after=IN_FLIGHT_RETRY_SECONDS,
            )
        admitted = {entry.workflow_id for _, entry in intake.entries if entry.admitted}
        signals = [
            Signal(journey.id, workflow_id)
            for journey in routes.signal
            for workflow_id in _targets(journey, event, intake.runs)
            if workflow_id not in admitted  # a run that starts on the event has it already
        ]
        try:
            dispatched = await self._dispatcher.dispatch(event, intake.entries, signals)
        except BaseException:
            await self._ledger.release(event.event_id)
            raise
        if dispatched.unreached:
            # The producer's retry redoes only what is missing: what was done is found done.
            await self._ledger.release(event.event_id)
            raise _unreached(event, dispatched)
        failed = dispatched.failed_starts
        await self._ledger.complete(event, routes.goals, dispatched.runs, failed)
        return _accepted(
            event,
            started=dispatched.started,
            signaled=dispatched.signaled,
            refused=[
                RefusedEntry(journey=journey.id, reason=entry.reason)
                if entry.instance_id not in failed
                else RefusedEntry(
                    journey=journey.id,
                    reason=EntryRefusal.START_FAILED,
                    detail=failed[entry.instance_id],
                )
                for journey, entry in intake.entries
                if entry.reason is not None or entry.instance_id in failed
            ],
            missed=[
                j.id
                for j in routes.signal
                if j.id not in dispatched.signaled and j.id not in dispatched.failed_signals
            ],
            failed=[
                FailedSignal(journey=journey, detail=detail)
                for journey, detail in sorted(dispatched.failed_signals.items())
            ],
            drafts=drafts,
        )


def _contact_refused(error: ProblemsError) -> Rejected:
    """The contact an event carries could not be written: nothing of the event was done."""
    problems = [p.model_copy(update={"path": f"contact.{p.path}"}) for p in error.problems]
    match error:
        case NotAllowed():
            status, detail = HTTPStatus.FORBIDDEN, "the key may not make these contact changes"
        case ConsentWithdrawn():
            status, detail = HTTPStatus.CONFLICT, "the contact withdrew this consent"
        case _:
            status = HTTPStatus.UNPROCESSABLE_ENTITY
            detail = "the contact data it carries would make the contact too large"
    return Rejected(status, detail, problems)


def _unreached(event: TriggerEvent, dispatched: Dispatched) -> Exception:
    """Temporal could not act for some of the event's journeys: nothing done says so as
    such; a part done says what it was. Either way each journey left says why."""
    why = "; ".join(f"{journey}: {error}" for journey, error in dispatched.unreached.items())
    done = [*dispatched.started, *dispatched.signaled]
    if not done:
        away = any(error.away for error in dispatched.unreached.values())
        return TemporalUnavailable(f"event {event.event_id}: nothing was done ({why})", away=away)
    return Rejected(
        HTTPStatus.SERVICE_UNAVAILABLE,
        f"Temporal could not act for {', '.join(dispatched.unreached)} ({why}); "
        f"{', '.join(sorted(set(done)))} got the event and will not get it twice. Retry with "
        "the same event_id to finish.",
        retry_after=UNREACHED_RETRY_SECONDS,
    )


def _runs_from_ledger(journey: LiveJourney, starting: bool) -> bool:
    """Whether the runs an event reaches must be looked up: several runs per contact, or a
    start that may be refused because the contact is in a run that listens to it. Otherwise
    the one run has a known workflow id."""
    return journey.per_binding or journey.definition.parallel or starting


def _targets(journey: LiveJourney, event: TriggerEvent, runs: Mapping[str, list[Run]]) -> list[str]:
    if journey.id not in runs:
        return [names.workflow_id(journey.id, event.contact_id)]
    return [r.workflow_id for r in runs[journey.id] if reaches(r.binding_id, event.binding_id)]


def _accepted(
    event: TriggerEvent,
    *,
    started: Sequence[str] = (),
    signaled: Sequence[str] = (),
    refused: Sequence[RefusedEntry] = (),
    missed: Sequence[str] = (),
    failed: Sequence[FailedSignal] = (),
    drafts: Sequence[str] = (),
    duplicate: bool = False,
) -> Accepted:
    return Accepted(
        event_id=event.event_id,
        trigger=event.trigger,
        started=list(started),
        signaled=list(signaled),
        refused=list(refused),
        duplicate=duplicate,
        missed=list(missed),
        failed=list(failed),
        drafts=list(drafts),
    )
