"""Semantics of every step kind, through the pure interpreter."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from journeys.definitions.journeys import JourneyDefinition, Weekday
from journeys.engine.clock import next_time_of_day, zone
from journeys.engine.commands import (
    Activate,
    Activated,
    CallWebhook,
    ContactLoaded,
    Enter,
    EntryDecided,
    Finish,
    LoadContact,
    Send,
    SendSettled,
    SendStatus,
    Wait,
    WebhookAnswered,
    Woke,
)
from journeys.engine.interpreter import Interpreter, Reception, split_bucket
from journeys.engine.program import compile_journey
from journeys.engine.state import RunStatus
from tests.journeys.builders import T0, event, journey


def run(
    definition: JourneyDefinition, contact_id: str = "c1", attributes: dict | None = None
) -> Interpreter:
    start = event(definition.start.trigger, "start", contact_id=contact_id, attributes=attributes)
    interpreter = Interpreter.begin(
        compile_journey(definition), version=1, instance_id="i1", start=start
    )
    assert isinstance(interpreter.resume(T0), Enter)
    return interpreter


def admit(interpreter: Interpreter, now: datetime = T0):  # type: ignore[no-untyped-def]
    return interpreter.resume(now, EntryDecided(admitted=True))


def steps_sent(interpreter: Interpreter) -> list[str]:
    return [h.step for h in interpreter.state.history if h.what == "sent"]  # type: ignore[misc]


BRANCH = journey("""
id: tiers
name: Tiers
start: {trigger: order.placed}
steps:
  - id: tier
    branch:
      - name: big
        when: {attr: trigger.amount, op: gte, value: 500}
        steps: [{id: vip, email: {subject: VIP, text: x}}]
      - name: french
        when: {attr: contact.country, op: eq, value: FR}
        steps: [{id: merci, sms: {text: Merci}}]
    otherwise: [{id: thanks, email: {subject: Thanks, text: x}}]
  - {id: after, push: {title: After, body: all arms rejoin here}}
""")


@pytest.mark.parametrize(
    ("amount", "country", "path"),
    [
        (900, "DE", ["vip", "after"]),
        (10, "FR", ["merci", "after"]),
        (10, "DE", ["thanks", "after"]),
    ],
)
def test_branch_first_match_wins_then_rejoins(amount: int, country: str, path: list[str]) -> None:
    interpreter = run(BRANCH, attributes={"amount": amount})
    assert admit(interpreter) == LoadContact()  # an arm reads contact.*
    command = interpreter.resume(T0, ContactLoaded({"country": country}))
    sent = []
    while isinstance(command, Send):
        sent.append(command.step)
        command = interpreter.resume(T0, SendSettled(SendStatus.SENT, "m"))
    assert sent == path
    assert isinstance(command, Finish)
    decision = next(h.detail for h in interpreter.state.history if h.what == "branched")
    assert (
        decision
        == {"vip": "arm 1 (big)", "merci": "arm 2 (french)", "thanks": "otherwise"}[path[0]]
    )


SPLIT = journey("""
id: ab
name: AB
start: {trigger: contact.created}
steps:
  - id: test
    split:
      - {name: a, percent: 45, steps: [{id: a-mail, email: {subject: A, text: x}}]}
      - {name: b, percent: 45, steps: [{id: b-mail, email: {subject: B, text: x}}]}
      - {name: holdout, percent: 10}
""")


def test_split_is_deterministic_and_follows_the_percentages() -> None:
    arms = Counter()
    for n in range(4000):
        interpreter = run(SPLIT, contact_id=f"contact-{n}")
        command = admit(interpreter)
        arms[command.step if isinstance(command, Send) else "holdout"] += 1
        again = run(SPLIT, contact_id=f"contact-{n}")  # a replay or a re-entry
        assert admit(again) == command
    shares = {arm: count / 4000 for arm, count in arms.items()}
    assert shares.keys() == {"a-mail", "b-mail", "holdout"}
    assert abs(shares["a-mail"] - 0.45) < 0.03
    assert abs(shares["b-mail"] - 0.45) < 0.03
    assert abs(shares["holdout"] - 0.10) < 0.02
    assert split_bucket("ab", "test", "contact-1") == split_bucket("ab", "test", "contact-1")


def test_wait_until_a_date_and_until_a_time_of_day_in_the_contacts_zone() -> None:
    definition = journey("""
