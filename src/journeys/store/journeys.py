"""Journeys: an editable draft, immutable published versions, and a status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlmodel import Session, col, delete, select

from journeys.authoring.diff import Diff, changes, diff
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.documents import journey_problems, parse_definition, to_document
from journeys.definitions.journeys import Cardinality, JourneyDefinition
from journeys.definitions.validation import unready_triggers
from journeys.kit.problems import Problem, ProblemsError
from journeys.store.revision import bump_revision
from journeys.store.tables import JourneyDraftRow, JourneyRow, JourneyVersionRow
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
    document: dict[str, Any]  # the draft as saved; it may not validate (work in progress)
    draft: JourneyDefinition | None  # the draft, None when it does not validate
    draft_problems: list[Problem]  # why it does not (its structure; references not checked)
    draft_revision: int  # counted up by every save that changes the draft
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


# Drafts kept per journey, for saying what a save made since an older revision changed.
KEPT_DRAFTS = 50


class DraftConflict(Exception):
    """The draft was saved (by someone else) since the revision the saver had read."""

    def __init__(
        self, journey_id: str, expected: int, current: int, changes: list[str], diff: Diff
    ) -> None:
        super().__init__(
            f"journey {journey_id}'s draft is at revision {current}, not {expected}: "
            "it was saved meanwhile"
        )
        self.journey_id = journey_id
        self.expected = expected
        self.current = current
        self.changes = changes  # in words, what the saves since `expected` changed
        self.diff = diff  # the same, step by step and as text


class DraftInvalid(ProblemsError):
    """The draft does not validate (yet), so it cannot be drawn, simulated or sent."""


def save_draft(session: Session, definition: JourneyDefinition) -> bool:
    """Save a valid draft; True when the journey was created."""
    return write_draft(session, to_document(definition), None)[0]


def write_draft(
    session: Session, document: dict[str, Any], expected_revision: int | None
) -> tuple[bool, int]:
    """Save a journey's draft as it is, valid or not (its `id` must be a valid journey id):
    (whether the journey was created, the draft's revision). A save that changes nothing
    keeps the revision. With `expected_revision` (0: the journey must be new), a draft saved
    meanwhile at another revision raises DraftConflict, unless it is this very document.

    A journey never published is in the catalog as a draft (the triggers it would start
    on), so saving one changes the catalog's revision."""
    journey_id = document["id"]
    row = session.get(JourneyRow, journey_id, with_for_update=True)
    current = row.draft_revision if row is not None else 0
    stored = row.draft if row is not None else {}
    if expected_revision is not None and expected_revision != current and stored != document:
        raise _conflict(session, journey_id, expected_revision, current, stored, document)
    if row is None:
        row = JourneyRow(
            id=journey_id,
            name=_name(document),
            status=JourneyStatus.DRAFT,
            draft=document,
            draft_revision=1,
        )
        session.add(row)
        bump_revision(session)
        _keep(session, row)
        return True, 1
    if row.draft != document:
        if row.status == JourneyStatus.DRAFT:
            bump_revision(session)
        row.draft = document
        row.draft_revision += 1
        row.name = _name(document)
        row.updated_at = utcnow()
        session.add(row)
        _keep(session, row)
    return False, row.draft_revision


def _keep(session: Session, row: JourneyRow) -> None:
    session.add(JourneyDraftRow(journey_id=row.id, revision=row.draft_revision, document=row.draft))
    session.execute(
        delete(JourneyDraftRow).where(
            col(JourneyDraftRow.journey_id) == row.id,
            col(JourneyDraftRow.revision) <= row.draft_revision - KEPT_DRAFTS,
        )
    )


def _conflict(
    session: Session,
    journey_id: str,
    expected: int,
    current: int,
    stored: dict[str, Any],
    refused: dict[str, Any],
) -> DraftConflict:
    """What was saved since the revision the saver read; when that one is not kept (or
    never was), how what is stored differs from what the saver sent."""
    base = session.get(JourneyDraftRow, (journey_id, expected)) if expected else None
    old, old_name = (base.document, f"draft-{expected}") if base else (refused, "yours")
    found = diff(old, stored, old_name, f"draft-{current}")
    return DraftConflict(journey_id, expected, current, changes(old, stored, found), found)


def draft_document(session: Session, journey_id: str) -> tuple[dict[str, Any], int]:
    """A journey's draft as saved (valid or not), and its revision."""
    row = _row(session, journey_id)
    return row.draft, row.draft_revision


def _name(document: dict[str, Any]) -> str:
    """The name shown in lists; a draft without one (yet) goes by its id."""
    name = document.get("name")
    return name[:200] if isinstance(name, str) and name.strip() else str(document["id"])


def publish(
    session: Session, journey_id: str, by: str, catalog: TriggerCatalog
) -> tuple[int, bool]:
    """Publish the draft as the live version; (version, whether it is a new one).

    An unchanged draft republishes nothing: the live version is returned as it is.
    """
    row = _row(session, journey_id, lock=True)
    draft, problems = journey_problems(row.draft, catalog)
    if draft is not None:
        problems += unready_triggers(draft, catalog)
    if problems or draft is None:
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
    draft, problems = parse_definition(row.draft, expect="Journey")
    assert draft is None or isinstance(draft, JourneyDefinition)
    return Journey(
        id=row.id,
        name=row.name,
        status=JourneyStatus(row.status),
        document=row.draft,
        draft=draft,
        draft_problems=problems,
        draft_revision=row.draft_revision,
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
    """A journey's definition at a version, with its number (the draft is number 0); a draft
    that does not validate raises DraftInvalid, with its problems."""
    document, number = document_at(session, journey_id, version)
    if number:
        return JourneyDefinition.model_validate(document), number
    draft, problems = parse_definition(document, expect="Journey")
    if not isinstance(draft, JourneyDefinition):
        raise DraftInvalid(problems)
    return draft, 0


def document_at(
    session: Session, journey_id: str, version: VersionRef
) -> tuple[dict[str, Any], int]:
    """A journey's document at a version, with its number (the draft, valid or not, is 0)."""
    row = _row(session, journey_id)
    if version == "draft":
        return row.draft, 0
    number = row.live_version if version == "live" else version
    found = session.get(JourneyVersionRow, (journey_id, number)) if number else None
    if found is None or number is None:
        raise VersionNotFound(journey_id, version)
    return found.definition, number


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
    """For each trigger, the draft journeys (never published) that start on it. A draft being
    written may not name its start trigger yet (or not as text): it starts on none."""
    rows = session.exec(
        select(JourneyRow.id, JourneyRow.draft).where(JourneyRow.status == JourneyStatus.DRAFT)
    ).all()
    starts: dict[str, list[str]] = {}
    for journey_id, draft in sorted(rows):
        start = draft.get("start")
        trigger = start.get("trigger") if isinstance(start, dict) else None
        if isinstance(trigger, str):
            starts.setdefault(trigger, []).append(journey_id)
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
