"""The console's inbox page and the pieces every console page shares.

Owns: parsing the inbox query string into `ReportFilters` (invalid values are
dropped and named, never a 500), the inbox rows with their deadline flags, the
header counts (urgent, overdue, soon due), the fixed set of flash messages a
redirect may name, and the Vietnamese error page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.clusters.service import duplicate_counts
from backend.console.templating import templates
from backend.reports import queries
from backend.reports.models import Report
from backend.reports.stats import CHANNEL_LABELS
from backend.reports.workflow import ACTION_LABELS, OPEN_STATUSES, Actor, Status
from backend.settings import Settings

FILTER_LABELS = {
    "status": "trạng thái",
    "category": "lĩnh vực",
    "urgent": "khẩn cấp",
    "commune": "xã, phường",
    "unit": "đơn vị",
    "channel": "kênh",
    "date_from": "từ ngày",
    "date_to": "đến ngày",
    "overdue": "quá hạn",
    "q": "tìm kiếm",
    "sort": "sắp xếp",
    "page": "trang",
}

SORT_LABELS = {
    "urgent": "Khẩn cấp trước",
    "newest": "Mới nhất",
    "oldest": "Cũ nhất",
    "due": "Sắp đến hạn",
}

# Flash messages a redirect may name by key: the page never echoes text from the URL.
FLASH_MESSAGES: dict[str, str] = {
    **{action.value: f"Đã thực hiện: {label}." for action, label in ACTION_LABELS.items()},
    "attached": "Đã đính kèm tệp vào câu trả lời.",
}

ERROR_MESSAGES = {
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy phản ánh.",
    409: "Thao tác không phù hợp với trạng thái hiện tại của phản ánh.",
    422: "Dữ liệu gửi lên không hợp lệ.",
}


def parse_filters(params: Mapping[str, str]) -> tuple[queries.ReportFilters, list[str]]:
    """Filters from the query string; invalid values are dropped and their labels returned."""
    values = {k: v for k, v in params.items() if k in FILTER_LABELS}
    dropped: list[str] = []
    while True:
        try:
            return queries.ReportFilters.model_validate(values), dropped
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            if not bad & values.keys():  # nothing left to drop: fall back to no filters
                return queries.ReportFilters(), [*dropped, *(FILTER_LABELS.get(k, k) for k in bad)]
            for key in sorted(bad & values.keys()):
                dropped.append(FILTER_LABELS[key])
                values.pop(key)


def filter_query(filters: queries.ReportFilters, **extra: object) -> str:
    """The filters as a query string (defaults left out), for links that keep them."""
    pairs: list[tuple[str, str]] = []
    for key, value in filters.model_dump(exclude={"page"}).items():
        if value is None or value is False or (key == "sort" and value == "urgent"):
            continue
        text = "true" if value is True else str(value)
        pairs.append((key, text))
    pairs += [(k, str(v)) for k, v in extra.items()]
    return urlencode(pairs)


@dataclass(frozen=True)
class DueFlags:
    overdue: bool
    soon_due: bool


def due_flags(report: Report, *, now: datetime, soon: timedelta) -> DueFlags:
    """Overdue: open and past its deadline; soon due: open and due within `soon`."""
    if report.status not in OPEN_STATUSES:
        return DueFlags(False, False)
    return DueFlags(report.due_at < now, now <= report.due_at < now + soon)


@dataclass(frozen=True)
class InboxRow:
    report: Report
    flags: DueFlags


@dataclass(frozen=True)
class DueCounts:
    urgent: int
    overdue: int
    soon_due: int


def due_counts(session: Session, *, viewer: Actor, now: datetime, soon: timedelta) -> DueCounts:
    """Open reports in the viewer's scope: urgent, overdue and due within `soon`."""
    open_ = queries.scoped(viewer).where(Report.status.in_(OPEN_STATUSES))

    def count(stmt: Any) -> int:
        return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    return DueCounts(
        urgent=queries.urgent_open_count(session, viewer=viewer),
        overdue=count(open_.where(Report.due_at < now)),
        soon_due=count(open_.where(Report.due_at >= now, Report.due_at < now + soon)),
    )


def commune_options(session: Session, *, viewer: Actor, settings: Settings) -> list[str]:
    """Communes of the reports the viewer can see, plus those named by configured units."""
    stmt = (
        queries.scoped(viewer)
        .with_only_columns(Report.commune_name)
        .where(Report.commune_name.is_not(None))
        .distinct()
    )
    names = {name for name in session.scalars(stmt) if name}
    names |= {u.commune for u in settings.units if u.commune}
    return sorted(names)


def inbox_context(
    session: Session,
    *,
    viewer: Actor,
    params: Mapping[str, str],
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """Everything inbox.html shows, for this viewer and query string."""
    filters, ignored = parse_filters(params)
    soon = timedelta(hours=settings.console.soon_due_hours)
    page = queries.search_reports(
        session,
        viewer=viewer,
        filters=filters,
        now=now,
        tz=ZoneInfo(settings.timezone),
        page_size=settings.console.page_size,
    )
    query = filter_query(filters)
    return {
        "filters": filters,
        "ignored": ignored,
        "page": page,
        "rows": [InboxRow(r, due_flags(r, now=now, soon=soon)) for r in page.items],
        "dup_counts": duplicate_counts(session, report_ids=[r.id for r in page.items]),
        "counts": due_counts(session, viewer=viewer, now=now, soon=soon),
        "soon_hours": settings.console.soon_due_hours,
        "query": query,
        "pager": pager(filters, page=page.page, pages=page.pages),
        "statuses": list(Status),
        "categories": settings.category_names(),
        "units": settings.unit_names(),
        "communes": commune_options(session, viewer=viewer, settings=settings),
        "channels": CHANNEL_LABELS,
        "sorts": SORT_LABELS,
    }


@dataclass(frozen=True)
class Pager:
    """Page links keeping the filters: the first two, the last two, two around the current."""

    prev: str | None
    next: str | None
    items: list[tuple[int | None, str]]  # (page number or None for a gap, link)


def pager(filters: queries.ReportFilters, *, page: int, pages: int) -> Pager:
    def link(n: int) -> str:
        return "?" + filter_query(filters, page=n)

    shown = sorted({1, 2, pages - 1, pages, *range(page - 2, page + 3)} & set(range(1, pages + 1)))
    items: list[tuple[int | None, str]] = []
    for n in shown:
        if items and items[-1][0] is not None and n - (items[-1][0] or 0) > 1:
            items.append((None, ""))
        items.append((n, link(n)))
    return Pager(
        prev=link(page - 1) if page > 1 else None,
        next=link(page + 1) if page < pages else None,
        items=items,
    )


def base_context(request: Request, staff: object, **extra: Any) -> dict[str, Any]:
    """What base.html needs: the staff member, the province, a known flash message."""
    settings: Settings = request.app.state.settings
    flash = FLASH_MESSAGES.get(request.query_params.get("flash", ""))
    return {"staff": staff, "province": settings.province.name, "flash": flash, **extra}


def error_page(
    request: Request, *, status: int, staff: object | None, message: str | None = None
) -> Response:
    """A Vietnamese error page for browsers; JSON for clients that ask only for JSON."""
    text = message or ERROR_MESSAGES.get(status, "Đã có lỗi xảy ra.")
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse({"detail": text}, status_code=status)
    settings: Settings = request.app.state.settings
    context = {"staff": staff, "province": settings.province.name, "message": text}
    response: HTMLResponse = templates.TemplateResponse(
        request, "error.html", {**context, "status": status}, status_code=status
    )
    return response
