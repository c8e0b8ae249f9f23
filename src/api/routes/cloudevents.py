"""CloudEvents 1.0 (structured JSON, and batches): `type` is the trigger, `subject` the contact."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any, Literal

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

from api.deps import EventWriter, ServicesDep
from api.event_answers import MAX_BATCH, EventAccepted, accept_all, batch_out
from journeys.definitions.common import BindingId, ContactId
from journeys.engine.events import Attributes
from journeys.ingest.contracts import EventRequest
from journeys.kit import jsontext
from journeys.kit.problems import Problem, ProblemsError, problems_from_validation_error

router = APIRouter(prefix="/v1", tags=["events"])

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


class CloudEvent(BaseModel):
    """The context attributes Journeys reads; other extension attributes are allowed."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    source: Annotated[str, StringConstraints(min_length=1)]
    type: str = Field(description="The trigger name.")
    subject: ContactId = Field(description="The contact the event is about.")
    time: AwareDatetime | None = None
    datacontenttype: str | None = None
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
        if self.datacontenttype and not self.datacontenttype.startswith("application/json"):
            raise ValueError("datacontenttype must be application/json")
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


@router.post(
    "/cloudevents",
    responses={
        202: {"description": "One event (`application/cloudevents+json`) accepted"},
        200: {"description": "A batch (`application/cloudevents-batch+json`): per-item results"},
        400: {"description": "Not JSON"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                SINGLE: {"schema": CloudEvent.model_json_schema()},
                BATCH: {"schema": {"type": "array", "items": CloudEvent.model_json_schema()}},
            }
        }
    },
)
async def cloudevents(request: Request, services: ServicesDep, _: EventWriter) -> Response:
    """CloudEvents 1.0 in structured JSON mode: one event, or a batch."""
    try:
        body = jsontext.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HTTPException(HTTPStatus.BAD_REQUEST, f"not valid JSON: {error}") from None
    batch = BATCH in request.headers.get("content-type", "") or isinstance(body, list)
    if batch:
        if not isinstance(body, list) or not 0 < len(body) <= MAX_BATCH:
            raise HTTPException(
                HTTPStatus.BAD_REQUEST, f"a batch is a JSON array of 1 to {MAX_BATCH} events"
            )
        blank = Response()  # batch_out sets Retry-After on it when an item may be retried
        out = batch_out(
            await accept_all(services.ingestion, [_parse(item) for item in body]), blank
        )
        # Only that header carries over: the blank response's own Content-Length (0) must not.
        retry = {name: blank.headers[name] for name in ("retry-after",) if name in blank.headers}
        return JSONResponse(out.model_dump(mode="json", exclude_none=True), headers=retry)
    parsed = _parse(body)
    if isinstance(parsed, list):
        raise ProblemsError(parsed)
    accepted = await services.ingestion.accept(parsed)
    return JSONResponse(
        EventAccepted.of(accepted).model_dump(mode="json"), status_code=HTTPStatus.ACCEPTED
    )


def _parse(item: Any) -> EventRequest | list[Problem]:
    try:
        return _EVENT.validate_python(item).request()
    except ValidationError as error:
        return problems_from_validation_error(error)
