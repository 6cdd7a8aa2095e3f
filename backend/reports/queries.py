"""Finding reports for staff: the unit scope, inbox filters, search, sorting and paging.

One `filtered` select serves the inbox, the exports and the statistics, so a
filter means the same thing everywhere and nobody sees outside their unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from backend.reports.models import Report
from backend.reports.workflow import OPEN_STATUSES, PROVINCE_WIDE, Actor, Status

Sort = Literal["urgent", "newest", "oldest", "due"]
_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]  # any select of reports


class ReportFilters(BaseModel):
    """The inbox's query string; empty strings from HTML forms mean "any"."""

    model_config = ConfigDict(extra="ignore")

    status: Status | None = None
    category: str | None = Field(default=None, max_length=64)
    urgent: bool | None = None
    commune: str | None = Field(default=None, max_length=120)
    unit: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    q: str | None = Field(default=None, max_length=200)
    sort: Sort = "urgent"
    page: int = Field(default=1, ge=1, le=100_000)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


def scoped(viewer: Actor) -> Select[tuple[Report]]:
    """Every report the viewer may see: province-wide roles all, the others their unit's."""
    stmt = select(Report)
    if viewer.role in PROVINCE_WIDE:
        return stmt
    if viewer.unit_id is None:
        return stmt.where(false())
    return stmt.where(Report.unit_id == viewer.unit_id)


def filtered(
    viewer: Actor, filters: ReportFilters, *, now: datetime, tz: ZoneInfo
) -> Select[tuple[Report]]:
    """`scoped` narrowed by the filters and search, sorted; no paging."""
    stmt = narrow(
        scoped(viewer),
        (
            (Report.status, filters.status),
            (Report.category, filters.category),
            (Report.urgent, filters.urgent),
            (Report.commune_name, filters.commune),
            (Report.unit_id, filters.unit),
            (Report.channel, filters.channel),
        ),
        date_from=filters.date_from,
        date_to=filters.date_to,
        tz=tz,
    )
    if filters.overdue:
        stmt = stmt.where(Report.status.in_(OPEN_STATUSES), Report.due_at < now)
    if filters.q and filters.q.strip():
        stmt = stmt.where(_search(filters.q.strip()))
    return stmt.order_by(*_order(filters.sort))


def narrow(
    stmt: _S,
    equals: Iterable[tuple[Any, object]],
    *,
    date_from: date | None,
    date_to: date | None,
    tz: ZoneInfo,
) -> _S:
    """The filters the console and the public portal share: each (column, value) pair whose
    value is set, and the days of creation from `date_from` to `date_to` in local time."""
    conditions = [column == value for column, value in equals if value is not None]
    if date_from:
        conditions.append(Report.created_at >= _local_midnight(date_from, tz))
    if date_to:
        conditions.append(Report.created_at < _local_midnight(date_to, tz, days=1))
    return stmt.where(*conditions) if conditions else stmt


def _local_midnight(day: date, tz: ZoneInfo, days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=days), time(), tzinfo=tz)


def _search(q: str) -> object:
    like = f"%{q.replace('%', '').replace('_', '')}%"
    digits = "".join(ch for ch in q if ch.isdigit())
    terms = [
        Report.code == q,
        func.lower(Report.title).like(func.lower(like)),
        func.lower(Report.content).like(func.lower(like)),
        func.lower(Report.reporter_name).like(func.lower(like)),
    ]
    if len(digits) >= 6:  # a phone number typed as 0912..., +84912... or with spaces
        terms.append(Report.reporter_phone.like(f"%{digits.removeprefix('0')[-9:]}%"))
    return or_(*terms)


def _order(sort: Sort) -> list[object]:
    newest = [Report.created_at.desc(), Report.id.desc()]
    if sort == "newest":
        return newest
    if sort == "oldest":
        return [Report.created_at.asc(), Report.id.asc()]
    if sort == "due":
        return [Report.due_at.asc(), Report.id.asc()]
    open_first = Report.status.in_(OPEN_STATUSES).desc()
    return [open_first, Report.urgent.desc(), *newest]


@dataclass(frozen=True)
class ReportPage:
    items: list[Report]
    total: int
    page: int
    pages: int


def search_reports(
    session: Session,
    *,
    viewer: Actor,
    filters: ReportFilters,
    now: datetime,
    tz: ZoneInfo,
    page_size: int,
) -> ReportPage:
    stmt = filtered(viewer, filters, now=now, tz=tz)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(filters.page, pages)
    items = list(session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)))
    return ReportPage(items=items, total=total, page=page, pages=pages)


def urgent_open_count(session: Session, *, viewer: Actor) -> int:
    """Open urgent reports the viewer can see: announced at the top of every console page."""
    stmt = scoped(viewer).where(Report.urgent.is_(True), Report.status.in_(OPEN_STATUSES))
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def merged_ids(session: Session, *, report_id: int) -> list[int]:
    """The report's id, then those of every report merged into it, however deep, level by
    level in id order."""
    ids, frontier = [report_id], [report_id]
    while frontier:
        children = session.scalars(
            select(Report.id).where(Report.merged_into_id.in_(frontier)).order_by(Report.id)
        ).all()
        frontier = [c for c in children if c not in ids]
        ids.extend(frontier)
    return ids
