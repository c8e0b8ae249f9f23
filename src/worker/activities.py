"""Activities: the journey's contact with the world. Each takes ids, opens its own short
transaction, and may run twice without acting twice."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from journeys.contacts.model import Contact
from journeys.definitions.common import Channel
from journeys.definitions.journeys import (
    EmailMessage,
    Purpose,
    PushMessage,
    SmsMessage,
    WebhookCall,
)
from journeys.definitions.templating import TemplateRenderError, render_json
from journeys.engine.clock import zone
from journeys.engine.state import HistoryEntry
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.contracts import EventRequest, Rejected
from journeys.ingest.ingestion import Ingestion
from journeys.kit.signing import SIGNATURE_HEADER, sign
from journeys.messaging import compose
from journeys.messaging.policy import Block, Postpone, SendFacts, decide, recipient
from journeys.messaging.tracking import ClickRef, MessageRef, Tokens, UnsubscribeRef
from journeys.settings import Settings
from journeys.store.analytics import record_run_events
from journeys.store.contacts import get_contact, lock_contact
from journeys.store.db import transaction
from journeys.store.deliveries import (
    DeliveryStatus,
    count_sent,
    message_id_for,
    open_delivery,
    settle,
)
from journeys.store.entries import EntryDecision, EntryRequest, decide_entry, record_outcome
from journeys.store.links import shorten
from journeys.store.messaging import get_settings
from journeys.store.suppressions import is_suppressed
from journeys.store.tables import DeliveryRow
from worker.channels import PermanentSendError, PushProvider, SmsProvider
from worker.channels.smtp import SmtpChannel


class SendRequest(BaseModel):
    workflow_id: str
    instance_id: str
    journey_id: str
    journey_name: str
    version: int
    contact_id: str
    step: str
    iteration: int
    message: EmailMessage | SmsMessage | PushMessage
    trigger: dict[str, Any]  # the start trigger's attributes, for personalization
    purpose: Purpose = Purpose.COMMERCIAL
    expires_after: timedelta | None = None
    capped: bool = True  # false: the journey opted out of frequency caps
    timezone: str = "UTC"  # the journey's, when the contact has none
    at: datetime  # when the run asks: quiet times and caps are judged at this moment
    test: bool = False  # a test send: marked as such, outside any run


class SendResult(BaseModel):
    status: DeliveryStatus
    message_id: str
    reason: str | None = None
    until: datetime | None = None  # postponed: the end of the quiet time


_P = TypeVar("_P", SmsProvider, PushProvider)
_tracer = trace.get_tracer("journeys.worker")


class ActivateRequest(BaseModel):
    instance_id: str
    step: str
    iteration: int
    contact_id: str
    binding_id: str | None
    trigger: str
    attributes: dict[str, Any]


class ActivateResult(BaseModel):
    started: list[str] = []
    signaled: list[str] = []
    error: str | None = None  # refused by the gateway's checks: the journey goes on


class WebhookRequest(BaseModel):
    instance_id: str
    journey_id: str
    journey_name: str
    version: int
    contact_id: str
    step: str
    iteration: int
    call: WebhookCall
    trigger: dict[str, Any]
    event: dict[str, Any] | None
    response: dict[str, Any] | None


class WebhookResult(BaseModel):
    status: int | None  # None: not called (its body could not be rendered)
    response: dict[str, Any] = {}
    error: str | None = None


class RunEventsRequest(BaseModel):
    instance_id: str
    journey_id: str
    version: int
    contact_id: str
    first_seq: int
    entries: list[HistoryEntry]


class OutcomeRequest(BaseModel):
    instance_id: str
    status: str
    reason: str | None
    at: datetime
    goal_reached_at: datetime | None


class JourneyActivities:
    """Built once by the worker's bootstrap with its store, providers and ingestion."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        email: SmtpChannel,
        sms: SmsProvider | None,
        push: PushProvider | None,
        http: httpx.Client,
        catalog: CatalogCache,
        ingestion: Ingestion,
    ) -> None:
        self._engine = engine
        self._public_url = settings.public_url.rstrip("/")
        self._secret = settings.signing_secret.get_secret_value()
        self._tokens = Tokens(self._secret)
        self._email = email
        self._sms = sms
        self._push = push
        self._http = http
        self._catalog = catalog
        self._ingestion = ingestion

    @activity.defn(name="load_contact")
    def load_contact(self, contact_id: str) -> dict[str, Any] | None:
        with transaction(self._engine) as session:
            contact = get_contact(session, contact_id)
        return contact.as_scope() if contact else None

    @activity.defn(name="enter_journey")
    def enter_journey(self, request: EntryRequest) -> EntryDecision:
        with transaction(self._engine) as session:
            return decide_entry(session, request)

    @activity.defn(name="record_outcome")
    def record_outcome(self, request: OutcomeRequest) -> None:
        with transaction(self._engine) as session:
            record_outcome(
                session,
                request.instance_id,
                request.status,
                request.reason,
                request.at,
                request.goal_reached_at,
            )

    @activity.defn(name="record_run_events")
    def record_run_events(self, request: RunEventsRequest) -> None:
        with transaction(self._engine) as session:
            record_run_events(
                session,
                instance_id=request.instance_id,
                journey_id=request.journey_id,
                version=request.version,
                contact_id=request.contact_id,
                first_seq=request.first_seq,
                entries=request.entries,
            )

    @activity.defn(name="activate_trigger")
    async def activate_trigger(self, request: ActivateRequest) -> ActivateResult:
        """Fire a custom trigger for the contact, routed like a producer's event. Its id is a
        function of (run, step, iteration), so a retried activity fires it once."""
        await asyncio.to_thread(self._catalog.fresh)  # another process may have changed it
        try:
            accepted = await self._ingestion.accept(
                EventRequest(
                    trigger=request.trigger,
                    contact_id=request.contact_id,
                    attributes=request.attributes,
                    event_id=f"activate-{request.instance_id}-{request.step}-{request.iteration}",
                    binding_id=request.binding_id,
                )
            )
        except Rejected as rejected:
            problems = "; ".join(str(p) for p in rejected.problems)
            return ActivateResult(error=f"{rejected.detail}{': ' + problems if problems else ''}")
        return ActivateResult(started=accepted.started, signaled=accepted.signaled)

    @activity.defn(name="call_webhook")
    def call_webhook(self, request: WebhookRequest) -> WebhookResult:
        """POST the step's body, signed; a 5xx or no answer is retried, a 4xx is final."""
        with transaction(self._engine) as session:
            contact = get_contact(session, request.contact_id)
        values = {
            "contact": contact.as_scope() if contact else {},
            "trigger": request.trigger,
            "event": request.event or {},
            "response": request.response or {},
            "journey": {
                "id": request.journey_id,
                "name": request.journey_name,
                "version": request.version,
            },
        }
        try:
            rendered = None if request.call.body is None else render_json(request.call.body, values)
        except TemplateRenderError as error:
            return WebhookResult(status=None, error=str(error))  # a retry would fail alike
        payload = (
            rendered
            if rendered is not None
            else {
                "journey": values["journey"],
                "step": request.step,
                "contact_id": request.contact_id,
                "trigger": request.trigger,
                "event": request.event,
            }
        )
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        headers = {
            **request.call.headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, int(time.time())),
            "Idempotency-Key": f"{request.instance_id}-{request.step}-{request.iteration}",
        }
        answer = self._http.post(
            str(request.call.url),
            content=body,
            headers=headers,
            timeout=request.call.timeout.total_seconds(),
        )
        if answer.is_server_error or answer.status_code in (408, 429):
            answer.raise_for_status()  # retried by the activity's policy
        if answer.is_error:
            return WebhookResult(status=answer.status_code, error=f"HTTP {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            data = {}
        return WebhookResult(
            status=answer.status_code, response=data if isinstance(data, dict) else {"value": data}
        )

    @activity.defn(name="send_email")
    def send_email(self, request: SendRequest) -> SendResult:
        return self._send(request, Channel.EMAIL)

    @activity.defn(name="send_sms")
    def send_sms(self, request: SendRequest) -> SendResult:
        return self._send(request, Channel.SMS)

    @activity.defn(name="send_push")
    def send_push(self, request: SendRequest) -> SendResult:
        return self._send(request, Channel.PUSH)

    def _send(self, request: SendRequest, channel: Channel) -> SendResult:
        """Write the delivery row, check the contact, call the provider, settle the row.

        The pending row is committed before the provider is called: a retry finds it
        and never sends again what the provider already accepted and we recorded.
        """
        message_id = message_id_for(
            request.workflow_id, request.instance_id, request.step, request.iteration
        )
        with transaction(self._engine) as session:
            delivery = open_delivery(session, _delivery_row(request, message_id, channel))
            if DeliveryStatus(delivery.status).settled:
                return _result(delivery)
            lock_contact(session, request.contact_id)
            contact = get_contact(session, request.contact_id)
            verdict = decide(self._facts(session, request, channel, contact, delivery))
            match verdict:
                case Block(reason=why):
                    settle(session, delivery, DeliveryStatus.BLOCKED, reason=why)
                    return _counted(_result(delivery), channel)
                case Postpone(until=until):
                    delivery.status, delivery.reason = DeliveryStatus.POSTPONED, "quiet_time"
                    delivery.postponed_until = until
                    session.add(delivery)
                    return _counted(_result(delivery), channel)
            assert contact is not None
            delivery.recipient = recipient(contact, channel)
            delivery.sent_at = request.at  # reserved: other sends count it from now on
            session.add(delivery)
        provider_id: str | None = None
        summary: str | None = None
        reason: str | None = None
        try:
            with _tracer.start_as_current_span(
                f"send {channel.value}",
                kind=SpanKind.CLIENT,
                attributes={"journeys.message_id": message_id, "journeys.step": request.step},
            ):
                provider_id, summary = self._deliver(request, channel, contact, message_id)
        except (PermanentSendError, TemplateRenderError) as error:  # a retry would fail alike
            status, reason = DeliveryStatus.FAILED, str(error)
        else:
            status = DeliveryStatus.SENT
        with transaction(self._engine) as session:
            delivery.summary = summary
            delivery.sent_at = delivery.sent_at if status is DeliveryStatus.SENT else None
            settle(session, delivery, status, reason=reason, provider_message_id=provider_id)
        return _counted(_result(delivery), channel)

    def _facts(
        self,
        session: Session,
        request: SendRequest,
        channel: Channel,
        contact: Contact | None,
        delivery: DeliveryRow,
    ) -> SendFacts:
        """What the policy needs to know, read now: sends are decided on current data."""
        return SendFacts(
            contact=contact,
            channel=channel,
            purpose=request.purpose,
            suppressed=lambda address: is_suppressed(session, channel, address),
            sent_since=lambda since: count_sent(
                session, request.contact_id, channel, since, excluding=delivery.message_id
            ),
            settings=get_settings(session),
            now=request.at,
            timezone=zone(contact.timezone if contact else None, request.timezone),
            due_since=delivery.created_at if delivery.created_at < request.at else request.at,
            expires_after=request.expires_after,
            # A test send is held by nothing but consent and suppression.
            capped=request.capped and not request.test,
        )

    def _deliver(
        self, request: SendRequest, channel: Channel, contact: Contact, message_id: str
    ) -> tuple[str | None, str]:
        """Render and hand over to the provider: (provider id, summary for listings)."""
        values = compose.context(
            contact.as_scope(),
            request.trigger,
            {"id": request.journey_id, "name": request.journey_name, "version": request.version},
        )
        to = recipient(contact, channel)
        assert to is not None
        message = compose.as_test(request.message) if request.test else request.message
        match message:
            case EmailMessage():
                tracking = self._tracking(request, message_id)
                unsubscribe = self._unsubscribe_url(request, message_id, channel)
                rendered = compose.render_email(message, values, tracking, unsubscribe)
                sender = self._email.sender
                self._email.deliver(
                    compose.mime_email(rendered, sender, to, message_id, unsubscribe)
                )
                return None, rendered.subject
            case SmsMessage():
                text = compose.shorten_links(
                    compose.render_sms(message, values).text,
                    lambda url: self._short_url(request, message_id, url),
                )
                provider_id = _provider(self._sms, "sms").send_sms(message_id, to, text)
                return provider_id, text[:300]
            case PushMessage():
                push = compose.render_push(message, values)
                provider_id = _provider(self._push, "push").send_push(
                    message_id, to, contact.id, push.title, push.body, push.data
                )
                return provider_id, push.title[:300]
        raise AssertionError(message)  # pragma: no cover

    def _unsubscribe_url(
        self, request: SendRequest, message_id: str, channel: Channel
    ) -> str | None:
        """Commercial email carries one-click unsubscribe (RFC 8058); transactional does not."""
        if request.purpose is not Purpose.COMMERCIAL:
            return None
        ref = UnsubscribeRef(contact_id=request.contact_id, channel=channel, message_id=message_id)
        return f"{self._public_url}/u/{self._tokens.unsubscribe_token(ref)}"

    def _short_url(self, request: SendRequest, message_id: str, url: str) -> str:
        ref = ClickRef(
            workflow_id=request.workflow_id,
            instance_id=request.instance_id,
            step=request.step,
            message_id=message_id,
            contact_id=request.contact_id,
            channel=Channel.SMS,
            url=url,
        )
        with transaction(self._engine) as session:
            code = shorten(session, ref)
        return f"{self._public_url}/t/c/{code}"

    def _tracking(self, request: SendRequest, message_id: str) -> compose.Tracking:
        ref = MessageRef(
            workflow_id=request.workflow_id,
            instance_id=request.instance_id,
            step=request.step,
            message_id=message_id,
            contact_id=request.contact_id,
        )

        def click_url(url: str) -> str:
            token = self._tokens.click_token(ClickRef(**ref.model_dump(), url=url))
            return f"{self._public_url}/t/c/{token}"

        return compose.Tracking(
            pixel_url=f"{self._public_url}/t/o/{self._tokens.open_token(ref)}",
            click_url=click_url,
        )


def _provider(provider: _P | None, channel: str) -> _P:
    if provider is None:
        setting = f"JOURNEYS_{channel.upper()}_WEBHOOK_URL"
        raise PermanentSendError(f"no {channel} provider configured (e.g. {setting})")
    return provider


def _delivery_row(request: SendRequest, message_id: str, channel: Channel) -> DeliveryRow:
    return DeliveryRow(
        message_id=message_id,
        workflow_id=request.workflow_id,
        instance_id=request.instance_id,
        step=request.step,
        iteration=request.iteration,
        journey_id=request.journey_id,
        journey_version=request.version,
        contact_id=request.contact_id,
        channel=channel,
        status=DeliveryStatus.PENDING,
        purpose=request.purpose,
        test=request.test,
    )


def _counted(result: SendResult, channel: Channel) -> SendResult:
    """Count a settled send for the worker's metrics (`journeys_messages`)."""
    activity.metric_meter().create_counter(
        "journeys_messages", "Messages settled, by channel and outcome."
    ).add(1, {"channel": channel.value, "outcome": result.status.value})
    return result


def _result(delivery: DeliveryRow) -> SendResult:
    return SendResult(
        status=DeliveryStatus(delivery.status),
        message_id=delivery.message_id,
        reason=delivery.reason,
        until=delivery.postponed_until if delivery.status == DeliveryStatus.POSTPONED else None,
    )
