"""Journeys: an editable draft, immutable published versions, and a status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlmodel import Session, col, select

from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import to_document
from journeys.definitions.journeys import Cardinality, JourneyDefinition
from journeys.definitions.validation import unready_triggers, validate_journey
from journeys.kit.problems import ProblemsError
from journeys.store.revision import bump_revision
from journeys.store.tables import JourneyRow, JourneyVersionRow
from journeys.store.types import utcnow


class JourneyStatus(StrEnum):
    DRAFT = "draft"  # never published: no one enters
    PUBLISHED = "published"  # new entries use the live version
    PAUSED = "paused"  # no new entries (each refusal recorded); running instances frozen
    STOPPED = "stopped"  # no new entries; running instances were ended


@dataclass(frozen=True)
class Version:
    version: int
    published_at: datetime
    published_by: str


@dataclass(frozen=True)
class Journey:
    id: str
    name: str
    status: JourneyStatus
    draft: JourneyDefinition
    live_version: int | None
    versions: list[Version]
    updated_at: datetime
    has_unpublished_changes: bool  # the draft differs from the live version


@dataclass(frozen=True)
class LiveJourney:
    """A published journey and the version new entries use."""

    definition: JourneyDefinition
    version: int
    paused: bool = False  # no new entries; running instances are frozen

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def per_binding(self) -> bool:
        return self.definition.start.per is Cardinality.BINDING


class JourneyNotFound(LookupError):
    pass


class VersionNotFound(LookupError):
    """The journey exists, but has no such version (never published, or no live one)."""

    def __init__(self, journey_id: str, version: int | str) -> None:
        super().__init__(f"journey {journey_id} has no version {version}")


def save_draft(session: Session, definition: JourneyDefinition) -> bool:
    """Save the draft of a journey; True when the journey was created. A journey never
    published is in the catalog as a draft (the triggers it would start on), so saving one
    changes the catalog's revision."""
    row = session.get(JourneyRow, definition.id, with_for_update=True)
    document = to_document(definition)
    if row is None:
        session.add(
            JourneyRow(
                id=definition.id,
                name=definition.name,
                status=JourneyStatus.DRAFT,
                draft=document,
            )
        )
        bump_revision(session)
        return True
    if row.draft != document:
        if row.status == JourneyStatus.DRAFT:
            bump_revision(session)
        row.draft = document
        row.name = definition.name
        row.updated_at = utcnow()
        session.add(row)
    return False


def publish(
    session: Session, journey_id: str, by: str, catalog: TriggerCatalog
) -> tuple[int, bool]:
    """Publish the draft as the live version; (version, whether it is a new one).

    An unchanged draft republishes nothing: the live version is returned as it is.
    """
    row = _row(session, journey_id, lock=True)
    draft = JourneyDefinition.model_validate(row.draft)
    problems = validate_journey(draft, catalog) + unready_triggers(draft, catalog)
    if problems:
        raise ProblemsError(problems)
    latest = _latest_version(session, journey_id)
    if latest is not None and latest.definition == row.draft:
        version, created = latest.version, False
    else:
        version = (latest.version if latest else 0) + 1
        created = True
        session.add(
            JourneyVersionRow(
                journey_id=journey_id, version=version, definition=row.draft, published_by=by
            )
        )
    # A paused journey stays paused on a new version; a draft or stopped one goes live.
    status = JourneyStatus.PAUSED if row.status == JourneyStatus.PAUSED else JourneyStatus.PUBLISHED
    if created or row.status != status or row.live_version != version:
        row.status = status
        row.live_version = version
        row.updated_at = utcnow()
        session.add(row)
        bump_revision(session)
    return version, created


def stop(session: Session, journey_id: str) -> bool:
    """Stop new entries; True when the journey was not stopped already."""
    row = _row(session, journey_id, lock=True)
    if row.status == JourneyStatus.STOPPED:
        return False
    row.status = JourneyStatus.STOPPED
    row.updated_at = utcnow()
    session.add(row)
    bump_revision(session)
    return True


class NotLive(Exception):
    """Only a published journey can be paused, and only a paused one resumed."""


