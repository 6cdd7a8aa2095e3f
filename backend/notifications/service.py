"""Writing messages to the outbox, in the caller's transaction (nothing is sent here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.notifications.models import OUTBOX_PENDING, OutboxMessage


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    report_id: int | None = None,
    status: str = OUTBOX_PENDING,
) -> OutboxMessage:
    """Add a message once: a second call with the same idempotency key returns the first."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    message = OutboxMessage(
        idempotency_key=key,
        channel=channel,
        recipient=recipient,
        kind=kind,
        payload=payload,
        report_id=report_id,
        status=status,
        next_attempt_at=now,
        created_at=now,
        sent_at=now if status != OUTBOX_PENDING else None,
    )
    session.add(message)
    session.flush()
    return message
