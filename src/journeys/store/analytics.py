"""Journey analytics: run events in, figures out.

Journey figures come from the entry ledger (entries, refusals, outcomes, goals), step
figures from run events, channel figures from the delivery ledger. Each source records a
fact once, so every figure counts it once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.state import HistoryEntry
from journeys.store.erasure import erased_as
from journeys.store.journeys import get_journey, get_version
from journeys.store.tables import DeliveryRow, EntryRow, RunEventRow, table

_RUN_EVENTS = table(RunEventRow)
# Every run's end writes its events: built once (see journeys.store).
_STORED = select(_RUN_EVENTS.c.seq).where(
    _RUN_EVENTS.c.instance_id == bindparam("instance_id"),
    _RUN_EVENTS.c.seq >= bindparam("first_seq"),
)
_INSERT = insert(_RUN_EVENTS)


def record_run_events(
    session: Session,
    *,
    instance_id: str,
    journey_id: str,
    version: int,
    contact_id: str,
    first_seq: int,
    entries: Sequence[HistoryEntry],
) -> int:
    """Store history entries from position `first_seq` on; those stored already are skipped,
    so a retried activity records nothing twice. How many were new."""
    existing = set(
        session.execute(_STORED, {"instance_id": instance_id, "first_seq": first_seq}).scalars()
    )
    new = [
        (first_seq + offset, entry)
        for offset, entry in enumerate(entries)
        if first_seq + offset not in existing
    ]
    if not new:  # a retry of what was stored: nothing to write, so no contact lock to wait on
        return 0
    # A run that ends after its contact was erased writes under the pseudonym, no detail.
    erased = erased_as(session, instance_id, contact_id)
    rows = [
        {
            "instance_id": instance_id,
            "seq": seq,
            "journey_id": journey_id,
            "version": version,
            "contact_id": erased or contact_id,
            "step": entry.step,
            "what": entry.what,
            "detail": None if erased else (entry.detail or "")[:300] or None,
            "at": entry.at,
        }
        for seq, entry in new
    ]
    try:
        # One executemany for all the rows, rather than an ORM object each: every run ends
        # by writing its events, and the ORM's bookkeeping cost more than the writes.
        session.execute(_INSERT, rows)
    except IntegrityError:  # a concurrent attempt of the same activity won the race
        session.rollback()
        return 0
    return len(rows)


class StepFigures(BaseModel):
    step: str
    inflow: int = Field(description="Runs that reached the step.")
    processed: int = Field(description="Times the step did its work (sent, waited, branched...).")
    postponed: int = Field(description="Messages held by a quiet time.")
    blocked: dict[str, int] = Field(description="Messages not sent, by reason.")
    failed: int


class ChannelFigures(BaseModel):
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    bounced: int = 0
    complained: int = 0
    replied: int = 0
    failed: int = 0
    blocked: dict[str, int] = Field(default_factory=dict)


class VersionFigures(BaseModel):
    version: int
    entered: int
    completed: int
    exited: int


class Stats(BaseModel):
    journey_id: str
    version: int | None = Field(description="The version counted (none: all of them).")
    entered: int
    active: int
    completed: int
    exited: dict[str, int] = Field(description="Runs that ended early, by reason.")
    refused: dict[str, int] = Field(description="Entries refused, by reason.")
    goal_reached: int
    versions: list[VersionFigures]
    steps: list[StepFigures]
    channels: dict[str, ChannelFigures]
    as_of: datetime


_PROCESSED = frozenset(
    {"sent", "waited", "matched", "timed_out", "branched", "split", "activated", "called"}
)


def journey_stats(session: Session, journey_id: str, version: int | None, now: datetime) -> Stats:
    """The journey's figures, for one published version or all (JourneyNotFound if unknown)."""
    steps = step_order(session, journey_id, version)
    entries = session.exec(
        select(EntryRow).where(
            EntryRow.journey_id == journey_id,
            *([EntryRow.version == version] if version is not None else []),
        )
    ).all()
    admitted = [e for e in entries if e.admitted]
    versions: dict[int, Counter[str]] = defaultdict(Counter)
    for entry in admitted:
        versions[entry.version]["entered"] += 1
        if entry.outcome:
            versions[entry.version][entry.outcome] += 1
    return Stats(
        journey_id=journey_id,
        version=version,
        entered=len(admitted),
        active=sum(e.ended_at is None for e in admitted),
        completed=sum(e.outcome == "completed" for e in admitted),
        exited=dict(Counter(e.outcome_reason or "" for e in admitted if e.outcome == "exited")),
        refused=dict(Counter(e.reason or "" for e in entries if not e.admitted)),
        goal_reached=_goals_reached(session, journey_id, version, admitted),
        versions=[
            VersionFigures(
                version=number,
                entered=counts["entered"],
                completed=counts["completed"],
                exited=counts["exited"],
            )
            for number, counts in sorted(versions.items())
        ],
        steps=_steps(session, journey_id, steps, version),
        channels=_channels(session, journey_id, version),
        as_of=now,
    )


