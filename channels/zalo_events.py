"""Zalo webhook events in: the event models and their reading into `Inbound` messages.

Owns: loading a webhook body, the body `timestamp` that enters the signature,
the pydantic models of the events the adapter reads, one handler per event
name, and the Vietnamese phone normalisation applied to `user_submit_info`.
Pure: no I/O. `channels.zalo` verifies the signature and calls `parse_events`.

Button presses come back as `user_send_text` with the button's payload, read
back as `Inbound.payload`; `follow` and `user_click_chatnow` become
`FOLLOW_PAYLOAD`. Stickers, `unfollow`, receipts, the OA's own echoes
(`oa_send_*`) and unknown events give `[]`.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.messages import Inbound, Media
from channels.base import PayloadError, SignatureError
from channels.phones import normalise_phone

NAME = "zalo"
FOLLOW_PAYLOAD = "/help"

_PAYLOAD = re.compile(r"/[a-z_]+(?::[a-z0-9_]+)?")
_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_HTTP_URL = re.compile(r"https?://\S+", re.I)
MediaKind = Literal["image", "video", "audio", "file"]
_MEDIA_KINDS: dict[str, MediaKind] = {"image": "image", "gif": "image", "audio": "audio"}
_MEDIA_KINDS |= {"video": "video", "file": "file"}


def _as_str(value: object) -> object:
    """Zalo ids are strings, but numbers appear (e.g. `info.phone`): keep digits as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Id = Annotated[str, BeforeValidator(_as_str), Field(min_length=1, max_length=64)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _User(_Model):
    id: Id


class _Coordinates(_Model):
    latitude: Lat
    longitude: Lon


class _AttachmentPayload(_Model):
    url: str | None = Field(default=None, max_length=4096)
    coordinates: _Coordinates | None = None
    type: str | None = Field(default=None, max_length=16)  # file extension


class _Attachment(_Model):
    type: str
    payload: _AttachmentPayload


class _Message(_Model):
    msg_id: Id | None = None
    text: str | None = None
    attachments: list[_Attachment] = Field(default_factory=list, max_length=50)


class _Info(_Model):
    phone: Annotated[str | None, BeforeValidator(_as_str)] = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=200)


class _Event(_Model):
    """The fields of the events this adapter reads (follow has `follower`, chatnow `user_id`)."""

    event_name: str
    timestamp: Annotated[str, BeforeValidator(_as_str), Field(pattern=_TIMESTAMP.pattern)]
    sender: _User | None = None
    follower: _User | None = None
    user_id: Id | None = None
    message: _Message | None = None
    info: _Info | None = None

    def user(self) -> str:
        user = self.sender or self.follower
        if uid := (user.id if user else self.user_id):
            return uid
        raise PayloadError(f"{self.event_name} without a sender")

    def msg(self) -> _Message:
        if self.message is None:
            raise PayloadError(f"{self.event_name} without a message")
        return self.message


def parse_events(body: bytes) -> list[Inbound]:
    """The inbound messages of one webhook body (`[]` for events the bot does not read)."""
    data = load_body(body)
    name = data.get("event_name")
    if not isinstance(name, str):
        raise PayloadError("no event_name: not a Zalo event")
    handler = _HANDLERS.get(name)
    if handler is None:
        return []  # receipts, the OA's own echoes, unfollow, stickers, unknown events
    try:
        return handler(_Event.model_validate(data))
    except ValidationError as exc:
        raise PayloadError(f"not a Zalo event: {exc.error_count()} problem(s)") from exc


def body_timestamp(body: bytes) -> str:
    """The body's `timestamp` (ms since the epoch) exactly as it enters the signature."""
    try:
        value = _as_str(load_body(body).get("timestamp"))
    except PayloadError as exc:
        raise SignatureError("body is not a JSON object: nothing to verify") from exc
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise SignatureError("no readable timestamp to verify")
    return value


def load_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PayloadError("body is not JSON") from exc
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    return data


def _base(event: _Event, msg_id: str | None) -> dict[str, Any]:
    user = event.user()
    message_id = msg_id or f"{event.event_name}:{event.timestamp}:{user}"
    return {"channel": NAME, "sender_id": user, "message_id": message_id}


def _on_text(event: _Event) -> list[Inbound]:
    message = event.msg()
    if message.text is None:
        raise PayloadError("user_send_text without text")
    base, stripped = _base(event, message.msg_id), message.text.strip()
    if _PAYLOAD.fullmatch(stripped):
        return [Inbound(**base, payload=stripped)]
    return [Inbound(**base, text=message.text)]


def _on_link(event: _Event) -> list[Inbound]:
    message = event.msg()
    urls = [a.payload.url for a in message.attachments if a.payload.url]
    text = (message.text or "").strip() or " ".join(urls)
    return [Inbound(**_base(event, message.msg_id), text=text)]


def _on_media(event: _Event) -> list[Inbound]:
    message = event.msg()
    media = tuple(_media(a) for a in message.attachments if a.type in _MEDIA_KINDS)
    if not media:
        raise PayloadError(f"{event.event_name} without a media attachment")
    return [Inbound(**_base(event, message.msg_id), text=message.text or "", media=media)]


def _media(attachment: _Attachment) -> Media:
    url = attachment.payload.url
    if not url or not _HTTP_URL.fullmatch(url):
        raise PayloadError(f"{attachment.type} attachment without an http(s) url")
    mime: str | None = None
    if attachment.type == "gif":
        mime = "image/gif"
    elif attachment.type == "file" and attachment.payload.type:
        mime = mimetypes.guess_type(f"f.{attachment.payload.type}")[0]
    return Media(kind=_MEDIA_KINDS[attachment.type], url=url, mime_type=mime)


def _on_location(event: _Event) -> list[Inbound]:
    message = event.msg()
    points = [a.payload.coordinates for a in message.attachments if a.payload.coordinates]
    if not points:
        raise PayloadError("user_send_location without coordinates")
    base = _base(event, message.msg_id)
    return [Inbound(**base, lat=points[0].latitude, lon=points[0].longitude)]


def _on_submit_info(event: _Event) -> list[Inbound]:
    if (info := event.info) is None:
        raise PayloadError("user_submit_info without info")
    phone = normalise_phone(info.phone) if info.phone else None
    name = (info.name or "").strip() or None
    return [Inbound(**_base(event, None), contact_phone=phone, sender_name=name)]


def _on_follow(event: _Event) -> list[Inbound]:
    return [Inbound(**_base(event, None), payload=FOLLOW_PAYLOAD)]


_HANDLERS: dict[str, Callable[[_Event], list[Inbound]]] = {
    "user_send_text": _on_text,
    "user_send_link": _on_link,
    "user_send_image": _on_media,
    "user_send_gif": _on_media,
    "user_send_audio": _on_media,
    "user_send_video": _on_media,
    "user_send_file": _on_media,
    "user_send_location": _on_location,
    "user_submit_info": _on_submit_info,
    "follow": _on_follow,
    "user_click_chatnow": _on_follow,
}
