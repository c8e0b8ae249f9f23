"""Channels end to end through the gateway, the worker and Temporal: provider receipts,
bounces and suppression, unsubscribe, SMS replies and STOP, short SMS links, push opens,
frequency caps across journeys, quiet times, forged webhooks; Twilio's own posts, signed
with the `twilio` library's RequestValidator and answered with TwiML."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from journeys.store.db import transaction
from journeys.store.suppressions import is_suppressed
from journeys.store.tables import ContactRow, DeliveryRow, SuppressionRow
from tests.api.stack import Stack
from tests.api.test_authoring import contact, publish
from tests.sinks import HttpSink, SmtpSink, eventually, outcome_of
from tests.worker.harness import unique

REPLY = """
kind: Journey
id: reply
name: Reply
start: {trigger: contact.created}
steps:
  - {id: ask, sms: {text: "Answer YES for a gift: https://shop.example.com/gift?x=1"}}
  - id: answered
    wait_for: {trigger: sms.replied, of: ask, when: {attr: event.text, op: eq, value: "YES"}, within: P1D}
    then: [{id: yes, exit: said-yes}]
"""


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    await stack.apply_workflows()
    return stack


def deliveries(stack: Stack, contact_id: str) -> list[DeliveryRow]:
    with transaction(stack.harness.engine) as session:
        return list(
            session.exec(select(DeliveryRow).where(DeliveryRow.contact_id == contact_id)).all()
        )


async def test_a_hard_bounce_suppresses_the_address_and_raises_email_bounced(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    await publish(
        stack,
        """
kind: Journey
id: bounce
name: Bounce
start: {trigger: contact.created}
reentry: always
steps:
  - {id: hello, email: {subject: Hello, text: x}}
  - {id: back, wait_for: {trigger: email.bounced, of: hello, within: P1D}, then: [{id: bounced, exit: bounced}]}