def step_order(session: Session, journey_id: str, version: int | None) -> list[str]:
    """The steps in document order: of that version, or of every version newest first (a step
    an older version had and the newer ones lost comes after the newer steps)."""
    journey = get_journey(session, journey_id)
    numbers = [version] if version is not None else [v.version for v in journey.versions][::-1]
    definitions: list[JourneyDefinition | None] = [
        get_version(session, journey_id, n) for n in numbers
    ]
    order: dict[str, None] = {}
    for definition in definitions or [journey.draft]:
        if definition is not None:
            order.update((step.id, None) for _, step in definition.walk())
    return list(order)


def _goals_reached(
    session: Session, journey_id: str, version: int | None, admitted: Sequence[EntryRow]
) -> int:
    """Runs that reached the goal: while running (their history says so at once), or after
    they ended (the entry ledger records late goals)."""
    during = session.exec(
        select(RunEventRow.instance_id).where(
            RunEventRow.journey_id == journey_id,
            RunEventRow.what == "goal",
            *([RunEventRow.version == version] if version is not None else []),
        )
    ).all()
    recorded = {e.instance_id for e in admitted if e.goal_reached_at is not None}
    return len(recorded | set(during))


def _steps(
    session: Session, journey_id: str, steps: Sequence[str], version: int | None
) -> list[StepFigures]:
    events = session.exec(
        select(RunEventRow).where(
            RunEventRow.journey_id == journey_id,
            *([RunEventRow.version == version] if version is not None else []),
        )
    ).all()
    reached: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    blocked: dict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        if event.step is None:
            continue
        reached[event.step].add(event.instance_id)
        if event.what in _PROCESSED:
            counts[event.step]["processed"] += 1
        elif event.what == "waiting" and (event.detail or "").endswith("quiet time"):
            counts[event.step]["postponed"] += 1
        elif event.what == "blocked":
            blocked[event.step][(event.detail or "").rsplit(" ", 1)[-1]] += 1
        elif event.what == "failed":
            counts[event.step]["failed"] += 1
    return [
        StepFigures(
            step=step,
            inflow=len(reached[step]),
            processed=counts[step]["processed"],
            postponed=counts[step]["postponed"],
            blocked=dict(blocked[step]),
            failed=counts[step]["failed"],
        )
        for step in steps
    ]


def _channels(session: Session, journey_id: str, version: int | None) -> dict[str, ChannelFigures]:
    rows = session.exec(
        select(DeliveryRow).where(
            DeliveryRow.journey_id == journey_id,
            col(DeliveryRow.test).is_(False),
            *([DeliveryRow.journey_version == version] if version is not None else []),
        )
    ).all()
    figures: dict[str, ChannelFigures] = defaultdict(ChannelFigures)
    for row in rows:
        channel = figures[row.channel]
        if row.status == "sent":
            channel.sent += 1
        elif row.status == "failed":
            channel.failed += 1
        elif row.status == "blocked":
            channel.blocked[row.reason or ""] = channel.blocked.get(row.reason or "", 0) + 1
        for name, stamp in (
            ("delivered", row.delivered_at),
            ("opened", row.opened_at),
            ("clicked", row.clicked_at),
            ("bounced", row.bounced_at),
            ("complained", row.complained_at),
            ("replied", row.replied_at),
        ):
            if stamp is not None:
                setattr(channel, name, getattr(channel, name) + 1)
    return dict(figures)
