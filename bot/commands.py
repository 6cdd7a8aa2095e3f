"""Commands the dialogue asks the runner to execute, and the outcomes it gets back.

The dialogue core stays pure: it returns `CreateReport`, `LookupStatus`, a
follow-up on a finished report (`RateReport`, `ReopenReport`), or one on the
citizen's own reports (`ListMyReports`, `StartAddInfo`, `AddInfo`); the runner
executes them through the ports in `bot.ports` (`bot.ports.execute`) and hands
the outcome back to `bot.dialogue.on_outcome`.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from bot.messages import Frozen, Media
from bot.state import Draft


class CreateReport(Frozen):
    draft: Draft
    name: str | None
    phone: str | None


class LookupStatus(Frozen):
    code: str


class RateReport(Frozen):
    """The citizen's rating of an answered report: 3 rất hài lòng, 2 hài lòng, 1 chưa hài lòng."""

    code: str
    score: int = Field(ge=1, le=3)
    comment: str | None = None


class ReopenReport(Frozen):
    """The citizen says the problem is not fixed: the report goes back to its unit."""

    code: str


class ListMyReports(Frozen):
    """ "Phản ánh của tôi": the citizen's own reports, across their linked channels."""

    limit: int = Field(default=5, ge=1, le=10)


class StartAddInfo(Frozen):
    """The citizen wants to add to one of their reports: may it still take information?"""

    code: str


class AddInfo(Frozen):
    """Text and/or photos the citizen adds to one of their own, not closed reports."""

    code: str
    text: str | None = None
    media: tuple[Media, ...] = ()


Command = (
    CreateReport | LookupStatus | RateReport | ReopenReport | ListMyReports | StartAddInfo | AddInfo
)


class ReportCreated(Frozen):
    code: str
    due: date
    category_name: str | None
    urgent: bool


class StatusFound(Frozen):
    code: str
    title: str
    status_label: str
    category_name: str | None
    created: datetime
    due: date
    answer: str | None = None


class StatusNotFound(Frozen):
    code: str


Outcome = ReportCreated | StatusFound | StatusNotFound


class ReportRated(Frozen):
    code: str
    score: int
    comment: str | None = None


class ReportReopened(Frozen):
    code: str
    due: date


class ReportNotFound(Frozen):
    """No such report among the citizen's own (someone else's is never revealed)."""

    code: str


class NotCompleted(Frozen):
    """The report has no answer yet (or was already reopened): nothing to rate or reopen."""

    code: str


class ReportSummary(Frozen):
    """One line of "phản ánh của tôi"."""

    code: str
    title: str
    status_label: str
    created: date
    closed: bool


class MyReports(Frozen):
    """The citizen's newest reports (at most the limit asked) and how many there are in all."""

    reports: tuple[ReportSummary, ...] = ()
    total: int = 0


class ReadyForInfo(Frozen):
    """The report is the citizen's own and still open: ask for the text or photos."""

    code: str
    title: str


class ReportClosed(Frozen):
    """The citizen's own report is closed (completed, rejected, merged): nothing to add."""

    code: str
    status_label: str


class InfoAdded(Frozen):
    code: str
    text: bool
    photos: int


FollowUpOutcome = ReportRated | ReportReopened | ReportNotFound | NotCompleted
MyReportsOutcome = MyReports | ReadyForInfo | ReportClosed | InfoAdded
AnyOutcome = Outcome | FollowUpOutcome | MyReportsOutcome
