"""Ports the runner implements to execute dialogue commands (in-memory versions for tests)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from bot.commands import (
    AnyOutcome,
    Command,
    CreateReport,
    LookupStatus,
    NotCompleted,
    RateReport,
    ReopenReport,
    ReportCreated,
    ReportNotFound,
    ReportRated,
    ReportReopened,
    StatusFound,
    StatusNotFound,
)

RateOutcome = ReportRated | ReportNotFound | NotCompleted
ReopenOutcome = ReportReopened | ReportNotFound | NotCompleted


class ReportPort(Protocol):
    def create_report(self, command: CreateReport) -> ReportCreated: ...

    def lookup_status(self, code: str) -> StatusFound | StatusNotFound: ...

    def rate_report(self, command: RateReport) -> RateOutcome:
        """Store the rating (and comment) of one of the citizen's own completed reports."""
        ...

    def reopen_report(self, command: ReopenReport) -> ReopenOutcome:
        """Send one of the citizen's own completed reports back to its unit."""
        ...


def execute(port: ReportPort, command: Command) -> AnyOutcome:
    """Run one dialogue command through the port."""
    if isinstance(command, CreateReport):
        return port.create_report(command)
    if isinstance(command, LookupStatus):
        return port.lookup_status(command.code)
    if isinstance(command, RateReport):
        return port.rate_report(command)
    return port.reopen_report(command)


_RECEIVED, _ASSIGNED, _COMPLETED = "Mới tiếp nhận", "Đã chuyển xử lý", "Hoàn thành"


class InMemoryReports:
    """A ReportPort for tests: numbers reports per day, keeps them in dicts.

    Reports created through the port belong to the citizen talking; `add_foreign`
    adds someone else's, and `complete` plays the staff approving an answer.
    """

    def __init__(self, today: date, deadline_days: int = 7) -> None:
        self.today = today
        self.deadline_days = deadline_days
        self.created: dict[str, CreateReport] = {}
        self.statuses: dict[str, str] = {}
        self.ratings: dict[str, tuple[int, str | None]] = {}
        self.reopened: dict[str, int] = {}
        self.foreign: set[str] = set()

    def create_report(self, command: CreateReport) -> ReportCreated:
        code = f"{self.today:%Y%m%d}{len(self.created) + len(self.foreign) + 1:04d}"
        self.created[code] = command
        self.statuses[code] = _RECEIVED
        return ReportCreated(
            code=code,
            due=self._due(),
            category_name=command.draft.category,
            urgent=command.draft.urgent,
        )

    def add_foreign(self, code: str, *, completed: bool = True) -> None:
        """Another citizen's report: it exists, but this citizen may not touch it."""
        self.foreign.add(code)
        self.statuses[code] = _COMPLETED if completed else _RECEIVED

    def complete(self, code: str) -> None:
        self.statuses[code] = _COMPLETED

    def lookup_status(self, code: str) -> StatusFound | StatusNotFound:
        command = self.created.get(code)
        if command is None:
            return StatusNotFound(code=code)
        return StatusFound(
            code=code,
            title=(command.draft.content or "")[:60],
            status_label=self.statuses[code],
            category_name=command.draft.category,
            created=datetime.combine(self.today, datetime.min.time()),
            due=self._due(),
        )

    def rate_report(self, command: RateReport) -> RateOutcome:
        code = command.code
        if code not in self.created:
            return ReportNotFound(code=code)
        if self.statuses[code] != _COMPLETED:
            return NotCompleted(code=code)
        comment = command.comment or self.ratings.get(code, (0, None))[1]
        self.ratings[code] = (command.score, comment)
        return ReportRated(code=code, score=command.score, comment=command.comment)

    def reopen_report(self, command: ReopenReport) -> ReopenOutcome:
        code = command.code
        if code not in self.created:
            return ReportNotFound(code=code)
        if self.statuses[code] != _COMPLETED:
            return NotCompleted(code=code)
        self.statuses[code] = _ASSIGNED
        self.reopened[code] = self.reopened.get(code, 0) + 1
        return ReportReopened(code=code, due=self._due())

    def _due(self) -> date:
        return self.today + timedelta(days=self.deadline_days)
