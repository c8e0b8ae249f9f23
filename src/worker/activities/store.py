"""Activities that only read and write the store: the contact, the entry ledger, the run's
events and its outcome (or both at its end, in one transaction). The workflow runs them as
local activities (short, idempotent, no provider to wait for)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from journeys.engine.commands import EntryDecided
from journeys.engine.entry import EntryRequest
from journeys.store.analytics import record_run_events
from journeys.store.contacts import get_contact
from journeys.store.db import transaction
from journeys.store.entries import decide_entry, record_outcome
from worker.contracts import (
    ENTER_JOURNEY,
    LOAD_CONTACT,
    RECORD_END,
    RECORD_OUTCOME,
    RECORD_RUN_EVENTS,
    ContactRequest,
    OutcomeRequest,
    RunEndRequest,
    RunEventsRequest,
)


class StoreActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=LOAD_CONTACT.name)
    def load_contact(self, request: ContactRequest) -> dict[str, Any] | None:
        with transaction(self._engine) as session:
            contact = get_contact(session, request.contact_id)
        if contact is None:
            return None
        wanted = {"id", *request.fields}
        return {name: value for name, value in contact.as_scope().items() if name in wanted}

    @activity.defn(name=ENTER_JOURNEY.name)
    def enter_journey(self, request: EntryRequest) -> EntryDecided:
        with transaction(self._engine) as session:
            return decide_entry(session, request)

    @activity.defn(name=RECORD_OUTCOME.name)
    def record_outcome(self, request: OutcomeRequest) -> None:
        with transaction(self._engine) as session:
            _record_outcome(session, request)

    @activity.defn(name=RECORD_RUN_EVENTS.name)
    def record_run_events(self, request: RunEventsRequest) -> None:
        with transaction(self._engine) as session:
            _record_run_events(session, request)

    @activity.defn(name=RECORD_END.name)
    def record_end(self, request: RunEndRequest) -> None:
        with transaction(self._engine) as session:
            if request.events is not None:
                _record_run_events(session, request.events)
            if request.outcome is not None:
                _record_outcome(session, request.outcome)


def _record_outcome(session: Session, request: OutcomeRequest) -> None:
    record_outcome(
        session,
        request.instance_id,
        request.status,
        request.reason,
        request.at,
        request.goal_reached_at,
    )


def _record_run_events(session: Session, request: RunEventsRequest) -> None:
    record_run_events(
        session,
        instance_id=request.instance_id,
        journey_id=request.journey_id,
        version=request.version,
        contact_id=request.contact_id,
        first_seq=request.first_seq,
        entries=request.entries,
    )
