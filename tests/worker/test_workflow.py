"""JourneyWorkflow on a real Temporal dev server, with time skipping for long waits."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from journeys.cli.dev.temporal_server import temporal_binary
from journeys.definitions.documents import load_bundle
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.events import TriggerEvent
from journeys.engine.state import Outcome, RunStatus
from journeys.kit.signing import SIGNATURE_HEADER, verify
from journeys.messaging.tracking import Tokens
from journeys.store.db import transaction
from journeys.store.tables import DeliveryRow, EntryRow, RunEventRow
from journeys.temporal import names
from journeys.temporal.converter import data_converter
from journeys.temporal.messages import RunView
from journeys.temporal.runs import signal_run
from tests.sinks import HttpSink, SmtpSink, eventually, outcome_of
from tests.worker.harness import Harness, running_worker, unique
from tests.worker.run_shape import local_activities
from worker.workflows.journey import JourneyWorkflow

WORKFLOWS = load_bundle([Path(__file__).parents[2] / "workflows"])
JOURNEYS: dict[str, JourneyDefinition] = {j.id: j for j in WORKFLOWS.journeys}
WELCOME, CART = JOURNEYS["welcome"], JOURNEYS["cart-recovery"]


def new_contact(h: Harness, sms_consent: bool = True) -> tuple[str, str]:
    contact = unique("ada")
    email = f"{contact}@example.com"
    h.contact(
        contact,
        email=email,
        phone="+33612345678",
        first_name="Ada",
        consent={"email": True, "sms": sms_consent},
    )
    return contact, email


def opened_event(h: Harness, html: str) -> TriggerEvent:
    """The event the tracking pixel raises, built from the token in the email."""
    token = re.search(r"/t/o/([^\"]+)\"", html)
    assert token is not None
    read = Tokens(h.settings.signing_secret.get_secret_value()).read_open(token.group(1))
    assert read is not None and read.current
    ref = read.ref
    return TriggerEvent(
        event_id=unique("open"),
        trigger="email.opened",
        contact_id=ref.contact_id,
        occurred_at=datetime.now(UTC),
        attributes={"message_id": ref.message_id, "step": ref.step},
        instance_id=ref.instance_id,
    )


async def test_the_welcome_email_opened_continues_to_the_thanks_sms(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    contact, email = new_contact(h)
    with temporal_env.with_time_skipping_disabled():
        started, handle = await h.start(WELCOME, contact)
    assert started
    await eventually(lambda: smtp_sink.to(email))
    mail = smtp_sink.to(email)[0]
    assert mail["Subject"] == "Bienvenue Ada !"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n").startswith(
        "Bonjour Ada, merci de nous avoir rejoints.\n\n--\nUnsubscribe: http://journeys.test/u/"
    )
    assert mail["List-Unsubscribe"].startswith("<http://journeys.test/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "http://journeys.test/t/c/" in html  # links rewritten
    assert "https://shop.example.com/new" not in html

    assert await signal_run(temporal_env.client, handle.id, opened_event(h, html))
    outcome = await outcome_of(handle)

    assert outcome.status is RunStatus.COMPLETED
    [sms] = http_sink.posted_to("/sms")
    assert sms.json()["text"] == "Merci Ada, à très vite !"
    assert sms.json()["to"] == "+33612345678"
    assert verify("test-secret", sms.headers[SIGNATURE_HEADER], sms.body, time.time())
    view = await handle.query(names.STATE_QUERY, result_type=RunView)
    assert [(e.step, e.what) for e in view.history] == [
        ("welcome", "entered"),
        ("welcome", "sent"),
        ("opened", "waiting"),
        ("opened", "matched"),
        ("thanks", "sent"),
        (None, "completed"),
    ]
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(names.JOURNEY_ID) == "welcome"
    assert attributes.get(names.CONTACT_ID) == contact
    assert attributes.get(names.JOURNEY_VERSION) == 1
    assert attributes.get(names.JOURNEY_STATUS) == "completed"

    history = await handle.fetch_history()
    await Replayer(workflows=[JourneyWorkflow], data_converter=data_converter).replay_workflow(
        history
    )


async def test_a_three_day_window_times_out_to_the_reminder(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    contact, email = new_contact(h)
    _, handle = await h.start(WELCOME, contact)
    outcome: Outcome = await outcome_of(handle)
    view = await handle.query(names.STATE_QUERY, result_type=RunView)
    assert outcome.status is RunStatus.COMPLETED
    assert [m["Subject"] for m in smtp_sink.to(email)] == [
        "Bienvenue Ada !",
        "Ada, votre cadeau de bienvenue vous attend",
    ]
    assert http_sink.posted_to("/sms") == []
    timed_out = next(e for e in view.history if e.what == "timed_out")
    entered = next(e for e in view.history if e.what == "entered")
    assert (timed_out.at - entered.at).days == 3


async def test_the_temporal_ui_says_what_the_run_and_each_of_its_steps_is(
    h: Harness, temporal_env: WorkflowEnvironment
) -> None:
    """User metadata: the run's static summary, one for every activity, local activity and
    timer; and JourneyStep keeps the last step once the run has ended."""
    contact, _ = new_contact(h)
    _, handle = await h.start(WELCOME, contact)
    assert (await outcome_of(handle)).status is RunStatus.COMPLETED

    history = await handle.fetch_history()
    decode = data_converter.payload_converter.from_payload
    summaries = [
        (event.event_type, decode(event.user_metadata.summary, str))
        for event in history.events
        if event.user_metadata.HasField("summary")
    ]
    run = f"Welcome new contacts v1, contact {contact}"
    assert summaries == [
        (EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, run),
        (EventType.EVENT_TYPE_MARKER_RECORDED, "send_email welcome"),
        (EventType.EVENT_TYPE_MARKER_RECORDED, "record_run_events entries 0-2"),
        (EventType.EVENT_TYPE_TIMER_STARTED, "wait_for email.opened of welcome, P3D"),
        (EventType.EVENT_TYPE_MARKER_RECORDED, "send_email reminder"),
        (EventType.EVENT_TYPE_MARKER_RECORDED, "record_end completed, entries 3-5"),
    ]

    cli = await asyncio.create_subprocess_exec(
        temporal_binary(),
        "workflow",
        "describe",
        "--address",
        temporal_env.client.service_client.config.target_host,
        "--workflow-id",
        handle.id,
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await cli.communicate()
    assert cli.returncode == 0
    described = json.loads(out)
    assert described["executionConfig"]["userMetadata"]["summary"] == run
    fields = described["workflowExecutionInfo"]["searchAttributes"]["indexedFields"]
    assert json.loads(base64.b64decode(fields["JourneyStep"]["data"])) == "reminder"
    assert json.loads(base64.b64decode(fields["JourneyStatus"]["data"])) == "completed"


async def test_an_exit_trigger_ends_a_waiting_run(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    contact, email = new_contact(h)
    with temporal_env.with_time_skipping_disabled():
        _, handle = await h.start(CART, contact, {"cart_id": "k1", "total": 80})
        view = await handle.query(names.STATE_QUERY, result_type=RunView)
        while view.status is not RunStatus.WAITING:
            view = await handle.query(names.STATE_QUERY, result_type=RunView)
        assert view.step == "first-wait"
        order = TriggerEvent(
            event_id=unique("order"),
            trigger="order.placed",
            contact_id=contact,
            occurred_at=datetime.now(UTC),
            attributes={"order_id": "o1"},
        )
        assert await signal_run(temporal_env.client, handle.id, order)
        outcome = await outcome_of(handle)
    assert (outcome.status, outcome.reason) == (RunStatus.EXITED, "trigger:order.placed")
    assert smtp_sink.to(email) == []


async def test_refused_entries_are_decided_and_recorded_before_any_run_begins(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    contact, _ = new_contact(h)
    cart, _ = await h.start(CART, contact, {"cart_id": "k1", "total": 20})
    assert (cart.admitted, cart.reason, cart.workflow_id) == (False, "condition_false", None)

    first, handle = await h.start(WELCOME, contact)
    assert first.admitted
    assert (await outcome_of(handle)).status is RunStatus.COMPLETED
    second, _ = await h.start(WELCOME, contact)
    assert second.reason == "reentry_blocked"

    with transaction(h.engine) as session:
        ledger = session.exec(select(EntryRow).where(EntryRow.contact_id == contact)).all()
    assert sorted((e.journey_id, e.admitted, e.reason) for e in ledger) == [
        ("cart-recovery", False, "condition_false"),
        ("welcome", False, "reentry_blocked"),
        ("welcome", True, None),
    ]


async def test_a_start_for_a_contact_inside_is_refused_and_leaves_the_run_alone(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    contact, email = new_contact(h)
    with temporal_env.with_time_skipping_disabled():
        first, handle = await h.start(WELCOME, contact)
        again, _ = await h.start(WELCOME, contact)
        await eventually(lambda: smtp_sink.to(email))
        assert first.admitted
        assert (again.reason, again.workflow_id) == ("already_in_journey", None)
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        await handle.terminate("test over")
    assert len(smtp_sink.to(email)) == 1


async def test_a_run_begun_by_the_previous_release_still_asks_the_ledger(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    """Runs in flight across the upgrade were started without an entry: they decide their
    own, as they did."""
    contact, _ = new_contact(h)
    handle = await h.start_unadmitted(CART, contact)  # total missing: the condition is false
    assert (await outcome_of(handle)).reason == "condition_false"
    with transaction(h.engine) as session:
        entry = session.exec(select(EntryRow).where(EntryRow.contact_id == contact)).one()
    assert (entry.admitted, entry.reason) == (False, "condition_false")
    assert entry.workflow_id == handle.id


async def test_without_sms_consent_the_message_is_blocked_and_the_journey_goes_on(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    contact, email = new_contact(h, sms_consent=False)
    with temporal_env.with_time_skipping_disabled():
        _, handle = await h.start(WELCOME, contact)
        await eventually(lambda: smtp_sink.to(email))
        html = smtp_sink.to(email)[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
        await signal_run(temporal_env.client, handle.id, opened_event(h, html))
        outcome = await outcome_of(handle)
    with transaction(h.engine) as session:
        rows = session.exec(select(DeliveryRow).where(DeliveryRow.contact_id == contact)).all()
    assert outcome.status is RunStatus.COMPLETED
    assert http_sink.requests == []
    assert sorted((r.step, r.status, r.reason) for r in rows) == [
        ("thanks", "blocked", "no_consent"),
        ("welcome", "sent", None),
    ]


async def test_an_sms_provider_outage_is_retried_and_delivered_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    """Two refusals: the send's local attempts retry it (the third goes through), and the
    delivery ledger lets no attempt send what another sent."""
    http_sink.failures_left = 2
    async with running_worker(temporal_env, tmp_path, smtp_sink, http_sink) as h:
        contact, email = new_contact(h)
        with temporal_env.with_time_skipping_disabled():
            _, handle = await h.start(WELCOME, contact)
            await eventually(lambda: smtp_sink.to(email))
            html = smtp_sink.to(email)[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
            await signal_run(temporal_env.client, handle.id, opened_event(h, html))
            outcome = await outcome_of(handle)
    assert outcome.status is RunStatus.COMPLETED
    assert http_sink.failures_left == 0
    assert len(http_sink.posted_to("/sms")) == 1
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    history = await handle.fetch_history()
    assert scheduled_activities(history) == []  # no send left the worker's own retries
    assert "send_sms" in local_activities(history)


async def test_continue_as_new_carries_the_run_over_whole(
    tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    """A server that suggests continue-as-new after a few events: the run keeps its wait,
    its seen event ids and its instance id (the ledger's entry, which the open pixel of the first
    email names)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=40",
        ],
        search_attributes=names.SEARCH_ATTRIBUTES,
        data_converter=data_converter,
    )
    try:
        async with running_worker(env, tmp_path, smtp_sink, http_sink) as h:
            contact, email = new_contact(h)
            entry, handle = await h.start(WELCOME, contact)
            await eventually(lambda: smtp_sink.to(email))
            first_run = (await handle.describe()).run_id
            noise = [
                TriggerEvent(
                    event_id=f"noise-{i}",
                    trigger="email.opened",
                    contact_id=contact,
                    occurred_at=datetime.now(UTC),
                    attributes={"message_id": "elsewhere", "step": "not-this-one"},
                )
                for i in range(30)
            ]
            for event in noise + noise[:5]:  # the repeats are de-duplicated across runs
                await signal_run(env.client, handle.id, event)
            html = smtp_sink.to(email)[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
            await signal_run(env.client, handle.id, opened_event(h, html))
            outcome = await outcome_of(handle)
            view = await handle.query(names.STATE_QUERY, result_type=RunView)
            last_run = (await handle.describe()).run_id
    finally:
        await env.shutdown()
    assert outcome.status is RunStatus.COMPLETED
    assert last_run != first_run  # it did continue as new
    assert view.instance_id == entry.instance_id
    assert len(http_sink.posted_to("/sms")) == 1
    assert [e.what for e in view.history].count("sent") == 2


async def test_an_smtp_outage_is_retried_and_the_email_goes_out_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path, http_sink: HttpSink
) -> None:
    """SMTP down for longer than the send's local attempts: the send becomes an ordinary
    activity, retried by the server, and goes out once when SMTP is back."""
    smtp = SmtpSink()  # not listening yet: the server is "down"
    try:
        async with running_worker(temporal_env, tmp_path, smtp, http_sink) as h:
            contact, email = new_contact(h)
            with temporal_env.with_time_skipping_disabled():
                _, handle = await h.start(WELCOME, contact)

                def pending() -> bool:
                    with transaction(h.engine) as session:
                        rows = session.exec(
                            select(DeliveryRow).where(DeliveryRow.contact_id == contact)
                        ).all()
                    return [r.status for r in rows] == ["pending"]

                await eventually(pending)  # written before the provider was tried
                await eventually(lambda: _retried(handle), within=20)
                smtp.start()
                await eventually(lambda: smtp.to(email))
                await eventually(lambda: not pending())
                await handle.terminate("test over")
    finally:
        smtp.stop()
    assert len(smtp.to(email)) == 1
    assert scheduled_activities(await handle.fetch_history()) == ["send_email"]


