"""The reference: the gateway's Temporal calls made directly with the temporalio SDK.

Each call sends the server what the gateway sends for the same event (the same workflow
input, ids, policies, search attributes and memo), minus everything the gateway adds
around it: HTTP, authentication, validation, the event-id ledger and routing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from bench.stack import WORKFLOWS
from journeys.definitions.documents import load_bundle
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.events import TriggerEvent
from journeys.engine.state import RunStatus
from journeys.temporal import names
from journeys.temporal.messages import JourneyInput

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

    async def signal_with_start(
        self, journey_id: str, trigger: str, contact_id: str, event_id: str, **attributes: Any
    ) -> None:
        definition = self._journeys[journey_id]
        event = _event(trigger, contact_id, event_id, attributes)
        await self._client.start_workflow(
            names.JOURNEY_WORKFLOW,
            JourneyInput(definition=definition, version=VERSION, start=event),
            id=names.workflow_id(journey_id, contact_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            start_signal=names.TRIGGER_SIGNAL,
            start_signal_args=[event],
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(names.JOURNEY_ID, journey_id),
                    SearchAttributePair(names.CONTACT_ID, contact_id),
                    SearchAttributePair(names.JOURNEY_VERSION, VERSION),
                    SearchAttributePair(names.JOURNEY_STEP, ""),
                    SearchAttributePair(names.JOURNEY_STATUS, RunStatus.ENTERING.value),
                ]
            ),
            memo={names.MEMO_JOURNEY_NAME: definition.name},
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
