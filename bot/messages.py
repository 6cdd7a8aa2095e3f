"""Neutral message types shared by channels and the bot: what came in, what goes out.

Channel adapters translate provider payloads to `Inbound` and `Reply` to provider
payloads; the bot never sees a provider format.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Media(Frozen):
    """A photo, video, audio recording or file the citizen sent."""

    kind: Literal["image", "video", "audio", "file"]
    url: str | None = None
    provider_ref: str | None = None
    mime_type: str | None = None


class Inbound(Frozen):
    channel: str
    sender_id: str
    message_id: str | None = None
    text: str = ""
    payload: str | None = None  # a button the citizen pressed
    media: tuple[Media, ...] = ()
    lat: float | None = None
    lon: float | None = None
    contact_phone: str | None = None  # shared by the channel (Telegram contact, Zalo form)
    sender_name: str | None = None
    transcript: bool = False  # text is a speech transcript (hotline)


class Button(Frozen):
    title: str
    payload: str


class Reply(Frozen):
    text: str
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    ask_location: bool = False  # offer a "share my location" control where the channel has one
    ask_contact: bool = False  # offer a "share my phone number" control where the channel has one
