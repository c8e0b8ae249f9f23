"""The event ledger: event ids accepted within the window, refused entries, and the goals
events reach after their runs ended, kept in the store and shared by every API process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from journeys.contacts.model import ContactChanges, ContactWriter
from journeys.engine.events import TriggerEvent
from journeys.ingest.group_commit import GroupCommit
from journeys.store.contacts import contact_lock, upsert_contact
from journeys.store.db import transaction
from journeys.store.entries import (
    Entry,
    Run,
    admit,
    entry_lock,
    rate_lock,
    record_late_goal,
    record_runs,
    refuse_failed_starts,
    running,
)
from journeys.store.event_ids import Claim, claim_event, complete_event, purge_events, release_event
from journeys.store.journeys import LiveJourney


@dataclass(frozen=True)
class Intake:
    """What the ledger made of an event: its claim, and if new, the decision on each start
    and the running runs looked up."""

    claim: Claim
    entries: list[tuple[LiveJourney, Entry]] = field(default_factory=list)
    runs: dict[str, list[Run]] = field(default_factory=dict)


def _binding(journey: LiveJourney, event: TriggerEvent) -> str | None:
    return event.binding_id if journey.per_binding else None


def _rate_limited(journey: LiveJourney) -> bool:
    entry = journey.definition.entry
    return entry is not None and entry.rate_limit is not None


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

    async def take(
        self,
        event: TriggerEvent,
        starts: Sequence[LiveJourney],
        lookups: Sequence[str],
        contact: ContactChanges | None = None,
        writer: ContactWriter = ContactWriter.PRODUCER,
    ) -> Intake:
        """Claim the event's id; if it is new, upsert the contact it carries, decide each of
        its starts (admitted or refused, recorded) and look up the running runs of the
        `lookups` journeys, all in one transaction shared with concurrent events.

        Starts of one contact in one journey hold a lock, so that concurrent events admit no
        more than the rules allow."""
        now = self._clock()
        locks = [entry_lock(j.id, event.contact_id, _binding(j, event)) for j in starts]
        locks += [rate_lock(j.id) for j in starts if _rate_limited(j)]
        if contact is not None:
            locks.append(contact_lock(event.contact_id))

        def write(session: Session) -> Intake:
            claim = claim_event(session, event.event_id, event.trigger, now, self._window)
            if claim is not Claim.NEW:
                return Intake(claim)
            if contact is not None:
                upsert_contact(session, event.contact_id, contact, writer)
            since = now - self._window
            entries = [(j, admit(session, j, event, now=now, retries_since=since)) for j in starts]
            runs = {journey: running(session, journey, event.contact_id) for journey in lookups}
            return Intake(claim, entries, runs)

        return await self._writes.run(write, event.event_id, locks)

    async def keep_contact(
        self, contact_id: str, changes: ContactChanges, writer: ContactWriter
    ) -> None:
        """The contact an event carries, when the event reaches no journey."""
        await self._writes.run(
            lambda session: upsert_contact(session, contact_id, changes, writer),
            contact_id,
            [contact_lock(contact_id)],
        )

    async def complete(
        self,
        event: TriggerEvent,
        goals: Sequence[LiveJourney],
        runs: Mapping[str, str] | None = None,
        failed: Collection[str] = (),
    ) -> None:
        """Mark a routed event done, crediting the goals of `goals` it meets for runs that
        had ended, noting the run ids its entries began (`runs`: instance id -> run id), and
        turning the admitted entries whose run Temporal refused to begin (`failed`: instance
        ids) into `start_failed` refusals.

        The event has acted by now, so this never fails the request: a producer told to
        retry would make it act twice. If the store is away, it is written once it is back.
        """
        now = self._clock()

        def write(session: Session) -> None:
            for journey in goals:
                record_late_goal(
                    session, journey.definition, event.contact_id, event.attributes, now
                )
            record_runs(session, runs or {})
            refuse_failed_starts(session, failed)
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

    async def purge(self) -> int:
        return await asyncio.to_thread(self._run, purge_events, self._clock() - self._window)

    def _run(self, operation: Callable[..., Any], *args: Any) -> Any:
        with transaction(self._engine) as session:
            return operation(session, *args)
