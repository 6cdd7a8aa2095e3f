"""Commands the dialogue asks the runner to execute, and the outcomes it gets back.

The dialogue core stays pure: it returns `CreateReport` or `LookupStatus`;
the runner executes them through the ports in `bot.ports` and hands the
outcome back to `bot.dialogue.on_outcome`.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.messages import Frozen
from bot.state import Draft


class CreateReport(Frozen):
    draft: Draft
    name: str | None
    phone: str | None


class LookupStatus(Frozen):
    code: str


Command = CreateReport | LookupStatus


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