id: morning
name: Morning
timezone: Europe/Paris
start: {trigger: contact.created}
steps:
  - {id: sale, wait: {until: "2026-01-10T08:00:00Z"}}
  - {id: nine, wait: {until_time: "09:00", days: [mon, tue, wed, thu, fri]}}
  - {id: hello, email: {subject: Hi, text: x}}
""")
    interpreter = run(definition)
    assert admit(interpreter) == Wait(datetime(2026, 1, 10, 8, tzinfo=UTC))
    # Saturday 10 January, 08:00 UTC: the next weekday 09:00 in New York is Monday 14:00 UTC.
    saturday = datetime(2026, 1, 10, 8, tzinfo=UTC)
    assert interpreter.resume(saturday, Woke()) == LoadContact()
    wait = interpreter.resume(saturday, ContactLoaded({"timezone": "America/New_York"}))
    assert wait == Wait(datetime(2026, 1, 12, 14, tzinfo=UTC))


def test_a_time_of_day_falls_back_to_the_journeys_zone() -> None:
    now = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # a Monday
    paris = zone("Not/AZone", "Europe/Paris")
    assert next_time_of_day(now, "09:00", [Weekday.MON], paris) == datetime(
        2026, 3, 2, 8, tzinfo=UTC
    )
    assert next_time_of_day(now, "08:00", [Weekday.MON], paris) == datetime(
        2026, 3, 9, 7, tzinfo=UTC
    )


ANY = journey("""
id: any
name: Any
start: {trigger: contact.created}
steps:
  - {id: offer, email: {subject: Offer, text: x}}
  - id: react
    wait_for:
      any:
        - {trigger: email.link_clicked, of: offer}
        - {trigger: order.placed, when: {attr: event.amount, op: gt, value: 0}}
      within: P2D
    then:
      - id: which
        branch:
          - {when: {attr: event.order_id, op: exists}, steps: [{id: bought, exit: bought}]}
        otherwise: [{id: clicked, exit: clicked}]
""")


@pytest.mark.parametrize(
    ("incoming", "reason"),
    [
        (event("order.placed", "o", attributes={"order_id": "1", "amount": 5}), "bought"),
        (
            event(
                "email.link_clicked",
                "k",
                attributes={"step": "offer", "message_id": "m"},
                instance_id="i1",
            ),
            "clicked",
        ),
    ],
)
def test_wait_for_any_and_the_event_is_available_afterwards(incoming, reason) -> None:  # type: ignore[no-untyped-def]
    interpreter = run(ANY)
    admit(interpreter)
    interpreter.resume(T0, SendSettled(SendStatus.SENT, "m"))
    ignored = event("order.placed", "zero", attributes={"order_id": "0", "amount": 0})
    interpreter.receive(ignored, T0)
    assert not interpreter.can_resume()
    interpreter.receive(incoming, T0 + timedelta(hours=1))
    finish = interpreter.resume(T0 + timedelta(hours=1), Woke())
    assert isinstance(finish, Finish)
    assert finish.outcome.reason == reason


def test_activate_takes_values_from_the_run() -> None:
    definition = journey("""
id: loyal
name: Loyal
start: {trigger: order.placed}
steps:
  - id: tell
    activate:
      trigger: loyalty.earned
      attributes: {points: 10, order: {from: trigger.order_id}, email: {from: contact.email}}
""")
    interpreter = run(definition, attributes={"order_id": "o-7"})
    assert admit(interpreter) == LoadContact()
    command = interpreter.resume(T0, ContactLoaded({"email": "a@b.c"}))
    assert command == Activate(
        "tell", 1, "loyalty.earned", {"points": 10, "order": "o-7", "email": "a@b.c"}
    )
    finish = interpreter.resume(T0, Activated(started=["rewards"]))
    assert isinstance(finish, Finish)
    assert ("activated", "started ['rewards'], signaled []") in [
        (h.what, h.detail) for h in interpreter.state.history
    ]


def test_a_webhook_answer_is_response_for_later_branches() -> None:
    definition = journey("""
id: score
name: Score
start: {trigger: contact.created}
steps:
  - {id: ask, webhook: {url: "https://scoring.example.com/score"}}
  - id: route
    branch: [{when: {attr: response.score, op: gte, value: 80}, steps: [{id: hot, exit: hot}]}]
    otherwise: [{id: cold, exit: cold}]
