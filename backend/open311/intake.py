"""Taking an Open311 POST: check everything first, then the chat reports' own pipeline.

Every check (key, jurisdiction, description, place, contact, media URL, rate) runs
before anything is written, so a refused request leaves nothing behind. An accepted
one becomes a report through `backend.reports.service.create_report` exactly as a
chat report does (code, category's unit, deadline, "created" event, attachments left
`pending` for the media intake), with `channel = "open311"` and the client's key
named on the "created" event. The NLU reads the description (category when the
client sent no service_code, urgency) and resolves the place to a commune like the
bot does. A phone number makes the reporter a citizen (linked to their other
channels by that number), who then gets SMS updates through the outbox.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.citizens.service import citizen_for, remember_contact
from backend.errors import DomainError
from backend.open311 import keys
from backend.open311.models import Open311Key, Open311Request
from backend.open311.schemas import RequestCreated
from backend.open311.service import check_jurisdiction
from backend.open311.ssrf import Resolver, check_media_url
from backend.reports import service as reports
from backend.reports.routing import in_vietnam
from backend.reports.schemas import MediaIn, ReportCreate
from backend.settings import Settings
from nlu import Location, Nlu, NluResult
from nlu.entities import canonical_phone

CHANNEL = "open311"
MAX_ADDRESS = 500
MAX_NAME = 60
MAX_ID = 128
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Submission:
    """The POST's fields as received (strings, unchecked)."""

    api_key: str | None = None
    jurisdiction_id: str | None = None
    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    public_consent: str | None = None  # extension: "true" lets the portal show the description


@dataclass(frozen=True)
class Checked:
    key: Open311Key
    description: str
    category: str | None
    point: tuple[float, float] | None
    address: str | None
    name: str | None
    phone: str | None
    email: str | None
    device_id: str | None
    account_id: str | None
    media_url: str | None
    public: bool = False


def submit(
    session: Session,
    *,
    form: Submission,
    nlu: Nlu,
    settings: Settings,
    resolver: Resolver,
    now: datetime,
) -> RequestCreated:
    checked = check(session, form=form, settings=settings, resolver=resolver, now=now)
    understood = nlu.understand(checked.description)
    data = _report_data(checked, understood, nlu, settings)
    if checked.phone:  # before the report, as the bot does: duplicate checks look at it
        data = data.model_copy(update={"citizen_id": _citizen(session, checked, now)})
    report = reports.create_report(session, data=data, settings=settings, now=now)
    created = report.events[0]
    client = {"open311_client": checked.key.name, "open311_key_id": checked.key.id}
    created.data = {**(created.data or {}), **client}
    token = secrets.token_urlsafe(16)
    session.add(
        Open311Request(
            token=token,
            report_id=report.id,
            key_id=checked.key.id,
            email=checked.email,
            device_id=checked.device_id,
            account_id=checked.account_id,
            created_at=now,
        )
    )
    checked.key.last_used_at = now
    session.flush()
    due = report.due_at.astimezone(ZoneInfo(settings.timezone)).strftime("%d/%m/%Y")
    return RequestCreated(
        service_request_id=report.code,
        token=token,
        service_notice=f"Đã tiếp nhận phản ánh {report.code}; hạn xử lý dự kiến {due}.",
        account_id=checked.account_id,
    )


def _citizen(session: Session, checked: Checked, now: datetime) -> int:
    """The citizen with this phone (linked to their other channels by it)."""
    assert checked.phone is not None
    citizen = citizen_for(session, channel=CHANNEL, external_id=checked.phone, now=now)
    citizen = remember_contact(
        session, citizen=citizen, name=checked.name, phone=checked.phone, now=now
    )
    return citizen.id


