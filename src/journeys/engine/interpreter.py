"""The interpreter: what a journey means, step by step, as a pure state machine.

It owns every decision (enter or not, the next step, the branch taken, what a wait
waits for, when to exit) and does no I/O: it reads no clock (`now` is given), draws
no random numbers and calls nothing. Its driver carries out the commands it returns
and reports back. The Temporal workflow drives it durably; the simulator and unit
tests drive it directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from journeys.definitions.conditions import Scope, scopes_of
from journeys.definitions.journeys import (
    EmailStep,
    ExitStep,
    PushStep,
    SmsStep,
    WaitForStep,
    WaitStep,
    channel_of,
)
from journeys.engine.commands import (
    Command,
    ContactLoaded,
    Enter,
    EntryDecided,
    Finish,
    LoadContact,
    Observation,
    Send,
    SendSettled,
    Wait,
    Woke,
)
from journeys.engine.conditions import evaluate
from journeys.engine.entry import CONDITION_FALSE
from journeys.engine.program import Node, Program
from journeys.engine.state import (
    BUFFERED_EVENTS,
    SEEN_EVENT_IDS,
    Awaiting,
    BufferedEvent,
    ExitRequest,
    Outcome,
    RunState,
    RunStatus,
)
from journeys.events import TriggerEvent


class Reception(StrEnum):
    """What a received event did to the run."""

    DUPLICATE = "duplicate"  # its id was seen already: nothing happens twice
    EXIT = "exit"  # an exit trigger: the run ends at its next step
    BUFFERED = "buffered"  # kept for a wait_for, now or soon
    IGNORED = "ignored"  # nothing in this run listens to it


class Interpreter:
    def __init__(self, program: Program, state: RunState) -> None:
        self.program = program
        self.state = state

    @classmethod
    def begin(
        cls,
        program: Program,
        *,
        version: int,
        instance_id: str,
        start: TriggerEvent,
    ) -> Interpreter:
        state = RunState(
            journey_id=program.journey.id,
            version=version,
            contact_id=start.contact_id,
            binding_id=start.binding_id,
            instance_id=instance_id,
            start=start,
            seen=[start.event_id],
        )
        return cls(program, state)

    # -- events -------------------------------------------------------------------------

    def receive(self, event: TriggerEvent, now: datetime) -> Reception:
        """Take in an event sent to this run (a continue- or exit-trigger, or a repeat start)."""
        state = self.state
        if event.event_id in state.seen:
            return Reception.DUPLICATE
        state.seen.append(event.event_id)
        del state.seen[:-SEEN_EVENT_IDS]
        if state.outcome is not None:
            return Reception.IGNORED
        if state.exit_request is None and self._exits_on(event):
            state.exit_request = ExitRequest(
                reason=f"trigger:{event.trigger}", event_id=event.event_id, at=now
            )
            return Reception.EXIT
        if event.trigger in self.program.awaited and self._answers_this_run(event):
            state.buffer.append(BufferedEvent(event=event, received_at=now))
            del state.buffer[:-BUFFERED_EVENTS]
            return Reception.BUFFERED
        return Reception.IGNORED

    def stop(self, reason: str, now: datetime) -> None:
        """End the run at its next move (the journey was stopped, the contact erased, ...)."""
        if self.state.outcome is None and self.state.exit_request is None:
            self.state.exit_request = ExitRequest(reason=reason, at=now)

    def can_resume(self) -> bool:
        """Whether a waiting run has something to act on before its timer fires."""
        state = self.state
        if state.outcome is not None or state.awaiting is not Awaiting.WAKE:
            return False
        if state.exit_request is not None:
            return True
        node = self._node()
        return isinstance(node.step, WaitForStep) and self._match(node.step) is not None

    # -- progress -----------------------------------------------------------------------

    def resume(self, now: datetime, observation: Observation | None = None) -> Command:
        """Apply the observation of the last command, then run until the next command."""
        if observation is not None:
            self._observe(observation, now)
        while True:
            command = self._advance(now)
            if command is not None:
                return command

    def _observe(self, observation: Observation, now: datetime) -> None:
        state = self.state
        expected = _EXPECTED[type(observation)]
        if state.awaiting is not expected:
            raise ValueError(f"{type(observation).__name__} while awaiting {state.awaiting}")
        state.awaiting = None
        match observation:
            case ContactLoaded(contact=contact):
                state.contact = contact or {}
            case EntryDecided(admitted=True):
                state.entered = True
                self._goto(self.program.first)
                state.record(now, "entered", f"version {state.version}")
            case EntryDecided(reason=reason):
                self._finish(RunStatus.REFUSED, reason, now)
            case SendSettled(status=status, message_id=message_id, reason=reason):
                detail = " ".join(part for part in (message_id, reason) if part) or None
                state.record(now, status, detail)
                self._goto(self._node().next)
            case Woke():
                pass

    def _advance(self, now: datetime) -> Command | None:
        """One move: a command for the driver, or None when the state moved on by itself."""
        state = self.state
        if state.outcome is not None:
            return Finish(state.outcome)
        if not state.entered:
            return self._enter()
        if state.exit_request is not None:
            self._finish(RunStatus.EXITED, state.exit_request.reason, now)
            return None
        if state.step is None:
            self._finish(RunStatus.COMPLETED, None, now)
            return None
        node = self._node()
        match node.step:
            case EmailStep(email=message) | SmsStep(sms=message) | PushStep(push=message):
                visits = state.visits.get(node.step.id, 0) + 1
                state.visits[node.step.id] = visits
                state.awaiting = Awaiting.SEND
                channel = channel_of(node.step)
                assert channel is not None
                return Send(node.step.id, visits, channel, message)
            case WaitStep(wait=duration):
                if state.wait_until is None:
                    self._begin_wait(now, now + duration)
                if now >= _required(state.wait_until):
                    state.record(now, "waited")
                    self._goto(node.next)
                    return None
                state.awaiting = Awaiting.WAKE
                return Wait(_required(state.wait_until))
            case WaitForStep() as step:
                return self._wait_for(node, step, now)
            case ExitStep(exit=reason):
                self._finish(RunStatus.EXITED, reason or f"exit step {node.step.id}", now)
                return None
        raise AssertionError(node.step)  # pragma: no cover

    def _enter(self) -> Command:
        state = self.state
        if self.program.start_needs_contact and state.contact is None:
            state.awaiting = Awaiting.CONTACT
            return LoadContact()
        holds = evaluate(self.program.journey.start.when, self._scopes(event=None))
        state.awaiting = Awaiting.ENTRY
        return Enter(refusal=None if holds else CONDITION_FALSE)

    def _wait_for(self, node: Node, step: WaitForStep, now: datetime) -> Command | None:
        state = self.state
        spec = step.wait_for
        if Scope.CONTACT in scopes_of(spec.when) and state.contact is None:
            state.awaiting = Awaiting.CONTACT
            return LoadContact()
        if state.wait_until is None:
            self._begin_wait(now, now + spec.within, detail=spec.trigger)
        matched = self._match(step)
        if matched is not None:
            state.buffer.remove(matched)
            state.event = dict(matched.event.attributes)
            state.record(now, "matched", f"{spec.trigger} ({matched.event.event_id})")
            self._goto(node.then)
            return None
        if now >= _required(state.wait_until):
            state.record(now, "timed_out", spec.trigger)
            self._goto(node.else_)
            return None
        state.awaiting = Awaiting.WAKE
        return Wait(_required(state.wait_until))

    # -- helpers ------------------------------------------------------------------------

    def _match(self, step: WaitForStep) -> BufferedEvent | None:
        """The first buffered event that satisfies the wait.

        An event that came shortly before the wait began still counts, so two quick
        events never race the wait: its window reaches back as far as it reaches forward.
        """
        state = self.state
        spec = step.wait_for
        assert state.wait_started_at is not None
        earliest = state.wait_started_at - spec.within
        for buffered in state.buffer:
            event = buffered.event
            if event.trigger != spec.trigger or buffered.received_at < earliest:
                continue
            if spec.of is not None and event.attributes.get("step") != spec.of:
                continue
            if evaluate(spec.when, self._scopes(event=event.attributes)):
                return buffered
        return None

    def _exits_on(self, event: TriggerEvent) -> bool:
        specs = self.program.exits.get(event.trigger, ())
        return any(evaluate(spec.when, self._scopes(event=event.attributes)) for spec in specs)

    def _answers_this_run(self, event: TriggerEvent) -> bool:
        # An interaction answers one message: an open of a previous run's email is not ours.
        return event.instance_id is None or event.instance_id == self.state.instance_id

    def _scopes(self, event: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
        state = self.state
        journey = self.program.journey
        return {
            "trigger": state.start.attributes,
            "contact": state.contact or {},
            "event": event if event is not None else (state.event or {}),
            "journey": {"id": journey.id, "name": journey.name, "version": state.version},
        }

    def _node(self) -> Node:
        assert self.state.step is not None
        return self.program[self.state.step]

    def _begin_wait(self, now: datetime, until: datetime, detail: str | None = None) -> None:
        self.state.wait_started_at = now
        self.state.wait_until = until
        self.state.record(
            now, "waiting", f"until {until.isoformat()}" + (f" for {detail}" if detail else "")
        )
        self._prune_buffer(now)

    def _prune_buffer(self, now: datetime) -> None:
        # No wait of this journey can reach back further than its longest window.
        horizon = now - self.program.longest_window
        self.state.buffer = [b for b in self.state.buffer if b.received_at >= horizon]

    def _goto(self, step_id: str | None) -> None:
        state = self.state
        state.step = step_id
        state.wait_started_at = None
        state.wait_until = None
        state.contact = None  # read afresh by the next step that needs it

    def _finish(self, status: RunStatus, reason: str | None, now: datetime) -> None:
        state = self.state
        state.outcome = Outcome(status=status, reason=reason, at=now)
        state.awaiting = None
        state.record(now, status.value, reason)


def _required(value: datetime | None) -> datetime:
    assert value is not None
    return value


_EXPECTED: dict[type, Awaiting] = {
    ContactLoaded: Awaiting.CONTACT,
    EntryDecided: Awaiting.ENTRY,
    SendSettled: Awaiting.SEND,
    Woke: Awaiting.WAKE,
}
