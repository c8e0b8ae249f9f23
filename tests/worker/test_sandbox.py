"""The worker runs workflows in a sandbox (worker.sandbox) that must refuse their
non-deterministic calls: passing every module through it, for speed, would not. It answers
the SDK's serialization-context questions outside the sandbox only for a data converter
that takes no context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Self

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    ExternalStorage,
    PayloadCodec,
    SerializationContext,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
    WithSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from journeys.temporal.converter import data_converter

with workflow.unsafe.imports_passed_through():  # this module is the workflow's too
    from tests.sinks import eventually
    from worker.sandbox import ContextFreeSandbox, sandbox_for


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
        workflow_runner=sandbox_for(data_converter),
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


def test_the_workers_converter_is_answered_outside_the_sandbox() -> None:
    assert isinstance(sandbox_for(data_converter), ContextFreeSandbox)


class _PerWorkflowCodec(PayloadCodec, WithSerializationContext):
    """A codec that would encrypt with a key per workflow: it needs each payload's context."""

    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context

    def with_context(self, context: SerializationContext) -> Self:
        return type(self)(context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


class _PerActivityCodec(_PerWorkflowCodec):
    """A codec that needs the context of activities' payloads only."""

    def with_context(self, context: SerializationContext) -> Self:
        return type(self)(context) if isinstance(context, ActivitySerializationContext) else self


class _Elsewhere(StorageDriver):
    def name(self) -> str:
        return "elsewhere"

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        raise NotImplementedError  # never called: only the sandbox's choice is looked at

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        raise NotImplementedError


def test_a_converter_that_takes_context_gets_the_sdks_own_sandbox() -> None:
    takes_context = DataConverter(payload_codec=_PerWorkflowCodec())
    takes_an_activitys = DataConverter(payload_codec=_PerActivityCodec())
    stores_elsewhere = DataConverter(external_storage=ExternalStorage(drivers=[_Elsewhere()]))
    for converter in (takes_context, takes_an_activitys, stores_elsewhere):
        assert type(sandbox_for(converter)) is SandboxedWorkflowRunner
