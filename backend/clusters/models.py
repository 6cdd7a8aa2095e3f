"""Duplicate candidates: a new report attached to the open report it probably repeats.

`cluster_report_id` is the cluster's primary report (the oldest open one, never a
merged one); staff confirm a candidate (the report is then merged into the
primary) or dismiss it. Also declares the index on the reports' coordinates that
the clustering look-up uses (the Report model belongs to backend.reports).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.reports.models import Report

CANDIDATE = "candidate"
CONFIRMED = "confirmed"
DISMISSED = "dismissed"

REPORT_POSITION_INDEX = Index("ix_reports_lat_lon", Report.lat, Report.lon)


class DuplicateCandidate(Base):
    __tablename__ = "duplicate_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), unique=True
    )
    cluster_report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=CANDIDATE, index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
