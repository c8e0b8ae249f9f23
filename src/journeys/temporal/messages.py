"""The payloads that cross Temporal between the gateway and the journey workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from journeys.definitions.journeys import EmailMessage, JourneyDefinition, PushMessage, SmsMessage
from journeys.engine.events import TriggerEvent
from journeys.engine.state import HistoryEntry, Outcome, RunState, RunStatus


class JourneyInput(BaseModel):
    """A run's input. The definition travels with it, so a run keeps its version forever."""

    definition: JourneyDefinition
    version: int
    start: TriggerEvent
    # The entry the ledger admitted, which the run is; runs started before the gateway
    # decided entries have none, and ask the ledger themselves.
    instance_id: str | None = None
    resume: RunState | None = None  # set when the run continues as new


class StopRequest(BaseModel):
    reason: str = "journey_stopped"


class RunView(BaseModel):
    """What the state query answers."""

    journey_id: str
    version: int
    contact_id: str
    binding_id: str | None
    instance_id: str
    status: RunStatus
    step: str | None
    waiting_until: datetime | None
    outcome: Outcome | None
    history: list[HistoryEntry]
    history_dropped: int

    @classmethod
    def of(cls, state: RunState) -> RunView:
        return cls(
            journey_id=state.journey_id,
            version=state.version,
            contact_id=state.contact_id,
            binding_id=state.binding_id,
            instance_id=state.instance_id,
            status=state.status,
            step=state.step,
            # An ended run waits for nothing, whatever its last wait was set to.
            waiting_until=None if state.status.finished else state.wait_until,
            outcome=state.outcome,
            history=state.history,
            history_dropped=state.history_dropped,
        )


class TestSendInput(BaseModel):
    """One step's message sent to one contact, outside any run, marked as a test."""

    journey_id: str
    journey_name: str
    version: int  # 0: the draft
    step: str
    contact_id: str
    message: EmailMessage | SmsMessage | PushMessage
    trigger: dict[str, Any] = {}
