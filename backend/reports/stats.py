"""Statistics over the reports a staff member may see: counts, on-time rates, handling time,
satisfaction.

Everything is counted by the report's creation date (local calendar days) within the
viewer's unit scope, through `queries.filtered`, so the dashboard and the inbox agree on
what a date range and a scope mean. Counts are SQL aggregates (GROUP BY), never a Python
loop over every report: a province can hold 100,000 of them. The median handling time is
read with ORDER BY / OFFSET, so no row is loaded for it beyond the middle one or two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, extract, func, or_
from sqlalchemy.orm import Session

from backend.reports.models import Report
from backend.reports.queries import ReportFilters, filtered
from backend.reports.workflow import OPEN_STATUSES, Actor, Status, label
from backend.settings import Settings
from bot.templates import RATING_TITLES

CHANNEL_LABELS = {
    "web": "Web",
    "zalo": "Zalo",
    "telegram": "Telegram",
    "sms": "SMS",
    "voice": "Tổng đài",
}
RATING_LABELS: dict[int | None, str] = {**RATING_TITLES, None: "Chưa đánh giá"}
NO_CATEGORY = "Chưa phân loại"
NO_UNIT = "Chưa chuyển đơn vị"
NO_COMMUNE = "Chưa xác định"


@dataclass(frozen=True)
class Count:
    """One row of a breakdown: the stored key, what staff read, how many reports."""

    key: str | None
    label: str
    count: int


@dataclass(frozen=True)
class UnitPerformance:
    """How one handling unit did with the reports created in the range."""

    unit_id: str | None
    name: str
    received: int
    completed: int
    on_time: int  # completed no later than the deadline
    open_overdue: int  # still open and past the deadline

    @property
    def on_time_rate(self) -> float | None:
        """Share of completed reports completed on time; None when none was completed."""
        return self.on_time / self.completed if self.completed else None


@dataclass(frozen=True)
class Stats:
    date_from: date | None
    date_to: date | None
    total: int
    by_category: tuple[Count, ...]
    by_status: tuple[Count, ...]
    by_unit: tuple[Count, ...]
    by_channel: tuple[Count, ...]
    by_commune: tuple[Count, ...]
    units: tuple[UnitPerformance, ...]  # ranked by on-time rate, best first
    completed: int
    mean_hours: float | None  # handling time of completed reports: completed_at - created_at
    median_hours: float | None
    satisfaction: tuple[Count, ...]  # 3, 2, 1 and not rated, in that order (key "3"...)
    satisfied_share: float | None  # rated 3 or 2 among the rated

    @property
    def on_time(self) -> int:
        return sum(u.on_time for u in self.units)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None

    @property
    def open_overdue(self) -> int:
        return sum(u.open_overdue for u in self.units)


def compute_stats(
    session: Session,
    *,
    viewer: Actor,
    date_from: date | None,
    date_to: date | None,
    settings: Settings,
    now: datetime,
) -> Stats:
    """The dashboard's figures for the reports `viewer` may see, created in [date_from, date_to]."""
    tz = ZoneInfo(settings.timezone)
    filters = ReportFilters(date_from=date_from, date_to=date_to)
    base = filtered(viewer, filters, now=now, tz=tz).order_by(None)
    categories, units = settings.category_names(), settings.unit_names()
    performance = _unit_performance(session, base, now=now, names=units)
    completed, mean_hours, median_hours = _handling_time(session, base)
    satisfaction = _satisfaction(session, base)
    rated = sum(c.count for c in satisfaction if c.key is not None)
    satisfied = sum(c.count for c in satisfaction if c.key in ("3", "2"))
    return Stats(
        date_from=date_from,
        date_to=date_to,
        total=sum(u.received for u in performance),
        by_category=_breakdown(
            session, base, Report.category, lambda k: categories.get(k, k) if k else NO_CATEGORY
        ),
        by_status=_breakdown(session, base, Report.status, label),
        by_unit=_sorted(Count(u.unit_id, u.name, u.received) for u in performance),
        by_channel=_breakdown(session, base, Report.channel, lambda k: CHANNEL_LABELS.get(k, k)),
        by_commune=_breakdown(session, base, Report.commune_name, lambda k: k or NO_COMMUNE),
        units=_ranked(performance),
        completed=completed,
        mean_hours=mean_hours,
        median_hours=median_hours,
        satisfaction=satisfaction,
        satisfied_share=satisfied / rated if rated else None,
    )


