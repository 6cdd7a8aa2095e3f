"""Writing webhook events in the caller's transaction: what a report event says, once per
subscribed endpoint, without personal data.

The payload names the report by code and carries only public facts: category,
status, commune, unit, times and the public URL (the portal's page, once
published) — never the content, the reporter, the coordinates or staff names.
Nothing is sent here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.reports.models import Report
from backend.settings import Settings
from backend.webhooks_out.models import PENDING, WebhookDelivery

REPORT_CREATED = "report.created"
STATUS_CHANGED = "report.status_changed"
PUBLIC_PATH = "/cong-dong/"  # the public portal's page of a published report


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def public_url(settings: Settings, report: Report) -> str | None:
    """The portal's page of the report, once it is published (None before: it would be a 404)."""
    if not report.published:
        return None
    return f"{settings.public_base_url.rstrip('/')}{PUBLIC_PATH}{report.code}"


def report_facts(report: Report, settings: Settings) -> dict[str, Any]:
    """What any system may know about a report: no content, reporter or position."""
    category = settings.category(report.category)
    unit = settings.unit(report.unit_id)
    return {
        "code": report.code,
        "category": report.category,
        "category_name": category.name if category else None,
        "status": report.status,
        "urgent": report.urgent,
        "province_code": report.province_code,
        "commune_code": report.commune_code,
        "commune_name": report.commune_name,
        "unit_id": report.unit_id,
        "unit_name": unit.name if unit else None,
        "channel": report.channel,
        "created_at": _iso(report.created_at),
        "updated_at": _iso(report.updated_at),
        "due_at": _iso(report.due_at),
        "completed_at": _iso(report.completed_at),
        "public_url": public_url(settings, report),
    }


def record(
    session: Session,
    *,
    event: str,
    report: Report,
    settings: Settings,
    now: datetime,
    change: dict[str, Any] | None = None,
) -> list[WebhookDelivery]:
    """Queue `event` about `report` for every endpoint subscribed to it (none configured: none)."""
    endpoints = [w for w in settings.webhooks if event in w.events]
    if not endpoints:
        return []
    event_id = str(uuid.uuid4())
    body = {
        "id": event_id,
        "type": event,
        "occurred_at": _iso(now),
        "report": report_facts(report, settings),
        **({"change": change} if change else {}),
    }
    rows = [
        WebhookDelivery(
            event_id=event_id,
            event=event,
            url=w.url,
            report_code=report.code,
            payload=body,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for w in endpoints
    ]
    session.add_all(rows)
    session.flush()
    return rows


def report_created(
    session: Session, *, report: Report, settings: Settings, now: datetime
) -> list[WebhookDelivery]:
    return record(session, event=REPORT_CREATED, report=report, settings=settings, now=now)


def status_changed(
    session: Session,
    *,
    report: Report,
    before: str,
    settings: Settings,
    now: datetime,
) -> list[WebhookDelivery]:
    if report.status == before:
        return []
    change = {"from_status": before, "to_status": report.status}
    return record(
        session, event=STATUS_CHANGED, report=report, settings=settings, now=now, change=change
    )
