"""The state of one journey run: plain data, carried across continue-as-new and queried."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from journeys.engine.events import TriggerEvent

SEEN_EVENT_IDS = 1000  # de-duplication memory; signals are at-least-once
BUFFERED_EVENTS = 100  # continue-triggers kept for a wait_for that has not begun yet
HISTORY_ENTRIES = 200  # the newest entries of the run's history


class RunStatus(StrEnum):
    ENTERING = "entering"  # deciding whether the contact may enter
    ACTIVE = "active"
    WAITING = "waiting"
    POSTPONED = "postponed"  # a message waits for a quiet time to end
    PAUSED = "paused"  # the journey is paused: waits are frozen, events kept
    COMPLETED = "completed"  # ran to the end of its steps
    EXITED = "exited"  # left early: an exit trigger or an exit step
    REFUSED = "refused"  # never entered: start condition false, re-entry blocked

    @property
    def finished(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.REFUSED)


class Awaiting(StrEnum):
    """Which command's observation the interpreter expects next."""

    CONTACT = "contact"
    ENTRY = "entry"
    SEND = "send"
    ACTIVATE = "activate"
    WEBHOOK = "webhook"
    WAKE = "wake"


class Outcome(BaseModel):
    status: RunStatus
    reason: str | None = None
    at: datetime


class HistoryEntry(BaseModel):
    at: datetime
    step: str | None
    what: str  # entered, sent, blocked, failed, waiting, waited, matched, timed_out, ...
    detail: str | None = None


class BufferedEvent(BaseModel):
    event: TriggerEvent
    received_at: datetime


class ExitRequest(BaseModel):
    reason: str  # trigger:<name> for an exit trigger, or why the run was stopped
    event_id: str | None = None
    at: datetime


class RunState(BaseModel):
    journey_id: str
    version: int
    contact_id: str
    binding_id: str | None = None
    instance_id: str
    start: TriggerEvent

    # The entry ledger admitted the contact before the run began: it begins entered. (Runs
    # started before the gateway decided entries ask the ledger themselves.)
    admitted: bool = False
    entered: bool = False
    step: str | None = None
    awaiting: Awaiting | None = None
    wait_started_at: datetime | None = None
    wait_until: datetime | None = None
    visits: dict[str, int] = Field(default_factory=dict)
    contact: dict[str, Any] | None = None  # snapshot for conditions on contact.*
    event: dict[str, Any] | None = None  # the last awaited event's attributes (event.*)
    response: dict[str, Any] | None = None  # the last webhook's JSON answer (response.*)
    paused_at: datetime | None = None
    woken: bool = False  # something happened that a wait without a deadline waits for
    goal_reached_at: datetime | None = None
    postponed: bool = False  # the current message step waits to be sent again
    buffer: list[BufferedEvent] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list)
    exit_request: ExitRequest | None = None
    outcome: Outcome | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    history_dropped: int = 0
    recorded: int = 0  # history entries the driver has stored for analytics so far

    @property
    def status(self) -> RunStatus:
        if self.outcome is not None:
            return self.outcome.status
        if not self.entered:
            return RunStatus.ENTERING
        if self.paused_at is not None:
            return RunStatus.PAUSED
        if self.awaiting is Awaiting.WAKE:
            return RunStatus.POSTPONED if self.postponed else RunStatus.WAITING
        return RunStatus.ACTIVE

    def unrecorded(self) -> tuple[int, list[HistoryEntry]]:
        """(position of the first, entries) of the history not yet stored for analytics."""
        first = max(self.recorded, self.history_dropped)
        return first, self.history[first - self.history_dropped :]

    def record(self, at: datetime, what: str, detail: str | None = None) -> None:
        self.history.append(HistoryEntry(at=at, step=self.step, what=what, detail=detail))
        if len(self.history) > HISTORY_ENTRIES:
            overflow = len(self.history) - HISTORY_ENTRIES
            del self.history[:overflow]
            self.history_dropped += overflow
