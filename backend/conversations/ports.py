"""The database-backed implementation of the bot's ReportPort."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.citizens.models import Citizen
from backend.citizens.service import remember_contact
from backend.conversations.models import Conversation
from backend.reports import service as reports
from backend.reports.schemas import MediaIn, ReportCreate
from backend.reports.workflow import label
from backend.settings import Settings
from bot.commands import CreateReport, ReportCreated, StatusFound, StatusNotFound


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
