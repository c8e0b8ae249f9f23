"""Provider webhooks: receipts, bounces, opens and replies, raised to the runs they answer.

Every call is authenticated: an API key (or a signed request), or for Twilio's own form
posts the X-Twilio-Signature made with the account's auth token. Every call is
idempotent: an event raised twice carries the same id and acts once. An event for a
message Journeys does not know is answered 202 and ignored (and counted in the answer).
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlmodel import select

from api.deps import ServicesDep, authorize_call
from api.interactions import raise_interaction, ref_of
from api.services import Services
from journeys.contacts.model import Consent, ContactChanges
from journeys.kit import jsontext
from journeys.kit.problems import ProblemsError, problems_from_validation_error
from journeys.kit.signing import twilio_signature
from journeys.store.api_keys import Scope
from journeys.store.contacts import upsert_contact
from journeys.store.db import transaction
from journeys.store.deliveries import find_delivery, last_sms_to, record_engagement
from journeys.store.suppressions import suppress
from journeys.store.tables import ContactRow, DeliveryRow

router = APIRouter(prefix="/v1/channels", tags=["channels"])

# Replies that mean "stop texting me", in English and French, as carriers expect.
STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt"}
)


class Handled(BaseModel):
    accepted: int = Field(description="Events that reached Journeys' records (and their runs).")
    ignored: int = Field(description="Events about messages Journeys does not know.")
    action: str | None = None


class EmailEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")  # providers add their own fields

    message_id: str = Field(description="Journeys' message id, or the provider's for it.")
    event: Literal["delivered", "bounced", "complained"]
    bounce_type: Literal["hard", "soft"] | None = None


class SmsEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str
    event: Literal["delivered", "failed"]


class PushEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str
    event: Literal["delivered", "opened"]


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(alias="from", min_length=3, max_length=40)
    text: str = Field(max_length=2000)


class Provider(StrEnum):
    API = "api"  # JSON, authenticated by an API key or a signed request
    TWILIO = "twilio"  # Twilio's form posts, authenticated by X-Twilio-Signature


async def _caller(request: Request, services: Services) -> tuple[Provider, Any]:
    """Who is calling, and the body: Twilio's signed form, or an authenticated JSON call."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = dict(await request.form())
        token = services.settings.twilio_auth_token
        if token is None:
            raise HTTPException(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON (Twilio is not set up)"
            )
        params = {key: str(value) for key, value in form.items()}
        url = services.settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += f"?{request.url.query}"
        expected = twilio_signature(token.get_secret_value(), url, params)
        if not hmac.compare_digest(expected, request.headers.get("x-twilio-signature", "")):
            raise HTTPException(HTTPStatus.UNAUTHORIZED, "bad or missing X-Twilio-Signature")
        return Provider.TWILIO, params
    await authorize_call(request, services, Scope.EVENTS_WRITE, signed_requests=True)
    try:
        return Provider.API, jsontext.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(HTTPStatus.BAD_REQUEST, f"not valid JSON: {error}") from None


def _events(body: Any, model: type[BaseModel]) -> list[Any]:
    items = body if isinstance(body, list) else [body]
    try:
        return TypeAdapter(list[model]).validate_python(items)  # type: ignore[valid-type]
    except ValidationError as error:
        raise ProblemsError(problems_from_validation_error(error)) from None


@router.post("/email/events", status_code=HTTPStatus.ACCEPTED)
async def email_events(request: Request, services: ServicesDep) -> Handled:
    """Delivery receipts, bounces and complaints from your email provider (one or a list).

    A hard bounce or a complaint puts the address on the suppression list."""
    _, body = await _caller(request, services)
    handled = Handled(accepted=0, ignored=0)
    for event in _events(body, EmailEvent):
        delivery = await run_in_threadpool(_find, services, event.message_id)
        if delivery is None:
            handled.ignored += 1
            continue
        handled.accepted += 1
        if event.event == "complained" or event.bounce_type == "hard":
            reason = "complaint" if event.event == "complained" else "hard_bounce"
            await run_in_threadpool(_suppress, services, delivery, reason)
        if event.event == "complained":
            await run_in_threadpool(_record, services, delivery.message_id, "complained", None)
            continue
        attributes = {"bounce_type": event.bounce_type} if event.event == "bounced" else {}
        if event.event == "bounced":
            await run_in_threadpool(
                _record, services, delivery.message_id, "bounced", event.bounce_type
            )
        await raise_interaction(
            services,
            f"email.{event.event}",
            ref_of(delivery),
            f"{delivery.message_id}:{event.event}",
            attributes,
            strict=True,
        )
    return _counted(services, "email", handled)


