"""Exports of the console: the filtered report list and the statistics as CSV and XLSX.

Tables are written the same way in both formats: CSV in UTF-8 with a BOM (so Excel reads
Vietnamese correctly), XLSX through openpyxl with a bold frozen header, column widths,
real dates in local time and numbers as numbers. Text that a spreadsheet could take for a
formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe in
both formats. Exports carry no unmasked personal data: the reporter's phone is masked and
phone or ID numbers in titles are masked again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Select
from sqlalchemy.orm import Session

from backend.console.templating import mask_phone
from backend.logs import mask_pii
from backend.reports.models import Report
from backend.reports.stats import (
    CHANNEL_LABELS,
    NO_CATEGORY,
    NO_UNIT,
    RATING_LABELS,
    Count,
    Stats,
)
from backend.reports.workflow import OPEN_STATUSES, Status, label
from backend.settings import Settings

MAX_ROWS = 100_000
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class Percent(float):
    """A share in [0, 1]: a percentage cell in XLSX, "66.7%" in CSV."""


Cell = str | int | float | datetime | None


@dataclass(frozen=True)
class Table:
    """One CSV section or XLSX sheet: a title, a header row, rows and column widths."""

    title: str
    header: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]
    widths: tuple[int, ...] = field(default=())


def safe_text(value: str) -> str:
    """Neutralise CSV/formula injection: text a spreadsheet would evaluate gets an apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def attachment(filename: str) -> dict[str, str]:
    """Response headers that make the browser download `filename` (ASCII, no quoting needed)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


# CSV ------------------------------------------------------------------------------------


def _csv_value(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Percent):
        return f"{value * 100:.1f}%"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        return safe_text(value)
    return str(value)


def csv_stream(tables: Sequence[Table], *, headings: bool = False) -> Iterator[bytes]:
    """The tables as UTF-8 CSV with a BOM, in chunks; `headings` puts each table's title
    on a line of its own above it, with a blank line between tables."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    for index, table in enumerate(tables):
        if headings:
            if index:
                writer.writerow([])
            writer.writerow([safe_text(table.title)])
        writer.writerow([safe_text(h) for h in table.header])
        for number, row in enumerate(table.rows, 1):
            writer.writerow([_csv_value(v) for v in row])
            if number % 1000 == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


# XLSX -----------------------------------------------------------------------------------

_BOLD = Font(bold=True)
_DATETIME_FORMAT = "dd/mm/yyyy hh:mm"


def _xlsx_value(sheet: Any, value: Cell) -> Any:
    """A plain value where openpyxl's default is right; a styled cell for dates and decimals."""
    if isinstance(value, str):
        # Never a formula: control characters XML cannot hold go first, then safe_text
        # leaves no leading "=" for openpyxl to take as one.
        return safe_text(ILLEGAL_CHARACTERS_RE.sub("", value))
    if value is None or isinstance(value, int):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Percent):
        cell.number_format = "0.0%"
    elif isinstance(value, datetime):
        cell.number_format = _DATETIME_FORMAT
    else:
        cell.number_format = "0.0"
    return cell


def _header_cell(sheet: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=safe_text(ILLEGAL_CHARACTERS_RE.sub("", text)))
    cell.font = _BOLD
    return cell


