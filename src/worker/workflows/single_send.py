"""One step's message sent to one contact, outside any run (the API's test send).

A workflow, not a call from the API, because only the worker holds the channels; it also
makes every test send visible in the Temporal UI.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from journeys.definitions.journeys import channel_of_message
    from journeys.engine.commands import SendSettled, SendStatus
    from journeys.temporal import names
    from journeys.temporal.messages import TestSendInput
    from worker.contracts import SENDS, SendRequest
    from worker.workflows.summaries import activity_summary

# Someone is waiting for the answer: a few quick retries, then say it failed.
TEST_SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


@workflow.defn(name=names.TEST_SEND_WORKFLOW)
class SingleSendWorkflow:
    @workflow.run
    async def run(self, input: TestSendInput) -> SendSettled:
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
        send = SENDS[channel_of_message(input.message)]
        try:
            result: SendSettled = await workflow.execute_activity(
                send.name,
                request,
                result_type=send.result_type,
                start_to_close_timeout=timedelta(seconds=20),
                retry_policy=TEST_SEND_RETRY,
                summary=activity_summary(send, request),
            )
        except ActivityError as error:
            return SendSettled(SendStatus.FAILED, reason=str(error.cause or error))
        return result
