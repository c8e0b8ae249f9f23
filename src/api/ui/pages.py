"""What each dashboard page shows, gathered from the store: plain data for the templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

from fastapi import HTTPException
from sqlmodel import Session

from api.services import Services
from api.ui.charts import trend_panels
from api.ui.examples import examples
from journeys.contacts.model import Contact
from journeys.definitions.catalog import Trigger, TriggerKind
from journeys.definitions.journeys import JourneyDefinition, kind_of
from journeys.definitions.triggers import AttributeType
from journeys.store import journeys as store
from journeys.store.analytics import Stats, VersionFigures, journey_stats
from journeys.store.api_keys import publishable_key, publishable_keys_for
from journeys.store.contacts import get_contact
from journeys.store.deliveries import deliveries_of_contact
from journeys.store.entries import EntryCounts, entries_of_contact, entry_counts, latest_entries
from journeys.store.tables import DeliveryRow, EntryRow
from journeys.store.trends import daily_figures
from journeys.temporal import names

RECENT = 25  # runs and refusals listed on a journey's page
TREND_DAYS = 30


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
    journey_id: str


def _run(row: EntryRow, services: Services) -> Run:
    """An admitted entry of the ledger, linked to its run in the Temporal Web UI."""
    workflow_id = row.workflow_id or names.workflow_id(
        row.journey_id, row.contact_id, row.binding_id or None
    )
    return Run(
        contact_id=row.contact_id,
        binding_id=row.binding_id or None,
        version=row.version,
        entered_at=row.at,
        ended_at=row.ended_at,
        outcome=row.outcome or "active",
        reason=row.outcome_reason,
        goal_reached_at=row.goal_reached_at,
        temporal_url=services.temporal_ui_link(workflow_id, row.run_id),
        journey_id=row.journey_id,
    )


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
    shown: JourneyDefinition | None  # the definition drawn; None: a draft that does not validate
    shown_version: int  # its number (0: the draft)
    stats: Stats
    kinds: dict[str, str]  # step id -> kind, for the steps of the drawn definition
    runs: list[Run]
    refusals: list[Refusal]
    trends: list[tuple[str, str]]  # (figure, SVG): the last TREND_DAYS days, every version

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
    shown: JourneyDefinition | None
    try:
        shown, shown_version = store.definition_at(session, journey_id, shown_ref)  # 404 if unknown
    except store.DraftInvalid:  # never published, and still being written: nothing to draw
        shown, shown_version = None, 0
    # The very figures of GET /v1/journeys/{id}/stats.
    now = datetime.now(UTC)
    figures = journey_stats(session, journey_id, version, now)
    runs = [
        _run(row, services)
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
        kinds={step.id: kind_of(step) for _, step in shown.walk()} if shown else {},
        runs=runs,
        refusals=refusals,
        trends=trend_panels(daily_figures(session, journey_id, TREND_DAYS, now.date())),
    )


# What became of a message, in the order it happens, as (label, the store's column).
RECEIPTS = (
    ("sent", "sent_at"),
    ("delivered", "delivered_at"),
    ("opened", "opened_at"),
    ("clicked", "clicked_at"),
    ("replied", "replied_at"),
    ("bounced", "bounced_at"),
    ("complained", "complained_at"),
    ("unsubscribed", "unsubscribed_at"),
    ("failed", "failed_at"),
)


@dataclass(frozen=True)
class Message:
    row: DeliveryRow

    @property
    def receipts(self) -> list[tuple[str, datetime]]:
        """What the channel and the contact did with it, each with its time."""
        return [
            (label, moment)
            for label, column in RECEIPTS
            if (moment := getattr(self.row, column)) is not None
        ]


@dataclass(frozen=True)
class ContactPage:
    contact: Contact
    runs: list[Run]  # every admitted entry, newest first, linked to Temporal
    refusals: list[tuple[str, Refusal]]  # (journey, refusal), newest first
    messages: list[Message]


def contact_page(session: Session, services: Services, contact_id: str) -> ContactPage | None:
    contact = get_contact(session, contact_id)
    if contact is None:
        return None
    entries = entries_of_contact(session, contact_id)
    runs = [_run(row, services) for row in entries if row.admitted]
    refusals = [
        (row.journey_id, Refusal(row.contact_id, row.version, row.at, row.reason or "unknown"))
        for row in entries
        if not row.admitted
    ]
    messages = [Message(row) for row in deliveries_of_contact(session, contact_id)]
    return ContactPage(contact, runs, refusals, messages)


@dataclass(frozen=True)
class Snippet:
    key_name: str
    origins: list[str]
    code: str


@dataclass(frozen=True)
class TriggerPage:
    trigger: Trigger
    snippets: list[Snippet]  # custom triggers: one per publishable key that names it
    examples: list[tuple[str, str]]  # custom triggers: (language, code) for a server


# What a page puts in each attribute, by type: a placeholder the site replaces.
_PLACEHOLDERS = {
    AttributeType.NUMBER: "0",
    AttributeType.BOOLEAN: "true",
    AttributeType.DATETIME: "new Date().toISOString()",
}
_TEXT = '"..."'


def snippet_code(public_url: str, key: str, trigger: Trigger) -> str:
    """The lines a site pastes into its page to fire `trigger` with `key`."""
    attributes = ", ".join(
        f"{spec.name}: {_PLACEHOLDERS.get(spec.type, _TEXT)}" for spec in trigger.attributes
    )
    return (
        f'<script src="{public_url.rstrip("/")}/sdk/journeys.js" data-key="{key}"></script>\n'
        "<script>\n"
        f'  Journeys.fire("{trigger.name}", {{\n'
        '    email: "visitor@example.com",  // or contactId: the id your site knows\n'
        f"    attributes: {{{attributes}}}\n"
        "  });\n"
        "</script>"
    )


def trigger_page(session: Session, services: Services, name: str) -> TriggerPage:
    trigger = services.catalog.fresh().catalog.get(name)
    if trigger is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"There is no trigger {name!r}.")
    snippets, calls = [], []
    if trigger.kind is TriggerKind.CUSTOM:
        calls = examples(services.settings.public_url, trigger)
        snippets = [
            Snippet(
                row.name,
                row.origins,
                snippet_code(services.settings.public_url, publishable_key(row.id), trigger),
            )
            for row in publishable_keys_for(session, name)
        ]
    return TriggerPage(trigger, snippets, calls)