""",
    )
    contact_id = await contact(stack)
    with temporal_env.with_time_skipping_disabled():
        await stack.fire("contact.created", contact_id=contact_id)

        # The sample welcome journey writes to the same contact: take this journey's email.
        def hello() -> list:  # type: ignore[type-arg]
            return [m for m in smtp_sink.to(f"{contact_id}@example.com") if m["Subject"] == "Hello"]

        await eventually(hello)
        message_id = hello()[0]["X-Journeys-Message-Id"]
        events = [
            {"message_id": message_id, "event": "delivered"},
            {
                "message_id": message_id,
                "event": "bounced",
                "bounce_type": "hard",
                "provider": "ses",
            },
            {"message_id": "someone-elses", "event": "delivered"},
        ]
        answer = await stack.api.post("/v1/channels/email/events", json=events)
        assert (answer.status_code, answer.json()) == (
            202,
            {"accepted": 2, "ignored": 1, "action": None},
        )
        again = await stack.api.post("/v1/channels/email/events", json=events[1])
        assert again.json()["accepted"] == 1  # idempotent: the run sees the event once
        outcome = await outcome_of(
            temporal_env.client.get_workflow_handle(f"journey/bounce/{contact_id}")
        )
    assert outcome["reason"] == "bounced"
    [row] = [d for d in deliveries(stack, contact_id) if d.step == "hello"]
    assert row.delivered_at is not None and row.bounced_at is not None and row.bounce_type == "hard"
    with transaction(stack.harness.engine) as session:
        assert is_suppressed(session, "email", f"{contact_id}@example.com")
        # Kept as a keyed hash: the list shows no address.
        assert f"{contact_id}@example.com" not in {
            r.address for r in session.exec(select(SuppressionRow))
        }
    # The next message to that address is blocked, and the journey goes on.
    await stack.fire("contact.created", contact_id=contact_id)
    await outcome_of(temporal_env.client.get_workflow_handle(f"journey/bounce/{contact_id}"))
    blocked = [(d.status, d.reason) for d in deliveries(stack, contact_id) if d.status != "sent"]
    assert ("blocked", "suppressed") in blocked


async def test_one_click_unsubscribe_withdraws_email_consent(
    stack: Stack, smtp_sink: SmtpSink, temporal_env: WorkflowEnvironment
) -> None:
    contact_id = await contact(stack)
    await stack.fire("contact.created", contact_id=contact_id)
    await eventually(lambda: smtp_sink.to(f"{contact_id}@example.com"))
    # The URL as a mailbox provider takes it: from the header's one line, byte for byte.
    raw = smtp_sink.raw_to(f"{contact_id}@example.com")[0]
    line = re.search(rb"^List-Unsubscribe: <http://journeys.test(/u/[!-~]+)>\r\n", raw, re.M)
    path = line.group(1).decode()  # type: ignore[union-attr]
    page = await stack.api.get(path, headers={})
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert (await stack.api.get(f"/v1/contacts/{contact_id}")).json()["consent"][
        "email"
    ] is True  # GET did nothing
    done = await stack.api.post(path, headers={})
    assert done.status_code == 200
    assert (await stack.api.get(f"/v1/contacts/{contact_id}")).json()["consent"]["email"] is False
    assert (await stack.api.post("/u/forged", headers={})).status_code == 404


async def test_an_sms_reply_continues_the_run_and_stop_withdraws_consent(
    stack: Stack, temporal_env: WorkflowEnvironment, http_sink: HttpSink
) -> None:
    await publish(stack, REPLY)
    phone = "+3361234" + str(hash(unique("p")) % 10000).rjust(4, "0")
    contact_id = await contact(stack, phone=phone, consent={"email": True, "sms": True})
    with temporal_env.with_time_skipping_disabled():
        await stack.fire("contact.created", contact_id=contact_id)
        await eventually(
            lambda: [r for r in http_sink.posted_to("/sms") if r.json()["to"] == phone]
        )
        sms = next(r.json() for r in http_sink.posted_to("/sms") if r.json()["to"] == phone)
        short = re.search(r"http://journeys.test/t/c/(\w{10})$", sms["text"])
        assert short is not None, sms["text"]  # the link was shortened
        click = await stack.api.get(f"/t/c/{short.group(1)}", headers={})
        assert (click.status_code, click.headers["location"]) == (
            302,
            "https://shop.example.com/gift?x=1",
        )
        maybe = await stack.api.post(
            "/v1/channels/sms/inbound", json={"from": phone, "text": "maybe"}
        )
        assert maybe.json()["accepted"] == 1
        yes = await stack.api.post(
            "/v1/channels/sms/inbound", json={"from": phone, "text": " YES "}
        )
        assert yes.json()["accepted"] == 1
        outcome = await outcome_of(
            temporal_env.client.get_workflow_handle(f"journey/reply/{contact_id}")
        )
    assert outcome["reason"] == "said-yes"
    [row] = [d for d in deliveries(stack, contact_id) if d.step == "ask"]
    assert row.clicked_at is not None and row.replied_at is not None
    stop = await stack.api.post("/v1/channels/sms/inbound", json={"from": phone, "text": "STOP"})
    assert stop.json() == {
        "accepted": 1,
        "ignored": 0,
        "action": "sms consent withdrawn, number suppressed",
    }
    assert (await stack.api.get(f"/v1/contacts/{contact_id}")).json()["consent"]["sms"] is False
    unknown = await stack.api.post(
        "/v1/channels/sms/inbound", json={"from": "+15550000000", "text": "hi"}
    )
    assert unknown.json() == {"accepted": 0, "ignored": 1, "action": None}


async def test_push_opens_reach_the_run(
    stack: Stack, temporal_env: WorkflowEnvironment, http_sink: HttpSink
) -> None:
    await publish(
        stack,
        """
