"""The database-backed implementation of the bot's ReportPort.

Follow-ups (rating, reopening, "phản ánh của tôi", adding information) only touch
the conversation's citizen's own reports (the citizen across every channel linked
to them): any other code is "not found", so nobody learns of someone else's report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.citizens.models import Citizen
from backend.citizens.service import remember_contact
from backend.conversations.models import Conversation
from backend.reports import actions
from backend.reports import service as reports
from backend.reports.models import Report, ReportEvent
from backend.reports.schemas import MediaIn, ReportCreate
from backend.reports.workflow import CLOSED_STATUSES, Status, label
from backend.settings import Settings
from backend.webhooks_out import events as webhook_events
from bot.commands import (
    AddInfo,
    CreateReport,
    InfoAdded,
    ListMyReports,
    MyReports,
    NotCompleted,
    RateReport,
    ReadyForInfo,
    ReopenReport,
    ReportClosed,
    ReportCreated,
    ReportNotFound,
    ReportRated,
    ReportReopened,
    ReportSummary,
    StartAddInfo,
    StatusFound,
    StatusNotFound,
)
from bot.ports import AddOutcome, RateOutcome, ReadyOutcome, ReopenOutcome

SHORT_TITLE = 40  # characters of a report's title in "phản ánh của tôi"
MAX_INFO = 4000  # characters of text added to a report in one message


@dataclass
class DbReports:
    session: Session
    settings: Settings
    conversation: Conversation
    citizen: Citizen
    now: datetime

    def create_report(self, command: CreateReport) -> ReportCreated:
        draft, place = command.draft, command.draft.location
        data = ReportCreate(
            content=draft.content or "",
            category=draft.category,
            category_confidence=draft.category_score if draft.category else None,
            category_source="nlu" if draft.category_sure else "citizen",
            urgent=draft.urgent,
            urgent_reasons=list(draft.urgent_reasons),
            location_raw=place.raw if place else None,
            province_code=(place.province_code if place else None) or self.settings.province.code,
            province_name=(place.province if place else None) or self.settings.province.name,
            commune_code=place.commune_code if place else None,
            commune_name=place.commune if place else None,
            location_old_names=list(place.old_names) if place else [],
            location_detail=place.detail if place else None,
            lat=place.lat if place else None,
            lon=place.lon if place else None,
            reporter_name=command.name,
            reporter_phone=command.phone,
            public_consent=bool(draft.public),
            channel=self.conversation.channel,
            citizen_id=self.citizen.id,
            conversation_id=self.conversation.id,
            intake_turns=draft.turns,
            media=[MediaIn(**m.model_dump()) for m in draft.media],
        )
        report = reports.create_report(
            self.session, data=data, settings=self.settings, now=self.now
        )
        remember_contact(
            self.session, citizen=self.citizen, name=command.name, phone=command.phone, now=self.now
        )
        tz = ZoneInfo(self.settings.timezone)
        category = self.settings.category(report.category)
        return ReportCreated(
            code=report.code,
            due=report.due_at.astimezone(tz).date(),
            category_name=category.name if category else None,
            urgent=report.urgent,
        )

    def lookup_status(self, code: str) -> StatusFound | StatusNotFound:
        report = reports.get_by_code(self.session, code=code)
        if report is None:
            return StatusNotFound(code=code)
        tz = ZoneInfo(self.settings.timezone)
        category = self.settings.category(report.category)
        return StatusFound(
            code=report.code,
            title=report.title,
            status_label=label(report.status),
            category_name=category.name if category else None,
            created=report.created_at.astimezone(tz),
            due=report.due_at.astimezone(tz).date(),
        )

    def rate_report(self, command: RateReport) -> RateOutcome:
        report = self._own(command.code)
        if report is None:
            return ReportNotFound(code=command.code)
        if report.status != Status.COMPLETED:
            return NotCompleted(code=command.code)
        comment = command.comment[: actions.MAX_COMMENT] if command.comment else None
        actions.rate(
            self.session, report=report, score=command.score, comment=comment, now=self.now
        )
        return ReportRated(code=report.code, score=command.score, comment=command.comment)

    def reopen_report(self, command: ReopenReport) -> ReopenOutcome:
        report = self._own(command.code)
        if report is None:
            return ReportNotFound(code=command.code)
        if report.status != Status.COMPLETED:
            return NotCompleted(code=command.code)
        reopen(
            self.session,
            report=report,
            channel=self.conversation.channel,
            settings=self.settings,
            now=self.now,
        )
        tz = ZoneInfo(self.settings.timezone)
        return ReportReopened(code=report.code, due=report.due_at.astimezone(tz).date())

    def my_reports(self, command: ListMyReports) -> MyReports:
        mine = Report.citizen_id == self.citizen.id
        total = self.session.scalar(select(func.count()).select_from(Report).where(mine)) or 0
        newest = Report.created_at.desc(), Report.id.desc()
        rows = self.session.scalars(
            select(Report).where(mine).order_by(*newest).limit(command.limit)
        ).all()
        tz = ZoneInfo(self.settings.timezone)
        return MyReports(
            reports=tuple(
                ReportSummary(
                    code=r.code,
                    title=_short(r.title),
                    status_label=label(r.status),
                    created=r.created_at.astimezone(tz).date(),
                    closed=r.status in CLOSED_STATUSES,
                )
                for r in rows
            ),
            total=total,
        )

    def ready_for_info(self, command: StartAddInfo) -> ReadyOutcome:
        report = self._own_open(command.code)
        if not isinstance(report, Report):
            return report
        return ReadyForInfo(code=report.code, title=_short(report.title))

    def add_info(self, command: AddInfo) -> AddOutcome:
        report = self._own_open(command.code)
        if not isinstance(report, Report):
            return report
        text = command.text[:MAX_INFO] if command.text else None
        reports.add_citizen_info(
            self.session,
            report=report,
            text=text,
            media=[MediaIn(**m.model_dump()) for m in command.media],
            channel=self.conversation.channel,
            now=self.now,
        )
        return InfoAdded(code=report.code, text=bool(text), photos=len(command.media))

    def _own_open(self, code: str) -> Report | ReportNotFound | ReportClosed:
        """The citizen's own report that still takes information, or why not."""
        report = self._own(code)
        if report is None:
            return ReportNotFound(code=code)
        if report.status in CLOSED_STATUSES:
            return ReportClosed(code=report.code, status_label=label(report.status))
        return report

    def _own(self, code: str) -> Report | None:
        """The report with this code if it is this citizen's, else None."""
        report = reports.get_by_code(self.session, code=code)
        if report is None or report.citizen_id != self.citizen.id:
            return None
        return report


