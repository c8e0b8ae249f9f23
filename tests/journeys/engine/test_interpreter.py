"""The semantics of journeys, driven straight through the pure interpreter."""

from datetime import timedelta

import pytest

from journeys.engine.commands import (
    ContactLoaded,
    Enter,
    EntryDecided,
    Finish,
    LoadContact,
    Send,
    SendSettled,
    SendStatus,
    Wait,
    Woke,
)
from journeys.engine.entry import reentry_refusal
from journeys.engine.interpreter import Interpreter, Reception
from journeys.engine.program import compile_journey
from journeys.engine.state import RunStatus
from tests.journeys.builders import T0, event, journey

WELCOME = journey("""
id: welcome
name: Welcome
start: {trigger: contact.created}
exit: [{trigger: order.placed}]
steps:
  - {id: welcome, email: {subject: Hi, text: Hello}}
  - id: opened
    wait_for: {trigger: email.opened, of: welcome, within: P3D}
    then: [{id: thanks, sms: {text: Thanks}}]
    else: [{id: reminder, email: {subject: Reminder, text: Psst}}]
  - {id: bye, push: {title: Bye, body: See you}}
""")


def begin(definition=WELCOME, attributes=None) -> Interpreter:  # type: ignore[no-untyped-def]
    start = event(definition.start.trigger, "e-start", attributes=attributes)
    return Interpreter.begin(
        compile_journey(definition), version=1, instance_id="run-1", start=start
    )


def enter(run: Interpreter) -> Send | Wait | Finish:
    assert run.resume(T0) == Enter(refusal=None)
    command = run.resume(T0, EntryDecided(admitted=True))
    assert isinstance(command, Send | Wait | Finish)
    return command


def opened(event_id: str = "e-open", instance_id: str = "run-1", step: str = "welcome"):  # type: ignore[no-untyped-def]
    return event(
        "email.opened",
        event_id,
        attributes={"message_id": "m1", "step": step},
        instance_id=instance_id,
    )


def test_enters_sends_and_waits_for_the_open() -> None:
    run = begin()
    command = enter(run)
    assert isinstance(command, Send)
    assert (command.step, command.channel, command.iteration) == ("welcome", "email", 1)
    wait = run.resume(T0, SendSettled(SendStatus.SENT, "m1"))
    assert wait == Wait(T0 + timedelta(days=3))
    assert run.state.status is RunStatus.WAITING


def test_wait_for_satisfied_takes_then_and_branches_rejoin() -> None:
    run = begin()
    enter(run)
    run.resume(T0, SendSettled(SendStatus.SENT, "m1"))
    assert not run.can_resume()
    assert run.receive(opened(), T0 + timedelta(hours=5)) is Reception.BUFFERED
    assert run.can_resume()
    thanks = run.resume(T0 + timedelta(hours=5), Woke())
    assert isinstance(thanks, Send) and thanks.step == "thanks"
    bye = run.resume(T0 + timedelta(hours=5), SendSettled(SendStatus.SENT, "m2"))
    assert isinstance(bye, Send) and bye.step == "bye"
    done = run.resume(T0 + timedelta(hours=5), SendSettled(SendStatus.SENT, "m3"))
    assert isinstance(done, Finish) and done.outcome.status is RunStatus.COMPLETED
    assert run.state.event == {"message_id": "m1", "step": "welcome"}


def test_wait_for_timed_out_takes_else() -> None:
    run = begin()
    enter(run)
    run.resume(T0, SendSettled(SendStatus.SENT, "m1"))
    reminder = run.resume(T0 + timedelta(days=3), Woke())
    assert isinstance(reminder, Send) and reminder.step == "reminder"
    assert [h.what for h in run.state.history][-1] == "timed_out"


def test_an_event_that_came_before_the_wait_began_still_counts() -> None:
    run = begin()
    enter(run)
    # The open arrives while the send activity is still settling.
    assert run.receive(opened(), T0) is Reception.BUFFERED
    thanks = run.resume(T0, SendSettled(SendStatus.SENT, "m1"))
    assert isinstance(thanks, Send) and thanks.step == "thanks"


def test_an_early_event_outside_the_window_does_not_count() -> None:
    definition = journey("""
id: j
name: J
start: {trigger: contact.created}
steps:
  - {id: first, wait: P10D}
  - {id: ordered, wait_for: {trigger: order.placed, within: P1D}, then: [{id: yes, exit: bought}]}
""")
    run = begin(definition)
    assert enter(run) == Wait(T0 + timedelta(days=10))
    run.receive(event("order.placed", "o1"), T0 + timedelta(days=1))
    wait = run.resume(T0 + timedelta(days=10), Woke())
    assert wait == Wait(T0 + timedelta(days=11))
    run.receive(event("order.placed", "o2"), T0 + timedelta(days=10, hours=2))
    assert run.can_resume()
    finish = run.resume(T0 + timedelta(days=10, hours=2), Woke())
    assert isinstance(finish, Finish)
    assert (finish.outcome.status, finish.outcome.reason) == (RunStatus.EXITED, "bought")


