"""Live journey analytics: how a journey is doing, overall, per version and per step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from api.deps import Admin, SessionDep
from api.routes.journey_tools import definition_at
from journeys.definitions.common import JourneyId
from journeys.store import journeys as store
from journeys.store.analytics import Stats, journey_stats

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])


@router.get("/{journey_id}/stats", responses={404: {"description": "Unknown journey or version"}})
def stats(
    journey_id: JourneyId,
    session: SessionDep,
    _: Admin,
    version: Annotated[
        int | None, Query(description="Count one published version (default: all of them)")
    ] = None,
) -> Stats:
    """Entries, refusals, exits, goals, the per-step funnel and channel figures, counted from
    the ledgers the workers write as runs go: seconds old, not hours."""
    return journey_stats(
        session, journey_id, _step_order(session, journey_id, version), version, datetime.now(UTC)
    )


def _step_order(session: Session, journey_id: str, version: int | None) -> list[str]:
    """The steps in document order: of that version, or of every version newest first (a step
    an older version had and the newer ones lost comes after the newer steps)."""
    journey = store.get_journey(session, journey_id)
    if version is not None:
        definitions = [definition_at(session, journey_id, version)[0]]
    else:
        numbers = sorted((v.version for v in journey.versions), reverse=True)
        definitions = [definition_at(session, journey_id, n)[0] for n in numbers] or [journey.draft]
    order: dict[str, None] = {}
    for definition in definitions:
        order.update((step.id, None) for _, step in definition.walk())
    return list(order)