def _sorted(counts: Iterable[Count]) -> tuple[Count, ...]:
    return tuple(sorted(counts, key=lambda c: (-c.count, c.label)))


def _breakdown(
    session: Session,
    base: Select[Any],
    column: Any,
    name: Callable[[Any], str],
) -> tuple[Count, ...]:
    stmt = base.with_only_columns(column, func.count(Report.id)).group_by(column)
    return _sorted(Count(key, name(key), n) for key, n in session.execute(stmt))


def _completed() -> ColumnElement[bool]:
    return and_(Report.status == Status.COMPLETED, Report.completed_at.is_not(None))


def _tally(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _unit_performance(
    session: Session, base: Select[Any], *, now: datetime, names: dict[str, str]
) -> list[UnitPerformance]:
    done = _completed()
    stmt = base.with_only_columns(
        Report.unit_id,
        func.count(Report.id),
        _tally(done),
        _tally(and_(done, Report.completed_at <= Report.due_at)),
        _tally(and_(Report.status.in_(OPEN_STATUSES), Report.due_at < now)),
    ).group_by(Report.unit_id)
    return [
        UnitPerformance(
            unit_id=unit_id,
            name=names.get(unit_id, unit_id) if unit_id else NO_UNIT,
            received=received,
            completed=int(completed),
            on_time=int(on_time),
            open_overdue=int(overdue),
        )
        for unit_id, received, completed, on_time, overdue in session.execute(stmt)
    ]


def _ranked(units: list[UnitPerformance]) -> tuple[UnitPerformance, ...]:
    """Best on-time rate first; units with nothing completed yet go last."""

    def key(u: UnitPerformance) -> tuple[int, float, int, str]:
        rate = u.on_time_rate
        return (rate is None, -(rate or 0.0), -u.completed, u.name)

    return tuple(sorted(units, key=key))


def _hours(session: Session) -> ColumnElement[Any]:
    """completed_at - created_at in hours, in the database's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        days = func.julianday(Report.completed_at) - func.julianday(Report.created_at)
        return days * 24.0
    seconds = extract("epoch", Report.completed_at - Report.created_at)
    return seconds / 3600.0


def _handling_time(session: Session, base: Select[Any]) -> tuple[int, float | None, float | None]:
    """(completed reports, mean hours, median hours) over the completed reports."""
    hours = _hours(session)
    done = base.where(_completed())
    count, mean = session.execute(
        done.with_only_columns(func.count(Report.id), func.avg(hours))
    ).one()
    if not count:
        return 0, None, None
    middle = done.with_only_columns(hours).order_by(hours)
    if count % 2:
        values = session.scalars(middle.offset(count // 2).limit(1)).all()
    else:
        values = session.scalars(middle.offset(count // 2 - 1).limit(2)).all()
    median = sum(float(v) for v in values) / len(values)
    return count, float(mean), median


def _satisfaction(session: Session, base: Select[Any]) -> tuple[Count, ...]:
    """Ratings of completed (or rated) reports: 3, 2, 1 and not rated, always all four."""
    scope = base.where(or_(Report.status == Status.COMPLETED, Report.rating.is_not(None)))
    stmt = scope.with_only_columns(Report.rating, func.count(Report.id)).group_by(Report.rating)
    found = {rating: n for rating, n in session.execute(stmt)}
    return tuple(
        Count(None if rating is None else str(rating), text, found.get(rating, 0))
        for rating, text in RATING_LABELS.items()
    )
