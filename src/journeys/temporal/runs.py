"""Client-side operations on journey runs: start or signal them, stop them, read their state.

The gateway routes trigger events through these; so do the tests.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.state import Outcome, RunStatus
from journeys.events import TriggerEvent
from journeys.temporal import names
from journeys.temporal.messages import JourneyInput, RunView, StopRequest


async def start_run(
    client: Client,
    task_queue: str,
    definition: JourneyDefinition,
    version: int,
    event: TriggerEvent,
) -> bool:
    """Signal-with-start the contact's run of this journey; True when a new run started.

    A run already in progress only receives the event (and ignores it as a start); a closed
    run is followed by a new one, which the entry ledger admits or refuses.
    """
    workflow_id = names.workflow_id(definition.id, event.contact_id, event.binding_id)
    handle = await client.start_workflow(
        names.JOURNEY_WORKFLOW,
        JourneyInput(definition=definition, version=version, start=event),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        start_signal=names.TRIGGER_SIGNAL,
        start_signal_args=[event],
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(names.JOURNEY_ID, definition.id),
                SearchAttributePair(names.CONTACT_ID, event.contact_id),
                SearchAttributePair(names.JOURNEY_VERSION, version),
                SearchAttributePair(names.JOURNEY_STEP, ""),
                SearchAttributePair(names.JOURNEY_STATUS, RunStatus.ENTERING.value),
            ]
        ),
        memo={names.MEMO_JOURNEY_NAME: definition.name},
        result_type=Outcome,
    )
    # The server answers `started` on signal-with-start; SDK 1.35 keeps the response on the
    # handle without a public accessor (tests/worker pin this behaviour).
    response = getattr(handle, "_start_workflow_response", None)
    return bool(getattr(response, "started", True))


async def signal_run(client: Client, workflow_id: str, event: TriggerEvent) -> bool:
    """Send an event to the running run; False when none is running (not an error)."""
    try:
        await client.get_workflow_handle(workflow_id).signal(names.TRIGGER_SIGNAL, event)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def stop_runs(client: Client, journey_id: str, reason: str = "journey_stopped") -> int:
    """Ask every running run of a journey to end; how many were asked."""
    query = (
        f"{names.JOURNEY_ID.name} = '{journey_id}' "
        f"AND WorkflowType = '{names.JOURNEY_WORKFLOW}' AND ExecutionStatus = 'Running'"
    )
    asked = 0
    async for execution in client.list_workflows(query):
        try:
            await client.get_workflow_handle(execution.id).signal(
                names.STOP_SIGNAL, StopRequest(reason=reason)
            )
            asked += 1
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
    return asked


async def run_state(
    client: Client, workflow_id: str
) -> tuple[RunView, WorkflowExecutionStatus | None] | None:
    """The newest run's state and Temporal status, or None when there is no such run."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
        view = await handle.query(names.STATE_QUERY, result_type=RunView)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return view, description.status
