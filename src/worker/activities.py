"""Activities: the journey's contact with the world. Each takes ids, opens its own short
transaction, and may run twice without acting twice."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from journeys.definitions.common import Channel
from journeys.definitions.journeys import EmailMessage, PushMessage, SmsMessage
from journeys.messaging import compose
from journeys.messaging.policy import blocked_reason, recipient
from journeys.settings import Settings
from journeys.store.contacts import Contact, get_contact
from journeys.store.db import transaction
from journeys.store.deliveries import DeliveryStatus, message_id_for, open_delivery, settle
from journeys.store.entries import EntryDecision, EntryRequest, decide_entry
from journeys.store.tables import DeliveryRow
from journeys.tracking import ClickRef, MessageRef, Tokens
from worker.channels import PermanentSendError
from worker.channels.smtp import SmtpChannel
from worker.channels.webhook import WebhookChannel


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


class SendResult(BaseModel):
    status: DeliveryStatus
    message_id: str
    reason: str | None = None


class JourneyActivities:
    """Built once by the worker's bootstrap with its store and providers."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        email: SmtpChannel,
        sms: WebhookChannel | None,
        push: WebhookChannel | None,
    ) -> None:
        self._engine = engine
        self._public_url = settings.public_url.rstrip("/")
        self._tokens = Tokens(settings.signing_secret.get_secret_value())
        self._email = email
        self._sms = sms
        self._push = push

    @activity.defn(name="load_contact")
    def load_contact(self, contact_id: str) -> dict[str, Any] | None:
        with transaction(self._engine) as session:
            contact = get_contact(session, contact_id)
        return contact.as_scope() if contact else None

    @activity.defn(name="enter_journey")
    def enter_journey(self, request: EntryRequest) -> EntryDecision:
        with transaction(self._engine) as session:
            return decide_entry(session, request)

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
            contact = get_contact(session, request.contact_id)
            blocked = blocked_reason(contact, channel)
            if blocked is not None:
                settle(session, delivery, DeliveryStatus.BLOCKED, reason=blocked)
                return _result(delivery)
            assert contact is not None
            delivery.recipient = recipient(contact, channel)
            session.add(delivery)
        provider_id: str | None = None
        summary: str | None = None
        reason: str | None = None
        try:
            provider_id, summary = self._deliver(request, channel, contact, message_id)
        except PermanentSendError as error:
            status, reason = DeliveryStatus.FAILED, str(error)
        else:
            status = DeliveryStatus.SENT
        with transaction(self._engine) as session:
            delivery.summary = summary
            settle(session, delivery, status, reason=reason, provider_message_id=provider_id)
        return _result(delivery)

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
        match request.message:
            case EmailMessage() as message:
                rendered = compose.render_email(
                    message, values, self._tracking(request, message_id)
                )
                self._email.deliver(
                    compose.mime_email(rendered, self._email.sender, to, message_id)
                )
                return None, rendered.subject
            case SmsMessage() as message:
                sms = compose.render_sms(message, values)
                sms_payload = {
                    "message_id": message_id,
                    "channel": "sms",
                    "to": to,
                    "text": sms.text,
                }
                return _webhook(self._sms, "sms").deliver(sms_payload), sms.text[:300]
            case PushMessage() as message:
                push = compose.render_push(message, values)
                payload: dict[str, Any] = {
                    "message_id": message_id,
                    "channel": "push",
                    "to": to,
                    "contact_id": contact.id,
                    "title": push.title,
                    "body": push.body,
                    "data": push.data,
                }
                return _webhook(self._push, "push").deliver(payload), push.title[:300]
        raise AssertionError(request.message)  # pragma: no cover

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


def _webhook(channel: WebhookChannel | None, name: str) -> WebhookChannel:
    if channel is None:
        setting = f"JOURNEYS_{name.upper()}_WEBHOOK_URL"
        raise PermanentSendError(f"no {name} provider configured ({setting} is not set)")
    return channel


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
    )


def _result(delivery: DeliveryRow) -> SendResult:
    return SendResult(
        status=DeliveryStatus(delivery.status),
        message_id=delivery.message_id,
        reason=delivery.reason,
    )
