"""Client-side operations on journey runs: start or signal them, stop them, read their state.

The gateway routes trigger events through these; so do the tests.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from journeys.definitions.journeys import Cardinality, JourneyDefinition
from journeys.engine.events import TriggerEvent
from journeys.engine.state import Outcome, RunStatus
from journeys.temporal import names
from journeys.temporal.errors import TemporalUnavailable
from journeys.temporal.messages import JourneyInput, RunView, StopRequest

# Starts tried while a run under the same workflow id closes (about a second in all).
START_ATTEMPTS = 6


async def start_run(
    client: Client,
    task_queue: str,
    definition: JourneyDefinition,
    version: int,
    event: TriggerEvent,
    *,
    instance_id: str,
    workflow_id: str,
    rpc_timeout: timedelta | None = None,
) -> str:
    """Begin the run of an entry the ledger admitted (a retry of the same entry finds it
    begun); its first run id.

    Another run under the same workflow id can only be one that has recorded its end and is
    closing: its start is tried again for a moment, then refused as Temporal unavailable
    (the producer's retry finds it closed)."""
    # Only a journey run per binding is keyed (and scoped) by the event's binding id.
    binding = event.binding_id if definition.start.per is Cardinality.BINDING else None
    event = event.model_copy(update={"binding_id": binding})
    for attempt in range(START_ATTEMPTS):
        try:
            handle = await client.start_workflow(
                names.JOURNEY_WORKFLOW,
                JourneyInput(
                    definition=definition, version=version, start=event, instance_id=instance_id
                ),
                id=workflow_id,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(names.JOURNEY_ID, definition.id),
                        SearchAttributePair(names.CONTACT_ID, event.contact_id),
                        SearchAttributePair(names.JOURNEY_VERSION, version),
                        # Where the run begins: its first workflow task then has
                        # nothing to upsert, unless the first step waits or decides.
                        SearchAttributePair(names.JOURNEY_STEP, definition.steps[0].id),
                        SearchAttributePair(names.JOURNEY_STATUS, RunStatus.ACTIVE.value),
                    ]
                ),
                memo={names.MEMO_JOURNEY_NAME: definition.name, names.MEMO_INSTANCE: instance_id},
                static_summary=names.run_summary(
                    definition.name, version, event.contact_id, binding
                ),
                result_type=Outcome,
                rpc_timeout=rpc_timeout,
            )
        except WorkflowAlreadyStartedError:
            running = await client.get_workflow_handle(workflow_id).describe(
                rpc_timeout=rpc_timeout
            )
            if (await running.memo()).get(names.MEMO_INSTANCE) == instance_id:
                return running.run_id
            await asyncio.sleep(0.05 * (attempt + 1))
        else:
            return handle.first_execution_run_id or handle.result_run_id or ""
    raise TemporalUnavailable(f"the previous run {workflow_id} is still closing", away=False)


async def signal_run(
    client: Client, workflow_id: str, event: TriggerEvent, rpc_timeout: timedelta | None = None
) -> bool:
    """Send an event to the running run; False when none is running (not an error)."""
    try:
        await client.get_workflow_handle(workflow_id).signal(
            names.TRIGGER_SIGNAL, event, rpc_timeout=rpc_timeout
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def _running(task_queue: str) -> str:
    return (
        f"TaskQueue = '{task_queue}' AND WorkflowType = '{names.JOURNEY_WORKFLOW}' "
        "AND ExecutionStatus = 'Running'"
    )


async def stop_run(client: Client, workflow_id: str, reason: str) -> bool:
    """Ask a run to end now with `reason`; False when none is running under that id."""
    try:
        await client.get_workflow_handle(workflow_id).signal(
            names.STOP_SIGNAL, StopRequest(reason=reason)
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def signal_runs(
    client: Client,
    task_queue: str,
    signal: str,
    *args: Any,
    journey_id: str | None = None,
    contact_id: str | None = None,
) -> int:
    """Send a signal to every running run of a journey, or of a contact, on this deployment's
    task queue; how many got it. Ids are checked by their models, so they hold no quote."""
    query = _running(task_queue)
    if journey_id is not None:
        query += f" AND {names.JOURNEY_ID.name} = '{journey_id}'"
    if contact_id is not None:
        query += f" AND {names.CONTACT_ID.name} = '{contact_id}'"
    reached = 0
    async for execution in client.list_workflows(query):
        try:
            await client.get_workflow_handle(execution.id).signal(signal, *args)
            reached += 1
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
    return reached


async def stop_runs(
    client: Client,
    task_queue: str,
    reason: str,
    *,
    journey_id: str | None = None,
    contact_id: str | None = None,
) -> int:
    """Ask every running run of a journey, or of a contact, to end."""
    return await signal_runs(
        client,
        task_queue,
        names.STOP_SIGNAL,
        StopRequest(reason=reason),
        journey_id=journey_id,
        contact_id=contact_id,
    )


async def latest_entered_run(
    client: Client,
    journey_id: str,
    contact_id: str,
    binding_id: str | None = None,
    rpc_timeout: timedelta = timedelta(seconds=10),
) -> tuple[str, str, RunView] | None:
    """(workflow id, run id, state) of the newest run the contact entered, of any binding
    unless one is given; refused runs are skipped.

    Ids are checked by their models before they get here, so they hold no quote.
    """
    query = (
        f"{names.JOURNEY_ID.name} = '{journey_id}' AND {names.CONTACT_ID.name} = '{contact_id}' "
        f"AND {names.JOURNEY_STATUS.name} != '{RunStatus.REFUSED.value}'"
    )
    if binding_id is not None:
        query += f" AND WorkflowId = '{names.workflow_id(journey_id, contact_id, binding_id)}'"
    async for execution in client.list_workflows(query, limit=1, rpc_timeout=rpc_timeout):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        view = await handle.query(names.STATE_QUERY, result_type=RunView, rpc_timeout=rpc_timeout)
        return execution.id, execution.run_id, view
    return None
