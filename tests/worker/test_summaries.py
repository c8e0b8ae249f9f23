"""What the Temporal Web UI shows for a run's timers and activities: the summaries, from the
interpreter's commands. tests/worker/test_workflow.py finds them in a real run's history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from journeys.engine.commands import (
    ContactLoaded,
    Send,
    SendSettled,
    SendStatus,
    Wait,
    Woke,
)
from journeys.engine.entry import EntryRequest
from journeys.engine.state import HistoryEntry
from journeys.temporal import names
from tests.journeys.builders import T0, journey
from tests.journeys.engine.test_step_kinds import admit, run
from worker.contracts import (
    ACTIVATE_TRIGGER,
    ENTER_JOURNEY,
    LOAD_CONTACT,
    RECORD_END,
    RECORD_OUTCOME,
    RECORD_RUN_EVENTS,
    ActivateRequest,
    Activity,
    ContactRequest,
    OutcomeRequest,
    RunEndRequest,
    RunEventsRequest,
)
from worker.workflows.summaries import activity_summary, timer_summary

TOUR = journey("""
id: tour
name: Tour
start: {trigger: contact.created}
steps:
  - id: hello
    email: {subject: Hi, text: x}
  - id: opened
    wait_for:
      any: [{trigger: email.opened, of: hello}, {trigger: order.placed}]
      within: P3D
  - {id: pause, wait: PT1H30M}
  - {id: eve, wait: {until: {from: trigger.visit_at}, offset: -P1D}}
  - {id: morning, wait: {until_time: "09:00", days: [mon, tue]}}
  - {id: nudge, sms: {text: Hello}}
""")


def test_every_timer_says_which_step_waits_and_how() -> None:
    interpreter = run(TOUR, attributes={"visit_at": (T0 + timedelta(days=10)).isoformat()})
    now = T0
    command = admit(interpreter, now)
    summaries = []
    while not (isinstance(command, Send) and command.step == "nudge"):
        match command:
            case Send():
                command = interpreter.resume(now, SendSettled(SendStatus.SENT))
            case Wait(until=until):
                assert until is not None
                summaries.append(timer_summary(interpreter))
                now = until
                command = interpreter.resume(now, Woke())
            case _:
                command = interpreter.resume(now, ContactLoaded({"timezone": "UTC"}))
    postponed = SendSettled(SendStatus.POSTPONED, until=now + timedelta(hours=8))
    assert isinstance(interpreter.resume(now, postponed), Wait)
    summaries.append(timer_summary(interpreter))

    assert summaries == [
        "wait_for email.opened of hello or order.placed, P3D",
        "wait PT1H30M",
        "wait until trigger.visit_at -P1D",
        "wait until 09:00 on mon,tue",
        "quiet time, then send_sms nudge",
    ]


ENTRY = EntryRequest(
    journey_id="tour",
    version=3,
    contact_id="c1",
    binding_id=None,
    instance_id="i1",
    event_id="e1",
    reentry="never",
    refusal="condition_false",
    at=T0,
)


@pytest.mark.parametrize(
    ("activity", "request_", "summary"),
    [
        (
            ACTIVATE_TRIGGER,
            ActivateRequest(
                instance_id="i1",
                step="reward",
                iteration=1,
                contact_id="c1",
                binding_id=None,
                trigger="loyalty.earned",
                attributes={},
            ),
            "activate_trigger reward: loyalty.earned",
        ),
        (
            LOAD_CONTACT,
            ContactRequest(contact_id="c1", fields=["country", "timezone"]),
            "load_contact country, timezone",
        ),
        (ENTER_JOURNEY, ENTRY, "enter_journey tour v3: condition_false"),
        (
            RECORD_RUN_EVENTS,
            RunEventsRequest(
                instance_id="i1",
                journey_id="tour",
                version=3,
                contact_id="c1",
                first_seq=4,
                entries=[HistoryEntry(at=T0, step="hello", what="sent")] * 2,
            ),
            "record_run_events entries 4-5",
        ),
        (
            RECORD_OUTCOME,
            OutcomeRequest(
                instance_id="i1",
                status="exited",
                reason="trigger:order.placed",
                at=T0,
                goal_reached_at=None,
            ),
            "record_outcome exited: trigger:order.placed",
        ),
        (
            RECORD_END,
            RunEndRequest(
                events=RunEventsRequest(
                    instance_id="i1",
                    journey_id="tour",
                    version=3,
                    contact_id="c1",
                    first_seq=6,
                    entries=[HistoryEntry(at=T0, step="hello", what="completed")],
                ),
                outcome=OutcomeRequest(
                    instance_id="i1", status="completed", reason=None, at=T0, goal_reached_at=None
                ),
            ),
            "record_end completed, entries 6-6",
        ),
        (
            RECORD_END,
            RunEndRequest(
                events=RunEventsRequest(
                    instance_id="i1",
                    journey_id="tour",
                    version=3,
                    contact_id="c1",
                    first_seq=0,
                    entries=[HistoryEntry(at=T0, step=None, what="refused")],
                ),
                outcome=None,  # a run never entered has no outcome to record
            ),
            "record_end entries 0-0",
        ),
    ],
)
def test_an_activity_says_what_it_does_for_the_run(
    activity: Activity[Any, Any], request_: Any, summary: str
) -> None:
    assert activity_summary(activity, request_) == summary


def test_a_run_is_listed_by_journey_version_and_contact() -> None:
    assert names.run_summary("Tour", 3, "c1") == "Tour v3, contact c1"
    assert names.run_summary("Tour", 3, "c1", "order/7") == "Tour v3, contact c1, binding order/7"