def set_paused(session: Session, journey_id: str, paused: bool) -> bool:
    """Pause or resume new entries; True when the status changed."""
    row = _row(session, journey_id, lock=True)
    wanted, needed = (
        (JourneyStatus.PAUSED, JourneyStatus.PUBLISHED)
        if paused
        else (JourneyStatus.PUBLISHED, JourneyStatus.PAUSED)
    )
    if row.status == wanted:
        return False
    if row.status != needed:
        raise NotLive(f"journey {journey_id} is {row.status}, not {needed}")
    row.status = wanted
    row.updated_at = utcnow()
    session.add(row)
    bump_revision(session)
    return True


def get_journey(session: Session, journey_id: str) -> Journey:
    row = _row(session, journey_id)
    versions = session.exec(
        select(JourneyVersionRow)
        .where(JourneyVersionRow.journey_id == journey_id)
        .order_by(col(JourneyVersionRow.version))
    ).all()
    live = next((v.definition for v in versions if v.version == row.live_version), None)
    return Journey(
        id=row.id,
        name=row.name,
        status=JourneyStatus(row.status),
        draft=JourneyDefinition.model_validate(row.draft),
        live_version=row.live_version,
        versions=[Version(v.version, v.published_at, v.published_by) for v in versions],
        updated_at=row.updated_at,
        has_unpublished_changes=live is None or live != row.draft,
    )


def list_journeys(session: Session) -> list[Journey]:
    ids = session.exec(select(JourneyRow.id).order_by(JourneyRow.id)).all()
    return [get_journey(session, journey_id) for journey_id in ids]


def get_version(session: Session, journey_id: str, version: int) -> JourneyDefinition | None:
    row = session.get(JourneyVersionRow, (journey_id, version))
    return JourneyDefinition.model_validate(row.definition) if row else None


VersionRef = int | Literal["draft", "live"]


def definition_at(
    session: Session, journey_id: str, version: VersionRef
) -> tuple[JourneyDefinition, int]:
    """A journey's definition at a version, with its number (the draft is number 0)."""
    journey = get_journey(session, journey_id)
    if version == "draft":
        return journey.draft, 0
    number = journey.live_version if version == "live" else version
    definition = get_version(session, journey_id, number) if isinstance(number, int) else None
    if definition is None or not isinstance(number, int):
        raise VersionNotFound(journey_id, version)
    return definition, number


def live_journeys(session: Session) -> list[LiveJourney]:
    """The version new entries use, for every published journey."""
    rows = session.exec(
        select(JourneyVersionRow, JourneyRow.status)
        .join(
            JourneyRow,
            (col(JourneyRow.id) == col(JourneyVersionRow.journey_id))
            & (col(JourneyRow.live_version) == col(JourneyVersionRow.version)),
        )
        .where(col(JourneyRow.status).in_([JourneyStatus.PUBLISHED, JourneyStatus.PAUSED]))
    ).all()
    return [
        LiveJourney(
            JourneyDefinition.model_validate(version.definition),
            version.version,
            status == JourneyStatus.PAUSED,
        )
        for version, status in rows
    ]


def draft_starts(session: Session) -> dict[str, list[str]]:
    """For each trigger, the draft journeys (never published) that start on it."""
    rows = session.exec(
        select(JourneyRow.id, JourneyRow.draft).where(JourneyRow.status == JourneyStatus.DRAFT)
    ).all()
    starts: dict[str, list[str]] = {}
    for journey_id, draft in sorted(rows):
        starts.setdefault(draft["start"]["trigger"], []).append(journey_id)
    return starts


def _row(session: Session, journey_id: str, lock: bool = False) -> JourneyRow:
    row = session.get(JourneyRow, journey_id, with_for_update=lock)
    if row is None:
        raise JourneyNotFound(journey_id)
    return row


def _latest_version(session: Session, journey_id: str) -> JourneyVersionRow | None:
    return session.exec(
        select(JourneyVersionRow)
        .where(JourneyVersionRow.journey_id == journey_id)
        .order_by(col(JourneyVersionRow.version).desc())
        .limit(1)
    ).first()
