"""The message steps' activities: email, SMS and push, decided and sent at send time."""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from journeys.contacts.model import Contact
from journeys.definitions.common import Channel
from journeys.definitions.journeys import EmailMessage, Purpose, PushMessage, SmsMessage
from journeys.definitions.templating import TemplateRenderError, Templates
from journeys.engine.clock import zone
from journeys.engine.commands import SendSettled, SendStatus
from journeys.messaging import compose
from journeys.messaging.policy import Block, Postpone, SendFacts, decide, recipient
from journeys.messaging.tracking import ClickRef, Links, MessageRef, UnsubscribeRef
from journeys.store.contacts import get_contact, lock_contact
from journeys.store.db import transaction
from journeys.store.deliveries import (
    DeliveryStatus,
    claim_sending,
    count_sent,
    message_id_for,
    open_delivery,
    release_sending,
    settle,
)
from journeys.store.links import shorten
from journeys.store.messaging_rules import get_rules
from journeys.store.suppressions import is_suppressed
from journeys.store.tables import DeliveryRow
from journeys.store.types import utcnow
from worker.channels import PermanentSendError, PushProvider, SmsProvider
from worker.channels.smtp import SmtpProvider
from worker.contracts import SEND_ATTEMPT, SEND_EMAIL, SEND_PUSH, SEND_SMS, SendRequest

_P = TypeVar("_P", SmsProvider, PushProvider)
# Within the send activity's start-to-close timeout (60 s), with room for the send itself.
SETTLE_WITHIN = timedelta(seconds=40)
_tracer = trace.get_tracer("journeys.worker")


