"""Calendar arithmetic for waits, from a given `now` (the interpreter reads no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeys.definitions.journeys import Weekday

_WEEKDAYS = list(Weekday)  # Monday first, as datetime.weekday() counts


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The contact's time zone when it is a real one, else the journey's."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(fallback)


def next_time_of_day(now: datetime, clock: str, days: list[Weekday], tz: ZoneInfo) -> datetime:
    """The first moment at or after `now` when the local time is `clock` on one of `days`.

    On a day when `clock` does not exist (a spring-forward gap) the moment moves forward
    with the clock change; the answer is in UTC.
    """
    hours, minutes = (int(part) for part in clock.split(":"))
    local_now = now.astimezone(tz)
    for offset in range(8):
        day = (local_now + timedelta(days=offset)).date()
        if _WEEKDAYS[day.weekday()] not in days:
            continue
        candidate = datetime.combine(day, time(hours, minutes), tzinfo=tz)
        # Round-trip through UTC so a non-existent local time lands on a real instant.
        moment = candidate.astimezone(UTC)
        if moment >= now:
            return moment
    raise AssertionError("a week always holds one of the days")  # pragma: no cover
