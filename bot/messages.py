"""Neutral message types shared by channels and the bot: what came in, what goes out.

Channel adapters translate provider payloads to `Inbound` and `Reply` to provider
payloads; the bot never sees a provider format.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Media(Frozen):
    """A photo, video, audio recording or file the citizen sent."""

    kind: Literal["image", "video", "audio", "file"]
    url: str | None = None
    provider_ref: str | None = None
    mime_type: str | None = None


class Inbound(Frozen):
    """One message from a citizen. Provider quirks are evened out here: NUL characters
    (which PostgreSQL text refuses) are dropped, over-long provider ids are digested, and
    coordinates must be on the globe."""

    channel: str
    sender_id: str = Field(min_length=1, max_length=128)
    message_id: str | None = Field(default=None, max_length=128)
    text: str = ""
    payload: str | None = None  # a button the citizen pressed
    media: tuple[Media, ...] = ()
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    contact_phone: str | None = None  # shared by the channel (Telegram contact, Zalo form)
    sender_name: str | None = None
    transcript: bool = False  # text is a speech transcript (hotline)

    @model_validator(mode="before")
    @classmethod
    def _even_out(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        clean = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in data.items()}
        message_id = clean.get("message_id")
        if isinstance(message_id, str) and len(message_id) > 128:
            clean["message_id"] = "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
        return clean


class Button(Frozen):
    title: str
    payload: str


class Reply(Frozen):
    text: str
    sms_text: str | None = None  # a shorter form written for SMS; other channels show `text`
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    ask_location: bool = False  # offer a "share my location" control where the channel has one
    ask_contact: bool = False  # offer a "share my phone number" control where the channel has one
