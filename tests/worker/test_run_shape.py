"""What a run costs Temporal, counted in its history: the benchmark's journey (a start
trigger, one email, the end) in one workflow task and ten events, and search attributes
right however the run was started. tests/worker/run_shape.py prints the same counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from journeys.engine.state import Outcome, RunStatus
from journeys.temporal import names
from journeys.temporal.messages import JourneyInput
from tests.sinks import SmtpSink, outcome_of
from tests.worker.harness import Harness, unique
from tests.worker.run_shape import ONE_EMAIL, RunShape, local_activities, run_one_email


async def test_a_one_email_run_is_one_workflow_task_of_ten_events(
    h: Harness, smtp_sink: SmtpSink
) -> None:
    history = await run_one_email(h, 1)
    shape = RunShape.of(history)
    assert shape.events == [
        "WORKFLOW_EXECUTION_STARTED",  # with its search attributes, the first step's included
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "MARKER_RECORDED",  # the patch "fewer-commands"
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",  # TemporalChangeVersion, which the patch sets
        "MARKER_RECORDED",  # the email, sent by a local activity
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",  # JourneyStatus: completed
        "MARKER_RECORDED",  # the run's history entries and outcome, stored at once
        "WORKFLOW_EXECUTION_COMPLETED",
    ], shape
    assert shape.workflow_tasks == 1
    assert local_activities(history) == ["send_email", "record_end"]
    assert len(smtp_sink.to("ada-1@example.com")) == 1


def previous_gateway(contact: str) -> TypedSearchAttributes:
    """What the gateway set before it named the first step."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(names.JOURNEY_ID, ONE_EMAIL.id),
            SearchAttributePair(names.CONTACT_ID, contact),
            SearchAttributePair(names.JOURNEY_VERSION, 4),
            SearchAttributePair(names.JOURNEY_STEP, ""),
            SearchAttributePair(names.JOURNEY_STATUS, RunStatus.ACTIVE.value),
        ]
    )


@pytest.mark.parametrize("started_with", [None, previous_gateway], ids=["none", "no-step"])
async def test_a_run_started_without_its_search_attributes_sets_them_itself(
    h: Harness,
    temporal_env: WorkflowEnvironment,
    started_with: Callable[[str], TypedSearchAttributes] | None,
) -> None:
    """As the SDK starts it (bench/sdk.py does), or the gateway of the previous release: the
    first workflow task upserts what the start did not set, so gateway and workers may be
    upgraded in either order."""
    contact = unique("ada")
    h.contact(contact, email=f"{contact}@example.com", first_name="Ada")
    handle = await temporal_env.client.start_workflow(
        names.JOURNEY_WORKFLOW,
        JourneyInput(
            definition=ONE_EMAIL, version=4, start=h.event(ONE_EMAIL, contact, {"seq": 1})
        ),
        id=names.workflow_id(ONE_EMAIL.id, contact),
        task_queue=h.task_queue,
        search_attributes=started_with(contact) if started_with else None,
        result_type=Outcome,
    )
    assert (await outcome_of(handle)).status is RunStatus.COMPLETED
    found = (await handle.describe()).typed_search_attributes
    assert [found.get(key) for key in names.SEARCH_ATTRIBUTES] == [
        ONE_EMAIL.id,  # JourneyId
        contact,  # ContactId
        4,  # JourneyVersion
        "mail",  # JourneyStep
        "completed",  # JourneyStatus
    ]
