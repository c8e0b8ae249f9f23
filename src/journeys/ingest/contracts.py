"""What ingestion takes in and answers, whichever way an event came: the API's endpoints
(single, batch, CloudEvents, Segment, records) and the worker's `activate` steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

from journeys.contacts.model import ContactChanges, ContactWriter
from journeys.engine.entry import EntryRefusal
from journeys.kit.problems import Problem


@dataclass(frozen=True)
class EventRequest:
    trigger: str
    contact_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    binding_id: str | None = None
    occurred_at: datetime | None = None
    contact: ContactChanges | None = None  # the contact's data: upserted before it is routed
    contact_writer: ContactWriter = ContactWriter.PRODUCER  # what the sender may change in it


class RefusedEntry(BaseModel):
    journey: str
    reason: EntryRefusal = Field(description="Why the contact was not admitted.")
    # Present only where there is one: `start_failed` says what Temporal answered.
    detail: str | None = Field(
        default=None, exclude_if=lambda detail: detail is None, description="What went wrong."
    )


class FailedSignal(BaseModel):
    journey: str
    detail: str = Field(description="What Temporal said; the event did not reach that journey.")


@dataclass(frozen=True)
class Accepted:
    event_id: str
    trigger: str
    started: list[str]
    signaled: list[str]
    refused: list[RefusedEntry]  # journeys that refused to start, each with its reason
    duplicate: bool
    missed: list[str] = field(default_factory=list)  # to continue or stop, but no run there
    failed: list[FailedSignal] = field(default_factory=list)  # Temporal refused the signal
    drafts: list[str] = field(default_factory=list)  # draft journeys it would have started


class Rejected(Exception):
    """An event the gateway will not take, with the HTTP status that says why."""

    def __init__(
        self,
        status: HTTPStatus,
        detail: str,
        problems: list[Problem] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []
        self.retry_after = retry_after  # seconds, when the same request may succeed later