def check(
    session: Session, *, form: Submission, settings: Settings, resolver: Resolver, now: datetime
) -> Checked:
    """Every refusal (DomainError 400, Forbidden 403, RateLimited 429) before any write."""
    key = keys.verify(session, key=form.api_key)
    check_jurisdiction(form.jurisdiction_id, settings)
    description = _text(form.description, limit=settings.open311.max_description)
    if description is None:
        raise DomainError("description là bắt buộc.")
    code = _text(form.service_code, limit=64)
    if code is not None and settings.category(code) is None:
        raise DomainError(f"service_code '{code}' không tồn tại.")
    point = _point(form.lat, form.long)
    address = _text(form.address_string, limit=MAX_ADDRESS)
    if point is None and address is None:
        # address_id needs the jurisdiction's own address database, which we do not have
        raise DomainError("Cần lat và long, hoặc address_string (address_id không được hỗ trợ).")
    media = _text(form.media_url, limit=2000)
    if media is not None:
        allow = settings.open311.allow_private_media_hosts
        media = check_media_url(media, allow_private=allow, resolver=resolver)
    names = [_text(n, limit=MAX_NAME) for n in (form.first_name, form.last_name)]
    keys.check_rate(session, key=key, limit=settings.open311.rate_limit_per_minute, now=now)
    return Checked(
        key=key,
        description=description,
        category=code,
        point=point,
        address=address,
        name=" ".join(n for n in names if n) or None,
        phone=_phone(form.phone),
        email=_email(form.email),
        device_id=_text(form.device_id, limit=MAX_ID),
        account_id=_text(form.account_id, limit=MAX_ID),
        media_url=media,
        public=_consent(form.public_consent),
    )


def _consent(raw: str | None) -> bool:
    text = (_text(raw, limit=8) or "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise DomainError("public_consent phải là true hoặc false.")
    return text in ("true", "1")


def _text(raw: str | None, *, limit: int) -> str | None:
    text = _CONTROL.sub("", raw or "").strip()
    if len(text) > limit:
        raise DomainError(f"Nội dung dài quá {limit} ký tự.")
    return text or None


def _point(lat: str | None, lon: str | None) -> tuple[float, float] | None:
    if not (lat or "").strip() and not (lon or "").strip():
        return None
    try:
        point = float(lat or ""), float(lon or "")
    except ValueError:
        raise DomainError("lat và long phải là số (độ thập phân WGS84).") from None
    if not all(math.isfinite(v) for v in point) or not in_vietnam(*point):
        raise DomainError("Tọa độ lat/long nằm ngoài lãnh thổ Việt Nam.")
    return point


def _phone(raw: str | None) -> str | None:
    text = _text(raw, limit=32)
    if text is None:
        return None
    phone = canonical_phone(text)
    if phone is None:
        raise DomainError("phone không phải số điện thoại Việt Nam hợp lệ.")
    return phone


def _email(raw: str | None) -> str | None:
    text = _text(raw, limit=254)
    if text is not None and not _EMAIL.match(text):
        raise DomainError("email không hợp lệ.")
    return text


def _report_data(
    checked: Checked, understood: NluResult, nlu: Nlu, settings: Settings
) -> ReportCreate:
    place = _place(checked, understood, nlu)
    known = [c for c in understood.candidates if settings.category(c.category)]
    nlu_category = known[0] if known and understood.category_sure else None
    return ReportCreate(
        content=checked.description,
        category=checked.category or (nlu_category.category if nlu_category else None),
        category_confidence=None if checked.category or not nlu_category else nlu_category.score,
        category_source="citizen" if checked.category else "nlu",
        urgent=understood.urgent,
        urgent_reasons=list(understood.urgent_reasons),
        location_raw=checked.address or place.raw or None,
        province_code=place.province_code or settings.province.code,
        province_name=place.province or settings.province.name,
        commune_code=place.commune_code,
        commune_name=place.commune,
        location_old_names=list(place.old_names),
        location_detail=place.detail or checked.address,
        lat=checked.point[0] if checked.point else None,
        lon=checked.point[1] if checked.point else None,
        reporter_name=checked.name,
        reporter_phone=checked.phone,
        public_consent=checked.public,
        channel=CHANNEL,
        media=[MediaIn(kind="image", url=checked.media_url)] if checked.media_url else [],
    )


def _place(checked: Checked, understood: NluResult, nlu: Nlu) -> Location:
    """The pin's commune, else the address's, else whatever the description names."""
    found: list[Location | None] = []
    if checked.point is not None:
        found.append(nlu.locate_point(*checked.point))
    if checked.address is not None:
        found.append(nlu.understand(checked.address).location)
    found.append(understood.location)
    with_commune = next((p for p in found if p is not None and p.commune_code), None)
    return with_commune or next((p for p in found if p is not None), None) or Location()
