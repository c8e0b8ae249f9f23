"""Properties of the interpreter: whatever valid journey it is given and whatever its driver
reports (events of the journey's triggers with any typed attributes, early or late or twice,
timers, pauses, stops, sends of every outcome, webhook answers with odd JSON), it never
raises, every command it returns is well formed, it finishes within a bounded number of
moves once the inputs keep coming, and the same inputs always give the same decisions,
across continue-as-new too.

The driver here plays the Temporal workflow's part (`src/worker/workflows/journey.py`): it answers
each command with the observation it expects, calls `receive`, `pause`, `unpause` and
`stop` between moves as signals do, and wakes a wait when its timer fires or when
`can_resume()` says so (and now and then for nothing, as the workflow does to record
history).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys.definitions.catalog import Trigger
from journeys.definitions.documents import parse_definition
from journeys.definitions.journeys import (
    ActivateStep,
    JourneyDefinition,
    MessageStepBase,
    StepBase,
    WaitForStep,
    WebhookStep,
    channel_of,
)
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
from journeys.engine.entry import EntryRefusal
from journeys.engine.events import TriggerEvent
from journeys.engine.interpreter import Interpreter, Reception
from journeys.engine.program import Program, compile_journey
from journeys.engine.state import (
    BUFFERED_EVENTS,
    HISTORY_ENTRIES,
    SEEN_EVENT_IDS,
    Awaiting,
    RunState,
    RunStatus,
)
from tests.abuse.strategies import (
    CATALOG,
    T0,
    attributes_for,
    comparable,
    event_attributes,
    journeys,
    json_values,
    names,
)

INSTANCE = "run-1"

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,  # the same journeys and inputs on every run: a failure is a bug, not luck
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- what the driver may report -------------------------------------------------------

contact_values = st.fixed_dictionaries(
    {},
    optional={
        "id": st.just("c1"),
        "first_name": st.one_of(st.none(), st.text(max_size=10)),
        "last_name": st.one_of(st.none(), st.text(max_size=10)),
        "email": st.one_of(st.none(), st.just("ada@example.com"), st.text(max_size=10)),
        "phone": st.one_of(st.none(), st.just("+33612345678")),
        # A contact's zone as stored: a real one, none, or one that no longer exists.
        "timezone": st.one_of(
            st.none(),
            st.sampled_from(["Europe/Paris", "Pacific/Kiritimati", "Mars/Base", "Europe/", ".."]),
            st.text(max_size=8),
        ),
        # Custom attributes are any JSON, so contact.vip may be anything at all.
        "vip": st.one_of(st.booleans(), json_values),
        "points": st.one_of(comparable, json_values),
    },
)
odd_json_objects = st.dictionaries(
    st.one_of(names, st.sampled_from(["", ".", "a.b", "__class__", "status", "é"])),
    json_values,
    max_size=5,
)
webhook_answers = st.one_of(
    st.builds(
        WebhookAnswered,
        status=st.sampled_from([200, 201, 204, 299]),
        response=odd_json_objects,
    ),
    st.builds(
        WebhookAnswered,
        status=st.sampled_from([None, 400, 404, 410, 500, 503]),
        response=st.one_of(st.just({}), odd_json_objects),
        error=st.text(min_size=1, max_size=20),
    ),
)
later = st.one_of(
    st.just(timedelta(0)),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)),
)


@dataclass
class Tape:
    """The inputs of one run: drawn the first time, played back exactly afterwards."""

    draw: Callable[[st.SearchStrategy[Any]], Any] | None
    values: list[Any] = field(default_factory=list)
    position: int = 0

    def __call__(self, strategy: st.SearchStrategy[Any]) -> Any:
        if self.draw is not None:
            value = self.draw(strategy)
            self.values.append(value)
            return value
        value = self.values[self.position]
        self.position += 1
        return value

    def replay(self) -> Tape:
        return Tape(draw=None, values=self.values)


# -- the journey's world ---------------------------------------------------------------


def triggers_heard(definition: JourneyDefinition, program: Program) -> list[Trigger]:
    """The triggers that can reach this run: start, exits, goal, waits, and one stranger."""
    heard = {definition.start.trigger, *program.exits, *program.awaited}
    if definition.goal is not None:
        heard.add(definition.goal.trigger)
    stranger = next(name for name in sorted(CATALOG.keys()) if name not in heard)
    return [CATALOG[name] for name in sorted({*heard, stranger})]


def message_steps(program: Program) -> list[str]:
    return [step_id for step_id, node in program.nodes.items() if channel_of(node.step)]


def awaited_events(
    waits: Iterable[StepBase],
) -> list[st.SearchStrategy[tuple[str, dict[str, Any]]]]:
    """(trigger, attributes) the waits' awaited specs may match: its trigger's typed
    attributes, and for an interaction the message step it answers."""
    found = []
    for step in waits:
        if isinstance(step, WaitForStep):
            for awaited in step.wait_for.awaited:
                trigger = CATALOG[awaited.trigger]
                answer = {} if awaited.of is None else {"step": awaited.of, "message_id": "m1"}
                found.append(
                    attributes_for(trigger).map(
                        lambda values, name=trigger.name, more=answer: (name, values | more)
                    )
                )
    return found


def events_for(definition: JourneyDefinition, program: Program) -> st.SearchStrategy[Any]:
    """Events that reach this run: most of them something it listens to, typed; the rest
    any trigger it hears with any attributes (fitting, loose, or both)."""
    steps = message_steps(program)
    heard = [
        st.sampled_from(triggers_heard(definition, program)).flatmap(
            lambda trigger: event_attributes(trigger, steps).map(
                lambda values, name=trigger.name: (name, values)
            )
        )
    ]
    listened = awaited_events(node.step for node in program.nodes.values())
    return st.one_of(*heard, *listened) if listened else heard[0]


event_ids = st.sampled_from(["fresh"] * 4 + ["start", "e1", "e2"]).flatmap(
    # Mostly new ids; now and then a repeat (of the start, or of an earlier event): acts once.
    lambda kind: st.integers(3, 10**6).map(lambda n: f"e{n}") if kind == "fresh" else st.just(kind)
)


@dataclass
class Run:
    """One run driven to its end, and what it said on the way."""

    commands: list[Command] = field(default_factory=list)
    receptions: list[Reception] = field(default_factory=list)
    state: RunState | None = None


def drive(
    definition: JourneyDefinition,
    tape: Tape,
    *,
    continue_as_new: bool = False,
) -> Run:
    """Carry out the interpreter's commands with the tape's answers until it finishes.

    `continue_as_new`: at every wait, the state goes through JSON into a new interpreter,
    as the workflow does when its history grows long.
    """
    program = compile_journey(definition)
    events = events_for(definition, program)
    start = TriggerEvent(
        event_id="start",
        trigger=definition.start.trigger,
        contact_id="c1",
        occurred_at=T0,
        attributes=tape(attributes_for(CATALOG[definition.start.trigger])),
    )
    interpreter = Interpreter.begin(program, version=1, instance_id=INSTANCE, start=start)
    run = Run()
    now = T0
    disruptions = tape(st.integers(0, 16))  # signals and odd answers the run must absorb
    done: set[str] = set()  # steps whose command was carried out and answered

    def deliver(strategy: st.SearchStrategy[tuple[str, dict[str, Any]]]) -> None:
        name, attributes = tape(strategy)
        event = TriggerEvent(
            event_id=tape(event_ids),
            trigger=name,
            contact_id="c1",
            occurred_at=now,
            attributes=attributes,
            instance_id=tape(st.sampled_from([INSTANCE, INSTANCE, None, "run-0"]))
            if CATALOG[name].interaction
            else None,
        )
        reception = interpreter.receive(event, now)
        assert isinstance(reception, Reception)
        run.receptions.append(reception)

    def signal() -> None:
        """Between two moves, what signals do: events, a pause, an unpause or a stop."""
        nonlocal disruptions, now
        for _ in range(tape(st.integers(0, min(disruptions, 3)))):
            disruptions -= 1
            now += tape(later)
            kind = tape(st.sampled_from(["event"] * 12 + ["pause", "pause", "unpause", "stop"]))
            if kind == "pause":
                interpreter.pause(now)
            elif kind == "unpause":
                interpreter.unpause(now)
            elif kind == "stop":
                interpreter.stop(tape(st.sampled_from(["journey stopped", "erased"])), now)
            else:
                deliver(events)
            check_state(interpreter.state, program, now)

    # Without disruptions a run makes at most two moves a step (a contact read, then the
    # step's own command), two to enter and one to finish; each disruption (a postponed
    # send, a pause, an event that ends a wait early, a wake for nothing) adds a few.
    budget = 2 * len(program.nodes) + 3
    command = interpreter.resume(now)
    for _ in range(budget + 4 * (disruptions + 1)):
        run.commands.append(command)
        check_command(command, interpreter, program, now, done)
        if isinstance(command, Finish):
            break
        signal()
        observation: Observation
        match command:
            case LoadContact():
                found = tape(st.one_of(contact_values, st.none()))
                observation = ContactLoaded(found)
            case Enter(refusal=refusal):
                # The entry ledger refuses now and then (re-entry, rate); a false start
                # condition is always a refusal, with its reason.
                if refusal is None and tape(st.sampled_from([True] * 7 + [False])):
                    observation = EntryDecided(admitted=True)
                else:
                    reason = refusal or tape(
                        st.sampled_from([EntryRefusal.REENTRY_BLOCKED, EntryRefusal.RATE_LIMITED])
                    )
                    observation = EntryDecided(admitted=False, reason=reason)
            case Send():
                outcomes = [SendStatus.SENT, SendStatus.BLOCKED, SendStatus.FAILED]
                outcomes += [SendStatus.POSTPONED] * (disruptions > 0)
                status = tape(st.sampled_from(outcomes))
                if status is SendStatus.POSTPONED:
                    disruptions -= 1
                    until = now + tape(st.timedeltas(timedelta(hours=-2), timedelta(days=3)))
                    observation = SendSettled(
                        SendStatus.POSTPONED, reason="quiet_time", until=until
                    )
                else:
                    done.add(command.step)
                    observation = SendSettled(
                        status,
                        message_id=tape(st.one_of(st.none(), st.just(f"m-{command.step}"))),
                        reason=None if status is SendStatus.SENT else tape(st.text(max_size=12)),
                    )
            case Activate():
                done.add(command.step)
                observation = tape(
                    st.one_of(
                        st.builds(
                            Activated,
                            started=st.lists(names, max_size=2),
                            signaled=st.lists(names, max_size=2),
                        ),
                        st.builds(Activated, error=st.text(min_size=1, max_size=20)),
                    )
                )
            case CallWebhook():
                done.add(command.step)
                observation = tape(webhook_answers)
            case Wait(until=until):
                if continue_as_new:
                    interpreter = Interpreter(
                        program, RunState.model_validate(interpreter.state.model_dump(mode="json"))
                    )
                step = program[interpreter.state.step].step if interpreter.state.step else None
                waiting_for = awaited_events([step] if step is not None else [])
                if waiting_for and until is not None and tape(st.booleans()):
                    # What the wait waits for comes (or almost: its condition may not hold).
                    now += (until - now) * tape(st.integers(0, 99)) / 100
                    deliver(st.one_of(waiting_for))
                if interpreter.can_resume():
                    pass  # an event it waits for came, an exit, an unpause: wake now
                elif disruptions > 0 and tape(st.booleans()):
                    disruptions -= 1  # a wake for nothing (the workflow records history)
                elif until is not None:
                    now = max(now, until)  # the timer fires
                else:
                    now += tape(later)
                    interpreter.unpause(now)  # paused without end: someone unpauses
                observation = Woke()
        command = interpreter.resume(now, observation)
    else:
        raise AssertionError(
            f"no end after {len(run.commands)} moves for {len(program.nodes)} steps: "
            f"{run.commands[-6:]}"
        )
    run.state = interpreter.state
    return run


# -- what well formed means ------------------------------------------------------------


def check_state(state: RunState, program: Program, now: datetime) -> None:
    assert state.step is None or state.step in program.nodes
    assert len(state.buffer) <= BUFFERED_EVENTS
    assert len(state.seen) <= SEEN_EVENT_IDS
    assert len(state.history) <= HISTORY_ENTRIES
    moments = [entry.at for entry in state.history]
    assert moments == sorted(moments), "history goes back in time"
    assert all(at <= now for at in moments)
    assert all(entry.step is None or entry.step in program.nodes for entry in state.history)


def check_command(
    command: Command,
    interpreter: Interpreter,
    program: Program,
    now: datetime,
    done: set[str],
) -> None:
    state = interpreter.state
    check_state(state, program, now)
    match command:
        case Finish(outcome=outcome):
            assert outcome == state.outcome
            assert outcome.status.finished and state.status is outcome.status
            assert state.awaiting is None
            assert outcome.status is not RunStatus.REFUSED or not state.entered
        case LoadContact():
            assert state.awaiting is Awaiting.CONTACT and state.contact is None
        case Enter(refusal=refusal):
            assert state.awaiting is Awaiting.ENTRY and not state.entered
            assert refusal in (None, EntryRefusal.CONDITION_FALSE)
        case Send():
            node = program[command.step]
            assert isinstance(node.step, MessageStepBase)
            assert command.step == state.step and state.awaiting is Awaiting.SEND
            assert command.channel is channel_of(node.step)
            assert command.message == getattr(node.step, command.channel.value)
            assert command.purpose == node.step.purpose
            assert command.expires_after == node.step.expires_after
            assert command.iteration == state.visits[command.step] >= 1
        case Activate():
            node = program[command.step]
            assert isinstance(node.step, ActivateStep)
            assert command.step == state.step and state.awaiting is Awaiting.ACTIVATE
            assert command.trigger == node.step.activate.trigger
            assert command.attributes.keys() == node.step.activate.attributes.keys()
            assert command.iteration == state.visits[command.step] >= 1
        case CallWebhook():
            node = program[command.step]
            assert isinstance(node.step, WebhookStep)
            assert command.step == state.step and state.awaiting is Awaiting.WEBHOOK
            assert command.call == node.step.webhook
            assert command.iteration == state.visits[command.step] >= 1
        case Wait(until=until):
            assert state.awaiting is Awaiting.WAKE
            assert state.status in (RunStatus.WAITING, RunStatus.POSTPONED, RunStatus.PAUSED)
            if until is None:
                assert state.paused_at is not None, "a wait without end while not paused"
            else:
                assert until.tzinfo is not None and until > now, (until, now)
                assert until == state.wait_until
        case _:
            raise AssertionError(f"not a command: {command!r}")
    if not isinstance(command, Finish | Enter | LoadContact):
        assert state.entered and state.outcome is None
    if isinstance(command, Send | Activate | CallWebhook):
        # Steps never loop: once carried out (a postponed message is not), never again.
        assert command.step not in done, f"{command.step} carried out twice"


# -- the properties ----------------------------------------------------------------------


def without_start_condition(document: dict[str, Any]) -> dict[str, Any]:
    start = {key: value for key, value in document["start"].items() if key != "when"}
    return {**document, "start": start}


# A drawn start condition is mostly false for drawn attributes: most runs would end at the
# door. Two in three journeys let everyone in, so that their steps run.
runnable_journeys = st.tuples(journeys(), st.sampled_from([True, False, False])).map(
    lambda drawn: drawn[0] if drawn[1] else without_start_condition(drawn[0])
)


def definition_of(document: dict[str, Any]) -> JourneyDefinition:
    definition, problems = parse_definition(document)
    assert problems == [], problems
    assert isinstance(definition, JourneyDefinition)
    return definition


@PROPERTIES
@given(runnable_journeys, st.data())
def test_any_valid_journey_runs_to_its_end_without_raising(
    document: dict[str, Any], data: st.DataObject
) -> None:
    definition = definition_of(document)
    run = drive(definition, Tape(data.draw))
    assert isinstance(run.commands[-1], Finish)
    assert run.state is not None and run.state.status.finished


@PROPERTIES
@given(runnable_journeys, st.data())
def test_the_same_inputs_give_the_same_decisions(
    document: dict[str, Any], data: st.DataObject
) -> None:
    definition = definition_of(document)
    first = drive(definition, tape := Tape(data.draw))
    again = drive(definition_of(document), tape.replay())
    assert again.commands == first.commands
    assert again.receptions == first.receptions
    assert first.state is not None and again.state is not None
    assert again.state.model_dump() == first.state.model_dump()


@PROPERTIES
@given(runnable_journeys, st.data())
def test_continue_as_new_at_any_wait_changes_no_decision(
    document: dict[str, Any], data: st.DataObject
) -> None:
    definition = definition_of(document)
    straight = drive(definition, tape := Tape(data.draw))
    renewed = drive(definition, tape.replay(), continue_as_new=True)
    assert renewed.commands == straight.commands
    assert renewed.receptions == straight.receptions
    assert straight.state is not None and renewed.state is not None
    assert renewed.state.model_dump(mode="json") == straight.state.model_dump(mode="json")
