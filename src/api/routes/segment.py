"""Segment's Tracking API, so that Segment's own libraries (analytics-python, analytics.js,
analytics-node) and CDPs (a Segment or RudderStack webhook destination) send straight here.

Point a library's `host` at `{PUBLIC_URL}/v1/segment`: it posts to `/v1/batch` (and the
single calls to `/v1/track`, `/v1/identify`, ...), with the write key (an API key) as the
Basic-auth user. `track` fires the trigger named after its event (`userId` is the contact,
`properties` its attributes, `messageId` the event id); `identify` upserts the contact from
its traits; `page`, `screen`, `group` and `alias` are answered as ignored. A valid Segment
message is never refused with a 4xx: what Journeys did not do with it is said in its result.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Security
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import EventWriter, ServicesDep, contact_writer, segment_write_key
from api.event_answers import EventAccepted
from journeys.contacts.model import ContactChanges, ContactWriter
from journeys.definitions.common import BindingId, ContactId
from journeys.engine.events import Attributes
from journeys.ingest.contracts import EventRequest, Rejected
from journeys.kit.problems import ProblemsError, problems_from_validation_error

router = APIRouter(
    prefix="/v1/segment", tags=["events"], dependencies=[Security(segment_write_key)]
)


class JourneysContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    binding_id: BindingId | None = None


class Context(BaseModel):
    model_config = ConfigDict(extra="allow")

    journeys: JourneysContext | None = Field(
        default=None, description='Journeys\' own options, e.g. `{"binding_id": "cart-42"}`.'
    )


class Track(BaseModel):
    model_config = ConfigDict(extra="allow")  # Segment sends context, integrations, sentAt, ...

    type: Literal["track"] = "track"
    event: str = Field(min_length=1, max_length=200)
    userId: ContactId = Field(
        description="Journeys follow known contacts: an anonymousId alone cannot be one."
    )
    messageId: str | None = Field(default=None, min_length=1, max_length=200)
    timestamp: AwareDatetime | None = None
    properties: Attributes = Field(default_factory=dict)
    context: Context = Field(default_factory=Context)


class TrackAccepted(EventAccepted):
    ignored_properties: list[str] = Field(
        description="Properties the trigger does not declare, left out of its attributes."
    )


def trigger_name(event: str) -> str:
    """`Order Placed` -> `order.placed`, `Checkout Step Completed` -> `checkout.step_completed`;
    a name that already is a trigger name (`order.placed`) is kept."""
    if re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+", event):
        return event
    words = re.findall(r"[a-z0-9]+", event.lower())
    if len(words) < 2:
        return "_".join(words)
    return f"{words[0]}.{'_'.join(words[1:])}"


@router.post("/track", status_code=HTTPStatus.ACCEPTED)
async def track(body: Track, services: ServicesDep, _: EventWriter) -> TrackAccepted:
    """A Segment track call fires the trigger named after its event (a webhook
    destination's shape; libraries post to /v1/segment/v1/batch)."""
    return await _track(body, services)


async def _track(body: Track, services: ServicesDep) -> TrackAccepted:
    name = trigger_name(body.event)
    trigger = services.catalog.snapshot.catalog.get(name)
    # A CDP sends its standard properties to every destination: keep the declared ones.
    declared = (
        body.properties
        if trigger is None or trigger.open_attributes
        else {
            key: value
            for key, value in body.properties.items()
            if trigger.attribute(key) is not None
        }
    )
    binding = body.context.journeys.binding_id if body.context.journeys else None
    accepted = await services.ingestion.accept(
        EventRequest(
            trigger=name,
            contact_id=body.userId,
            attributes=declared,
            event_id=body.messageId,
            binding_id=binding,
            occurred_at=body.timestamp,
        )
    )
    return TrackAccepted(
        **EventAccepted.of(accepted).model_dump(),
        ignored_properties=sorted(set(body.properties) - set(declared)),
    )


# -- Segment's Tracking API -------------------------------------------------------------


class Identify(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["identify"] = "identify"
    userId: ContactId
    messageId: str | None = Field(default=None, max_length=200)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)


# Segment's reserved traits, and the contact field each one is.
TRAITS = {
    "email": "email",
    "phone": "phone",
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
}
# Journeys keeps a contact's consent per channel, set by the consent call: Segment's consent
# categories are about tracking, so identify never changes consent.
IGNORED_TRAITS = {"id", "consent"}


def contact_changes(identify: Identify) -> ContactChanges:
    """A contact's fields from its traits (reserved ones by name, the others as attributes)
    and its time zone from the context."""
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, value in identify.traits.items():
        if name in TRAITS:
            fields[TRAITS[name]] = value
        elif name not in IGNORED_TRAITS:
            attributes[name] = value
    if isinstance(identify.context.get("timezone"), str):
        fields["timezone"] = identify.context["timezone"]
    if attributes:
        fields["attributes"] = attributes
    return ContactChanges.model_validate(fields)


class MessageResult(BaseModel):
    type: str
    messageId: str | None = None
    status: Literal["accepted", "ignored", "refused"] = Field(
        description="accepted: acted on (see the answer); ignored: a valid message Journeys "
        "has no use for; refused: one Journeys could not take, with why (it is not retried)."
    )
    detail: str | None = None
    answer: dict[str, Any] | None = Field(
        default=None, description="A track's event answer, or the contact an identify wrote."
    )


class SegmentAnswer(BaseModel):
    success: bool = Field(description="Always true: every message has its own result.")
    results: list[MessageResult]


class Batch(BaseModel):
    model_config = ConfigDict(extra="allow")  # sentAt, writeKey, context, integrations

    batch: list[dict[str, Any]] = Field(max_length=2_500)


_TRACK: TypeAdapter[Track] = TypeAdapter(Track)
_IDENTIFY: TypeAdapter[Identify] = TypeAdapter(Identify)
# Types Segment's libraries send that mean nothing to a journey (yet).
IGNORED_TYPES = {"page", "screen", "group", "alias"}


async def _message(
    message: dict[str, Any], services: ServicesDep, writer: ContactWriter
) -> MessageResult:
    kind = str(message.get("type", ""))
    message_id = message.get("messageId")
    result = MessageResult(
        type=kind,
        messageId=message_id if isinstance(message_id, str) else None,
        status="ignored",
    )
    if kind in IGNORED_TYPES:
        result.detail = f"a {kind} call starts, continues and stops no journey"
        return result
    if kind not in ("track", "identify"):
        result.status, result.detail = "refused", f"unknown message type {kind!r}"
        return result
    if not message.get("userId"):
        # Segment allows anonymous calls; a journey is about a known contact.
        result.detail = "no userId: Journeys follows known contacts, not anonymousIds"
        return result
    try:
        if kind == "track":
            accepted = await _track(_TRACK.validate_python(message), services)
            result.answer = accepted.model_dump()
        else:
            identify = _IDENTIFY.validate_python(message)
            changes = contact_changes(identify)
            contact, _ = await run_in_threadpool(
                services.contacts.put, identify.userId, changes, writer
            )
            result.answer = contact.model_dump(mode="json")
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        result.status, result.detail = "refused", "; ".join(map(str, problems))
        return result
    except Rejected as error:
        if error.retry_after is not None:  # for now (Temporal, the store): the client retries
            raise
        # A CDP sends every event to every destination: one no trigger is named after is
        # not for Journeys.
        ignored = error.status == HTTPStatus.NOT_FOUND
        where = "; ".join(map(str, error.problems))
        result.status = "ignored" if ignored else "refused"
        result.detail = f"{error.detail}: {where}" if where else error.detail
        return result
    except ProblemsError as error:
        result.status, result.detail = "refused", str(error)
        return result
    result.status = "accepted"
    return result


@router.post("/v1/batch")
async def segment_batch(
    body: Batch, services: ServicesDep, principal: EventWriter
) -> SegmentAnswer:
    """Segment's batch call, as its libraries send it (`host` set to `{PUBLIC_URL}/v1/segment`).
    Each message gets its own result, in order; the call itself succeeds."""
    writer = contact_writer(principal)
    return SegmentAnswer(
        success=True, results=[await _message(m, services, writer) for m in body.batch]
    )


def _single(kind: str) -> Any:
    async def call(
        body: Annotated[dict[str, Any], Field()], services: ServicesDep, principal: EventWriter
    ) -> SegmentAnswer:
        writer = contact_writer(principal)
        message = {**body, "type": kind}  # the path says which call it is
        return SegmentAnswer(success=True, results=[await _message(message, services, writer)])

    call.__name__ = f"segment_{kind}"
    call.__doc__ = f"Segment's {kind} call (one message); see the batch call."
    return call


for _kind in ("track", "identify", "page", "screen", "group", "alias"):
    router.post(f"/v1/{_kind}", name=f"segment_{_kind}")(_single(_kind))
