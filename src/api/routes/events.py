"""Trigger events one at a time or in batches: the gateway's hot path.

No store round trip for validation or routing: the catalog and routes are in memory.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from api.deps import EventWriter, ServicesDep
from api.errors import RETRY_AFTER_SECONDS
from journeys.definitions.common import BindingId, ContactId
from journeys.ingest.contracts import Accepted, Attributes, EventRequest, Rejected
from journeys.ingest.dispatch import TemporalUnavailable
from journeys.kit.problems import Problem, problems_from_validation_error

router = APIRouter(prefix="/v1", tags=["events"])

EventId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")]
MAX_BATCH = 500


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: ContactId
    event_id: EventId | None = Field(
        default=None, description="Your id for this event; a retry with the same id acts once."
    )
    binding_id: BindingId | None = Field(
        default=None,
        description="The order, cart, ... the event is about (journeys run per binding).",
    )
    occurred_at: AwareDatetime | None = None
    attributes: Attributes = Field(default_factory=dict)

    def request(self, trigger: str) -> EventRequest:
        return EventRequest(
            trigger=trigger,
            contact_id=self.contact_id,
            attributes=self.attributes,
            event_id=self.event_id,
            binding_id=self.binding_id,
            occurred_at=self.occurred_at,
        )


class RefusedEntry(BaseModel):
    journey: str
    reason: str = Field(description="condition_false, outside_window or journey_paused")


class EventAccepted(BaseModel):
    event_id: str
    trigger: str
    started: list[str] = Field(description="Journeys in which the event started a new run.")
    signaled: list[str] = Field(description="Journeys whose running run received the event.")
    refused: list[RefusedEntry] = Field(
        default_factory=list, description="Journeys the event could start but that refused it."
    )
    duplicate: bool = Field(description="True when this event id was accepted already.")

    @classmethod
    def of(cls, accepted: Accepted) -> EventAccepted:
        return cls.model_validate(accepted, from_attributes=True)


class BatchItem(EventIn):
    trigger: str


class ItemResult(BaseModel):
    index: int
    status: int
    event_id: str | None = None
    trigger: str | None = None
    started: list[str] | None = None
    signaled: list[str] | None = None
    refused: list[RefusedEntry] | None = None
    duplicate: bool | None = None
    detail: str | None = None
    problems: list[Problem] | None = None


class BatchOut(BaseModel):
    accepted: int
    refused: int
    results: list[ItemResult]


class BatchIn(BaseModel):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


@router.post(
    "/triggers/{name}/events",
    status_code=HTTPStatus.ACCEPTED,
    responses={
        403: {"description": "An interaction trigger, or a key without events:write"},
        404: {"description": "Unknown trigger"},
        409: {"description": "Trigger not ready"},
        503: {"description": "Temporal unreachable: retry with the same event_id"},
    },
)
async def fire_trigger(
    name: str, body: EventIn, services: ServicesDep, _: EventWriter
) -> EventAccepted:
    """Fire a trigger for one contact: start, continue or stop the journeys that use it."""
    return EventAccepted.of(await services.ingestion.accept(body.request(name)))


@router.post("/events:batch", response_model_exclude_none=True)
async def fire_batch(
    body: BatchIn, services: ServicesDep, response: Response, _: EventWriter
) -> BatchOut:
    """Up to 500 events, each with its `trigger`; each gets its own result, in order."""
    results = await accept_all(services, [_batch_item(item) for item in body.events])
    return batch_out(results, response)


_BATCH_ITEM: TypeAdapter[BatchItem] = TypeAdapter(BatchItem)


def _batch_item(item: dict[str, Any]) -> EventRequest | list[Problem]:
    try:
        parsed = _BATCH_ITEM.validate_python(item)
    except ValidationError as error:
        return problems_from_validation_error(error)
    return parsed.request(parsed.trigger)


async def accept_all(
    services: ServicesDep, items: list[EventRequest | list[Problem]]
) -> list[ItemResult]:
    """Accept items in order; a bad item does not sink the others. Once Temporal is found
    unreachable, the remaining items are answered 503 without trying."""
    results: list[ItemResult] = []
    unavailable = False
    for index, item in enumerate(items):
        if isinstance(item, list):
            results.append(
                ItemResult(index=index, status=422, detail="invalid event", problems=item)
            )
        elif unavailable:
            results.append(_unavailable(index, item))
        else:
            try:
                accepted = await services.ingestion.accept(item)
            except Rejected as refused:
                results.append(
                    ItemResult(
                        index=index,
                        status=refused.status,
                        trigger=item.trigger,
                        event_id=item.event_id,
                        detail=refused.detail,
                        problems=refused.problems or None,
                    )
                )
            except TemporalUnavailable:
                unavailable = True
                results.append(_unavailable(index, item))
            else:
                results.append(
                    ItemResult(index=index, status=HTTPStatus.ACCEPTED, **vars(accepted))
                )
    return results


def batch_out(results: list[ItemResult], response: Response) -> BatchOut:
    if any(r.status == HTTPStatus.SERVICE_UNAVAILABLE for r in results):
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    accepted = sum(r.status == HTTPStatus.ACCEPTED for r in results)
    return BatchOut(accepted=accepted, refused=len(results) - accepted, results=results)


def _unavailable(index: int, item: EventRequest) -> ItemResult:
    return ItemResult(
        index=index,
        status=HTTPStatus.SERVICE_UNAVAILABLE,
        trigger=item.trigger,
        event_id=item.event_id,
        detail="Temporal cannot be reached; retry this item with the same event_id",
    )
