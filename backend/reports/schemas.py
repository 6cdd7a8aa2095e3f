"""Report schemas: what a service needs to create a report, and what callers read back."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class MediaIn(BaseModel):
    kind: str = Field(pattern=r"^(image|video|audio|file)$")
    url: str | None = None
    provider_ref: str | None = None
    mime_type: str | None = None


class ReportCreate(BaseModel):
    model_config = ConfigDict(frozen=True)

    content: str = Field(min_length=1, max_length=20000)
    title: str | None = None
    category: str | None = None
    category_confidence: float | None = None
    category_source: str = "nlu"
    urgent: bool = False
    urgent_reasons: list[str] = Field(default_factory=list)
    location_raw: str | None = None
    province_code: str | None = None
    province_name: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None
    location_old_names: list[str] = Field(default_factory=list)
    location_detail: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    occurred_at: datetime | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    public_consent: bool = False
    channel: str
    citizen_id: int | None = None
    conversation_id: int | None = None
    intake_turns: int | None = None
    media: list[MediaIn] = Field(default_factory=list)
