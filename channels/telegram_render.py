"""Replies as Bot API calls: the outgoing payloads of the Telegram channel (pure).

Owns: turning a neutral `Reply` into `{"method": ..., **parameters}` payloads
(a photo with its caption, long texts split where Telegram counts UTF-16 units,
inline keyboards, the one-time "share my phone number" / "send my location"
reply keyboards, degradation to numbered options when a button payload does not
fit `callback_data`), and reading a stored `reply_markup` back into the PTB
markup object `send` passes to the typed API call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.messages import Reply
from channels.base import Capabilities, Outgoing, degrade

CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8
SHARE_PHONE = "Chia sẻ số điện thoại"
SHARE_LOCATION = "Gửi vị trí"

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
_MARKUPS: dict[str, type[Markup]] = {
    "inline_keyboard": InlineKeyboardMarkup,
    "keyboard": ReplyKeyboardMarkup,
    "remove_keyboard": ReplyKeyboardRemove,
}


def render_reply(reply: Reply, chat_id: str, capabilities: Capabilities) -> list[Outgoing]:
    """One reply as the calls that show it, the keyboard on the last one."""
    inline = not (reply.ask_contact or reply.ask_location)
    if inline and any(not _fits_callback(b.payload) for b in reply.buttons):
        # callback_data holds at most 64 bytes: offer numbered options instead, which the
        # bot maps back from the options it remembers (exact, and never silently truncated)
        reply = degrade(reply, replace(capabilities, max_buttons=0))
    reply = degrade(reply, capabilities)
    calls: list[dict[str, Any]] = []
    text = reply.text.strip()
    if reply.image:
        photo: dict[str, Any] = {"method": "sendPhoto", "chat_id": chat_id, "photo": reply.image}
        if text and _units(text) <= CAPTION_LIMIT:
            photo["caption"], text = text, ""
        calls.append(photo)
    calls += [
        {"method": "sendMessage", "chat_id": chat_id, "text": chunk}
        for chunk in (split_text(text, capabilities.max_text) if text else [])
    ]
    if calls:
        calls[-1]["reply_markup"] = _keyboard(reply)
    return [Outgoing(recipient=chat_id, payload=call) for call in calls]


def _keyboard(reply: Reply) -> dict[str, Any]:
    """Inline buttons; a one-time reply keyboard when asking for the phone or location.

    A message without a keyboard of its own removes a reply keyboard left from an
    earlier question (the citizen may have typed the answer instead of tapping).
    """
    if reply.ask_contact or reply.ask_location:
        rows: list[list[dict[str, Any]]] = []
        if reply.ask_contact:
            rows.append([{"text": SHARE_PHONE, "request_contact": True}])
        if reply.ask_location:
            rows.append([{"text": SHARE_LOCATION, "request_location": True}])
        # a tapped option sends its title as text; the bot maps titles back to payloads
        rows += [[{"text": b.title}] for b in reply.buttons]
        return {"keyboard": rows, "one_time_keyboard": True, "resize_keyboard": True}
    if reply.buttons:
        rows = [[{"text": b.title, "callback_data": b.payload}] for b in reply.buttons]
        return {"inline_keyboard": rows}
    return {"remove_keyboard": True}


def markup(data: object) -> Markup | None:
    """A stored `reply_markup` as PTB's object; TypeError/ValueError when it is not one."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise TypeError("reply_markup is not an object")
    kind = next((_MARKUPS[key] for key in _MARKUPS if key in data), None)
    if kind is None:
        raise ValueError("unknown reply_markup")
    return kind.de_json(dict(data), None)


def _fits_callback(payload: str) -> bool:
    return 0 < len(payload.encode()) <= CALLBACK_DATA_LIMIT


def _units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` units, cut at a paragraph, line or word break when possible."""
    pieces: list[str] = []
    rest = text
    while _units(rest) > limit:
        end, used = 0, 0
        while used + _units(rest[end]) <= limit:
            used += _units(rest[end])
            end += 1
        window = rest[:end]
        cut = next((i for i in map(window.rfind, ("\n\n", "\n", " ")) if i > end // 2), end)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return [piece for piece in pieces if piece]