def test_an_interaction_for_another_run_is_ignored() -> None:
    run = begin()
    enter(run)
    run.resume(T0, SendSettled(SendStatus.SENT, "m1"))
    assert run.receive(opened(instance_id="an-older-run"), T0) is Reception.IGNORED
    assert run.receive(opened(event_id="e2", step="reminder"), T0) is Reception.BUFFERED
    assert not run.can_resume()  # an open of another step does not satisfy the wait


def test_an_exit_trigger_interrupts_a_wait_at_once() -> None:
    run = begin()
    enter(run)
    run.resume(T0, SendSettled(SendStatus.SENT, "m1"))
    assert run.receive(event("order.placed", "o1"), T0 + timedelta(hours=1)) is Reception.EXIT
    assert run.can_resume()
    finish = run.resume(T0 + timedelta(hours=1), Woke())
    assert isinstance(finish, Finish)
    assert (finish.outcome.status, finish.outcome.reason) == (
        RunStatus.EXITED,
        "trigger:order.placed",
    )


def test_an_exit_during_a_send_stops_before_the_next_send() -> None:
    run = begin()
    enter(run)
    run.receive(event("order.placed", "o1"), T0)
    finish = run.resume(T0, SendSettled(SendStatus.SENT, "m1"))
    assert isinstance(finish, Finish) and finish.outcome.status is RunStatus.EXITED


def test_exit_conditions_look_at_the_exit_event() -> None:
    definition = journey("""
id: j
name: J
start: {trigger: contact.created}
exit: [{trigger: order.placed, when: {attr: event.amount, op: gt, value: 0}}]
steps: [{id: w, wait: P1D}]
""")
    run = begin(definition)
    enter(run)
    assert (
        run.receive(event("order.placed", "o1", attributes={"amount": 0}), T0) is Reception.IGNORED
    )
    assert run.receive(event("order.placed", "o2", attributes={"amount": 5}), T0) is Reception.EXIT


def test_duplicate_event_ids_act_once() -> None:
    run = begin()
    enter(run)
    assert run.receive(opened(), T0) is Reception.BUFFERED
    assert run.receive(opened(), T0) is Reception.DUPLICATE
    assert run.receive(event("contact.created", "e-start"), T0) is Reception.DUPLICATE
    assert len(run.state.buffer) == 1


@pytest.mark.parametrize(("total", "refusal"), [(80, None), (20, "condition_false")])
def test_start_condition(total: int, refusal: str | None) -> None:
    definition = journey("""
id: cart
name: Cart
start: {trigger: cart.abandoned, when: {attr: trigger.total, op: gte, value: 50}}
steps: [{id: w, wait: PT1H}]
""")
    run = begin(definition, attributes={"total": total})
    assert run.resume(T0) == Enter(refusal=refusal)
    if refusal:
        finish = run.resume(T0, EntryDecided(admitted=False, reason=refusal))
        assert isinstance(finish, Finish)
        assert (finish.outcome.status, finish.outcome.reason) == (RunStatus.REFUSED, refusal)


def test_a_start_condition_on_the_contact_reads_the_contact_first() -> None:
    definition = journey("""
id: fr
name: FR
start: {trigger: contact.created, when: {attr: contact.country, op: eq, value: FR}}
steps: [{id: w, wait: PT1H}]
""")
    run = begin(definition)
    assert run.resume(T0) == LoadContact()
    assert run.resume(T0, ContactLoaded({"country": "DE"})) == Enter(refusal="condition_false")


def test_a_blocked_message_is_recorded_and_the_journey_goes_on() -> None:
    run = begin()
    enter(run)
    wait = run.resume(T0, SendSettled(SendStatus.BLOCKED, "m1", "no_consent"))
    assert isinstance(wait, Wait)
    assert ("blocked", "m1 no_consent") in [(h.what, h.detail) for h in run.state.history]


def test_a_refused_entry_finishes_the_run() -> None:
    run = begin()
    run.resume(T0)
    finish = run.resume(T0, EntryDecided(admitted=False, reason="reentry_blocked"))
    assert isinstance(finish, Finish) and finish.outcome.reason == "reentry_blocked"
    assert run.receive(event("order.placed", "o9"), T0) is Reception.IGNORED


def test_an_observation_for_another_command_is_refused() -> None:
    run = begin()
    run.resume(T0)
    with pytest.raises(ValueError, match="while awaiting entry"):
        run.resume(T0, Woke())


@pytest.mark.parametrize(
    ("rule", "last", "now", "refused"),
    [
        ("never", None, T0, False),
        ("never", T0, T0 + timedelta(days=999), True),
        ("always", T0, T0, False),
        ({"after": "P7D"}, T0, T0 + timedelta(days=6), True),
        ({"after": "P7D"}, T0, T0 + timedelta(days=7), False),
    ],
)
def test_reentry(rule, last, now, refused) -> None:  # type: ignore[no-untyped-def]
    definition = journey(f"""
id: j
name: J
start: {{trigger: contact.created}}
reentry: {rule if isinstance(rule, str) else "{after: P7D}"}
steps: [{{id: w, wait: PT1H}}]
""")
    assert (reentry_refusal(definition.reentry, last, now) is not None) is refused
