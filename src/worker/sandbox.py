"""The sandbox the worker runs workflows in.

temporalio (1.35) asks a run for the serialization context of every payload it decodes or
encodes, three passes each way, and the sandbox answers each question by compiling and
running a line of code inside itself: about an eighth of the worker's CPU per run, measured
(BENCHMARKS.md). The context only matters to a data converter that reads it (a codec that
encrypts per workflow, say) or stores payloads elsewhere. Ours reads none, so its answer is
the same converter for every payload, and the question is answered without entering the
sandbox.

Workflow code still runs inside it, with the SDK's default restrictions: passing every
module through would also spare re-importing the workflow module for each run, but would
hand it the real `datetime`, so a clock read in a workflow would go unnoticed
(tests/worker/test_sandbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import temporalio.workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    SerializationContext,
    StorageDriverStoreContext,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner


def sandbox_for(converter: DataConverter) -> SandboxedWorkflowRunner:
    """The sandbox that answers context questions outside itself when `converter` takes no
    context and keeps payloads inline; the SDK's own otherwise."""
    # `with_context` returns the converter itself when none of its parts takes a context;
    # asked with each kind of context a run's payloads get.
    probes = [
        WorkflowSerializationContext(namespace="default", workflow_id="journey/probe"),
        ActivitySerializationContext(
            namespace="default",
            workflow_id="journey/probe",
            workflow_type="Journey",
            activity_type="send_email",
            activity_id="1",
            activity_task_queue="journeys",
            is_local=True,
        ),
    ]
    if converter.external_storage is None and all(
        converter.with_context(probe) is converter for probe in probes
    ):
        return ContextFreeSandbox()
    return SandboxedWorkflowRunner()


@dataclass(frozen=True)
class ContextFreeSandbox(SandboxedWorkflowRunner):
    """The SDK's sandbox, for a data converter that takes no serialization context.

    A subclass rather than a wrapper: the SDK recognises its sandbox by type (its debug mode
    relaxes it), and this one must stay recognised."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFree(super().create_instance(det))


class _ContextFree(WorkflowInstance):
    """A sandboxed run whose context answers are the SDK's answer for a payload tied to no
    command: the workflow's context, which such a converter ignores as it ignores any."""

    def __init__(self, sandboxed: WorkflowInstance) -> None:
        self._sandboxed = sandboxed
        info = sandboxed.get_info()
        self._context = WorkflowSerializationContext(
            namespace=info.namespace, workflow_id=info.workflow_id
        )

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._sandboxed.activate(act)

    def get_info(self) -> temporalio.workflow.Info:
        return self._sandboxed.get_info()

    def get_thread_id(self) -> int | None:
        # The deadlock detector interrupts the thread the sandbox runs the workflow on.
        return self._sandboxed.get_thread_id()

    def get_serialization_context(self, command_info: object) -> SerializationContext | None:
        return self._context

    def get_external_store_context(self, command_info: object) -> StorageDriverStoreContext:
        return StorageDriverStoreContext(target=None)
