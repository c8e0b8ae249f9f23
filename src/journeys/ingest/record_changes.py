"""A CRM record change taken in: compared with what Journeys last knew of the record, the
contact upserted first, then the business and record_change triggers it fires, each
accepted like any event and bound to its record."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from journeys.contacts.model import ContactChanges, ContactWriter
from journeys.definitions.triggers import RecordOperation
from journeys.ingest.contracts import EventRequest, FailedSignal, RefusedEntry, Rejected
from journeys.ingest.ingestion import Ingestion
from journeys.ingest.records import (
    RecordChange,
    business_triggers,
    contact_changes,
    record_change_triggers,
)
from journeys.kit.problems import Problem, ProblemsError, problems_from_validation_error
from journeys.store.contacts import contact_lock, upsert_contact
from journeys.store.db import transaction
from journeys.store.locks import hold
from journeys.store.records import forget_record, keep_record, kept_record, record_lock

REPEATED_CREATE = 409  # a `skipped` status: the record's creation was told already


class Skipped(BaseModel):
    trigger: str
    status: int
    detail: str
    problems: list[Problem] | None = None


class RecordFired(BaseModel):
    fired: list[str] = Field(description="Triggers fired by this change.")
    started: list[str]
    signaled: list[str]
    refused: list[RefusedEntry] = Field(description="Journeys that refused to start.")
    failed: list[FailedSignal] = Field(
        default_factory=list, description="Journeys whose runs Temporal refused the event."
    )
    drafts: list[str] = Field(
        default_factory=list, description="Draft journeys that would have started."
    )
    duplicate: bool = Field(description="True when every fired trigger was a repeat.")
    skipped: list[Skipped] = Field(description="Triggers the change matched but could not fire.")


@dataclass(frozen=True)
class RecordEvent:
    """A change as the producer sent it."""

    entity: str
    operation: RecordOperation
    id: str
    after: dict[str, Any]
    before: dict[str, Any] | None = None  # none: compare with the kept state
    event_id: str | None = None
    binding_id: str | None = None  # none: `{entity}/{id}`


@dataclass(frozen=True)
class _Taken:
    change: RecordChange
    event_id: str
    repeated_create: bool


class RecordChanges:
    def __init__(self, engine: Engine, ingestion: Ingestion) -> None:
        self._engine = engine
        self._ingestion = ingestion

    async def take(
        self, sent: RecordEvent, writer: ContactWriter = ContactWriter.PRODUCER
    ) -> RecordFired:
        """Keep the record's new state (a contact or lead record first upserts that contact,
        so the journeys it starts use the new data); then each trigger the change fires,
        with the whole record as attributes. Without an event id, one is derived from the
        change and the state it was compared with: a retry acts once."""
        taken = await asyncio.to_thread(self._keep, sent, writer)
        change = taken.change
        catalog = self._ingestion.catalog.snapshot.catalog
        custom = [t.definition for t in catalog.values() if t.definition]
        firings = business_triggers(change) + record_change_triggers(change, custom)
        result = RecordFired(
            fired=[], started=[], signaled=[], refused=[], duplicate=bool(firings), skipped=[]
        )
        if taken.repeated_create:
            detail = f"{sent.entity} {sent.id} was created already: a repeated create fires nothing"
            result.skipped = [
                Skipped(trigger=f.trigger, status=REPEATED_CREATE, detail=detail) for f in firings
            ]
            result.duplicate = False
            return result
        for firing in firings:
            if firing.contact_id is None:
                detail = "the record names no contact (for a custom trigger: its contact_field)"
                result.skipped.append(Skipped(trigger=firing.trigger, status=422, detail=detail))
                continue
            try:
                accepted = await self._ingestion.accept(
                    EventRequest(
                        trigger=firing.trigger,
                        contact_id=firing.contact_id,
                        attributes=change.record,
                        event_id=f"{taken.event_id}:{firing.trigger}",
                        binding_id=sent.binding_id or f"{sent.entity}/{sent.id}",
                    )
                )
            except Rejected as refused:
                result.skipped.append(
                    Skipped(
                        trigger=firing.trigger,
                        status=refused.status,
                        detail=refused.detail,
                        problems=refused.problems or None,
                    )
                )
                continue
            result.fired.append(firing.trigger)
            result.started += [j for j in accepted.started if j not in result.started]
            result.signaled += [j for j in accepted.signaled if j not in result.signaled]
            result.refused += accepted.refused
            result.failed += accepted.failed
            result.drafts += [j for j in accepted.drafts if j not in result.drafts]
            result.duplicate = result.duplicate and accepted.duplicate
        result.duplicate = result.duplicate and bool(result.fired)
        return result

    def _keep(self, sent: RecordEvent, writer: ContactWriter) -> _Taken:
        """Compare the change with the record as Journeys knew it and keep the new state,
        under the record's lock. The retry of the last change is compared with what that
        change was compared with, so that it fires what the change fired."""
        person = RecordChange(sent.entity, sent.operation, sent.id).is_person
        locks = [record_lock(sent.entity, sent.id)] + ([contact_lock(sent.id)] if person else [])
        with transaction(self._engine) as session:
            hold(session, locks)
            kept = kept_record(session, sent.entity, sent.id)
            known, event_id, retry = kept.state if kept else None, sent.event_id, False
            if kept is not None and kept.last_event_id is not None:
                retried = sent.event_id or _content_id(sent, kept.previous)
                if retried == kept.last_event_id:
                    known, event_id, retry = kept.previous, retried, True
            event_id = event_id or _content_id(sent, known)
            before = sent.before if sent.before is not None else (known or {})
            change = RecordChange(sent.entity, sent.operation, sent.id, before, sent.after)
            repeated_create = (
                sent.operation is RecordOperation.CREATE
                and kept is not None
                and kept.created
                and not retry
            )
            if person and sent.operation is not RecordOperation.DELETE:
                self._upsert_contact(session, change, writer)
            if sent.operation is RecordOperation.DELETE:
                forget_record(session, sent.entity, sent.id)
            else:
                keep_record(
                    session,
                    sent.entity,
                    sent.id,
                    {**before, **sent.after},
                    previous=known,
                    event_id=event_id,
                    created=sent.operation is RecordOperation.CREATE,
                    contact_id=change.contact_id(),
                )
        return _Taken(change, event_id, repeated_create)

    @staticmethod
    def _upsert_contact(session: Session, change: RecordChange, writer: ContactWriter) -> None:
        try:
            changes = ContactChanges.model_validate(contact_changes(change))
        except ValidationError as error:
            raise ProblemsError(problems_from_validation_error(error, prefix="after")) from None
        try:
            upsert_contact(session, change.id, changes, writer)
        except ProblemsError as error:  # its paths are the record's
            problems = [p.model_copy(update={"path": f"after.{p.path}"}) for p in error.problems]
            raise type(error)(problems) from None


def _content_id(sent: RecordEvent, known: dict[str, Any] | None) -> str:
    """The same change to the same state gets the same id, so a retry acts once; the state
    is `before` when given, else the kept one (null when neither is)."""
    before = sent.before if sent.before is not None else known
    content = json.dumps(
        [sent.entity, sent.operation, sent.id, before, sent.after], sort_keys=True, default=str
    )
    return "record-" + hashlib.sha256(content.encode()).hexdigest()[:32]
