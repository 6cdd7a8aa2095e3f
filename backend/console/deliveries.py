"""What the report page shows of the messages sent to the citizen: each one and its delivery.

Owns the "Tin nhắn gửi công dân" section's rows: every outbox message of the
report, oldest first, with its channel, its text (personal data masked unless the
page is a recorded reveal), its delivery state in Vietnamese, the masked reason it
failed, and its attempts. A message sent again through another channel
(fallback) names the channel it went through; the message it replaced reads
"Đã chuyển kênh khác".

Also the outbox page's listing (`outbox_listing`): messages of one state (dead
letters by default), optionally of one channel, newest first, a page at a time,
each with its report's code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.logs import mask_pii
from backend.notifications.models import (
    OUTBOX_DEAD,
    OUTBOX_INLINE,
    OUTBOX_PENDING,
    OUTBOX_REROUTED,
    OUTBOX_SENT,
    OutboxMessage,
)
from backend.reports.models import Report
from backend.reports.stats import CHANNEL_LABELS

STATE_LABELS = {
    OUTBOX_PENDING: "Đang chờ gửi",
    OUTBOX_SENT: "Đã gửi",
    OUTBOX_INLINE: "Đã gửi",  # answered in the web chat at once
    OUTBOX_REROUTED: "Đã chuyển kênh khác",
    OUTBOX_DEAD: "Gửi thất bại",
}
# Routes a fallback message takes (`outbox.via`, backend.notifications.fallbacks).
VIA_LABELS = {
    "zalo_transaction": "Zalo (tin giao dịch)",
    "zalo_zns": "Zalo ZNS (theo số điện thoại)",
}


def channel_label(channel: str | None) -> str:
    return CHANNEL_LABELS.get(channel or "", channel or "")


def state_label(status: str) -> str:
    return STATE_LABELS.get(status, status)


@dataclass(frozen=True)
class Delivery:
    """One message to the citizen as a row of the report page."""

    id: int
    at: datetime
    channel: str
    channel_label: str
    text: str
    status: str
    state_label: str
    sent_at: datetime | None
    error: str | None
    attempts: int
    via_label: str | None  # set on a fallback message: the channel it went through


def _text(row: OutboxMessage, *, revealed: bool) -> str:
    payload = row.payload if isinstance(row.payload, dict) else {}
    text = payload.get("text")
    text = text if isinstance(text, str) else ""
    return text if revealed else mask_pii(text)


def _via(row: OutboxMessage) -> str | None:
    """The route a fallback message takes; None for a message's first attempt."""
    if row.fallback_of_id is None:
        return None
    via = row.via or row.channel
    return VIA_LABELS.get(via) or channel_label(via)


def delivery(row: OutboxMessage, *, revealed: bool) -> Delivery:
    """The row as shown (mask_pii leaves report codes readable)."""
    error = row.last_error if row.last_error and row.status != OUTBOX_SENT else None
    return Delivery(
        id=row.id,
        at=row.created_at,
        channel=row.channel,
        channel_label=channel_label(row.channel),
        text=_text(row, revealed=revealed),
        status=row.status,
        state_label=state_label(row.status),
        sent_at=row.sent_at if row.status in (OUTBOX_SENT, OUTBOX_INLINE) else None,
        error=mask_pii(error) if error else None,  # masked whatever `revealed`
        attempts=row.attempts,
        via_label=_via(row),
    )


def report_deliveries(session: Session, *, report_id: int, revealed: bool) -> list[Delivery]:
    """Every message to the citizen about this report, in the order they were written."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.report_id == report_id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [delivery(row, revealed=revealed) for row in session.scalars(stmt)]


@dataclass(frozen=True)
class OutboxRow:
    """One message on the outbox page; text and error masked, recipient left to the template."""

    delivery: Delivery
    recipient: str
    report_code: str | None


@dataclass(frozen=True)
class OutboxListing:
    rows: list[OutboxRow]
    total: int
    page: int
    pages: int


def outbox_channels(session: Session) -> list[str]:
    """The channels the outbox has messages of, plus the known ones."""
    found = set(session.scalars(select(OutboxMessage.channel).distinct()))
    return sorted(found | set(CHANNEL_LABELS))


def outbox_listing(
    session: Session, *, status: str, channel: str | None, page: int, page_size: int
) -> OutboxListing:
    """Messages in `status` (and `channel`), newest first; `page` is clamped to those there are."""
    where = [OutboxMessage.status == status]
    if channel:
        where.append(OutboxMessage.channel == channel)
    total = session.scalar(select(func.count()).select_from(OutboxMessage).where(*where)) or 0
    pages = max(1, math.ceil(total / page_size))
    page = min(max(page, 1), pages)
    stmt = (
        select(OutboxMessage, Report.code)
        .outerjoin(Report, Report.id == OutboxMessage.report_id)
        .where(*where)
        .order_by(OutboxMessage.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [
        OutboxRow(delivery(row, revealed=False), row.recipient, code)
        for row, code in session.execute(stmt)
    ]
    return OutboxListing(rows, total, page, pages)
