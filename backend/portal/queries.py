"""Finding what the public may see: published, unmerged reports; filters, search, paging.

`public_reports` is the one base query: every public list, map and page starts from it, so
an unpublished or merged report cannot leak through one of them. Paging is keyset
(newest first, by `created_at` then `id`): the next page continues after the last row
shown, so a page costs the same at the end of 100,000 reports as at the start (indexes in
`backend.portal.models`). Only the columns a page shows are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from backend.reports.models import Report
from backend.reports.queries import narrow
from backend.reports.workflow import Status

_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]  # any select of reports
PAGE_SIZE = 20
MAP_LIMIT = 500  # markers: more is slow to draw on a phone without clustering
CODE_RE = re.compile(r"^\d{12,13}$")
_CURSOR_RE = re.compile(r"^(\d{1,18})\.(\d{1,18})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Statuses a published report can have (published on approval; it may be reopened later).
PUBLIC_STATUSES = tuple(s for s in Status if s is not Status.MERGED)


class PublicFilters(BaseModel):
    """The list's query string (Vietnamese-free names, as in the console); blank = any."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    category: str | None = Field(default=None, max_length=64)
    status: Status | None = None
    urgent: bool | None = None
    commune: str | None = Field(default=None, max_length=120)
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = Field(default=None, max_length=100)
    after: str | None = Field(default=None, pattern=_CURSOR_RE.pattern)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
        return None if value == "" else value


def parse_filters(params: dict[str, str]) -> PublicFilters:
    """Filters from a query string; an invalid value is dropped (the rest still apply)."""
    values = {k: v for k, v in params.items() if k in PublicFilters.model_fields}
    while True:
        try:
            return PublicFilters.model_validate(values)
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]} & values.keys()
            if not bad:
                return PublicFilters()
            for key in bad:
                values.pop(key)


def public_reports() -> Select[Any]:
    """Every report the public may see."""
    return select(Report).where(Report.published.is_(True), Report.merged_into_id.is_(None))


def _narrow(stmt: _S, filters: PublicFilters, *, tz: ZoneInfo) -> _S:
    stmt = narrow(
        stmt,
        (
            (Report.category, filters.category),
            (Report.status, filters.status),
            (Report.urgent, filters.urgent),
            (Report.commune_name, filters.commune),
        ),
        date_from=filters.date_from,
        date_to=filters.date_to,
        tz=tz,
    )
    if filters.q:
        stmt = stmt.where(_search(filters.q))
    return stmt


def _search(q: str) -> ColumnElement[bool]:
    """A code finds its report; other words search titles. A query with many digits is not
    matched against titles, so the search cannot confirm a phone or ID number hidden there."""
    if CODE_RE.match(q) or sum(ch.isdigit() for ch in q) >= 6:
        return Report.code == q
    like = "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"
    return or_(Report.code == q, Report.title.ilike(like))


# The list's columns: what a row shows, plus the reporter's name to mask it in the title.
_ROW_COLUMNS = (
    Report.id,
    Report.code,
    Report.title,
    Report.category,
    Report.status,
    Report.urgent,
    Report.commune_name,
    Report.created_at,
    Report.answered_at,
    Report.reporter_name,
)


@dataclass(frozen=True)
class Row:
    id: int
    code: str
    title: str
    category: str | None
    status: str
    urgent: bool
    commune_name: str | None
    created_at: datetime
    answered_at: datetime | None
    reporter_name: str | None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_cursor: str | None  # `after` for the next page; None on the last page


def list_reports(
    session: Session, *, filters: PublicFilters, tz: ZoneInfo, page_size: int = PAGE_SIZE
) -> Page:
    """One page of published reports, newest first, after `filters.after` if given."""
    stmt = _narrow(public_reports().with_only_columns(*_ROW_COLUMNS), filters, tz=tz)
    cursor = decode_cursor(filters.after)
    if cursor is not None:
        at, last_id = cursor
        stmt = stmt.where(
            or_(Report.created_at < at, and_(Report.created_at == at, Report.id < last_id))
        )
    stmt = stmt.order_by(Report.created_at.desc(), Report.id.desc()).limit(page_size + 1)
    rows = [Row(**r._mapping) for r in session.execute(stmt)]
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(rows=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)


def encode_cursor(row: Row) -> str:
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{row.id}"


def decode_cursor(value: str | None) -> tuple[datetime, int] | None:
    match = _CURSOR_RE.match(value or "")
    if not match:
        return None
    return _EPOCH + timedelta(microseconds=int(match.group(1))), int(match.group(2))


@dataclass(frozen=True)
class Marker:
    code: str
    title: str
    category: str | None
    status: str
    lat: float
    lon: float
    reporter_name: str | None


def map_markers(
    session: Session, *, filters: PublicFilters, tz: ZoneInfo, limit: int = MAP_LIMIT
) -> list[Marker]:
    """Published reports with a position, newest first, at most `limit`."""
    columns = (Report.code, Report.title, Report.category, Report.status, Report.lat, Report.lon)
    base = public_reports().with_only_columns(*columns, Report.reporter_name)
    stmt = (
        _narrow(base, filters.model_copy(update={"after": None}), tz=tz)
        .where(Report.lat.is_not(None), Report.lon.is_not(None))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    )
    return [Marker(**r._mapping) for r in session.execute(stmt)]


def get_public(session: Session, *, code: str) -> Report | None:
    """The published, unmerged report with this code, or None."""
    if not CODE_RE.match(code):
        return None
    report: Report | None = session.scalar(public_reports().where(Report.code == code))
    return report


def communes(session: Session) -> list[str]:
    """Commune names that published reports have, for the filter's choices."""
    stmt = (
        select(Report.commune_name)
        .where(Report.published.is_(True), Report.commune_name.is_not(None))
        .distinct()
        .order_by(Report.commune_name)
    )
    return [name for name in session.scalars(stmt) if name]
