"""TestSendWorkflow: one step's message to one contact, outside any journey run.

A workflow (not a direct call from the API) because only the worker holds the channels;
it also makes every test send visible in the Temporal UI.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from journeys.definitions.journeys import channel_of_message
    from journeys.temporal import names
    from journeys.temporal.messages import TestSendInput, TestSendResult
    from worker.activities import SendRequest
    from worker.workflow import SENDERS

# Someone is waiting for the answer: a few quick retries, then say it failed.
TEST_SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


@workflow.defn(name=names.TEST_SEND_WORKFLOW)
class TestSendWorkflow:
    @workflow.run
    async def run(self, input: TestSendInput) -> TestSendResult:
        info = workflow.info()
        request = SendRequest(
            workflow_id=info.workflow_id,
            instance_id=info.run_id,
            journey_id=input.journey_id,
            journey_name=input.journey_name,
            version=input.version,
            contact_id=input.contact_id,
            step=input.step,
            iteration=1,
            message=input.message,
            trigger=input.trigger,
            at=workflow.now(),
            test=True,
        )
        try:
            result = await workflow.execute_activity_method(
                SENDERS[channel_of_message(input.message)],
                request,
                start_to_close_timeout=timedelta(seconds=20),
                retry_policy=TEST_SEND_RETRY,
            )
        except ActivityError as error:
            return TestSendResult(message_id="", status="failed", reason=str(error.cause or error))
        return TestSendResult(
            message_id=result.message_id, status=result.status, reason=result.reason
        )
