"""Provider webhooks: receipts, bounces, opens and replies, raised to the runs they answer.

Every call is authenticated: an API key (or a signed request), or for Twilio's own form
posts the X-Twilio-Signature made with the account's auth token. What each report does
lives in `journeys.ingest.provider_events`; this router authenticates and reads them.
"""

from __future__ import annotations

import hmac
import json
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from api.deps import ServicesDep, authorize_call
from api.services import Services
from journeys.ingest.provider_events import (
    EmailEvent,
    Handled,
    InboundSms,
    PushEvent,
    SmsEvent,
)
from journeys.kit import jsontext
from journeys.kit.problems import ProblemsError, problems_from_validation_error
from journeys.kit.signing import twilio_signature
from journeys.store.api_keys import Scope

router = APIRouter(prefix="/v1/channels", tags=["channels"])


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
    handled = await services.provider_events.email(_events(body, EmailEvent))
    return _counted(services, "email", handled)


@router.post("/sms/events", status_code=HTTPStatus.ACCEPTED)
async def sms_events(request: Request, services: ServicesDep) -> Handled:
    """Delivery receipts from your SMS provider: JSON `{"message_id", "event"}`, or Twilio's
    status callbacks (which Journeys asks for on every message it sends through Twilio)."""
    provider, body = await _caller(request, services)
    events = _twilio_status(body) if provider is Provider.TWILIO else _events(body, SmsEvent)
    return _counted(services, "sms", await services.provider_events.sms(events))


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
    return _counted(services, "sms", await services.provider_events.sms_reply(reply))


@router.post("/push/events", status_code=HTTPStatus.ACCEPTED)
async def push_events(request: Request, services: ServicesDep) -> Handled:
    """Deliveries and opens reported by your app or push provider (one or a list)."""
    _, body = await _caller(request, services)
    handled = await services.provider_events.push(_events(body, PushEvent))
    return _counted(services, "push", handled)


def _twilio_status(form: dict[str, str]) -> list[SmsEvent]:
    """A Twilio status callback as Journeys' SMS events: `delivered`, and `failed` for a
    message that failed or could not be delivered (its ErrorCode kept); the statuses on the
    way (queued, sent, ...) say nothing yet."""
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus")
    if status == "delivered":
        return [SmsEvent(message_id=sid, event="delivered")]
    if status in ("failed", "undelivered"):
        return [SmsEvent(message_id=sid, event="failed", error_code=form.get("ErrorCode"))]
    return []


def _counted(services: Services, channel: str, handled: Handled) -> Handled:
    """Count what a provider told us, for `/metrics`."""
    counter = services.metrics.provider_events
    counter.labels(channel, "accepted").inc(handled.accepted)
    counter.labels(channel, "ignored").inc(handled.ignored)
    return handled
