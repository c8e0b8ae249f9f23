"""The interpreter: what a journey means, step by step, as a pure state machine.

It owns every decision (enter or not, the next step, the branch taken, what a wait
waits for, when to exit) and does no I/O: it reads no clock (`now` is given), draws
no random numbers and calls nothing. Its driver carries out the commands it returns
and reports back. The Temporal workflow drives it durably; the simulator and unit
tests drive it directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from journeys.definitions.conditions import AttributeFrom, Condition, Scope, scopes_of
from journeys.definitions.journeys import (
    ActivateStep,
    BranchStep,
    EmailStep,
    ExitStep,
    MessageStepBase,
    PushStep,
    SmsStep,
    SplitStep,
    WaitForStep,
    WaitStep,
    WaitUntil,
    WaitUntilTime,
    WebhookStep,
    channel_of,
)
from journeys.engine.clock import next_time_of_day, zone
from journeys.engine.commands import (
    Activate,
    Activated,
    CallWebhook,
    Command,
    ContactLoaded,
    Enter,
    EntryDecided,
    Finish,
    LoadContact,
    Observation,
    Send,
    SendSettled,
    SendStatus,
    Wait,
    WebhookAnswered,
    Woke,
)
from journeys.engine.conditions import MISSING, evaluate, lookup
from journeys.engine.entry import EntryRefusal
from journeys.engine.events import TriggerEvent
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

SPLIT_BUCKETS = 10_000


class Reception(StrEnum):
    """What a received event did to the run."""

    DUPLICATE = "duplicate"  # its id was seen already: nothing happens twice
    EXIT = "exit"  # an exit trigger: the run ends at its next move
    BUFFERED = "buffered"  # kept for a wait_for, now or soon
    GOAL = "goal"  # the journey's goal was reached
    IGNORED = "ignored"  # nothing in this run listens to it


def split_bucket(journey_id: str, step_id: str, contact_id: str) -> int:
    """Where a contact falls in a split, 0 to 9,999: the same on every replay and re-entry."""
    digest = hashlib.sha256(f"{journey_id}\n{step_id}\n{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SPLIT_BUCKETS


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
        admitted: bool = False,
    ) -> Interpreter:
        """A new run. `admitted`: the entry ledger admitted the contact before the run
        began (else the run asks it, with `Enter`)."""
        state = RunState(
            journey_id=program.journey.id,
            version=version,
            contact_id=start.contact_id,
            binding_id=start.binding_id,
            instance_id=instance_id,
            start=start,
            seen=[start.event_id],
            admitted=admitted,
        )
        return cls(program, state)

    # -- from outside: events, pause, stop ----------------------------------------------

    def receive(self, event: TriggerEvent, now: datetime) -> Reception:
        """Take in an event sent to this run (a continue-, exit- or goal-trigger, or a repeat
        start)."""
        state = self.state
        if event.event_id in state.seen:
            return Reception.DUPLICATE
        state.seen.append(event.event_id)
        del state.seen[:-SEEN_EVENT_IDS]
        if state.outcome is not None:
            return Reception.IGNORED
        reached = self._reaches_goal(event, now)
        if state.exit_request is None and self._exits_on(event):
            state.exit_request = ExitRequest(
                reason=f"trigger:{event.trigger}", event_id=event.event_id, at=now
            )
            return Reception.EXIT
        if event.trigger in self.program.awaited and self._answers_this_run(event):
            state.buffer.append(BufferedEvent(event=event, received_at=now))
            del state.buffer[:-BUFFERED_EVENTS]
            return Reception.BUFFERED
        return Reception.GOAL if reached else Reception.IGNORED

    def stop(self, reason: str, now: datetime) -> None:
        """End the run at its next move (the journey was stopped, the contact erased, ...)."""
        if self.state.outcome is None and self.state.exit_request is None:
            self.state.exit_request = ExitRequest(reason=reason, at=now)

    def pause(self, now: datetime) -> None:
        """Freeze the run: no step runs, waits stop counting, events are still kept."""
        state = self.state
        if state.outcome is None and state.paused_at is None:
            state.paused_at = now
            state.record(now, "paused")

    def unpause(self, now: datetime) -> None:
        """Go on where the run was; a wait's deadline moves by the time spent paused."""
        state = self.state
        if state.paused_at is None:
            return
        frozen = now - state.paused_at
        if state.wait_until is not None:
            state.wait_until += frozen
        if state.wait_started_at is not None:
            state.wait_started_at += frozen
        # Kept events move with the frozen time, so a wait's look-back still reaches them.
        for buffered in state.buffer:
            buffered.received_at = min(buffered.received_at + frozen, now)
        state.paused_at = None
        state.woken = True
        state.record(now, "resumed", f"after {frozen}")

    def can_resume(self) -> bool:
        """Whether a waiting run has something to act on before its timer fires."""
        state = self.state
        if state.outcome is not None or state.awaiting is not Awaiting.WAKE:
            return False
        if state.exit_request is not None or state.woken:
            return True
        if state.paused_at is not None:
            return False
        node = self._node() if state.step else None
        return (
            node is not None
            and isinstance(node.step, WaitForStep)
            and (self._match(node.step) is not None)
        )

    def _raise_unsent(self, settled: SendSettled, now: datetime) -> None:
        """A message blocked by policy or failed for good is an interaction of the run's own
        (`email.blocked`, `sms.failed`, ...): a wait_for of this run may be waiting for it."""
        if settled.status not in (SendStatus.BLOCKED, SendStatus.FAILED):
            return
        step = self._node().step
        trigger = f"{channel_of(step)}.{settled.status.value}"
        if trigger not in self.program.awaited:
            return
        message_id = settled.message_id or f"{step.id}-{self.state.visits.get(step.id, 0)}"
        attributes = {"message_id": message_id, "step": step.id, "reason": settled.reason}
        event = TriggerEvent(
            event_id=f"{message_id}:{settled.status.value}",
            trigger=trigger,
            contact_id=self.state.contact_id,
            occurred_at=now,
            attributes={name: value for name, value in attributes.items() if value is not None},
            instance_id=self.state.instance_id,
        )
        self.receive(event, now)

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
                self._enter_now(now)
            case EntryDecided(reason=reason):
                self._finish(RunStatus.REFUSED, reason, now)
            case SendSettled(status=SendStatus.POSTPONED, until=until) if until is not None:
                # A quiet time: the same message (same iteration) goes again when it ends.
                state.postponed = True
                self._begin_wait(now, until, detail="quiet time")
            case SendSettled(status=status, message_id=message_id, reason=reason):
                detail = " ".join(p for p in (message_id, reason) if p) or None
                state.record(now, status.value, detail)
                self._raise_unsent(observation, now)
                self._goto(self._node().next)
            case Activated(started=started, signaled=signaled, error=None, refused=refused):
                detail = f"started {started}, signaled {signaled}"
                refusals = [f"{journey} ({why})" for journey, why in refused.items()]
                state.record(
                    now, "activated", detail + (f", refused {refusals}" if refused else "")
                )
                self._goto(self._node().next)
            case Activated(error=error):
                state.record(now, "failed", error)
                self._goto(self._node().next)
            case WebhookAnswered(status=status, response=response, error=error):
                state.response = response
                state.record(
                    now, "called" if error is None else "failed", error or f"HTTP {status}"
                )
                self._goto(self._node().next)
            case Woke():
                state.woken = False

    def _advance(self, now: datetime) -> Command | None:
        """One move: a command for the driver, or None when the state moved on by itself."""
        state = self.state
        if state.outcome is not None:
            return Finish(state.outcome)
        if not state.entered:
            if state.admitted:
                self._enter_now(now)
                return None
            return self._enter()
        if state.exit_request is not None:
            self._finish(RunStatus.EXITED, state.exit_request.reason, now)
            return None
        if state.paused_at is not None:
            state.awaiting = Awaiting.WAKE
            return Wait(None)
        if state.step is None:
            self._finish(RunStatus.COMPLETED, None, now)
            return None
        node = self._node()
        match node.step:
            case EmailStep(email=message) | SmsStep(sms=message) | PushStep(push=message):
                return self._send(node, node.step, message, now)
            case WaitStep() as step:
                return self._wait(node, step, now)
            case WaitForStep() as step:
                return self._wait_for(node, step, now)
            case BranchStep() as step:
                return self._branch(node, step, now)
            case SplitStep() as step:
                self._split(node, step, now)
                return None
            case ActivateStep() as step:
                return self._activate(node, step)
            case WebhookStep(webhook=call):
                state.awaiting = Awaiting.WEBHOOK
                return CallWebhook(node.step.id, self._visit(node), call)
            case ExitStep(exit=reason):
                self._finish(RunStatus.EXITED, reason or f"exit step {node.step.id}", now)
                return None
        raise AssertionError(node.step)  # pragma: no cover

    def _send(self, node: Node, step: MessageStepBase, message: Any, now: datetime) -> Command:
        state = self.state
        if state.postponed:
            if now < _required(state.wait_until):
                state.awaiting = Awaiting.WAKE
                return Wait(state.wait_until)
            iteration = state.visits[step.id]  # the same message, tried again
            state.postponed = False
            state.wait_started_at = state.wait_until = None
        else:
            iteration = self._visit(node)
        channel = channel_of(step)
        assert channel is not None
        state.awaiting = Awaiting.SEND
        return Send(step.id, iteration, channel, message, step.purpose, step.expires_after)

    def _enter_now(self, now: datetime) -> None:
        self.state.entered = True
        self._goto(self.program.first)
        self.state.record(now, "entered", f"version {self.state.version}")

    def _enter(self) -> Command:
        state = self.state
        if self.program.start_needs_contact and state.contact is None:
            return self._load_contact()
        holds = evaluate(self.program.journey.start.when, self._scopes(event=None))
        state.awaiting = Awaiting.ENTRY
        return Enter(refusal=None if holds else EntryRefusal.CONDITION_FALSE)

    # -- the step kinds that decide by themselves ---------------------------------------

    def _wait(self, node: Node, step: WaitStep, now: datetime) -> Command | None:
        state = self.state
        if state.wait_until is None:
            match step.wait:
                case WaitUntil(until=AttributeFrom(from_=path), offset=offset):
                    if path.startswith("contact.") and state.contact is None:
                        return self._load_contact()
                    moment, why_not = self._date_of(path, offset)
                    if moment is not None and moment <= now:
                        why_not = f"{moment.isoformat()} is past"
                    if moment is None or why_not is not None:
                        state.record(now, "waited", f"no wait: {why_not}")
                        self._goto(node.next)
                        return None
                    deadline = moment
                case WaitUntil(until=datetime() as until, offset=offset):
                    deadline = max(until + (offset or timedelta(0)), now)
                case WaitUntilTime(until_time=clock, days=days):
                    if state.contact is None:
                        return self._load_contact()
                    tz = zone(state.contact.get("timezone"), self.program.journey.timezone)
                    deadline = next_time_of_day(now, clock, days, tz)
                case timedelta() as duration:
                    deadline = now + duration
            self._begin_wait(now, deadline)
        if now >= _required(state.wait_until):
            state.record(now, "waited")
            self._goto(node.next)
            return None
        state.awaiting = Awaiting.WAKE
        return Wait(state.wait_until)

    def _wait_for(self, node: Node, step: WaitForStep, now: datetime) -> Command | None:
        state = self.state
        spec = step.wait_for
        if self._needs_contact([a.when for a in spec.awaited]):
            return self._load_contact()
        if state.wait_until is None:
            listened = ", ".join(a.trigger for a in spec.awaited)
            self._begin_wait(now, now + spec.within, detail=listened)
        matched = self._match(step)
        then, else_ = node.entries
        if matched is not None:
            state.buffer.remove(matched)
            state.event = dict(matched.event.attributes)
            state.record(now, "matched", f"{matched.event.trigger} ({matched.event.event_id})")
            self._goto(then)
            return None
        if now >= _required(state.wait_until):
            state.record(now, "timed_out", ", ".join(a.trigger for a in spec.awaited))
            self._goto(else_)
            return None
        state.awaiting = Awaiting.WAKE
        return Wait(state.wait_until)

    def _branch(self, node: Node, step: BranchStep, now: datetime) -> Command | None:
        if self._needs_contact([arm.when for arm in step.branch]):
            return self._load_contact()
        scopes = self._scopes(event=None)
        for index, arm in enumerate(step.branch):
            if evaluate(arm.when, scopes):
                label = f"arm {index + 1}" + (f" ({arm.name})" if arm.name else "")
                self.state.record(now, "branched", label)
                self._goto(node.entries[index])
                return None
        self.state.record(now, "branched", "otherwise")
        self._goto(node.entries[-1])
        return None

    def _activate(self, node: Node, step: ActivateStep) -> Command:
        activation = step.activate
        values = activation.attributes.values()
        if self._needs_contact(paths=[v.from_ for v in values if isinstance(v, AttributeFrom)]):
            return self._load_contact()
        attributes = {name: self._value(v) for name, v in activation.attributes.items()}
        self.state.awaiting = Awaiting.ACTIVATE
        return Activate(step.id, self._visit(node), activation.trigger, attributes)

    def _split(self, node: Node, step: SplitStep, now: datetime) -> None:
        bucket = split_bucket(self.program.journey.id, step.id, self.state.contact_id)
        ceiling = 0.0
        for index, arm in enumerate(step.split):
            ceiling += arm.percent * SPLIT_BUCKETS / 100
            if bucket < ceiling or index == len(step.split) - 1:
                self.state.record(now, "split", f"{arm.name} (bucket {bucket} of {SPLIT_BUCKETS})")
                self._goto(node.entries[index])
                return

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
            if buffered.received_at < earliest:
                continue
            for awaited in spec.awaited:
                if event.trigger != awaited.trigger:
                    continue
                if awaited.of is not None and event.attributes.get("step") != awaited.of:
                    continue
                if evaluate(awaited.when, self._scopes(event=event.attributes)):
                    return buffered
        return None

    def _exits_on(self, event: TriggerEvent) -> bool:
        specs = self.program.exits.get(event.trigger, ())
        return any(evaluate(spec.when, self._scopes(event=event.attributes)) for spec in specs)

    def _reaches_goal(self, event: TriggerEvent, now: datetime) -> bool:
        goal = self.program.journey.goal
        state = self.state
        if goal is None or event.trigger != goal.trigger or state.goal_reached_at is not None:
            return False
        if not evaluate(goal.when, self._scopes(event=event.attributes)):
            return False
        state.goal_reached_at = now
        state.record(now, "goal", f"{event.trigger} ({event.event_id})")
        return True

    def _answers_this_run(self, event: TriggerEvent) -> bool:
        # An interaction answers one message: an open of a previous run's email is not ours.
        return event.instance_id is None or event.instance_id == self.state.instance_id

    def _needs_contact(
        self, conditions: Iterable[Condition | None] = (), paths: Iterable[str] = ()
    ) -> bool:
        """Whether what comes next reads contact.* and the contact has not been read yet."""
        if self.state.contact is not None:
            return False
        return any(Scope.CONTACT in scopes_of(c) for c in conditions) or any(
            path.split(".", 1)[0] == Scope.CONTACT for path in paths
        )

    def _load_contact(self) -> Command:
        self.state.awaiting = Awaiting.CONTACT
        return LoadContact()

    def _value(self, value: Any) -> Any:
        if isinstance(value, AttributeFrom):
            found = lookup(self._scopes(event=None), value.from_)
            return None if found is MISSING else found
        return value

    def _scopes(self, event: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
        state = self.state
        journey = self.program.journey
        return {
            "trigger": state.start.attributes,
            "contact": state.contact or {},
            "event": event if event is not None else (state.event or {}),
            "response": state.response or {},
            "journey": {"id": journey.id, "name": journey.name, "version": state.version},
        }

    def _date_of(self, path: str, offset: timedelta | None) -> tuple[datetime | None, str | None]:
        """The moment a date of the run names, moved by the offset; or why there is none."""
        value = lookup(self._scopes(event=None), path)
        if value is MISSING or value is None or value == "":
            return None, f"no date at {path}"
        moment = _moment(value)
        if moment is None:
            return None, f"{path} is not a date-time: {str(value)[:40]!r}"
        if moment.tzinfo is None:  # a date without a zone is the contact's (else the journey's)
            contact = self.state.contact or {}
            tz = zone(contact.get("timezone"), self.program.journey.timezone)
            moment = moment.replace(tzinfo=tz)
        return moment + (offset or timedelta(0)), None

    def _node(self) -> Node:
        assert self.state.step is not None
        return self.program[self.state.step]

    def _visit(self, node: Node) -> int:
        visits = self.state.visits.get(node.step.id, 0) + 1
        self.state.visits[node.step.id] = visits
        return visits

    def _begin_wait(self, now: datetime, until: datetime, detail: str | None = None) -> None:
        self.state.wait_started_at = now
        self.state.wait_until = until
        what = f"until {until.isoformat()}" + (f" for {detail}" if detail else "")
        self.state.record(now, "waiting", what)
        self._prune_buffer(now)

    def _prune_buffer(self, now: datetime) -> None:
        # No wait of this journey can reach back further than its longest window.
        horizon = now - self.program.longest_window
        self.state.buffer = [b for b in self.state.buffer if b.received_at >= horizon]

    def _goto(self, step_id: str | None) -> None:
        state = self.state
        state.step = step_id
        state.postponed = False
        state.wait_started_at = None
        state.wait_until = None
        state.contact = None  # read afresh by the next step that needs it

    def _finish(self, status: RunStatus, reason: str | None, now: datetime) -> None:
        state = self.state
        state.outcome = Outcome(status=status, reason=reason, at=now)
        state.awaiting = None
        state.record(now, status.value, reason)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _required(value: datetime | None) -> datetime:
    assert value is not None
    return value


_EXPECTED: dict[type, Awaiting] = {
    ContactLoaded: Awaiting.CONTACT,
    EntryDecided: Awaiting.ENTRY,
    SendSettled: Awaiting.SEND,
    Activated: Awaiting.ACTIVATE,
    WebhookAnswered: Awaiting.WEBHOOK,
    Woke: Awaiting.WAKE,
}
