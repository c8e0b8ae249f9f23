"""The worker runs workflows in a sandbox (worker.main.WORKFLOW_RUNNER) that must refuse
their non-deterministic calls: passing every module through it, for speed, would not."""

from __future__ import annotations

import uuid
from datetime import datetime

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():  # this module is the workflow's too
    from tests.sinks import eventually
    from worker.main import WORKFLOW_RUNNER


@workflow.defn(sandboxed=True)
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # what a workflow must never do


async def test_a_workflow_reading_the_clock_fails_its_task_instead_of_running(
    temporal_env: WorkflowEnvironment,
) -> None:
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(
        temporal_env.client,
        task_queue=queue,
        workflows=[ReadsTheClock],
        workflow_runner=WORKFLOW_RUNNER,
    ):
        handle = await temporal_env.client.start_workflow(
            ReadsTheClock.run, id=f"sandbox/{uuid.uuid4()}", task_queue=queue
        )

        async def refused() -> bool:
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    message = event.workflow_task_failed_event_attributes.failure.message
                    assert "datetime.datetime.now" in message, message
                    return True
            return False

        await eventually(refused)
        await handle.terminate("test over")