def _sheet_title(title: str, used: set[str]) -> str:
    name = "".join(" " if ch in "[]:*?/\\" else ch for ch in title)[:31].strip() or "Sheet"
    candidate, n = name, 2
    while candidate.lower() in used:
        candidate, n = f"{name[:28]} {n}", n + 1
    used.add(candidate.lower())
    return candidate


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """The tables as an XLSX workbook, one sheet each (write-only: large lists stay cheap)."""
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, used))
        sheet.freeze_panes = "A2"
        widths = table.widths or tuple(max(12, len(h) + 4) for h in table.header)
        for column, width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(column)].width = width
        sheet.append([_header_cell(sheet, h) for h in table.header])
        for row in table.rows:
            sheet.append([_xlsx_value(sheet, v) for v in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# The report list -------------------------------------------------------------------------

REPORT_HEADER = (
    "Mã",
    "Tiêu đề",
    "Lĩnh vực",
    "Xã/phường",
    "Đơn vị xử lý",
    "Kênh",
    "Trạng thái",
    "Khẩn cấp",
    "Ngày tiếp nhận",
    "Hạn xử lý",
    "Ngày hoàn thành",
    "Quá hạn",
    "Đánh giá",
    "Điện thoại người phản ánh",
)
REPORT_WIDTHS = (15, 60, 24, 24, 32, 14, 22, 10, 17, 17, 17, 9, 15, 18)
_REPORT_COLUMNS = (
    Report.code,
    Report.title,
    Report.category,
    Report.commune_name,
    Report.unit_id,
    Report.channel,
    Report.status,
    Report.urgent,
    Report.created_at,
    Report.due_at,
    Report.completed_at,
    Report.rating,
    Report.reporter_phone,
)


def _overdue(status: str, due: datetime, completed: datetime | None, now: datetime) -> bool:
    if status in OPEN_STATUSES:
        return due < now
    return status == Status.COMPLETED and completed is not None and completed > due


def report_rows(
    session: Session, *, stmt: Select[tuple[Report]], settings: Settings, now: datetime
) -> list[tuple[Cell, ...]]:
    """The rows of `stmt` (the inbox's filtered select), at most MAX_ROWS, ready to export."""
    names = _Names(settings.category_names(), settings.unit_names(), ZoneInfo(settings.timezone))
    query = stmt.with_only_columns(*_REPORT_COLUMNS).limit(MAX_ROWS)
    records = session.execute(query.execution_options(yield_per=2000))
    return [_report_row(r, names=names, now=now) for r in records]


@dataclass(frozen=True)
class _Names:
    categories: dict[str, str]
    units: dict[str, str]
    tz: ZoneInfo

    def local(self, value: datetime | None) -> datetime | None:
        """Local wall-clock time without a zone: what a spreadsheet cell can hold."""
        return value.astimezone(self.tz).replace(tzinfo=None) if value else None


def _report_row(r: Any, *, names: _Names, now: datetime) -> tuple[Cell, ...]:
    return (
        r.code,
        mask_pii(r.title),
        names.categories.get(r.category, r.category) if r.category else NO_CATEGORY,
        r.commune_name,
        names.units.get(r.unit_id, r.unit_id) if r.unit_id else NO_UNIT,
        CHANNEL_LABELS.get(r.channel, r.channel),
        label(r.status),
        "Có" if r.urgent else "Không",
        names.local(r.created_at),
        names.local(r.due_at),
        names.local(r.completed_at),
        "Có" if _overdue(r.status, r.due_at, r.completed_at, now) else "Không",
        RATING_LABELS.get(r.rating) if r.rating else None,
        mask_phone(r.reporter_phone) or None,
    )


def report_table(rows: Sequence[Sequence[Cell]]) -> Table:
    return Table("Danh sách phản ánh", REPORT_HEADER, rows, REPORT_WIDTHS)


# The statistics --------------------------------------------------------------------------


def stats_tables(stats: Stats) -> list[Table]:
    """One table per breakdown of the dashboard, the summary first."""
    return [
        _summary(stats),
        _breakdown("Theo lĩnh vực", "Lĩnh vực", stats.by_category, stats.total),
        _breakdown("Theo trạng thái", "Trạng thái", stats.by_status, stats.total),
        _breakdown("Theo đơn vị", "Đơn vị xử lý", stats.by_unit, stats.total),
        _breakdown("Theo kênh", "Kênh", stats.by_channel, stats.total),
        _breakdown("Theo xã, phường", "Xã/phường", stats.by_commune, stats.total),
        _units(stats),
        _breakdown(
            "Mức độ hài lòng",
            "Mức độ",
            stats.satisfaction,
            sum(c.count for c in stats.satisfaction),
        ),
    ]


def _summary(stats: Stats) -> Table:
    def period(value: date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else "—"

    def rounded(value: float | None) -> float | None:
        return round(value, 1) if value is not None else None

    rows: list[tuple[Cell, ...]] = [
        ("Từ ngày", period(stats.date_from)),
        ("Đến ngày", period(stats.date_to)),
        ("Tổng số phản ánh", stats.total),
        ("Đã hoàn thành", stats.completed),
        ("Hoàn thành đúng hạn", stats.on_time),
        ("Tỷ lệ đúng hạn", _percent(stats.on_time_rate)),
        ("Đang mở, quá hạn", stats.open_overdue),
        ("Thời gian xử lý trung bình (giờ)", rounded(stats.mean_hours)),
        ("Thời gian xử lý trung vị (giờ)", rounded(stats.median_hours)),
        ("Tỷ lệ hài lòng (trên số đã đánh giá)", _percent(stats.satisfied_share)),
    ]
    return Table("Tổng quan", ("Chỉ tiêu", "Giá trị"), rows, (40, 16))


def _breakdown(title: str, first: str, counts: Sequence[Count], whole: int) -> Table:
    rows = [(c.label, c.count, _share(c.count, whole)) for c in counts]
    return Table(title, (first, "Số phản ánh", "Tỷ lệ"), rows, (40, 14, 10))


def _units(stats: Stats) -> Table:
    header = ("Hạng", "Đơn vị", "Tiếp nhận", "Hoàn thành", "Đúng hạn", "Tỷ lệ đúng hạn", "Quá hạn")
    rows = [
        (i, u.name, u.received, u.completed, u.on_time, _percent(u.on_time_rate), u.open_overdue)
        for i, u in enumerate(stats.units, 1)
    ]
    return Table("Đúng hạn theo đơn vị", header, rows, (8, 40, 12, 12, 12, 16, 10))


def _percent(value: float | None) -> Percent | None:
    return Percent(value) if value is not None else None


def _share(part: int, whole: int) -> Percent | None:
    return Percent(part / whole) if whole else None
