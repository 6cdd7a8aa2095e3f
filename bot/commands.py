"""Commands the dialogue asks the runner to execute, and the outcomes it gets back.

The dialogue core stays pure: it returns `CreateReport`, `LookupStatus`, or a
follow-up on a finished report (`RateReport`, `ReopenReport`); the runner
executes them through the ports in `bot.ports` (`bot.ports.execute`) and hands
the outcome back to `bot.dialogue.on_outcome`.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from bot.messages import Frozen
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


Command = CreateReport | LookupStatus | RateReport | ReopenReport


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


FollowUpOutcome = ReportRated | ReportReopened | ReportNotFound | NotCompleted
AnyOutcome = Outcome | FollowUpOutcome
