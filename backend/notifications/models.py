"""Outbox: every message to a citizen, written in the transaction that causes it.

A dispatcher leases the rows it is about to send (`claimed_until`, `claimed_by`) so
that several dispatchers, in one process or many, never send the same row twice
while the lease holds; see `backend.notifications.dispatcher`. A message that cannot
reach the citizen its way is `rerouted`: a new row (`fallback_of_id`, `via`) carries it
by the next route; see `backend.notifications.fallbacks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow

OUTBOX_PENDING = "pending"
OUTBOX_SENT = "sent"
OUTBOX_INLINE = "delivered_inline"  # answered in the webhook response (web chat)
OUTBOX_DEAD = "dead"
OUTBOX_REROUTED = "rerouted"  # sent through a fallback message instead (its fallback_of_id)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    # A citizen's earlier messages: the dispatcher's "is one still waiting?" look-up.
    __table_args__ = (Index("ix_outbox_citizen", "channel", "recipient", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(128))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=OUTBOX_PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The lease of the dispatcher sending it now; both are null when nobody holds it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))  # host:pid:token
    # A fallback: the message it replaces (now `rerouted`) and the route it takes
    # ("zalo_transaction", "zalo_zns", "sms"); both null for a first attempt.
    fallback_of_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    via: Mapped[str | None] = mapped_column(String(32))