""")
    hot = run(definition)
    assert isinstance(admit(hot), CallWebhook)
    finish = hot.resume(T0, WebhookAnswered(200, {"score": 91}))
    assert isinstance(finish, Finish)
    assert finish.outcome.reason == "hot"
    failed = run(definition)
    admit(failed)
    finish = failed.resume(T0, WebhookAnswered(None, {}, "no answer"))
    assert isinstance(finish, Finish)
    assert finish.outcome.reason == "cold"


def test_pause_freezes_the_wait_and_keeps_events() -> None:
    definition = journey("""
id: p
name: P
start: {trigger: contact.created}
steps:
  - {id: hello, email: {subject: Hi, text: x}}
  - {id: opened, wait_for: {trigger: email.opened, of: hello, within: P1D}, then: [{id: yes, exit: opened}]}
""")
    interpreter = run(definition)
    admit(interpreter)
    assert interpreter.resume(T0, SendSettled(SendStatus.SENT, "m")) == Wait(T0 + timedelta(days=1))
    interpreter.pause(T0 + timedelta(hours=2))
    assert interpreter.state.status is RunStatus.PAUSED
    opened = event(
        "email.opened", "o", attributes={"step": "hello", "message_id": "m"}, instance_id="i1"
    )
    assert interpreter.receive(opened, T0 + timedelta(hours=3)) is Reception.BUFFERED
    assert not interpreter.can_resume()  # frozen: the open waits for the resume
    # The timer fires while paused: nothing happens.
    assert interpreter.resume(T0 + timedelta(days=1), Woke()) == Wait(None)
    interpreter.unpause(T0 + timedelta(days=5))
    assert interpreter.can_resume()
    finish = interpreter.resume(T0 + timedelta(days=5), Woke())
    assert isinstance(finish, Finish)
    assert finish.outcome.reason == "opened"


def test_a_paused_wait_resumes_with_its_remaining_time() -> None:
    definition = journey(
        "id: w\nname: W\nstart: {trigger: contact.created}\nsteps: [{id: w, wait: PT10H}]"
    )
    interpreter = run(definition)
    assert admit(interpreter) == Wait(T0 + timedelta(hours=10))
    interpreter.pause(T0 + timedelta(hours=4))
    interpreter.unpause(T0 + timedelta(hours=24))
    assert interpreter.resume(T0 + timedelta(hours=24), Woke()) == Wait(T0 + timedelta(hours=30))


def test_a_goal_is_recorded_once_without_changing_the_path() -> None:
    definition = journey("""
id: g
name: G
start: {trigger: contact.created}
goal: {trigger: order.placed, when: {attr: event.amount, op: gt, value: 0}}
steps: [{id: w, wait: P2D}]
""")
    interpreter = run(definition)
    admit(interpreter)
    assert (
        interpreter.receive(event("order.placed", "o1", attributes={"amount": 0}), T0)
        is Reception.IGNORED
    )
    assert (
        interpreter.receive(event("order.placed", "o2", attributes={"amount": 9}), T0)
        is Reception.GOAL
    )
    assert (
        interpreter.receive(event("order.placed", "o3", attributes={"amount": 9}), T0)
        is Reception.IGNORED
    )
    assert interpreter.state.goal_reached_at == T0
    assert not interpreter.can_resume()  # the run goes on


def test_a_postponed_message_goes_again_when_the_quiet_time_ends() -> None:
    definition = journey(
        "id: q\nname: Q\nstart: {trigger: contact.created}\nsteps: [{id: hi, sms: {text: hi}}]"
    )
    interpreter = run(definition)
    first = admit(interpreter)
    assert isinstance(first, Send)
    until = T0 + timedelta(hours=10)
    assert interpreter.resume(
        T0, SendSettled(SendStatus.POSTPONED, "m", "quiet_time", until)
    ) == Wait(until)
    assert interpreter.state.status is RunStatus.POSTPONED
    again = interpreter.resume(until, Woke())
    assert again == first  # the same step and iteration: the same delivery row
    finish = interpreter.resume(until, SendSettled(SendStatus.SENT, "m"))
    assert isinstance(finish, Finish)
