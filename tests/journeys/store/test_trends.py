"""A journey's figures by UTC day, on each database, whatever the session's time zone."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from journeys.store.db import transaction
from journeys.store.tables import DeliveryRow, EntryRow
from journeys.store.trends import daily_figures

TODAY = date(2026, 3, 10)
LATE = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)  # the 8th in UTC, the 9th east of it


def entry(n: int, at: datetime, *, admitted: bool = True, goal: datetime | None = None) -> EntryRow:
    return EntryRow(
        instance_id=f"i-{n}",
        journey_id="welcome",
        version=1,
        contact_id=f"c{n}",
        event_id=f"e-{n}",
        admitted=admitted,
        reason=None if admitted else "reentry_blocked",
        at=at,
        goal_reached_at=goal,
    )


def message(n: int, sent: datetime, opened: datetime | None, *, test: bool = False) -> DeliveryRow:
    return DeliveryRow(
        message_id=f"m-{n}",
        workflow_id=f"journey/welcome/c{n}",
        instance_id=f"i-{n}",
        step="hello",
        iteration=0,
        journey_id="welcome",
        journey_version=1,
        contact_id=f"c{n}",
        channel="email",
        status="sent",
        sent_at=sent,
        opened_at=opened,
        test=test,
    )


def test_figures_are_counted_per_utc_day(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add_all(
            [
                entry(1, LATE, goal=LATE + timedelta(hours=1)),  # goal on the 9th
                entry(2, LATE + timedelta(minutes=20)),
                entry(3, LATE + timedelta(hours=2), admitted=False),  # refused: not entered
                entry(4, LATE - timedelta(days=40)),  # before the window
                message(1, LATE, LATE + timedelta(days=1)),
                message(2, LATE, None, test=True),  # a test send is never counted
            ]
        )
    with transaction(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SET TIME ZONE 'Pacific/Auckland'"))
        days = daily_figures(session, "welcome", 30, TODAY)
    assert len(days) == 30 and days[0].day == TODAY - timedelta(days=29) and days[-1].day == TODAY
    figures = {d.day: (d.entered, d.sent, d.opened, d.goals) for d in days}
    assert {day: counts for day, counts in figures.items() if any(counts)} == {
        date(2026, 3, 8): (2, 1, 0, 0),
        date(2026, 3, 9): (0, 0, 1, 1),
    }