kind: Journey
id: pushed
name: Pushed
start: {trigger: contact.created}
steps:
  - {id: ping, push: {title: Hi, body: there}}
  - {id: seen, wait_for: {trigger: push.opened, of: ping, within: P1D}, then: [{id: opened, exit: opened}]}
""",
    )
    contact_id = await contact(stack)
    with temporal_env.with_time_skipping_disabled():
        await stack.fire("contact.created", contact_id=contact_id)
        await eventually(
            lambda: [
                r for r in http_sink.posted_to("/push") if r.json()["contact_id"] == contact_id
            ]
        )
        push = next(
            r.json() for r in http_sink.posted_to("/push") if r.json()["contact_id"] == contact_id
        )
        for event in ("delivered", "opened"):
            answer = await stack.api.post(
                "/v1/channels/push/events", json={"message_id": push["message_id"], "event": event}
            )
            assert answer.json()["accepted"] == 1
        outcome = await outcome_of(
            temporal_env.client.get_workflow_handle(f"journey/pushed/{contact_id}")
        )
    assert outcome["reason"] == "opened"


async def test_provider_webhooks_must_be_authenticated(stack: Stack) -> None:
    unauthenticated = await stack.api.post(
        "/v1/channels/email/events",
        json={"message_id": "m", "event": "delivered"},
        headers={"Authorization": ""},
    )
    assert unauthenticated.status_code == 401
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    twilio_off = await stack.api.post(
        "/v1/channels/sms/events",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twilio_off.status_code == 415  # Twilio is not set up on this deployment
    malformed = await stack.api.post(
        "/v1/channels/push/events", json={"message_id": "m", "event": "exploded"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["problems"][0]["path"] == "[0].event"


TWILIO_TOKEN = "tw-token"


def with_twilio(stack: Stack) -> None:
    """The gateway as set up for a Twilio account: it checks Twilio's form posts."""
    settings = stack.harness.settings.model_copy(
        update={"twilio_auth_token": SecretStr(TWILIO_TOKEN)}
    )
    stack.app.state.services = replace(stack.app.state.services, settings=settings)


async def from_twilio(
    stack: Stack, path: str, form: dict[str, str], token: str = TWILIO_TOKEN
) -> httpx.Response:
    """A form post as Twilio makes it, signed by Twilio's own library with the auth token."""
    with_twilio(stack)
    signature = RequestValidator(token).compute_signature(f"http://journeys.test{path}", form)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "",  # no API key: Twilio's signature alone lets it in
        "X-Twilio-Signature": signature,
    }
    return await stack.api.post(path, content=urlencode(form), headers=headers)


