"""How the gateway answers the events it takes in, whichever endpoint took them: one event,
or a batch item by item (a bad item does not sink the others)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import Response
from pydantic import BaseModel, Field, StringConstraints

from api.errors import RETRY_AFTER_SECONDS
from journeys.ingest.contracts import (
    Accepted,
    EventRequest,
    FailedSignal,
    RefusedEntry,
    Rejected,
)
from journeys.ingest.ingestion import Ingestion
from journeys.kit.problems import Problem
from journeys.temporal.errors import TemporalUnavailable

EventId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")]
MAX_BATCH = 500


class EventAccepted(BaseModel):
    event_id: str
    trigger: str
    started: list[str] = Field(description="Journeys in which the event started a new run.")
    signaled: list[str] = Field(description="Journeys whose running run received the event.")
    refused: list[RefusedEntry] = Field(
        default_factory=list,
        description="Journeys the event could start that did not admit the contact, each with why.",
    )
    failed: list[FailedSignal] = Field(
        default_factory=list,
        description="Journeys whose runs Temporal refused the event (not for being away).",
    )
    drafts: list[str] = Field(
        default_factory=list, description="Draft journeys (never published) it would start."
    )
    duplicate: bool = Field(description="True when this event id was accepted already.")

    @classmethod
    def of(cls, accepted: Accepted) -> EventAccepted:
        return cls.model_validate(accepted, from_attributes=True)


class ItemResult(BaseModel):
    index: int
    status: int
    event_id: str | None = None
    trigger: str | None = None
    started: list[str] | None = None
    signaled: list[str] | None = None
    refused: list[RefusedEntry] | None = None
    failed: list[FailedSignal] | None = None
    drafts: list[str] | None = None
    duplicate: bool | None = None
    detail: str | None = None
    problems: list[Problem] | None = None


class BatchOut(BaseModel):
    accepted: int
    refused: int
    results: list[ItemResult]


async def accept_all(
    ingestion: Ingestion, items: list[EventRequest | list[Problem]]
) -> list[ItemResult]:
    """Accept items in order; a bad item does not sink the others. Once Temporal is found
    unreachable, the remaining items are answered 503 without trying, with the reason."""
    results: list[ItemResult] = []
    unavailable: TemporalUnavailable | None = None
    for index, item in enumerate(items):
        if isinstance(item, list):
            results.append(
                ItemResult(index=index, status=422, detail="invalid event", problems=item)
            )
        elif unavailable:
            results.append(_unavailable(index, item, unavailable))
        else:
            try:
                accepted = await ingestion.accept(item)
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
            except TemporalUnavailable as error:
                if error.away:
                    unavailable = error
                results.append(_unavailable(index, item, error))
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


def _unavailable(index: int, item: EventRequest, error: TemporalUnavailable) -> ItemResult:
    return ItemResult(
        index=index,
        status=HTTPStatus.SERVICE_UNAVAILABLE,
        trigger=item.trigger,
        event_id=item.event_id,
        detail=f"{error}; retry this item with the same event_id",
    )
