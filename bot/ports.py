"""Ports the runner implements to execute dialogue commands (in-memory versions for tests)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from bot.commands import CreateReport, ReportCreated, StatusFound, StatusNotFound


class ReportPort(Protocol):
    def create_report(self, command: CreateReport) -> ReportCreated: ...

    def lookup_status(self, code: str) -> StatusFound | StatusNotFound: ...


class InMemoryReports:
    """A ReportPort for tests: numbers reports per day, keeps them in a dict."""

    def __init__(self, today: date, deadline_days: int = 7) -> None:
        self.today = today
        self.deadline_days = deadline_days
        self.created: dict[str, CreateReport] = {}

    def create_report(self, command: CreateReport) -> ReportCreated:
        code = f"{self.today:%Y%m%d}{len(self.created) + 1:04d}"
        self.created[code] = command
        return ReportCreated(
            code=code,
            due=self.today + timedelta(days=self.deadline_days),
            category_name=command.draft.category,
            urgent=command.draft.urgent,
        )

    def lookup_status(self, code: str) -> StatusFound | StatusNotFound:
        command = self.created.get(code)
        if command is None:
            return StatusNotFound(code=code)
        return StatusFound(
            code=code,
            title=(command.draft.content or "")[:60],
            status_label="Mới tiếp nhận",
            category_name=command.draft.category,
            created=datetime.combine(self.today, datetime.min.time()),
            due=self.today + timedelta(days=self.deadline_days),
        )
