"""What the Temporal Web UI shows for each activity and timer of a run (its user metadata).

Without a summary the UI can only say "Timer 2 days 23 hours" or "send_email"; with one it
says which step of the journey asked, in the words of its definition. Presentation only:
the interpreter has decided everything by the time a command is summarized.
"""

from __future__ import annotations

from typing import Any

from journeys.authoring.graph import awaited_text, wait_text
from journeys.definitions.common import format_duration
from journeys.definitions.journeys import WaitForStep, WaitStep, channel_of
from journeys.engine.entry import EntryRequest
from journeys.engine.interpreter import Interpreter
from worker.contracts import (
    SENDS,
    ActivateRequest,
    Activity,
    ContactRequest,
    OutcomeRequest,
    RunEndRequest,
    RunEventsRequest,
    SendRequest,
    StepRef,
)


def activity_summary(activity: Activity[Any, Any], request: Any) -> str:
    """`send_email welcome`, `activate_trigger reward: loyalty.earned`, `load_contact
    first_name, timezone`, `record_outcome exited: trigger:order.placed`, `record_end completed,
    entries 3-5`, ..."""
    return f"{activity.name} {_subject(request)}"


def _subject(request: Any) -> str:
    match request:
        case SendRequest(step=step, test=True):
            return f"{step} (test)"
        case StepRef(step=step):
            return step
        case ActivateRequest(step=step, trigger=trigger):
            return f"{step}: {trigger}"
        case ContactRequest(fields=fields):
            return ", ".join(fields)
        case EntryRequest(journey_id=journey, version=version, refusal=refusal):
            return f"{journey} v{version}" + (f": {refusal}" if refusal else "")
        case RunEventsRequest(first_seq=first, entries=entries):
            return f"entries {first}-{first + len(entries) - 1}"
        case OutcomeRequest(status=status, reason=reason):
            return status + (f": {reason}" if reason else "")
        case RunEndRequest(events=events, outcome=outcome):
            return ", ".join(_subject(part) for part in (outcome, events) if part is not None)
        case _:
            raise AssertionError(request)  # pragma: no cover - every contract is above


def timer_summary(run: Interpreter) -> str:
    """`wait_for email.opened of welcome, P3D`, `wait PT1H`, `quiet time, then send_email
    welcome`: the step the run waits at, and how it waits."""
    state = run.state
    assert state.step is not None  # only a step waits with a deadline (a pause has none)
    step = run.program[state.step].step
    if state.postponed:
        channel = channel_of(step)
        assert channel is not None  # only a message is postponed
        return f"quiet time, then {SENDS[channel].name} {step.id}"
    match step:
        case WaitForStep(wait_for=spec):
            return f"wait_for {awaited_text(spec)}, {format_duration(spec.within)}"
        case WaitStep(wait=spec):
            return f"wait {wait_text(spec)}"
    raise AssertionError(step)  # pragma: no cover - no other step waits
