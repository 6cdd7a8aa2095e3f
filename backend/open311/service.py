"""Reading for Open311: the service list, one definition, requests as the spec shows them.

What a GET may show is decided here and nowhere else, by the public portal's rules
(backend.portal): every request shows its status, category, unit, dates and commune;
the citizen's words, the street address, the map pin (4 decimals) and a photo (the
portal's metadata-free thumbnail) only while the report is published (approved with
the citizen's consent) and not merged, with phone and ID numbers and the reporter's
name masked even then. Reporter names, phones and the Open311 contact fields are
never shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from backend.errors import DomainError, NotFound
from backend.open311.models import Open311Request
from backend.open311.schemas import Service, ServiceDefinition, ServiceRequest, TokenFound
from backend.portal.privacy import public_text
from backend.portal.views import COORD_DIGITS, public_photos
from backend.reports import service as reports
from backend.reports.models import Report
from backend.reports.workflow import CLOSED_STATUSES, OPEN_STATUSES, Status, label
from backend.settings import Settings

DEFAULT_DAYS = 90
MAX_PAGE_SIZE = 1000
MAX_IDS = 100
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] = ()
    service_code: str | None = None
    status: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def services(settings: Settings) -> list[Service]:
    units = settings.unit_names()
    return [
        Service(
            service_code=c.id,
            service_name=c.name,
            description=(
                f"Phản ánh về {c.name.lower()}; thời hạn xử lý {c.deadline_days} ngày làm việc."
            ),
            group=units.get(c.unit, c.unit),
        )
        for c in settings.categories
    ]


def definition(settings: Settings, *, code: str) -> ServiceDefinition:
    if settings.category(code) is None:
        raise NotFound(f"Không có dịch vụ (lĩnh vực) mã '{code[:64]}'.")
    return ServiceDefinition(service_code=code, attributes=[])


def check_jurisdiction(given: str | None, settings: Settings) -> None:
    """A jurisdiction_id other than the configured one is refused (none configured: any)."""
    expected = settings.open311.jurisdiction_id
    if given and given.strip() and expected and given.strip() != expected:
        raise DomainError(f"jurisdiction_id '{given.strip()[:64]}' không thuộc hệ thống này.")


def parse_datetime(raw: str | None, *, name: str, tz: ZoneInfo) -> datetime | None:
    """A W3C date or datetime (`2026-11-23`, `2026-11-23T08:00:00+07:00`); local time if
    no offset is given; DomainError (400) when it is not one."""
    if raw is None or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise DomainError(f"{name} không đúng định dạng ngày giờ W3C (ISO 8601).") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def parse_ids(raw: str | None) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(p.strip() for p in (raw or "").split(",") if p.strip()))
    if len(ids) > MAX_IDS:
        raise DomainError(f"Tối đa {MAX_IDS} service_request_id mỗi lần.")
    return ids


def find_requests(
    session: Session, *, query: RequestQuery, settings: Settings, now: datetime
) -> list[ServiceRequest]:
    stmt = select(Report).options(selectinload(Report.attachments))
    if query.ids:  # the spec: other filters are ignored when ids are given
        stmt = stmt.where(Report.code.in_([i for i in query.ids if reports.CODE_RE.match(i)]))
    else:
        stmt = _filtered(stmt, query, settings, now)
    stmt = stmt.order_by(Report.created_at.desc(), Report.id.desc())
    stmt = stmt.offset((query.page - 1) * query.page_size).limit(query.page_size)
    return [public_request(r, settings=settings) for r in session.scalars(stmt)]


def _filtered(
    stmt: Select[Report], query: RequestQuery, settings: Settings, now: datetime
) -> Select[Report]:
    if query.service_code is not None:
        if settings.category(query.service_code) is None:
            raise DomainError(f"service_code '{query.service_code[:64]}' không tồn tại.")
        stmt = stmt.where(Report.category == query.service_code)
    if query.status is not None:
        wanted = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}.get(query.status)
        if wanted is None:
            raise DomainError("status chỉ nhận 'open' hoặc 'closed'.")
        stmt = stmt.where(Report.status.in_([s.value for s in wanted]))
    end = query.end
    start = query.start or (end or now) - timedelta(days=DEFAULT_DAYS)
    if end is not None and end < start:
        raise DomainError("end_date phải sau start_date.")
    stmt = stmt.where(Report.created_at >= start)
    return stmt if end is None else stmt.where(Report.created_at <= end)


def get_request(session: Session, *, code: str, settings: Settings) -> ServiceRequest:
    report = reports.get_by_code(session, code=code)
    if report is None:
        raise NotFound(f"Không có yêu cầu mã '{code[:32]}'.")
    return public_request(report, settings=settings)


def find_token(session: Session, *, token: str) -> TokenFound:
    row = None
    if TOKEN_RE.fullmatch(token):
        row = session.scalar(select(Open311Request).where(Open311Request.token == token))
    if row is None:
        raise NotFound("Không có yêu cầu ứng với token này.")
    return TokenFound(service_request_id=row.report.code, token=row.token)


def public_request(report: Report, *, settings: Settings) -> ServiceRequest:
    """What anyone may read about a report (see the module docstring)."""
    status = Status(report.status)
    category = settings.category(report.category)
    unit = settings.unit(report.unit_id)
    public = report.published and report.public_consent and report.merged_into_id is None
    name = report.reporter_name
    place = [report.commune_name, report.province_name]
    if public and report.location_detail:
        place.insert(0, public_text(report.location_detail, reporter_name=name))
    return ServiceRequest(
        service_request_id=report.code,
        status="closed" if status in CLOSED_STATUSES else "open",
        status_notes=label(report.status),
        detailed_status=status.value,
        service_name=category.name if category else None,
        service_code=category.id if category else None,
        description=public_text(report.content, reporter_name=name) if public else None,
        agency_responsible=unit.name if unit else None,
        service_notice=None,
        requested_datetime=report.created_at,
        updated_datetime=report.updated_at,
        expected_datetime=report.due_at,
        address=", ".join(p for p in place if p) or None,
        lat=_coordinate(report.lat) if public else None,
        long=_coordinate(report.lon) if public else None,
        media_url=_photo(report, settings) if public else None,
    )


def _coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, COORD_DIGITS)


def _photo(report: Report, settings: Settings) -> str | None:
    """The public portal's address of the first photo: its metadata-free thumbnail, served
    only while the report stays published."""
    photos = public_photos(report)
    if not photos:
        return None
    base = settings.public_base_url.rstrip("/")
    return f"{base}/cong-dong/{report.code}/anh/{photos[0].id}"
