"""CloudEvents 1.0 over HTTP, in the three content modes of its HTTP protocol binding:
structured (`application/cloudevents+json`), batched (`application/cloudevents-batch+json`)
and binary (the context attributes in `ce-*` headers, the data as the body).

`type` is the trigger, `subject` the contact, `id` the event id, `data` the attributes and
the `bindingid` extension the binding id. A trigger's attributes are a JSON object, so the
data must be JSON (`application/json` or another `+json` type): other data is refused.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from starlette.datastructures import Headers

from api.deps import EventWriter, ServicesDep
from api.errors import ErrorBody
from api.event_answers import MAX_BATCH, BatchOut, EventAccepted, accept_all, batch_out
from api.openapi import model_schema
from journeys.definitions.common import BindingId, ContactId
from journeys.engine.events import Attributes
from journeys.ingest.contracts import EventRequest
from journeys.kit import jsontext
from journeys.kit.problems import Problem, ProblemsError, problems_from_validation_error

router = APIRouter(prefix="/v1", tags=["events"])

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
HEADER_PREFIX = "ce-"
# The JSON media types, as the CloudEvents JSON event format names them.
_JSON_MEDIA = re.compile(r"(application|text)/([a-z0-9.-]+\+)?json")


def _media_type(content_type: str) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`."""
    return content_type.partition(";")[0].strip().lower()


def _is_json(content_type: str) -> bool:
    return _JSON_MEDIA.fullmatch(_media_type(content_type)) is not None


def _not_attributes(content_type: str) -> str:
    return (
        f"data of type {content_type} cannot be a trigger's attributes: they are a JSON "
        "object, sent as application/json (or another +json type)"
    )


