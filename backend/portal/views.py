"""What a portal page shows of a report: built only from public fields, text masked.

Templates never receive a `Report`: they get these frozen views, whose text went
through `backend.portal.privacy`, so a template cannot print a phone number, an ID
number or the reporter's name by mistake. Positions are rounded to about 10 metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from markupsafe import Markup

from backend.portal import lookup, queries
from backend.portal.privacy import public_html, public_text
from backend.reports.models import Attachment, Report
from backend.reports.workflow import label
from backend.settings import Settings

COORD_DIGITS = 4


@dataclass(frozen=True)
class ListItem:
    code: str
    title: str
    category: str
    commune: str
    created_at: datetime
    status: str
    status_label: str
    urgent: bool
    answered: bool


@dataclass(frozen=True)
class MapPoint:
    lat: float
    lon: float
    tile_url: str
    attribution: str


@dataclass(frozen=True)
class ReportView:
    code: str
    title: str
    content: str
    category: str
    commune: str
    created_at: datetime
    status: str
    status_label: str
    urgent: bool
    photo_ids: list[int]
    answer: Markup | None
    answered_at: datetime | None
    map: MapPoint | None
    reporters: int


@dataclass(frozen=True)
class LookupView:
    report: ReportView
    steps: list[tuple[datetime, str]] = field(default_factory=list)
    merged_into: str | None = None  # code of the report it was merged into
    merged_into_public: bool = False


def category_name(settings: Settings, category: str | None) -> str:
    found = settings.category(category)
    return found.name if found else "Khác"


def list_item(row: queries.Row, settings: Settings) -> ListItem:
    return ListItem(
        code=row.code,
        title=public_text(row.title, reporter_name=row.reporter_name),
        category=category_name(settings, row.category),
        commune=row.commune_name or "Chưa xác định",
        created_at=row.created_at,
        status=row.status,
        status_label=label(row.status),
        urgent=row.urgent,
        answered=row.answered_at is not None,
    )


def public_photos(report: Report) -> list[Attachment]:
    """The citizen's photos that may be shown: stored images with a (metadata-free) thumbnail."""
    return [
        a
        for a in report.attachments
        if a.kind == "image" and a.purpose == "report" and a.status == "stored" and a.thumbnail_key
    ]


def map_point(report: Report, settings: Settings) -> MapPoint | None:
    if report.lat is None or report.lon is None:
        return None
    return MapPoint(
        lat=round(report.lat, COORD_DIGITS),
        lon=round(report.lon, COORD_DIGITS),
        tile_url=settings.console.tile_url,
        attribution=settings.console.tile_attribution,
    )


def report_view(report: Report, settings: Settings, *, reporters: int) -> ReportView:
    name = report.reporter_name
    answer = public_html(report.answer, reporter_name=name) if report.answer else None
    return ReportView(
        code=report.code,
        title=public_text(report.title, reporter_name=name),
        content=public_text(report.content, reporter_name=name),
        category=category_name(settings, report.category),
        commune=report.commune_name or "Chưa xác định",
        created_at=report.created_at,
        status=report.status,
        status_label=label(report.status),
        urgent=report.urgent,
        photo_ids=[a.id for a in public_photos(report)],
        answer=Markup(answer) if answer else None,  # sanitised on approval, then masked
        answered_at=report.answered_at,
        map=map_point(report, settings),
        reporters=reporters,
    )


def lookup_view(found: lookup.OwnReport, settings: Settings, *, reporters: int) -> LookupView:
    target = found.merged_into
    shown = report_view(found.report, settings, reporters=reporters)
    if target is not None and target.answer and not found.report.answer:
        answer = public_html(target.answer, reporter_name=target.reporter_name)
        answer = public_html(answer, reporter_name=found.report.reporter_name)
        shown = replace(shown, answer=Markup(answer), answered_at=target.answered_at)
    return LookupView(
        report=shown,
        steps=[(s.at, label(s.status)) for s in found.steps],
        merged_into=target.code if target else None,
        merged_into_public=bool(target and target.published and target.merged_into_id is None),
    )


def marker(m: queries.Marker, settings: Settings) -> dict[str, object]:
    return {
        "code": m.code,
        "title": public_text(m.title, reporter_name=m.reporter_name),
        "category": category_name(settings, m.category),
        "status": label(m.status),
        "lat": round(m.lat, COORD_DIGITS),
        "lon": round(m.lon, COORD_DIGITS),
        "url": f"/cong-dong/{m.code}",
    }
