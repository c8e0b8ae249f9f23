"""The reference: the gateway's Temporal calls made directly with the temporalio SDK.

Each call sends the server what the gateway sends for the same event (the same workflow
input, ids, policies, search attributes and memo), minus everything the gateway adds
around it: HTTP, authentication, validation, the event-id and entry ledgers, routing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from bench.stack import WORKFLOWS
from journeys.definitions.documents import load_bundle
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.events import TriggerEvent
from journeys.temporal import names
from journeys.temporal.runs import start_run

# A fresh data dir: every benchmark journey is at its first published version.
VERSION = 1


def bench_journeys() -> dict[str, JourneyDefinition]:
    bundle = load_bundle([WORKFLOWS])
    if not bundle.ok:
        raise ValueError(f"bench/workflows has problems: {bundle.problems}")
    return {journey.id: journey for journey in bundle.journeys}


class RawSdk:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue
        self._journeys = bench_journeys()

    async def start(
        self, journey_id: str, trigger: str, contact_id: str, event_id: str, **attributes: Any
    ) -> None:
        """Begin an admitted run, with the very call the gateway makes once the entry ledger
        has admitted the contact (the ledger's decision is the gateway's cost, not this)."""
        definition = self._journeys[journey_id]
        await start_run(
            self._client,
            self._task_queue,
            definition,
            VERSION,
            _event(trigger, contact_id, event_id, attributes),
            instance_id=uuid.uuid4().hex,
            workflow_id=names.workflow_id(journey_id, contact_id),
        )

    async def signal(
        self, journey_id: str, trigger: str, contact_id: str, event_id: str, **attributes: Any
    ) -> None:
        event = _event(trigger, contact_id, event_id, attributes)
        handle = self._client.get_workflow_handle(names.workflow_id(journey_id, contact_id))
        await handle.signal(names.TRIGGER_SIGNAL, event)


def _event(trigger: str, contact_id: str, event_id: str, attributes: Any) -> TriggerEvent:
    return TriggerEvent(
        event_id=event_id,
        trigger=trigger,
        contact_id=contact_id,
        occurred_at=datetime.now(UTC),
        attributes=attributes,
    )
