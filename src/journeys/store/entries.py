"""The entry ledger: who entered which journey when, and who was refused and why.

Temporal forgets closed runs after the namespace's retention period; this ledger
does not, so re-entry rules hold for as long as the journey exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, update
from sqlmodel import Session, col, select

from journeys.definitions.conditions import Scope, scopes_of
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.commands import EntryDecided
from journeys.engine.conditions import evaluate
from journeys.engine.entry import (
    EntryFacts,
    EntryRefusal,
    EntryRequest,
    reentry_refusal,
    refusal,
)
from journeys.engine.events import TriggerEvent
from journeys.store.contacts import get_contact
from journeys.store.journeys import LiveJourney
from journeys.store.tables import EntryRow, table
from journeys.temporal import names

_ENTRIES = table(EntryRow)

# What every start, continue event and run's end asks of the ledger, built once (see
# journeys.store). First, a contact's history in a journey: its admissions, and a retry's
# entry.
_HISTORY = (
    select(EntryRow)
    .where(
        EntryRow.journey_id == bindparam("journey_id"),
        EntryRow.contact_id == bindparam("contact_id"),
        EntryRow.binding_id == bindparam("binding_id"),
        or_(
            col(EntryRow.admitted).is_(True),
            and_(
                col(EntryRow.event_id) == bindparam("event_id"),
                col(EntryRow.at) >= bindparam("retries_since"),
            ),
        ),
    )
    .order_by(col(EntryRow.at).desc())
)
_INSERT_ENTRY = insert(_ENTRIES)
_RUNNING = select(EntryRow.workflow_id, EntryRow.binding_id).where(
    EntryRow.journey_id == bindparam("journey_id"),
    EntryRow.contact_id == bindparam("contact_id"),
    col(EntryRow.admitted).is_(True),
    col(EntryRow.ended_at).is_(None),
)
# Core, not the ORM: the entry was written by an earlier transaction, so no object of this
# session holds it, and a list of values is one executemany.
_RECORD_RUN = (
    update(_ENTRIES)
    .where(_ENTRIES.c.instance_id == bindparam("instance"), _ENTRIES.c.run_id.is_(None))
    .values(run_id=bindparam("run"))
)
# Every run's end, in one statement: a refused entry has no run to end, and a goal reached
# earlier (a late event's credit) is kept.
_RECORD_OUTCOME = (
    update(_ENTRIES)
    .where(_ENTRIES.c.instance_id == bindparam("instance"), _ENTRIES.c.admitted.is_(True))
    .values(
        ended_at=bindparam("ended"),
        outcome=bindparam("how"),
        outcome_reason=bindparam("why"),
        goal_reached_at=func.coalesce(
            # Typed as the column: inside a function the value would not be (nor made UTC).
            _ENTRIES.c.goal_reached_at,
            bindparam("goal", type_=_ENTRIES.c.goal_reached_at.type),
        ),
    )
)


def decide_entry(session: Session, request: EntryRequest) -> EntryDecided:
    """For a run started before the gateway decided entries: admit or refuse, and record it;
    asking twice for one run gives the same answer."""
    existing = session.exec(
        select(EntryRow).where(EntryRow.instance_id == request.instance_id)
    ).first()
    if existing is not None:
        return EntryDecided(admitted=existing.admitted, reason=existing.reason)
    reason = request.refusal
    if reason is None:
        last = _last_entered_at(session, request.journey_id, request.contact_id, request.binding_id)
        reason = reentry_refusal(request.reentry, last, request.at)
    limit = request.rate_limit
    if reason is None and limit is not None:
        entered = _entered_since(session, request.journey_id, request.at - limit.per.length)
        reason = EntryRefusal.RATE_LIMITED if entered >= limit.count else None
    session.add(
        EntryRow(
            instance_id=request.instance_id,
            journey_id=request.journey_id,
            version=request.version,
            contact_id=request.contact_id,
            binding_id=request.binding_id or "",
            event_id=request.event_id,
            admitted=reason is None,
            reason=reason,
            at=request.at,
            workflow_id=names.workflow_id(
                request.journey_id, request.contact_id, request.binding_id
            ),
        )
    )
    return EntryDecided(admitted=reason is None, reason=reason)


@dataclass(frozen=True)
class Entry:
    """The ledger's answer to one start of one journey: admitted with its run, or refused
    with the reason."""

    journey_id: str
    version: int
    instance_id: str
    reason: str | None  # None: admitted
    workflow_id: str | None = None  # of the admitted run
    ended: bool = False  # the admitted run has ended already (a retry found it so)

    @property
    def admitted(self) -> bool:
        return self.reason is None


def entry_lock(journey_id: str, contact_id: str, binding_id: str | None) -> str:
    """The lock two starts of one contact (and binding) in one journey take: admitted one
    after the other, they cannot both find the contact outside the journey."""
    return f"entry\n{journey_id}\n{contact_id}\n{binding_id or ''}"


def rate_lock(journey_id: str) -> str:
    """The lock every start of a rate-limited journey takes, so that none overshoots it."""
    return f"rate\n{journey_id}"


def admit(
    session: Session,
    journey: LiveJourney,
    event: TriggerEvent,
    *,
    now: datetime,
    retries_since: datetime,
) -> Entry:
    """Decide one start of the journey and record it, admitted or refused. The caller holds
    `entry_lock` (and `rate_lock` for a rate-limited journey).

    A start of the same event recorded since `retries_since` is a retry: it gets the same
    answer, and an admitted one the same run."""
    binding = event.binding_id if journey.per_binding else None
    # One read of the contact's history in the journey: its admissions, and a retry's entry.
    history = session.exec(
        _HISTORY,
        params={
            "journey_id": journey.id,
            "contact_id": event.contact_id,
            "binding_id": binding or "",
            "event_id": event.event_id,
            "retries_since": retries_since,
        },
    ).all()
    earlier = next(
        (row for row in history if row.event_id == event.event_id and row.at >= retries_since),
        None,
    )
    if earlier is not None:
        return _entry(earlier)
    admitted = [row for row in history if row.admitted]
    definition = journey.definition
    contact = get_contact(session, event.contact_id)
    limit = definition.entry.rate_limit if definition.entry else None
    facts = EntryFacts(
        now=now,
        paused=journey.paused,
        contact=contact.as_scope() if contact else None,
        in_journey=any(row.ended_at is None for row in admitted),
        last_entered_at=admitted[0].at if admitted else None,
        entered_within_rate_period=(
            _entered_since(session, journey.id, now - limit.per.length) if limit else 0
        ),
    )
    reason = refusal(definition, event.attributes, facts)
    workflow_id = None
    if reason is None:
        run = len(admitted) + 1 if definition.parallel else None
        workflow_id = names.workflow_id(journey.id, event.contact_id, binding, run)
    instance_id = uuid.uuid4().hex
    # In SQL rather than through the ORM: a row for every start decided, and building and
    # flushing an ORM object for it cost the gateway more than the decision.
    session.execute(
        _INSERT_ENTRY,
        {
            "instance_id": instance_id,
            "journey_id": journey.id,
            "version": journey.version,
            "contact_id": event.contact_id,
            "binding_id": binding or "",
            "event_id": event.event_id,
            "admitted": reason is None,
            "reason": reason,
            "at": now,
            "workflow_id": workflow_id,
            "trigger_attributes": event.attributes if _goal_reads_trigger(definition) else None,
        },
    )
    return Entry(
        journey_id=journey.id,
        version=journey.version,
        instance_id=instance_id,
        reason=reason,
        workflow_id=workflow_id,
    )


@dataclass(frozen=True)
class Run:
    workflow_id: str
    binding_id: str | None


def running(session: Session, journey_id: str, contact_id: str) -> list[Run]:
    """The runs of the contact in the journey that have not ended, as the ledger knows."""
    rows = session.exec(_RUNNING, params={"journey_id": journey_id, "contact_id": contact_id}).all()
    return [Run(workflow_id, binding or None) for workflow_id, binding in rows if workflow_id]


def record_runs(session: Session, runs: Mapping[str, str]) -> None:
    """The first run id of each entry's run, once it began (instance id -> run id)."""
    if runs:
        session.execute(
            _RECORD_RUN, [{"instance": instance, "run": run} for instance, run in runs.items()]
        )