class CloudEvent(BaseModel):
    """The context attributes Journeys reads; other extension attributes are allowed."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    source: Annotated[str, StringConstraints(min_length=1)]
    type: str = Field(description="The trigger name.")
    subject: ContactId = Field(description="The contact the event is about.")
    time: AwareDatetime | None = None
    datacontenttype: str | None = Field(
        default=None, description="A JSON media type when given: the data is the attributes."
    )
    data: Attributes = Field(default_factory=dict, description="The trigger's attributes.")
    bindingid: BindingId | None = Field(default=None, description="Extension: the binding id.")

    @model_validator(mode="before")
    @classmethod
    def _json_data_only(cls, value: Any) -> Any:
        if isinstance(value, dict) and "data_base64" in value:
            raise ValueError("data_base64 is not supported: send the attributes as JSON `data`")
        return value

    @model_validator(mode="after")
    def _json_content(self) -> CloudEvent:
        if self.datacontenttype and not _is_json(self.datacontenttype):
            raise ValueError(_not_attributes(self.datacontenttype))
        return self

    def request(self) -> EventRequest:
        return EventRequest(
            trigger=self.type,
            contact_id=self.subject,
            attributes=self.data,
            event_id=self.id,
            binding_id=self.bindingid,
            occurred_at=self.time,
        )


_EVENT: TypeAdapter[CloudEvent] = TypeAdapter(CloudEvent)
_BINARY_HEADERS = [
    ("specversion", True, "`1.0`"),
    ("id", True, "The event id: a repeat with the same id acts on nothing."),
    ("source", True, "Where the event happened."),
    ("type", True, "The trigger name."),
    ("subject", True, "The contact the event is about."),
    ("time", False, "When the event happened (RFC 3339)."),
    ("bindingid", False, "Extension: the binding id."),
]


@router.post(
    "/cloudevents",
    responses={
        202: {"model": EventAccepted, "description": "One event (structured or binary) accepted"},
        200: {"model": BatchOut, "description": "A batch: per-item results, in order"},
        400: {"model": ErrorBody, "description": "Not JSON, or a batch that is not an array"},
        415: {"model": ErrorBody, "description": "Data or an event format that is not JSON"},
        422: {"model": ErrorBody, "description": "Every problem found in the event"},
    },
    openapi_extra={
        "parameters": [
            {
                "name": f"{HEADER_PREFIX}{name}",
                "in": "header",
                "required": False,
                "description": f"Binary mode{', required' if required else ''}: {about}",
                "schema": {"type": "string"},
            }
            for name, required, about in _BINARY_HEADERS
        ],
        "requestBody": {
            "content": {
                SINGLE: {"schema": model_schema(CloudEvent)},
                BATCH: {
                    "schema": {
                        "type": "array",
                        "maxItems": MAX_BATCH,
                        "items": model_schema(CloudEvent),
                    }
                },
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": True,
                        "description": "Binary mode: the data (the trigger's attributes), "
                        "the context attributes in the ce-* headers.",
                    }
                },
            }
        },
    },
)
async def cloudevents(request: Request, services: ServicesDep, _: EventWriter) -> Response:
    """CloudEvents 1.0: one event in structured or binary mode, or a batch."""
    media = _media_type(request.headers.get("content-type", ""))
    body = await request.body()
    if media.startswith("application/cloudevents-batch"):
        _json_format(media, BATCH)
        return await _batch(services, _json(body))
    structured = media.startswith("application/cloudevents")
    if not structured and any(name.startswith(HEADER_PREFIX) for name in request.headers):
        event = _binary(request.headers, body)
    else:
        if structured:
            _json_format(media, SINGLE)
        elif media and not _is_json(media):
            raise HTTPException(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"{media} is no CloudEvents content mode: send {SINGLE}, {BATCH}, or the "
                "attributes in ce-* headers with JSON data (binary mode)",
            )
        # else: a structured event sent as plain JSON, as Journeys always took it
        document = _json(body)
        if isinstance(document, list):
            return await _batch(services, document)
        event = _structured(document)
    accepted = await services.ingestion.accept(event)
    return JSONResponse(
        EventAccepted.of(accepted).model_dump(mode="json"), status_code=HTTPStatus.ACCEPTED
    )


def _json_format(media: str, expected: str) -> None:
    if media != expected:
        raise HTTPException(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"{media} is not supported: Journeys reads the JSON event format, {expected}",
        )


def _json(body: bytes) -> Any:
    try:
        return jsontext.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(HTTPStatus.BAD_REQUEST, f"not valid JSON: {error}") from None


async def _batch(services: ServicesDep, items: Any) -> JSONResponse:
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        raise HTTPException(
            HTTPStatus.BAD_REQUEST, f"a batch is a JSON array of at most {MAX_BATCH} events"
        )
    blank = Response()  # batch_out sets Retry-After on it when an item may be retried
    out = batch_out(await accept_all(services.ingestion, [_parse(item) for item in items]), blank)
    # Only that header carries over: the blank response's own Content-Length (0) must not.
    retry = {name: blank.headers[name] for name in ("retry-after",) if name in blank.headers}
    return JSONResponse(out.model_dump(mode="json", exclude_none=True), headers=retry)


def _structured(document: Any) -> EventRequest:
    parsed = _parse(document)
    if isinstance(parsed, list):
        raise ProblemsError(parsed)
    return parsed


def _binary(headers: Headers, body: bytes) -> EventRequest:
    """Binary mode: each `ce-{name}` header is the attribute `name` (percent-encoded, as the
    binding says), Content-Type is `datacontenttype`, and the body is the data."""
    attributes: dict[str, Any] = {}
    for name, value in headers.items():
        if name.startswith(HEADER_PREFIX):
            try:
                # Starlette reads header bytes as Latin-1: back to bytes, then UTF-8.
                attributes[name[len(HEADER_PREFIX) :]] = unquote_to_bytes(
                    value.encode("latin-1")
                ).decode()
            except UnicodeDecodeError:
                raise ProblemsError([Problem(path=name, message="not UTF-8")]) from None
    content_type = headers.get("content-type")
    if content_type:
        if not _is_json(content_type):
            raise HTTPException(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, _not_attributes(content_type))
        attributes["datacontenttype"] = content_type
    attributes["data"] = _json(body) if body else {}
    parsed = _parse(attributes)
    if isinstance(parsed, list):
        raise ProblemsError([p.model_copy(update={"path": _where(p.path)}) for p in parsed])
    return parsed


def _where(path: str) -> str:
    """Where a binary-mode problem is: the data in the body, an attribute in its header."""
    if not path or re.match(r"data\b", path):
        return path
    return f"{HEADER_PREFIX}{path}"


def _parse(item: Any) -> EventRequest | list[Problem]:
    try:
        return _EVENT.validate_python(item).request()
    except ValidationError as error:
        return problems_from_validation_error(error)
