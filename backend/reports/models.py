"""Reports (phản ánh), their attachments, timeline events and the daily code counter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, UTCDateTime, utcnow


class DailyCounter(Base):
    """Last sequence number used for report codes on one local calendar day."""

    __tablename__ = "daily_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD
    last: Mapped[int] = mapped_column(Integer)


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    category_source: Mapped[str] = mapped_column(String(16), default="nlu")  # nlu|citizen|staff
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    urgent_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(32), index=True)
    unit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Location as the citizen said it, and as resolved to the post-2025 units.
    location_raw: Mapped[str | None] = mapped_column(Text)
    province_code: Mapped[str | None] = mapped_column(String(8))
    province_name: Mapped[str | None] = mapped_column(String(120))
    commune_code: Mapped[str | None] = mapped_column(String(16), index=True)
    commune_name: Mapped[str | None] = mapped_column(String(120))
    location_old_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    location_detail: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Reporter: never shown publicly.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(120))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    public_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    intake_turns: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Staff workflow (backend.reports.actions): who handles it, the answer and its approval.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    answer_draft: Mapped[str | None] = mapped_column(Text)  # sanitised HTML
    answer: Mapped[str | None] = mapped_column(Text)  # sanitised HTML, once approved
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    extension_days: Mapped[int | None] = mapped_column(Integer)  # a pending extension request
    extension_reason: Mapped[str | None] = mapped_column(Text)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The citizen's rating of the answer: 3 rất hài lòng, 2 hài lòng, 1 chưa hài lòng.
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", order_by="Attachment.id"
    )
    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="report", order_by="ReportEvent.id"
    )


class Attachment(Base):
    """A citizen's photo, video or recording: where the provider has it, then where we keep it.

    Created `pending` with the provider's URL or file id; the media step (backend.media.service)
    downloads it into the media store and marks it `stored` (key, thumbnail, size, hash, and
    the sniffed kind and type) or `failed` with the reason, retrying transient failures.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # image, video, audio, file
    # "report": sent by the citizen; "answer": attached by staff to the answer.
    purpose: Mapped[str] = mapped_column(String(16), default="report", server_default="report")
    filename: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(
        String(16), default="pending", server_default="pending", index=True
    )  # pending | stored | failed
    storage_key: Mapped[str | None] = mapped_column(String(128))
    thumbnail_key: Mapped[str | None] = mapped_column(String(128))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    report: Mapped[Report] = relationship(back_populates="attachments")


class ReportEvent(Base):
    """Timeline / audit log (nhật ký): who did what to the report, when, and why."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))  # "staff:<username>", "citizen:<channel>"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    report: Mapped[Report] = relationship(back_populates="events")


class Correction(Base):
    """A staff correction of what the NLU understood: training data for the next model.

    `kind` is "category" (old/new category ids) or "location" (old/new commune
    names); `text` is the citizen's words the NLU read. `paht nlu
    export-corrections` writes them as Rasa NLU examples.
    """

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
