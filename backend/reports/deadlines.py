"""Handling deadlines in working days: weekends and the deployment's holidays are skipped."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

END_OF_WORKING_DAY = time(17, 0)


def add_working_days(start: date, days: int, holidays: Collection[date]) -> date:
    """The date `days` working days after `start` (Saturday, Sunday and holidays do not count)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def due_at(
    created: datetime,
    *,
    days: int,
    holidays: Collection[date],
    tz: ZoneInfo,
    urgent_hours: int | None = None,
) -> datetime:
    """When the answer is due: hours for urgent reports, else end of the Nth working day."""
    if urgent_hours is not None:
        return created + timedelta(hours=urgent_hours)
    local_day = created.astimezone(tz).date()
    due_day = add_working_days(local_day, days, holidays)
    return datetime.combine(due_day, END_OF_WORKING_DAY, tzinfo=tz)
