"""The one interface every channel adapter offers, and what it may raise.

An adapter translates, nothing more: `verify` and `parse` read a provider's
webhook request (pure), `render` turns neutral replies into provider payloads
(pure, degrading what the channel cannot show), and `send` is its only I/O,
through an injected client whose base URL is configurable. Provider failures
are mapped to the small error family below; the outbox retry policy reads only
these types.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from bot.messages import Button, Inbound, Reply


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show; `render` degrades everything else."""

    max_buttons: int  # 0: options become numbered lines
    images: bool
    location: bool
    contact: bool
    max_text: int
    diacritics: bool = True
    voice: bool = False


@dataclass(frozen=True)
class RawRequest:
    """A webhook request as received: headers with lower-case names, the raw body."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise PayloadError(f"body is not JSON: {type(exc).__name__}") from exc

    def form(self) -> dict[str, str]:
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise PayloadError("form body is not UTF-8") from exc


@dataclass(frozen=True)
class Outgoing:
    """One provider API call to make: whom to, and the provider payload."""

    recipient: str
    payload: Mapping[str, Any]
    kind: str = "message"


class ChannelError(Exception):
    """Base of everything an adapter raises."""


class SignatureError(ChannelError):
    """Forged, missing or stale signature: answer 403 and store nothing."""


class PayloadError(ChannelError):
    """The request cannot be read as this provider's webhook."""


class SendError(ChannelError):
    """Sending failed; the subclass tells the outbox what to do."""


class RateLimited(SendError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(SendError):
    """The citizen cannot be reached on this channel now (blocked, outside window)."""


class OutsideWindow(Unreachable):
    """This message type may only reach the citizen within some time of their last
    interaction (Zalo: 7 days for "tư vấn", a year for "giao dịch"); another type may."""


class Blocked(Unreachable):
    """The citizen blocked us, left or has no account/chat with us any more on this channel."""


class BadRequest(SendError):
    """The provider refused the payload: retrying the same message will not help."""


class Transient(SendError):
    """Network error, timeout or 5xx: retry later."""


class ChannelAdapter(Protocol):
    name: str
    capabilities: Capabilities

    def verify(self, request: RawRequest) -> None: ...

    def parse(self, request: RawRequest) -> list[Inbound]: ...

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]: ...

    async def send(self, message: Outgoing) -> str: ...


def numbered(buttons: Sequence[Button]) -> str:
    """Options as lines a citizen can answer with a number: "1. Có\\n2. Không"."""
    return "\n".join(f"{i}. {b.title}" for i, b in enumerate(buttons, 1))


def degrade(reply: Reply, caps: Capabilities) -> Reply:
    """The reply as this channel can carry it: too many buttons become numbered lines."""
    if not reply.buttons or len(reply.buttons) <= caps.max_buttons:
        return reply
    text = f"{reply.text}\n{numbered(reply.buttons)}\nTrả lời bằng số thứ tự."
    return reply.model_copy(update={"text": text, "buttons": ()})


_MARKS = re.compile(r"[\u0300-\u036f]")


def without_diacritics(text: str) -> str:
    """Vietnamese without tone marks (đ → d), for SMS in GSM-7."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", _MARKS.sub("", decomposed))
