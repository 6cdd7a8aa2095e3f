"""The web channel: Rasa's REST channel format, used by /chat, `paht chat` and Rasa web widgets.

Inbound: `{"sender": "...", "message": "...", "message_id"?: "...", "metadata"?: {...}}`.
A message that is a Rasa payload ("/confirm", `/share_location{"lat": .., "lon": ..}`)
is a button press or a shared location. Outbound: a list of
`{"recipient_id", "text", "buttons"?: [{"title", "payload"}], "image"?}`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.messages import Inbound, Media, Reply

NAME = "web"
SENDER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,127}$"
_PAYLOAD = re.compile(r"^/[a-z_]+(?::[a-z0-9_]+)?$")
_LOCATION = re.compile(r"^/share_location(\{.*\})$", re.S)


class RestMessage(BaseModel):
    """The body of POST /webhooks/rest/webhook."""

    model_config = ConfigDict(extra="ignore")

    sender: str = Field(pattern=SENDER_PATTERN, description="stable id of the chat user")
    message: str = Field(default="", max_length=20000)
    message_id: str | None = Field(default=None, min_length=1, max_length=128)
    metadata: dict[str, Any] | None = None


class BadMessage(ValueError):
    """The message cannot be understood as a web-chat message."""


def parse(body: RestMessage) -> Inbound:
    text = body.message.strip()
    media = _media(body.metadata)
    base: dict[str, Any] = {
        "channel": NAME,
        "sender_id": body.sender,
        "message_id": body.message_id,
    }
    if _PAYLOAD.match(text):
        return Inbound(**base, payload=text, media=media)
    location = _LOCATION.match(text)
    if location:
        lat, lon = _coordinates(location.group(1))
        return Inbound(**base, lat=lat, lon=lon, media=media)
    return Inbound(**base, text=body.message, media=media)


def _coordinates(raw: str) -> tuple[float, float]:
    try:
        data = json.loads(raw)
        lat, lon = float(data["lat"]), float(data["lon"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadMessage("share_location needs numeric lat and lon") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadMessage("lat/lon out of range")
    return lat, lon


def _media(metadata: dict[str, Any] | None) -> tuple[Media, ...]:
    items = (metadata or {}).get("media") or []
    if not isinstance(items, list) or len(items) > 10:
        raise BadMessage("metadata.media must be a list of at most 10 items")
    try:
        return tuple(Media.model_validate(item) for item in items)
    except ValueError as exc:
        raise BadMessage(f"metadata.media: {exc}") from exc


def render(replies: list[Reply], recipient_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for reply in replies:
        item: dict[str, Any] = {"recipient_id": recipient_id, "text": reply.text}
        if reply.buttons:
            item["buttons"] = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        if reply.image:
            item["image"] = reply.image
        out.append(item)
    return out