class SendActivities:
    def __init__(
        self,
        engine: Engine,
        links: Links,
        email: SmtpProvider,
        sms: SmsProvider | None,
        push: PushProvider | None,
        templates: Templates,
    ) -> None:
        self._engine = engine
        self._links = links
        self._email = email
        self._sms = sms
        self._push = push
        self._templates = templates

    @activity.defn(name=SEND_EMAIL.name)
    def send_email(self, request: SendRequest) -> SendSettled:
        return self._send(request, Channel.EMAIL)

    @activity.defn(name=SEND_SMS.name)
    def send_sms(self, request: SendRequest) -> SendSettled:
        return self._send(request, Channel.SMS)

    @activity.defn(name=SEND_PUSH.name)
    def send_push(self, request: SendRequest) -> SendSettled:
        return self._send(request, Channel.PUSH)

    def _send(self, request: SendRequest, channel: Channel) -> SendSettled:
        """Write the delivery row, check the contact, call the provider, settle the row.

        The pending row is committed before the provider is called: a retry finds it
        and never sends again what the provider already accepted and we recorded.
        """
        message_id = message_id_for(
            request.workflow_id, request.instance_id, request.step, request.iteration
        )
        with transaction(self._engine) as session:
            # The row is read under the contact's lock: another attempt of this message may
            # have claimed or settled it, and its verdict must not be overwritten by ours.
            lock_contact(session, request.contact_id)
            delivery = open_delivery(session, _delivery_row(request, message_id, channel))
            if DeliveryStatus(delivery.status).settled:
                return _settled(delivery)
            if delivery.sending_until is not None and delivery.sending_until > utcnow():
                raise _sending_elsewhere(message_id, delivery.sending_until)
            contact = get_contact(session, request.contact_id)
            verdict = decide(self._facts(session, request, channel, contact, delivery))
            match verdict:
                case Block(reason=why):
                    settle(session, delivery, DeliveryStatus.BLOCKED, reason=why)
                    return _counted(_settled(delivery), channel)
                case Postpone(until=until):
                    delivery.status, delivery.reason = DeliveryStatus.POSTPONED, "quiet_time"
                    delivery.postponed_until = until
                    session.add(delivery)
                    return _counted(_settled(delivery), channel)
            assert contact is not None
            to = recipient(contact, channel)
            assert to is not None  # the policy blocks a contact without an address
            claimed_until = utcnow() + SEND_ATTEMPT
            busy_until = claim_sending(
                session, delivery, claimed_until, recipient=to, sent_at=request.at
            )
            if busy_until is not None:
                raise _sending_elsewhere(message_id, busy_until)
        provider_id: str | None = None
        summary: str | None = None
        reason: str | None = None
        try:
            with _tracer.start_as_current_span(
                f"send {channel.value}",
                kind=SpanKind.CLIENT,
                attributes={"journeys.message_id": message_id, "journeys.step": request.step},
            ):
                provider_id, summary = self._deliver(request, channel, contact, to, message_id)
        except (PermanentSendError, TemplateRenderError) as error:  # a retry would fail alike
            status, reason = DeliveryStatus.FAILED, str(error)
        except BaseException:
            self._release(message_id, claimed_until)
            raise
        else:
            status = DeliveryStatus.SENT
        delivery.summary = summary
        delivery.sent_at = delivery.sent_at if status is DeliveryStatus.SENT else None
        self._settle_after_handover(delivery, status, reason, provider_id, claimed_until)
        return _counted(_settled(delivery), channel)

    def _release(self, message_id: str, claimed_until: datetime) -> None:
        """The provider did not take the message: the next attempt may send it at once. A
        store that is away keeps the claim, which then lapses at the attempt's timeout."""
        with suppress(OperationalError, InterfaceError), transaction(self._engine) as session:
            release_sending(session, message_id, claimed_until)

    def _settle_after_handover(
        self,
        delivery: DeliveryRow,
        status: DeliveryStatus,
        reason: str | None,
        provider_id: str | None,
        claimed_until: datetime,
    ) -> None:
        """Record what the provider did with the message. The message is out: were this
        write lost to a store that is restarting, a retry of the activity would find the row
        pending and send it again, so it is tried for as long as the activity may run."""
        # Not past the claim either: after it, another attempt may be sending.
        left = min(SETTLE_WITHIN, claimed_until - utcnow())
        deadline = time.monotonic() + left.total_seconds()
        delay = 0.25
        while True:
            try:
                with transaction(self._engine) as session:
                    settle(
                        session, delivery, status, reason=reason, provider_message_id=provider_id
                    )
                return
            except (OperationalError, InterfaceError):
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

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
            rules=get_rules(session),
            now=request.at,
            timezone=zone(contact.timezone if contact else None, request.timezone),
            due_since=min(delivery.created_at, request.at),
            expires_after=request.expires_after,
            # A test send is held by nothing but consent and suppression.
            capped=request.capped and not request.test,
        )

    def _deliver(
        self, request: SendRequest, channel: Channel, contact: Contact, to: str, message_id: str
    ) -> tuple[str | None, str]:
        """Render and hand `to` over to the provider: (provider id, summary for listings)."""
        values = compose.context(contact.as_scope(), request.trigger, request.journey)
        ref = MessageRef(
            workflow_id=request.workflow_id,
            instance_id=request.instance_id,
            step=request.step,
            message_id=message_id,
            contact_id=request.contact_id,
            channel=channel.value,
        )
        message = compose.as_test(request.message) if request.test else request.message
        match message:
            case EmailMessage():
                unsubscribe = self._unsubscribe_url(request, ref)
                rendered = compose.render_email(
                    message, values, self._tracking(ref), unsubscribe, self._templates
                )
                self._email.deliver(
                    compose.mime_email(rendered, self._email.sender, to, message_id, unsubscribe)
                )
                return None, rendered.subject
            case SmsMessage():
                text = compose.shorten_links(
                    compose.render_sms(message, values, self._templates).text,
                    lambda url: self._short_url(ClickRef(**ref.model_dump(), url=url)),
                    message.text,
                )
                provider_id = _provider(self._sms, "sms").send_sms(message_id, to, text)
                return provider_id, text[:300]
            case PushMessage():
                push = compose.render_push(message, values, self._templates)
                provider_id = _provider(self._push, "push").send_push(
                    message_id, to, contact.id, push.title, push.body, push.data
                )
                return provider_id, push.title[:300]
        raise AssertionError(message)  # pragma: no cover

    def _unsubscribe_url(self, request: SendRequest, ref: MessageRef) -> str | None:
        """Commercial email carries one-click unsubscribe (RFC 8058); transactional does not."""
        if request.purpose is not Purpose.COMMERCIAL:
            return None
        return self._links.unsubscribe(
            UnsubscribeRef(
                contact_id=ref.contact_id, channel=ref.channel, message_id=ref.message_id
            )
        )

    def _short_url(self, ref: ClickRef) -> str:
        with transaction(self._engine) as session:
            code = shorten(session, ref)
        return self._links.short_click(code)

    def _tracking(self, ref: MessageRef) -> compose.Tracking:
        return compose.Tracking(
            pixel_url=self._links.open_pixel(ref),
            click_url=lambda url: self._links.click(ClickRef(**ref.model_dump(), url=url)),
        )


def _sending_elsewhere(message_id: str, until: datetime) -> ApplicationError:
    """Another attempt holds the message (its worker lost Temporal for a while, and this one
    was started in its place): this attempt fails, to be retried once that claim ends."""
    return ApplicationError(
        f"message {message_id} is being handed to its provider by another attempt until "
        f"{until:%Y-%m-%d %H:%M:%S} UTC; retried after that, so that it is not sent twice",
        type="SendingElsewhere",
        next_retry_delay=max(until - utcnow(), timedelta(seconds=1)),
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


def _counted(settled: SendSettled, channel: Channel) -> SendSettled:
    """Count a settled send for the worker's metrics (`journeys_messages_total`)."""
    activity.metric_meter().create_counter(
        "journeys_messages_total", "Messages settled, by channel and outcome."
    ).add(1, {"channel": channel.value, "outcome": settled.status.value})
    return settled


def _settled(delivery: DeliveryRow) -> SendSettled:
    postponed = delivery.status == DeliveryStatus.POSTPONED
    return SendSettled(
        status=SendStatus(delivery.status),
        message_id=delivery.message_id,
        reason=delivery.reason,
        until=delivery.postponed_until if postponed else None,
    )
