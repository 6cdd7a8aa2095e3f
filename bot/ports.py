"""Ports the runner implements to execute dialogue commands (in-memory versions for tests)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from bot.commands import (
    AddInfo,
    AnyOutcome,
    Command,
    CreateReport,
    InfoAdded,
    ListMyReports,
    LookupStatus,
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

RateOutcome = ReportRated | ReportNotFound | NotCompleted
ReopenOutcome = ReportReopened | ReportNotFound | NotCompleted
ReadyOutcome = ReadyForInfo | ReportNotFound | ReportClosed
AddOutcome = InfoAdded | ReportNotFound | ReportClosed


class ReportPort(Protocol):
    def create_report(self, command: CreateReport) -> ReportCreated: ...

    def lookup_status(self, code: str) -> StatusFound | StatusNotFound: ...

    def rate_report(self, command: RateReport) -> RateOutcome:
        """Store the rating (and comment) of one of the citizen's own completed reports."""
        ...

    def reopen_report(self, command: ReopenReport) -> ReopenOutcome:
        """Send one of the citizen's own completed reports back to its unit."""
        ...

    def my_reports(self, command: ListMyReports) -> MyReports:
        """The citizen's own reports (all their linked channels), newest first."""
        ...

    def ready_for_info(self, command: StartAddInfo) -> ReadyOutcome:
        """Whether this code is one of the citizen's own reports that is still open."""
        ...

    def add_info(self, command: AddInfo) -> AddOutcome:
        """Append the text and photos to one of the citizen's own open reports."""
        ...


def execute(port: ReportPort, command: Command) -> AnyOutcome:
    """Run one dialogue command through the port."""
    if isinstance(command, CreateReport):
        return port.create_report(command)
    if isinstance(command, LookupStatus):
        return port.lookup_status(command.code)
    if isinstance(command, RateReport):
        return port.rate_report(command)
    if isinstance(command, ListMyReports):
        return port.my_reports(command)
    if isinstance(command, StartAddInfo):
        return port.ready_for_info(command)
    if isinstance(command, AddInfo):
        return port.add_info(command)
    return port.reopen_report(command)


_RECEIVED, _ASSIGNED, _COMPLETED = "Mới tiếp nhận", "Đã chuyển xử lý", "Hoàn thành"
_REJECTED = "Từ chối"
_CLOSED = frozenset({_COMPLETED, _REJECTED})


class InMemoryReports:
    """A ReportPort for tests: numbers reports per day, keeps them in dicts.

    Reports created through the port belong to the citizen talking; `add_foreign`
    adds someone else's, `complete` and `reject` play the staff closing one, and
    `added` keeps what the citizen added to each report.
    """

    def __init__(self, today: date, deadline_days: int = 7) -> None:
        self.today = today
        self.deadline_days = deadline_days
        self.created: dict[str, CreateReport] = {}
        self.statuses: dict[str, str] = {}
        self.ratings: dict[str, tuple[int, str | None]] = {}
        self.reopened: dict[str, int] = {}
        self.foreign: set[str] = set()
        self.added: dict[str, list[AddInfo]] = {}

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

    def reject(self, code: str) -> None:
        self.statuses[code] = _REJECTED

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

    def my_reports(self, command: ListMyReports) -> MyReports:
        codes = sorted(self.created, reverse=True)
        return MyReports(
            reports=tuple(self._summary(code) for code in codes[: command.limit]),
            total=len(codes),
        )

    def ready_for_info(self, command: StartAddInfo) -> ReadyOutcome:
        code = command.code
        if code not in self.created:
            return ReportNotFound(code=code)
        if self.statuses[code] in _CLOSED:
            return ReportClosed(code=code, status_label=self.statuses[code])
        return ReadyForInfo(code=code, title=self._summary(code).title)

    def add_info(self, command: AddInfo) -> AddOutcome:
        ready = self.ready_for_info(StartAddInfo(code=command.code))
        if not isinstance(ready, ReadyForInfo):
            return ready
        self.added.setdefault(command.code, []).append(command)
        photos = len(command.media)
        return InfoAdded(code=command.code, text=bool(command.text), photos=photos)

    def _summary(self, code: str) -> ReportSummary:
        return ReportSummary(
            code=code,
            title=(self.created[code].draft.content or "")[:40],
            status_label=self.statuses[code],
            created=self.today,
            closed=self.statuses[code] in _CLOSED,
        )