def assert_empty_twiml(answer: httpx.Response) -> None:
    """The answer Twilio expects: TwiML that sends nothing, as its library writes it."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].split(";")[0] == "text/xml"
    ours = ElementTree.fromstring(answer.content)  # noqa: S314 (our own answer)
    theirs = ElementTree.fromstring(str(MessagingResponse()))  # noqa: S314
    assert ElementTree.tostring(ours) == ElementTree.tostring(theirs)


async def test_twilio_callbacks_are_checked_against_their_signature(stack: Stack) -> None:
    form = {"MessageSid": "SM-unknown", "MessageStatus": "delivered", "To": "+33600000000"}
    assert_empty_twiml(await from_twilio(stack, "/v1/channels/sms/events", form))
    forged = await from_twilio(stack, "/v1/channels/sms/events", form, token="guess")
    assert (forged.status_code, forged.json()) == (
        401,
        {"detail": "bad or missing X-Twilio-Signature"},
    )
    on_the_way = {"MessageSid": "SM-unknown", "MessageStatus": "sent"}
    assert_empty_twiml(await from_twilio(stack, "/v1/channels/sms/events", on_the_way))
    inbound = {"From": "+15550000001", "Body": "STOP", "MessageSid": "SM-in"}
    assert_empty_twiml(await from_twilio(stack, "/v1/channels/sms/inbound", inbound))


@pytest.mark.parametrize(
    ("path", "form", "where", "message"),
    [
        ("events", {"MessageStatus": "delivered"}, "MessageSid", "required"),
        ("events", {"MessageSid": "SM1"}, "MessageStatus", "required"),
        (
            "events",
            {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "3" * 41},
            "ErrorCode",
            "String should have at most 40 characters",
        ),
        ("inbound", {"Body": "hi"}, "From", "required"),
        (
            "inbound",
            {"From": "+15550000002", "Body": "STOP", "OptOutType": "MAYBE"},
            "OptOutType",
            "Input should be 'STOP', 'START' or 'HELP'",
        ),
    ],
)
async def test_a_bad_twilio_form_is_refused_in_twilio_terms(
    stack: Stack, path: str, form: dict[str, str], where: str, message: str
) -> None:
    answer = await from_twilio(stack, f"/v1/channels/sms/{path}", form)
    assert (answer.status_code, answer.json()) == (
        422,
        {"detail": "1 problem found", "problems": [{"path": where, "message": message}]},
    )


async def test_twilio_advanced_opt_out_is_honoured(
    stack: Stack, temporal_env: WorkflowEnvironment, http_sink: HttpSink
) -> None:
    """OptOutType decides over the text: a STOP in any words withdraws consent and suppresses
    the number, START grants consent back and lifts it, HELP is no answer to a journey."""
    await publish(stack, REPLY)
    phone = "+3361236" + str(hash(unique("p")) % 10000).rjust(4, "0")
    contact_id = await contact(stack, phone=phone, consent={"email": True, "sms": True})

    async def inbound(body: str, opt_out_type: str | None = None) -> None:
        form = {"From": phone, "Body": body, "MessageSid": unique("SM")}
        if opt_out_type is not None:
            form["OptOutType"] = opt_out_type
        assert_empty_twiml(await from_twilio(stack, "/v1/channels/sms/inbound", form))

    def state() -> tuple[bool | None, str | None, bool]:
        with transaction(stack.harness.engine) as session:
            row = session.get(ContactRow, contact_id)
            assert row is not None
            return row.consent_sms, row.consent_sms_source, is_suppressed(session, "sms", phone)

    with temporal_env.with_time_skipping_disabled():
        await stack.fire("contact.created", contact_id=contact_id)
        await eventually(
            lambda: [r for r in http_sink.posted_to("/sms") if r.json()["to"] == phone]
        )
        await inbound("HELP", "HELP")
        [row] = [d for d in deliveries(stack, contact_id) if d.step == "ask"]
        assert row.replied_at is None  # not raised as sms.replied
        await inbound("ARRÊTEZ", "STOP")  # a keyword set up in Twilio, not one of ours
        assert state() == (False, "contact:stop", True)
        await inbound("UNSTOP", "START")
        assert state() == (True, "consent:sms START", False)
        await inbound("YES")
        outcome = await outcome_of(
            temporal_env.client.get_workflow_handle(f"journey/reply/{contact_id}")
        )
    assert outcome["reason"] == "said-yes"
    help_json = await stack.api.post(
        "/v1/channels/sms/inbound", json={"from": phone, "text": "INFO", "opt_out_type": "HELP"}
    )
    assert help_json.json() == {
        "accepted": 0,
        "ignored": 1,
        "action": "help: the provider answers it",
    }


async def test_frequency_caps_count_across_journeys(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    caps = {"frequency_caps": {"email": [{"count": 1, "per": "P1D"}]}}
    assert (await stack.api.put("/v1/settings/messaging", json=caps)).json()["frequency_caps"] == {
        "email": [{"count": 1, "per": "P1D"}]
    }
    for journey_id in ("first-news", "second-news"):
        await publish(
            stack,
            f"""
kind: Journey
id: {journey_id}
name: {journey_id}
start: {{trigger: order.placed}}
steps: [{{id: news, email: {{subject: "{journey_id}", text: x}}}}]
""",
        )
    await publish(
        stack,
        """
