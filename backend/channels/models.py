"""The inbox: webhook messages acknowledged at once and handled after the response.

Providers want a fast 200 (Zalo within 2 s) and retry otherwise; the webhook
route only verifies, parses and stores here (unique per provider message id,
so a redelivery is dropped), and the pipeline runs the bot afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow

INBOX_PENDING = "pending"
INBOX_DONE = "done"
INBOX_FAILED = "failed"


class InboxMessage(Base):
    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "provider_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)  # the neutral Inbound
    status: Mapped[str] = mapped_column(String(16), default=INBOX_PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
