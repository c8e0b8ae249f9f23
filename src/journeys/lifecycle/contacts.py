"""A contact's profile put quietly, their consent granted, and a contact erased."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio.client import Client

from journeys.contacts.model import Consent, Contact, ContactChanges, ContactWriter
from journeys.ingest.records import Entity, record_columns
from journeys.store.contacts import contact_lock, get_contact, upsert_contact
from journeys.store.db import checkpoint, transaction
from journeys.store.erasure import Erasure, erase_contact
from journeys.store.locks import hold
from journeys.store.records import keep_record, kept_record, record_lock
from journeys.store.suppressions import lift
from journeys.temporal.errors import reaching_temporal
from journeys.temporal.runs import stop_runs


class ContactLifecycle:
    def __init__(self, engine: Engine, temporal: Client, task_queue: str) -> None:
        self._engine = engine
        self._temporal = temporal
        self._task_queue = task_queue

    def put(
        self,
        contact_id: str,
        changes: ContactChanges,
        by: ContactWriter = ContactWriter.OWNER,
    ) -> tuple[Contact, bool]:
        """A quiet profile upsert (an import must start no journey): the contact, and the
        state of its `contact` record that a later record change is compared with. (The
        contact, whether it was created.)"""
        with transaction(self._engine) as session:
            hold(session, [contact_lock(contact_id), record_lock(Entity.CONTACT, contact_id)])
            contact, created = upsert_contact(session, contact_id, changes, by)
            kept = kept_record(session, Entity.CONTACT, contact_id)
            keep_record(
                session,
                Entity.CONTACT,
                contact_id,
                {**(kept.state if kept else {}), **record_columns(changes)},
                previous=kept.state if kept else None,
                event_id=None,
                created=False,
                contact_id=contact_id,
            )
        return contact, created

    def grant(self, contact_id: str, consent: Consent, source: str) -> Contact | None:
        """Consent the contact gave, and where: the one change that may undo their own
        withdrawal. A yes to SMS lifts their number's STOP. None: no such contact."""
        with transaction(self._engine) as session:
            hold(session, [contact_lock(contact_id)])
            if get_contact(session, contact_id) is None:
                return None
            changes = ContactChanges(consent=consent)
            contact, _ = upsert_contact(session, contact_id, changes, ContactWriter.CONSENT, source)
            if consent.sms and contact.phone is not None:
                lift(session, "sms", contact.phone, "stop")
        return contact

    async def erase(self, contact_id: str) -> tuple[int, Erasure]:
        """End the contact's runs, then remove their personal data, keeping anonymous counts;
        (runs asked to stop, what was erased)."""
        with reaching_temporal():
            stopping = await stop_runs(
                self._temporal, self._task_queue, "contact_erased", contact_id=contact_id
            )
        return stopping, await asyncio.to_thread(self._erase, contact_id)

    def _erase(self, contact_id: str) -> Erasure:
        with transaction(self._engine) as session:
            erased = erase_contact(session, contact_id)
        checkpoint(self._engine)
        return erased
