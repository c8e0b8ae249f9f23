"""What each dashboard page shows, gathered from the store: plain data for the templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from api.services import Services
from journeys.definitions.journeys import JourneyDefinition, kind_of
from journeys.store import journeys as store
from journeys.store.analytics import Stats, VersionFigures, journey_stats
from journeys.store.entries import EntryCounts, entry_counts, latest_entries
from journeys.temporal import names

RECENT = 25  # runs and refusals listed on a journey's page


@dataclass(frozen=True)
class Listing:
    journey: store.Journey
    counts: EntryCounts


def journey_list(session: Session) -> list[Listing]:
    counts = entry_counts(session)
    return [
        Listing(journey, counts.get(journey.id, EntryCounts()))
        for journey in store.list_journeys(session)
    ]


@dataclass(frozen=True)
class Run:
    contact_id: str
    binding_id: str | None
    version: int
    entered_at: datetime
    ended_at: datetime | None
    outcome: str  # active, completed, exited, ...
    reason: str | None
    goal_reached_at: datetime | None
    temporal_url: str


@dataclass(frozen=True)
class Refusal:
    contact_id: str
    version: int
    at: datetime
    reason: str


@dataclass(frozen=True)
class JourneyPage:
    journey: store.Journey
    version: int | None  # the version counted; None: all of them
    shown: JourneyDefinition  # the definition drawn
    shown_version: int  # its number (0: the draft)
    stats: Stats
    kinds: dict[str, str]  # step id -> kind, for the steps of the drawn definition
    runs: list[Run]
    refusals: list[Refusal]

    @property
    def exited(self) -> int:
        return sum(self.stats.exited.values())

    @property
    def refused(self) -> int:
        return sum(self.stats.refused.values())

    @property
    def version_figures(self) -> dict[int, VersionFigures]:
        return {figures.version: figures for figures in self.stats.versions}


def journey_page(
    session: Session, services: Services, journey_id: str, version: int | None
) -> JourneyPage:
    journey = store.get_journey(session, journey_id)
    shown_ref: store.VersionRef = (
        version if version is not None else ("live" if journey.live_version else "draft")
    )
    shown, shown_version = store.definition_at(session, journey_id, shown_ref)  # 404 if unknown
    # The very figures of GET /v1/journeys/{id}/stats.
    figures = journey_stats(session, journey_id, version, datetime.now(UTC))
    runs = [
        Run(
            contact_id=row.contact_id,
            binding_id=row.binding_id or None,
            version=row.version,
            entered_at=row.at,
            ended_at=row.ended_at,
            outcome=row.outcome or "active",
            reason=row.outcome_reason,
            goal_reached_at=row.goal_reached_at,
            temporal_url=services.temporal_ui_link(
                row.workflow_id
                or names.workflow_id(row.journey_id, row.contact_id, row.binding_id or None),
                row.run_id,
            ),
        )
        for row in latest_entries(session, journey_id, admitted=True, version=version, limit=RECENT)
    ]
    refusals = [
        Refusal(row.contact_id, row.version, row.at, row.reason or "unknown")
        for row in latest_entries(
            session, journey_id, admitted=False, version=version, limit=RECENT
        )
    ]
    return JourneyPage(
        journey=journey,
        version=version,
        shown=shown,
        shown_version=shown_version,
        stats=figures,
        kinds={step.id: kind_of(step) for _, step in shown.walk()},
        runs=runs,
        refusals=refusals,
    )