kind: Journey
id: receipt
name: Receipt
start: {trigger: order.placed}
steps: [{id: receipt, purpose: transactional, email: {subject: "Your receipt", text: x}}]
""",
    )
    contact_id = await contact(stack)
    fired = await stack.fire("order.placed", contact_id=contact_id, attributes={"order_id": "o"})
    assert {"first-news", "second-news", "receipt"} <= set(fired.json()["started"])
    for journey_id in ("first-news", "second-news", "receipt"):
        await outcome_of(
            temporal_env.client.get_workflow_handle(f"journey/{journey_id}/{contact_id}")
        )
    outcomes = sorted(
        (d.journey_id, d.status, d.reason)
        for d in deliveries(stack, contact_id)
        if d.journey_id in ("first-news", "second-news", "receipt")
    )
    news = [o for o in outcomes if o[0] != "receipt"]
    assert sorted((status, reason) for _, status, reason in news) == [
        ("blocked", "frequency_cap"),
        ("sent", None),
    ]
    assert ("receipt", "sent", None) in outcomes  # transactional: not capped


async def test_a_quiet_time_postpones_the_message_with_a_durable_timer(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(hours=1)).strftime("%H:00"),
        (now + timedelta(hours=3)).strftime("%H:00"),
    )
    quiet = {"quiet_times": {"email": [{"from": start, "to": end}]}}
    assert (await stack.api.put("/v1/settings/messaging", json=quiet)).status_code == 200
    await publish(
        stack,
        """
kind: Journey
id: quiet
name: Quiet
start: {trigger: order.placed}
steps: [{id: late, email: {subject: "After the quiet time", text: x}}]
""",
    )
    contact_id = await contact(stack, timezone="UTC")
    await stack.fire("order.placed", contact_id=contact_id, attributes={"order_id": "o"})
    handle = temporal_env.client.get_workflow_handle(f"journey/quiet/{contact_id}")
    await outcome_of(handle)
    history = (await stack.api.get(f"/v1/journeys/quiet/instances/{contact_id}")).json()["history"]
    waited = next(h for h in history if h["what"] == "waiting")
    expected_end = (now + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    assert waited["detail"] == f"until {expected_end.isoformat()} for quiet time"
    sent = next(h for h in history if h["what"] == "sent")
    assert sent["at"].startswith(expected_end.strftime("%Y-%m-%dT%H:00"))
    [row] = [d for d in deliveries(stack, contact_id) if d.journey_id == "quiet"]
    assert row.status == "sent"
    assert row.sent_at is not None
    assert expected_end <= row.sent_at < expected_end + timedelta(minutes=1)
    assert [
        m["Subject"] for m in smtp_sink.to(f"{contact_id}@example.com") if "quiet" in m["Subject"]
    ] == ["After the quiet time"]


INTERACTIONS = """
kind: Journey
id: reactions
name: Every reaction a message can get
start: {trigger: contact.created}
steps:
  - {id: mail, email: {subject: "Hi", html: "<p>Hi</p>"}}
  - {id: text, sms: {text: "Hi"}}
  - {id: ping, push: {title: Hi, body: there}}
  - id: react
    wait_for:
      any:
        - {trigger: email.complained, of: mail}
        - {trigger: email.unsubscribed, of: mail}
        - {trigger: sms.failed, of: text}
        - {trigger: push.clicked, of: ping}
        - {trigger: push.failed, of: ping}
      within: P1D
    then: [{id: reacted, exit: reacted}]
