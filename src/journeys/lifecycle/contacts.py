"""A contact's consent withdrawn from a link, and a contact erased."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio.client import Client

from journeys.contacts.model import Consent, ContactChanges
from journeys.store.contacts import get_contact, upsert_contact
from journeys.store.db import transaction
from journeys.store.erasure import Erasure, erase_contact
from journeys.temporal.errors import reaching_temporal
from journeys.temporal.runs import stop_runs


class ContactLifecycle:
    def __init__(self, engine: Engine, temporal: Client, task_queue: str) -> None:
        self._engine = engine
        self._temporal = temporal
        self._task_queue = task_queue

    def withdraw_consent(self, contact_id: str, channel: str) -> None:
        """The contact no longer wants messages on the channel; a second time changes nothing."""
        with transaction(self._engine) as session:
            if get_contact(session, contact_id) is not None:
                consent = Consent.model_validate({channel: False})
                upsert_contact(session, contact_id, ContactChanges(consent=consent))

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
            return erase_contact(session, contact_id)
