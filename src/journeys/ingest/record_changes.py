"""A CRM record change taken in: the contact upserted first, then the business and
record_change triggers it fires, each accepted like any event."""

from __future__ import annotations

import asyncio
import hashlib
import json

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine

from journeys.contacts.model import ContactChanges
from journeys.ingest.contracts import EventRequest, RefusedEntry, Rejected
from journeys.ingest.ingestion import Ingestion
from journeys.ingest.records import (
    RecordChange,
    business_triggers,
    contact_changes,
    record_change_triggers,
)
from journeys.kit.problems import Problem, ProblemsError, problems_from_validation_error
from journeys.store.contacts import upsert_contact
from journeys.store.db import transaction


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
    duplicate: bool = Field(description="True when every fired trigger was a repeat.")
    skipped: list[Skipped] = Field(description="Triggers the change matched but could not fire.")


class RecordChanges:
    def __init__(self, engine: Engine, ingestion: Ingestion) -> None:
        self._engine = engine
        self._ingestion = ingestion

    async def take(self, change: RecordChange, event_id: str | None) -> RecordFired:
        """A contact or lead record first upserts that contact, so the journeys it starts
        use the new data; then each trigger fires with the whole record as attributes.
        Without an event id, one is derived from the change: a retry acts once."""
        if change.is_person:
            await asyncio.to_thread(self._upsert_contact, change)
        catalog = self._ingestion.catalog.snapshot.catalog
        custom = [t.definition for t in catalog.values() if t.definition]
        firings = business_triggers(change) + record_change_triggers(change, custom)
        base = event_id or _content_id(change)
        result = RecordFired(
            fired=[], started=[], signaled=[], refused=[], duplicate=bool(firings), skipped=[]
        )
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
                        event_id=f"{base}:{firing.trigger}",
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
            result.duplicate = result.duplicate and accepted.duplicate
        result.duplicate = result.duplicate and bool(result.fired)
        return result

    def _upsert_contact(self, change: RecordChange) -> None:
        try:
            changes = ContactChanges.model_validate(contact_changes(change))
        except ValidationError as error:
            raise ProblemsError(problems_from_validation_error(error, prefix="after")) from None
        with transaction(self._engine) as session:
            upsert_contact(session, change.id, changes)


def _content_id(change: RecordChange) -> str:
    """The same change sent twice gets the same id, so a retry acts once."""
    before = dict(change.before) or None  # not given: null, as producers' retries expect
    content = json.dumps(
        [change.entity, change.operation, change.id, before, dict(change.after)],
        sort_keys=True,
        default=str,
    )
    return "record-" + hashlib.sha256(content.encode()).hexdigest()[:32]