def refuse_failed_starts(session: Session, instance_ids: Collection[str]) -> None:
    """Admitted entries whose run Temporal refused to begin: refused, so that the contact is
    not held inside a journey it never entered."""
    if instance_ids:
        session.exec(
            update(EntryRow)
            .where(col(EntryRow.instance_id).in_(list(instance_ids)))
            .values(admitted=False, reason=EntryRefusal.START_FAILED, workflow_id=None)
        )


def end_runs(
    session: Session, workflow_ids: Sequence[str], status: str, reason: str, at: datetime
) -> int:
    """End the ledger's entries of runs that are gone without telling it (terminated from
    Temporal's UI, say), so that their contacts are no longer held inside. How many."""
    result = session.exec(
        update(EntryRow)
        .where(
            col(EntryRow.workflow_id).in_(workflow_ids),
            col(EntryRow.admitted).is_(True),
            col(EntryRow.ended_at).is_(None),
        )
        .values(ended_at=at, outcome=status, outcome_reason=reason)
    )
    return int(result.rowcount)


def _entry(row: EntryRow) -> Entry:
    return Entry(
        journey_id=row.journey_id,
        version=row.version,
        instance_id=row.instance_id,
        reason=row.reason if not row.admitted else None,
        workflow_id=row.workflow_id,
        ended=row.ended_at is not None,
    )


