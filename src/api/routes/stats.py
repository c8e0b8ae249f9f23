"""Live journey analytics: how a journey is doing, overall, per version and per step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Admin, SessionDep
from api.routes.journey_tools import definition_at
from journeys.definitions.common import JourneyId
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
    if version is not None:
        definition_at(session, journey_id, version)  # 404 for a version never published
    return journey_stats(session, journey_id, version, datetime.now(UTC))