@router.post("/sms/events", status_code=HTTPStatus.ACCEPTED)
async def sms_events(request: Request, services: ServicesDep) -> Handled:
    """Delivery receipts from your SMS provider: JSON `{"message_id", "event"}`, or Twilio's
    status callbacks (which Journeys asks for on every message it sends through Twilio)."""
    provider, body = await _caller(request, services)
    if provider is Provider.TWILIO:
        delivered = body.get("MessageStatus") == "delivered"
        sid = body.get("MessageSid", "")
        events = [SmsEvent(message_id=sid, event="delivered")] if delivered else []
    else:
        events = _events(body, SmsEvent)
    handled = Handled(accepted=0, ignored=0)
    for event in events:
        delivery = await run_in_threadpool(_find, services, event.message_id)
        if delivery is None:
            handled.ignored += 1
            continue
        handled.accepted += 1
        if event.event == "delivered":
            await raise_interaction(
                services,
                "sms.delivered",
                ref_of(delivery),
                f"{delivery.message_id}:delivered",
                strict=True,
            )
    return _counted(services, "sms", handled)


@router.post("/sms/inbound", status_code=HTTPStatus.ACCEPTED)
async def sms_inbound(request: Request, services: ServicesDep) -> Handled:
    """A reply from a contact: JSON `{"from", "text"}`, or Twilio's inbound message form.

    STOP (or ARRET, UNSUBSCRIBE, ...) withdraws the number's SMS consent. Anything else
    raises sms.replied, with its `text`, to the run whose SMS the number got last."""
    provider, body = await _caller(request, services)
    if provider is Provider.TWILIO:
        body = {"from": body.get("From", ""), "text": body.get("Body", "")}
    try:
        reply = InboundSms.model_validate(body)
    except ValidationError as error:
        raise ProblemsError(problems_from_validation_error(error)) from None
    phone = "".join(c for c in reply.from_ if c.isdigit() or c == "+")
    if reply.text.strip().lower() in STOP_WORDS:
        stopped = await run_in_threadpool(_stop, services, phone)
        handled = Handled(
            accepted=stopped, ignored=0 if stopped else 1, action="sms consent withdrawn"
        )
        return _counted(services, "sms", handled)
    delivery = await run_in_threadpool(_last_sms, services, phone)
    if delivery is None:
        return _counted(services, "sms", Handled(accepted=0, ignored=1))
    await raise_interaction(
        services,
        "sms.replied",
        ref_of(delivery),
        f"{delivery.message_id}:reply:{reply.text.strip()[:100]}",
        {"text": reply.text.strip()},
        strict=True,
    )
    return _counted(services, "sms", Handled(accepted=1, ignored=0))


@router.post("/push/events", status_code=HTTPStatus.ACCEPTED)
async def push_events(request: Request, services: ServicesDep) -> Handled:
    """Deliveries and opens reported by your app or push provider (one or a list)."""
    _, body = await _caller(request, services)
    handled = Handled(accepted=0, ignored=0)
    for event in _events(body, PushEvent):
        delivery = await run_in_threadpool(_find, services, event.message_id)
        if delivery is None:
            handled.ignored += 1
            continue
        handled.accepted += 1
        await raise_interaction(
            services,
            f"push.{event.event}",
            ref_of(delivery),
            f"{delivery.message_id}:{event.event}",
            strict=True,
        )
    return _counted(services, "push", handled)


def _counted(services: Services, channel: str, handled: Handled) -> Handled:
    """Count what a provider told us, for `/metrics`."""
    counter = services.metrics.provider_events
    counter.labels(channel, "accepted").inc(handled.accepted)
    counter.labels(channel, "ignored").inc(handled.ignored)
    return handled


def _find(services: Services, message_id: str) -> DeliveryRow | None:
    with transaction(services.engine) as session:
        return find_delivery(session, message_id)


def _record(services: Services, message_id: str, what: str, bounce_type: str | None) -> None:
    with transaction(services.engine) as session:
        record_engagement(session, message_id, what, datetime.now(UTC), bounce_type)


def _suppress(services: Services, delivery: DeliveryRow, reason: str) -> None:
    if delivery.recipient is None:
        return
    with transaction(services.engine) as session:
        suppress(session, delivery.channel, delivery.recipient, reason, delivery.message_id)


def _last_sms(services: Services, phone: str) -> DeliveryRow | None:
    with transaction(services.engine) as session:
        return last_sms_to(session, phone)


def _stop(services: Services, phone: str) -> int:
    """Withdraw SMS consent from every contact with this number; how many."""
    with transaction(services.engine) as session:
        ids = session.exec(select(ContactRow.id).where(ContactRow.phone == phone)).all()
        for contact_id in ids:
            upsert_contact(session, contact_id, ContactChanges(consent=Consent(sms=False)))
        return len(ids)