def _of_contact(journey_id: str, contact_id: str, binding_id: str | None) -> list[Any]:
    return [
        EntryRow.journey_id == journey_id,
        EntryRow.contact_id == contact_id,
        EntryRow.binding_id == (binding_id or ""),
        col(EntryRow.admitted).is_(True),
    ]


def _last_entered_at(
    session: Session, journey_id: str, contact_id: str, binding_id: str | None
) -> datetime | None:
    where = _of_contact(journey_id, contact_id, binding_id)
    latest = select(EntryRow.at).where(*where).order_by(col(EntryRow.at).desc()).limit(1)
    return session.exec(latest).first()


def _entered_since(session: Session, journey_id: str, since: datetime) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(EntryRow)
            .where(
                EntryRow.journey_id == journey_id,
                col(EntryRow.admitted).is_(True),
                col(EntryRow.at) > since,
            )
        ).one()
    )


def _goal_reads_trigger(definition: JourneyDefinition) -> bool:
    goal = definition.goal
    return goal is not None and Scope.TRIGGER in scopes_of(goal.when)


def record_outcome(
    session: Session,
    instance_id: str,
    status: str,
    reason: str | None,
    at: datetime,
    goal_reached_at: datetime | None,
) -> None:
    """How an admitted run ended (and whether it reached its goal on the way)."""
    session.execute(
        _RECORD_OUTCOME,
        {
            "instance": instance_id,
            "ended": at,
            "how": status,
            "why": reason,
            "goal": goal_reached_at,
        },
    )


def record_late_goal(
    session: Session,
    journey: JourneyDefinition,
    contact_id: str,
    event: Mapping[str, Any],
    at: datetime,
) -> int:
    """An event that meets the journey's goal after runs ended: credit the contact's runs of
    the journey that ended within the attribution window and had not reached it. A goal
    that compares with the run's start is judged against each run's. How many were
    credited."""
    goal = journey.goal
    assert goal is not None
    where = [
        col(EntryRow.journey_id) == journey.id,
        col(EntryRow.contact_id) == contact_id,
        col(EntryRow.admitted).is_(True),
        col(EntryRow.goal_reached_at).is_(None),
        col(EntryRow.ended_at).is_not(None),
        col(EntryRow.ended_at) >= at - goal.within,
    ]
    if not _goal_reads_trigger(journey):
        if not evaluate(goal.when, {"event": event}):
            return 0
        return int(session.exec(update(EntryRow).where(*where).values(goal_reached_at=at)).rowcount)
    credited = 0
    for row in session.exec(select(EntryRow).where(*where)).all():
        if evaluate(goal.when, {"event": event, "trigger": row.trigger_attributes or {}}):
            row.goal_reached_at = at
            session.add(row)
            credited += 1
    return credited


def admitted_count(session: Session, contact_prefix: str) -> int:
    """Entries admitted for contacts whose ids start with the prefix (a benchmark's check
    that its start events did start runs)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(EntryRow)
            .where(
                col(EntryRow.contact_id).startswith(contact_prefix),
                col(EntryRow.admitted).is_(True),
            )
        ).one()
    )


def entries_of_contact(session: Session, contact_id: str) -> list[EntryRow]:
    return list(
        session.exec(
            select(EntryRow)
            .where(EntryRow.contact_id == contact_id)
            .order_by(col(EntryRow.at).desc())
        ).all()
    )


@dataclass(frozen=True)
class EntryCounts:
    entered: int = 0
    active: int = 0


def entry_counts(session: Session) -> dict[str, EntryCounts]:
    """Admitted runs per journey, and how many of them are still going."""
    rows = session.exec(
        select(
            EntryRow.journey_id,
            func.count(),
            func.sum(case((col(EntryRow.ended_at).is_(None), 1), else_=0)),
        )
        .where(col(EntryRow.admitted).is_(True))
        .group_by(col(EntryRow.journey_id))
    ).all()
    return {
        journey: EntryCounts(int(entered), int(active or 0)) for journey, entered, active in rows
    }


def latest_entries(
    session: Session, journey_id: str, *, admitted: bool, version: int | None, limit: int
) -> Sequence[EntryRow]:
    """The journey's newest admitted runs (or refused entries), newest first."""
    return session.exec(
        select(EntryRow)
        .where(
            EntryRow.journey_id == journey_id,
            col(EntryRow.admitted).is_(admitted),
            *([EntryRow.version == version] if version is not None else []),
        )
        .order_by(col(EntryRow.at).desc(), col(EntryRow.id).desc())
        .limit(limit)
    ).all()
