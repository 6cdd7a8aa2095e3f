"""The statistics dashboard and the console's exports.

GET /console/stats: the figures of `backend.reports.stats` for a date range (the last 30
days by default, in local time), tables for each breakdown, units ranked by on-time rate
and bar charts drawn as inline SVG on the server (no JavaScript). GET /console/stats.csv
and .xlsx export the same figures; GET /console/reports.csv and .xlsx export the inbox
list with the inbox's own query-string filters, every matching row (up to MAX_ROWS).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from backend.console import exports, pages
from backend.console.templating import templates
from backend.db import unit_of_work, utcnow
from backend.reports import queries
from backend.reports.stats import Count, Stats, compute_stats
from backend.settings import Settings
from backend.staff.deps import CurrentStaff, Staff

router = APIRouter(prefix="/console", include_in_schema=False)

DEFAULT_DAYS = 30
NO_STORE = {"Cache-Control": "no-store"}


# Formatting (Vietnamese: "." groups thousands, "," is the decimal mark) -------------------


def fmt_int(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def fmt_percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}".replace(".", ",") + "%"


def fmt_hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".") + " giờ"


def share(part: int, whole: int) -> str:
    return fmt_percent(part / whole if whole else None)


# Date range -----------------------------------------------------------------------------


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def stats_range(params: Mapping[str, str], *, now: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """date_from/date_to from the query string; missing or invalid: the last 30 local days."""
    end = _parse_date(params.get("date_to")) or now.astimezone(tz).date()
    start = _parse_date(params.get("date_from")) or end - timedelta(days=DEFAULT_DAYS - 1)
    return (end, start) if start > end else (start, end)


# Charts ---------------------------------------------------------------------------------

CHART_WIDTH, LABEL_WIDTH, BAR_SPACE, ROW_HEIGHT, LABEL_CHARS = 640, 230, 330, 28, 30


@dataclass(frozen=True)
class Bar:
    label: str
    short: str  # what fits left of the bar; the full label is the bar's tooltip
    value: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    bars: tuple[Bar, ...]
    width: int = CHART_WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return max(1, len(self.bars)) * ROW_HEIGHT + 8


def bar_chart(
    chart_id: str,
    title: str,
    items: Sequence[tuple[str, float, str]],
    *,
    top: float | None = None,
    limit: int = 12,
) -> BarChart:
    """A horizontal bar chart of (label, value, shown value), largest scale `top`."""
    items = items[:limit]
    scale = top if top is not None else max((v for _, v, _ in items), default=0)

    def short(text: str) -> str:
        return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"

    bars = tuple(
        Bar(
            label=text,
            short=short(text),
            value=shown,
            y=4 + i * ROW_HEIGHT,
            width=round(BAR_SPACE * value / scale, 1) if scale else 0.0,
        )
        for i, (text, value, shown) in enumerate(items)
    )
    return BarChart(chart_id, title, bars)


def _count_items(counts: Sequence[Count]) -> list[tuple[str, float, str]]:
    return [(c.label, c.count, fmt_int(c.count)) for c in counts]


def charts(stats: Stats) -> list[BarChart]:
    on_time = [
        (u.name, u.on_time_rate, fmt_percent(u.on_time_rate))
        for u in stats.units
        if u.on_time_rate is not None
    ]
    return [
        bar_chart("chart-category", "Phản ánh theo lĩnh vực", _count_items(stats.by_category)),
        bar_chart("chart-status", "Phản ánh theo trạng thái", _count_items(stats.by_status)),
        bar_chart("chart-on-time", "Tỷ lệ xử lý đúng hạn theo đơn vị", on_time, top=1.0),
    ]


# Routes ---------------------------------------------------------------------------------


def _stats(request: Request, staff: Staff) -> Stats:
    settings: Settings = request.app.state.settings
    now = utcnow()
    start, end = stats_range(request.query_params, now=now, tz=ZoneInfo(settings.timezone))
    with unit_of_work(request.app.state.sessions) as session:
        return compute_stats(
            session, viewer=staff.actor, date_from=start, date_to=end, settings=settings, now=now
        )


def _range_query(stats: Stats) -> str:
    return urlencode({"date_from": str(stats.date_from), "date_to": str(stats.date_to)})


@router.get("/stats")
def stats_page(request: Request, staff: CurrentStaff) -> Response:
    """The dashboard for the chosen date range, within the viewer's unit scope."""
    stats = _stats(request, staff)
    context = pages.base_context(
        request,
        staff,
        stats=stats,
        charts=charts(stats),
        range_query=_range_query(stats),
        fmt_int=fmt_int,
        fmt_percent=fmt_percent,
        fmt_hours=fmt_hours,
        share=share,
    )
    return templates.TemplateResponse(request, "stats.html", context, headers=NO_STORE)


def _stats_name(stats: Stats, suffix: str) -> str:
    return f"thong-ke-{stats.date_from}-den-{stats.date_to}.{suffix}"


@router.get("/stats.csv")
def stats_csv(request: Request, staff: CurrentStaff) -> Response:
    stats = _stats(request, staff)
    body = b"".join(exports.csv_stream(exports.stats_tables(stats), headings=True))
    headers = {**NO_STORE, **exports.attachment(_stats_name(stats, "csv"))}
    return Response(body, media_type=exports.CSV_MEDIA_TYPE, headers=headers)


@router.get("/stats.xlsx")
def stats_xlsx(request: Request, staff: CurrentStaff) -> Response:
    stats = _stats(request, staff)
    body = exports.xlsx_bytes(exports.stats_tables(stats))
    headers = {**NO_STORE, **exports.attachment(_stats_name(stats, "xlsx"))}
    return Response(body, media_type=exports.XLSX_MEDIA_TYPE, headers=headers)


def _report_table(request: Request, staff: Staff) -> tuple[exports.Table, str]:
    """The inbox's filtered list (same query string, same scope) and the file's base name."""
    settings: Settings = request.app.state.settings
    tz, now = ZoneInfo(settings.timezone), utcnow()
    filters, _ignored = pages.parse_filters(request.query_params)
    stmt = queries.filtered(staff.actor, filters, now=now, tz=tz)
    with unit_of_work(request.app.state.sessions) as session:
        rows = exports.report_rows(session, stmt=stmt, settings=settings, now=now)
    return exports.report_table(rows), f"phan-anh-{now.astimezone(tz).date()}"


@router.get("/reports.csv")
def reports_csv(request: Request, staff: CurrentStaff) -> Response:
    table, name = _report_table(request, staff)
    headers = {**NO_STORE, **exports.attachment(f"{name}.csv")}
    return StreamingResponse(
        exports.csv_stream([table]), media_type=exports.CSV_MEDIA_TYPE, headers=headers
    )


@router.get("/reports.xlsx")
def reports_xlsx(request: Request, staff: CurrentStaff) -> Response:
    table, name = _report_table(request, staff)
    headers = {**NO_STORE, **exports.attachment(f"{name}.xlsx")}
    return Response(
        exports.xlsx_bytes([table]), media_type=exports.XLSX_MEDIA_TYPE, headers=headers
    )
