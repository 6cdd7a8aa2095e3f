"""Creating and finding reports: codes, deadlines, default routing, the first timeline event.

Services take the session first, flush but never commit: the caller's unit of
work commits once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend.clusters import intake as clusters
from backend.logs import mask_pii
from backend.reports.deadlines import due_at
from backend.reports.models import Attachment, DailyCounter, Report, ReportEvent
from backend.reports.schemas import MediaIn, ReportCreate
from backend.reports.workflow import Status
from backend.settings import Settings
from backend.webhooks_out import events as webhook_events

CODE_RE = re.compile(r"^\d{12,13}$")


def next_code(session: Session, *, now: datetime, tz: ZoneInfo) -> str:
    """`YYYYMMDD` + a 4-digit daily sequence, atomic under concurrency on both databases.

    The counter row is upserted and incremented in one statement; its row lock
    (PostgreSQL) or the write lock (SQLite) is held until the caller commits.
    """
    day = now.astimezone(tz).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(DailyCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": DailyCounter.last + 1})
        .returning(DailyCounter.last)
    )
    sequence = session.execute(stmt).scalar_one()
    return f"{day}{sequence:04d}"


def make_title(content: str, limit: int = 120) -> str:
    """The first sentence, shortened, with phone and ID numbers masked (titles are shown widely)."""
    first = mask_pii(re.split(r"(?<=[.!?])\s|\n", content.strip(), maxsplit=1)[0])
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def create_report(
    session: Session, *, data: ReportCreate, settings: Settings, now: datetime
) -> Report:
    tz = ZoneInfo(settings.timezone)
    category = settings.category(data.category)
    report = Report(
        **data.model_dump(exclude={"media", "title"}),
        code=next_code(session, now=now, tz=tz),
        title=data.title or make_title(data.content),
        status=Status.RECEIVED,
        unit_id=category.unit if category else None,
        anonymous=not (data.reporter_name or data.reporter_phone),
        due_at=category_deadline(settings, category=data.category, urgent=data.urgent, start=now),
        created_at=now,
        updated_at=now,
    )
    report.attachments = [Attachment(**m.model_dump(), created_at=now) for m in data.media]
    report.events = [
        ReportEvent(
            kind="created",
            actor=f"citizen:{data.channel}",
            to_status=Status.RECEIVED,
            data={"category": data.category, "urgent": data.urgent},
            created_at=now,
        )
    ]
    session.add(report)
    session.flush()
    clusters.attach_on_create(session, report=report, settings=settings, now=now)
    webhook_events.report_created(session, report=report, settings=settings, now=now)
    return report


def category_deadline(
    settings: Settings, *, category: str | None, urgent: bool, start: datetime
) -> datetime:
    """The handling deadline counted from `start`: the category's working days (the "khac"
    category's for an unknown one), or the urgent hours for an urgent report."""
    found = settings.category(category) or settings.category("khac")
    return due_at(
        start,
        days=found.deadline_days if found else 10,
        holidays=set(settings.holidays),
        tz=ZoneInfo(settings.timezone),
        urgent_hours=settings.urgent_deadline_hours if urgent else None,
    )


def add_citizen_info(
    session: Session,
    *,
    report: Report,
    text: str | None,
    media: Sequence[MediaIn],
    channel: str,
    now: datetime,
) -> ReportEvent:
    """The citizen adds text and/or photos to their report: one "citizen_info" event on the
    timeline, and the photos as `pending` attachments that the media step stores like the
    report's first ones. The caller checks that the report is the citizen's and still open."""
    added = [Attachment(**m.model_dump(), created_at=now) for m in media]
    report.attachments.extend(added)
    report.updated_at = now
    session.flush()
    event = ReportEvent(
        report=report,
        kind="citizen_info",
        actor=f"citizen:{channel}",
        comment=text,
        data={"attachments": [a.id for a in added]} if added else None,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def get_by_code(session: Session, *, code: str) -> Report | None:
    if not CODE_RE.match(code):
        return None
    return session.scalar(select(Report).where(Report.code == code))
