"""Interactions: what contacts and providers tell us about a message, raised to its run.

An open, a click, a receipt, a bounce or a reply becomes an interaction trigger event,
signalled straight to the run that sent the message (which ignores it unless a
wait_for listens), and is recorded on the message's delivery row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from journeys.engine.events import TriggerEvent
from journeys.messaging.tracking import MessageRef
from journeys.store.db import transaction
from journeys.store.deliveries import record_engagement
from journeys.store.tables import DeliveryRow
from journeys.temporal.errors import TemporalUnavailable, reaching_temporal
from journeys.temporal.runs import signal_run

log = logging.getLogger("journeys.ingest.interactions")


def message_ref(delivery: DeliveryRow) -> MessageRef:
    return MessageRef(
        workflow_id=delivery.workflow_id,
        instance_id=delivery.instance_id,
        step=delivery.step,
        message_id=delivery.message_id,
        contact_id=delivery.contact_id,
        channel=delivery.channel,
    )


class Interactions:
    def __init__(
        self, engine: Engine, temporal: Client, observe: Callable[[bool], None] = lambda _: None
    ) -> None:
        self._engine = engine
        self._temporal = temporal
        self._observe = observe  # told whether each signal found its run (metrics)

    async def report(
        self,
        trigger: str,
        ref: MessageRef,
        event_id: str,
        attributes: dict[str, Any] | None = None,
        strict: bool = False,
    ) -> bool:
        """Record the interaction on the message and signal its run; False when the run was
        not reachable. `strict`: let Temporal being away raise (a provider will retry),
        instead of logging it (a reader should still get their page)."""
        engagement = trigger.split(".", 1)[1]
        await asyncio.to_thread(self._record, ref.message_id, engagement)
        event = TriggerEvent(
            event_id=event_id,
            trigger=trigger,
            contact_id=ref.contact_id,
            occurred_at=datetime.now(UTC),
            attributes={"message_id": ref.message_id, "step": ref.step, **(attributes or {})},
            instance_id=ref.instance_id,
        )
        try:
            with reaching_temporal():
                reached = await signal_run(self._temporal, ref.workflow_id, event)
        except (TemporalUnavailable, RPCError) as error:
            if strict:
                raise
            log.warning("could not raise %s for message %s: %s", trigger, ref.message_id, error)
            return False
        self._observe(reached)
        return reached

    def _record(self, message_id: str, engagement: str) -> None:
        with transaction(self._engine) as session:
            record_engagement(session, message_id, engagement, datetime.now(UTC))
