"""Provider webhooks: receipts, bounces, opens and replies, raised to the runs they answer.

Every call is authenticated: an API key (or a signed request), or for Twilio's own form
posts the X-Twilio-Signature made with the account's auth token; those are answered with
TwiML, as Twilio expects (`api.twilio`). What each report does lives in
`journeys.ingest.provider_events`; this router authenticates and reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.types import DecoratedCallable
from pydantic import BaseModel, TypeAdapter, ValidationError

from api import twilio
from api.deps import ServicesDep, authorize_call
from api.openapi import model_schema
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
from journeys.store.api_keys import Scope

router = APIRouter(prefix="/v1/channels", tags=["channels"])


class Provider(StrEnum):
    API = "api"  # JSON, authenticated by an API key or a signed request
    TWILIO = "twilio"  # Twilio's form posts, authenticated by X-Twilio-Signature


async def _caller(request: Request, services: Services) -> tuple[Provider, Any]:
    """Who is calling, and the body: Twilio's signed form, or an authenticated JSON call."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return Provider.TWILIO, await twilio.signed_form(request, services.settings)
    await authorize_call(request, services, Scope.EVENTS_WRITE, signed_requests=True)
    try:
        return Provider.API, jsontext.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(HTTPStatus.BAD_REQUEST, f"not valid JSON: {error}") from None


def _reads(model: type[BaseModel], *, many: bool, twilio_form: bool) -> dict[str, Any]:
    """OpenAPI for a body these routes read themselves: JSON (one report, or a list when
    `many`) under a key, or Twilio's signed form. The key check is theirs too, so it is
    declared here."""
    one = model_schema(model)
    definitions = one.pop("$defs")
    schema = {"anyOf": [one, {"type": "array", "items": one}]} if many else one
    content: dict[str, Any] = {"application/json": {"schema": {**schema, "$defs": definitions}}}
    if twilio_form:
        content["application/x-www-form-urlencoded"] = {
            "schema": {"type": "object", "description": "Twilio's form, with X-Twilio-Signature"}
        }
    return {
        "requestBody": {"required": True, "content": content},
        "security": [{"HTTPBearer": []}],
        "responses": {"422": {"description": "Every problem found in the reports"}},
    }


def _twilio_too(
    path: str, model: type[BaseModel], *, many: bool
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A route Twilio posts to as well: Twilio gets TwiML, the others `Handled`."""
    return router.post(
        path,
        status_code=HTTPStatus.ACCEPTED,
        response_model=Handled,
        responses=twilio.TWIML_ANSWER,
        openapi_extra=_reads(model, many=many, twilio_form=True),
    )


def _events(body: Any, model: type[BaseModel]) -> list[Any]:
    items = body if isinstance(body, list) else [body]
    try:
        return TypeAdapter(list[model]).validate_python(items)  # type: ignore[valid-type]
    except ValidationError as error:
        raise ProblemsError(problems_from_validation_error(error)) from None


@router.post(
    "/email/events",
    status_code=HTTPStatus.ACCEPTED,
    openapi_extra=_reads(EmailEvent, many=True, twilio_form=False),
)
async def email_events(request: Request, services: ServicesDep) -> Handled:
    """Delivery receipts, bounces and complaints from your email provider (one or a list).

    A hard bounce or a complaint puts the address on the suppression list."""
    _, body = await _caller(request, services)
    handled = await services.provider_events.email(_events(body, EmailEvent))
    return _counted(services, "email", handled)


@_twilio_too("/sms/events", SmsEvent, many=True)
async def sms_events(request: Request, services: ServicesDep) -> Handled | Response:
    """Delivery receipts from your SMS provider: JSON `{"message_id", "event"}`, or Twilio's
    status callbacks (which Journeys asks for on every message it sends through Twilio).

    A failure the provider calls permanent (`permanent`, or one of Twilio's permanent error
    codes) puts the number on the suppression list."""
    provider, body = await _caller(request, services)
    twilio_posted = provider is Provider.TWILIO
    events = twilio.status_events(body) if twilio_posted else _events(body, SmsEvent)
    handled = _counted(services, "sms", await services.provider_events.sms(events))
    return twilio.twiml() if twilio_posted else handled


@_twilio_too("/sms/inbound", InboundSms, many=False)
async def sms_inbound(request: Request, services: ServicesDep) -> Handled | Response:
    """A reply from a contact: JSON `{"from", "text", "opt_out_type"?}`, or Twilio's inbound
    message form (its `OptOutType`, from Advanced Opt-Out, decides over the text).

    STOP (or ARRET, UNSUBSCRIBE, ...) withdraws the number's SMS consent, and START grants it
    back; HELP is the provider's to answer. Anything else raises sms.replied, with its `text`,
    to the run whose SMS the number got last."""
    provider, body = await _caller(request, services)
    if provider is Provider.TWILIO:
        reply = twilio.inbound_sms(body)
    else:
        try:
            reply = InboundSms.model_validate(body)
        except ValidationError as error:
            raise ProblemsError(problems_from_validation_error(error)) from None
    handled = _counted(services, "sms", await services.provider_events.sms_reply(reply))
    return twilio.twiml() if provider is Provider.TWILIO else handled


@router.post(
    "/push/events",
    status_code=HTTPStatus.ACCEPTED,
    openapi_extra=_reads(PushEvent, many=True, twilio_form=False),
)
async def push_events(request: Request, services: ServicesDep) -> Handled:
    """Deliveries and opens reported by your app or push provider (one or a list)."""
    _, body = await _caller(request, services)
    handled = await services.provider_events.push(_events(body, PushEvent))
    return _counted(services, "push", handled)


def _counted(services: Services, channel: str, handled: Handled) -> Handled:
    """Count what a provider told us, for `/metrics`."""
    counter = services.metrics.provider_events
    counter.labels(channel, "accepted").inc(handled.accepted)
    counter.labels(channel, "ignored").inc(handled.ignored)
    return handled