"""


TWILIO_CODES = {"twilio_undelivered": "30005", "twilio_failed": "30003"}


@pytest.mark.parametrize(
    "reaction",
    [
        "complained",
        "unsubscribed",
        "sms_failed",
        "twilio_undelivered",
        "twilio_failed",
        "push_clicked",
        "push_failed",
    ],
)
async def test_each_new_interaction_reaches_the_run_through_its_channel(
    reaction: str,
    stack: Stack,
    temporal_env: WorkflowEnvironment,
    smtp_sink: SmtpSink,
    http_sink: HttpSink,
) -> None:
    """email.complained and email.unsubscribed, sms.failed (a JSON report, or Twilio's
    `undelivered` status callback with its ErrorCode), push.clicked and push.failed: each
    raised by the path that reports it, each matched by a wait_for with `of`."""
    await publish(stack, INTERACTIONS)
    phone = "+3361235" + str(hash(unique("p")) % 10000).rjust(4, "0")
    contact_id = await contact(stack, phone=phone, consent={"email": True, "sms": True})
    with temporal_env.with_time_skipping_disabled():
        await stack.fire("contact.created", contact_id=contact_id)
        await eventually(
            lambda: [
                r for r in http_sink.posted_to("/push") if r.json()["contact_id"] == contact_id
            ]
        )
        sent = {d.step: d for d in deliveries(stack, contact_id)}
        match reaction:
            case "complained":
                report = {"message_id": sent["mail"].message_id, "event": "complained"}
                answer = await stack.api.post("/v1/channels/email/events", json=report)
            case "unsubscribed":
                [email] = [
                    m for m in smtp_sink.to(f"{contact_id}@example.com") if m["Subject"] == "Hi"
                ]
                header = email["List-Unsubscribe"]
                path = re.search(r"http://journeys.test(/u/[^>]+)>", header).group(1)  # type: ignore[union-attr]
                answer = await stack.api.post(path, headers={})
            case "sms_failed":
                report = {
                    "message_id": sent["text"].message_id,
                    "event": "failed",
                    "error_code": "30003",
                    "permanent": True,  # the provider's word, whatever its code
                }
                answer = await stack.api.post("/v1/channels/sms/events", json=report)
            case "twilio_undelivered" | "twilio_failed":
                answer = await from_twilio(
                    stack,
                    "/v1/channels/sms/events",
                    {
                        "MessageSid": sent["text"].provider_message_id or "",
                        "MessageStatus": reaction[7:],
                        "ErrorCode": TWILIO_CODES[reaction],
                        "To": phone,
                    },
                )
            case "push_clicked" | "push_failed":
                report = {"message_id": sent["ping"].message_id, "event": reaction[5:]}
                answer = await stack.api.post("/v1/channels/push/events", json=report)
        assert answer.is_success, answer.text
        outcome = await outcome_of(
            temporal_env.client.get_workflow_handle(f"journey/reactions/{contact_id}")
        )
    trigger, step = {
        "complained": ("email.complained", "mail"),
        "unsubscribed": ("email.unsubscribed", "mail"),
        "sms_failed": ("sms.failed", "text"),
        "twilio_undelivered": ("sms.failed", "text"),
        "twilio_failed": ("sms.failed", "text"),
        "push_clicked": ("push.clicked", "ping"),
        "push_failed": ("push.failed", "ping"),
    }[reaction]
    assert outcome["reason"] == "reacted"
    run = (await stack.api.get(f"/v1/journeys/reactions/instances/{contact_id}")).json()
    [matched] = [h["detail"] for h in run["history"] if h["what"] == "matched"]
    assert matched.startswith(trigger) and sent[step].message_id in matched
    row = next(d for d in deliveries(stack, contact_id) if d.step == step)
    if reaction in ("sms_failed", *TWILIO_CODES):
        assert row.failed_at is not None
        assert row.error_code == TWILIO_CODES.get(reaction, "30003")
        with transaction(stack.harness.engine) as session:
            # Twilio's 30005 (unknown handset) is permanent; 30003 (handset off) is not.
            suppressed = is_suppressed(session, "sms", phone)
        assert suppressed is (reaction != "twilio_failed")
    if reaction == "unsubscribed":
        assert row.unsubscribed_at is not None