def scheduled_activities(history: WorkflowHistory) -> list[str]:
    """The ordinary activities a run scheduled (through the task queue), by type."""
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]


async def _retried(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the pending send activity has been tried more than once already."""
    description = await handle.describe()
    return any(a.attempt >= 2 for a in description.raw_description.pending_activities)


async def test_a_store_away_for_long_is_left_to_the_servers_retries_not_the_history(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    """A store-only call runs as a local activity, whose retries keep a workflow task open
    and add events to the history: after five attempts it is handed to an ordinary activity, and
    the call succeeds once the store is back, the run's history short."""
    contact, email = new_contact(h)
    with temporal_env.with_time_skipping_disabled():
        entry, handle = await h.start(WELCOME, contact)
        with h.engine.begin() as connection:  # the store is away for the run's events
            connection.exec_driver_sql("ALTER TABLE run_events RENAME TO run_events_away")
        try:

            async def handed_over() -> bool:
                return any(
                    event.HasField("activity_task_scheduled_event_attributes")
                    and event.activity_task_scheduled_event_attributes.activity_type.name
                    == "record_run_events"
                    for event in (await handle.fetch_history()).events
                )

            await eventually(handed_over, within=60)
        finally:
            with h.engine.begin() as connection:
                connection.exec_driver_sql("ALTER TABLE run_events_away RENAME TO run_events")

        def recorded() -> bool:
            with transaction(h.engine) as session:
                return bool(
                    session.exec(
                        select(RunEventRow).where(RunEventRow.instance_id == entry.instance_id)
                    ).all()
                )

        await eventually(recorded, within=120)
        await handle.terminate("test over")
    assert smtp_sink.to(email)
    history = await handle.fetch_history()
    # A few local retries, then the server's: tens of events, not thousands.
    assert len(history.events) < 100, len(history.events)
    await Replayer(workflows=[JourneyWorkflow], data_converter=data_converter).replay_workflow(
        history
    )


def inline(text: str) -> JourneyDefinition:
    return JourneyDefinition.model_validate(yaml.safe_load(text))


DATED = inline(
    """
kind: Journey
id: dated
name: A day before the visit
start: {trigger: visit.booked}
reentry: always
steps:
  - {id: eve, wait: {until: {from: trigger.visit_at}, offset: -P1D}}
  - {id: remind, email: {subject: "Tomorrow", text: "See you tomorrow."}}
"""
)


async def test_a_date_wait_waits_for_the_date_of_the_data_and_says_why_it_did_not(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    """Time skipping: the future visit's run sleeps to a day before it, then reminds; a past
    date, a missing one and an unreadable one go on at once, each saying why."""
    now = datetime.now(UTC)
    cases = {
        "future": {"visit_at": (now + timedelta(days=10)).isoformat()},
        "past": {"visit_at": (now - timedelta(days=1)).isoformat()},
        "missing": {},
        "unreadable": {"visit_at": "next tuesday"},
    }
    outcomes = {}
    for case, attributes in cases.items():
        contact, _ = new_contact(h)
        _, handle = await h.start(DATED, contact, attributes)
        outcome = await outcome_of(handle)
        view = await handle.query(names.STATE_QUERY, result_type=RunView)
        waited = next(e for e in view.history if e.step == "eve" and e.what == "waited")
        outcomes[case] = (outcome.status, waited.detail, view.history[-1].at - view.history[0].at)
    assert outcomes["future"][0] is RunStatus.COMPLETED
    assert outcomes["future"][1] is None
    assert outcomes["future"][2] >= timedelta(days=8, hours=23)  # slept, on Temporal's clock
    assert outcomes["past"][1] is not None and outcomes["past"][1].endswith("is past")
    assert outcomes["missing"][1] == "no wait: no date at trigger.visit_at"
    assert outcomes["unreadable"][1] == (
        "no wait: trigger.visit_at is not a date-time: 'next tuesday'"
    )
    for case in ("past", "missing", "unreadable"):
        assert outcomes[case][2] < timedelta(hours=1)


UNSENT = inline(
    """
kind: Journey
id: unsent
name: Blocked and failed messages are interactions of the run
start: {trigger: visit.booked}
reentry: always
steps:
  - {id: hello, email: {subject: "Hello", text: "Hello."}}
  - id: blocked
    wait_for: {trigger: email.blocked, of: hello, within: PT1H}
    then: [{id: blocked-then, exit: "blocked"}]
  - {id: text, sms: {text: "Hi"}}
  - id: failed
    wait_for: {trigger: sms.failed, of: text, within: PT1H}
    then: [{id: failed-then, exit: "failed"}]
"""
)


async def test_a_blocked_or_failed_message_is_an_interaction_a_wait_for_can_match(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    withdrawn = unique("ada")
    h.contact(withdrawn, email=f"{withdrawn}@example.com", consent={"email": False})
    _, blocked = await h.start(UNSENT, withdrawn)
    assert (await outcome_of(blocked)).reason == "blocked"
    view = await blocked.query(names.STATE_QUERY, result_type=RunView)
    matched = next(e for e in view.history if e.what == "matched")
    assert matched.detail is not None and matched.detail.startswith("email.blocked")

    refused = unique("bob")  # the SMS provider refuses the message for good (a 4xx)
    h.contact(refused, email=f"{refused}@example.com", phone="+33612345679", consent={"sms": True})
    http_sink.statuses["/sms"] = 400
    _, failed = await h.start(UNSENT, refused)
    assert (await outcome_of(failed)).reason == "failed"
    view = await failed.query(names.STATE_QUERY, result_type=RunView)
    matched = next(e for e in view.history if e.what == "matched")
    assert matched.detail is not None and matched.detail.startswith("sms.failed")
