"""Private lookup (tra cứu): a citizen sees their own report by its code and their phone.

The report is shown even when it is not published. A wrong phone number answers exactly
like an unknown code (None), so the page cannot tell anyone which codes exist. Guessing
is slowed by `AttemptLimiter`: a small in-memory, per-address sliding window (no table: a
lookup changes nothing, and a restart forgetting the counts only gives back a few tries;
several app processes each count their own, so the real limit is per process).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.citizens.models import Citizen
from backend.portal.queries import CODE_RE
from backend.reports.models import Report, ReportEvent
from channels.phones import normalise_phone


@dataclass(frozen=True)
class Step:
    """One status change on the citizen's timeline."""

    at: datetime
    status: str


@dataclass(frozen=True)
class OwnReport:
    report: Report
    steps: list[Step]
    merged_into: Report | None  # the report theirs was merged into, which carries the answer


def _same_phone(stored: str | None, given: str) -> bool:
    if not stored:
        return False
    return (normalise_phone(stored) or stored) == given


def find_own_report(session: Session, *, code: str, phone: str) -> OwnReport | None:
    """The report with `code` if `phone` is its reporter's (or its citizen's); else None."""
    code, given = code.strip(), normalise_phone(phone)
    if not CODE_RE.match(code) or given is None:
        return None
    report = session.scalar(select(Report).where(Report.code == code))
    if report is None:
        return None
    citizen_phone = (
        session.scalar(select(Citizen.phone).where(Citizen.id == report.citizen_id))
        if report.citizen_id
        else None
    )
    if not (_same_phone(report.reporter_phone, given) or _same_phone(citizen_phone, given)):
        return None
    return OwnReport(
        report=report, steps=_steps(session, report), merged_into=_root(session, report)
    )


def _steps(session: Session, report: Report) -> list[Step]:
    """The report's received date, then each change of status (no staff names, no notes)."""
    steps = [Step(at=report.created_at, status="received")]
    events = session.scalars(
        select(ReportEvent)
        .where(ReportEvent.report_id == report.id, ReportEvent.to_status.is_not(None))
        .order_by(ReportEvent.id)
    )
    for event in events:
        if event.to_status and event.to_status != event.from_status:
            steps.append(Step(at=event.created_at, status=event.to_status))
    return steps


def _root(session: Session, report: Report) -> Report | None:
    """The report at the end of the merge chain, or None when this one is not merged."""
    current, seen = report, {report.id}
    while current.merged_into_id is not None and current.merged_into_id not in seen:
        target = session.get(Report, current.merged_into_id)
        if target is None:
            break
        seen.add(target.id)
        current = target
    return current if current is not report else None


class AttemptLimiter:
    """At most `limit` attempts per address within `window` seconds (thread-safe)."""

    def __init__(self, *, limit: int = 10, window: float = 600.0, max_addresses: int = 10_000):
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str, *, now: float | None = None) -> int:
        """Record an attempt; 0 when allowed, else the seconds to wait (nothing recorded)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) >= self.max_addresses:
                self._forget_idle(now)
            hits = self._hits.setdefault(address, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, int(hits[0] + self.window - now) + 1)
            hits.append(now)
            return 0

    def _forget_idle(self, now: float) -> None:
        for address in [a for a, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[address]
        if len(self._hits) >= self.max_addresses:  # still full: start over rather than grow
            self._hits.clear()
