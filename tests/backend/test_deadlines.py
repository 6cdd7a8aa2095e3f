"""Handling deadlines skip weekends and holidays (Tết included); urgent ones count hours."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from backend.reports.deadlines import add_working_days, due_at

TET_2026 = {date(2026, 2, d) for d in range(14, 23)}
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_weekend_is_skipped() -> None:
    assert add_working_days(date(2026, 11, 20), 1, set()) == date(2026, 11, 23)  # Fri → Mon


def test_tet_is_skipped() -> None:
    # Thursday 12 Feb 2026 + 3 working days: Fri 13, then Tết until Sun 22, then Mon 23, Tue 24.
    assert add_working_days(date(2026, 2, 12), 3, TET_2026) == date(2026, 2, 24)


def test_due_uses_local_date_and_end_of_day() -> None:
    late_evening_utc = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # Tue 01:00 in Vietnam
    due = due_at(late_evening_utc, days=1, holidays=set(), tz=VN)
    assert due == datetime(2026, 11, 25, 17, 0, tzinfo=VN)


def test_urgent_counts_hours() -> None:
    created = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # a Saturday
    assert due_at(created, days=5, holidays=set(), tz=VN, urgent_hours=24) == datetime(
        2026, 11, 22, 3, 0, tzinfo=UTC
    )