def _short(title: str) -> str:
    return title if len(title) <= SHORT_TITLE else title[: SHORT_TITLE - 1].rsplit(" ", 1)[0] + "…"


def reopen(
    session: Session, *, report: Report, channel: str, settings: Settings, now: datetime
) -> None:
    """The citizen says it is not fixed: back to its unit (status assigned) with a fresh deadline.

    What the citizen said was wrong, if their rating was "chưa hài lòng", goes in the event.
    """
    old_due = report.due_at
    report.due_at = reports.category_deadline(
        settings, category=report.category, urgent=report.urgent, start=now
    )
    report.status = Status.ASSIGNED.value
    report.reopened_count = (report.reopened_count or 0) + 1
    report.completed_at = None
    report.updated_at = now
    session.add(
        ReportEvent(
            report=report,
            kind="reopen",
            actor=f"citizen:{channel}",
            from_status=Status.COMPLETED.value,
            to_status=Status.ASSIGNED.value,
            comment=report.rating_comment if report.rating == 1 else None,
            data={
                "reopened_count": report.reopened_count,
                "due_at": [
                    old_due.astimezone(UTC).isoformat(),
                    report.due_at.astimezone(UTC).isoformat(),
                ],
            },
            created_at=now,
        )
    )
    session.flush()
    webhook_events.status_changed(
        session, report=report, before=Status.COMPLETED.value, settings=settings, now=now
    )
