"""The Telegram channel: Bot API updates in, Bot API calls out, through python-telegram-bot.

Owns: the `TelegramAdapter` (its PTB `Bot`, secret and capabilities), checking
the webhook secret header, reading `Update`s into neutral `Inbound` messages, the
immediate answers to button presses, sending rendered calls, the download URL of a
citizen's file and registering the webhook. Beside it: `telegram_render` turns
`Reply`s into Bot API calls, `telegram_polling` runs the long-polling loop behind
`poll` (local development), `telegram_errors` maps PTB errors to the outbox's
error family; their public names are re-exported here.

How PTB is used: only `telegram.Bot`, composed, never subclassed, and never
`telegram.ext.Application`. Telegram delivers updates to the FastAPI webhook
route (`backend/`, no second web server); the route calls `verify` and `parse`
here and the bot runner does the rest. PTB gives us typed `Update.de_json`
parsing, typed API calls over its async httpx transport and its error classes;
an `Application` would bring a second update queue, handler tree and
persistence beside the runner, which already serialises conversations, drops
redelivered updates and retries through the outbox. PTB checks the secret
header only in its own tornado server, so `verify` does it here.

Outgoing payloads are plain JSON: `{"method": <Bot API method>, **parameters}`,
the shape Telegram also accepts as a webhook response body, so the outbox can
store them and `send` replays them through the typed PTB method.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from telegram import Bot, CallbackQuery, Message, Update
from telegram.request import BaseRequest, HTTPXRequest

from bot.messages import Inbound, Media, Reply
from channels.base import (
    BadRequest,
    Capabilities,
    Outgoing,
    PayloadError,
    RawRequest,
    SignatureError,
)
from channels.phones import normalise_phone
from channels.telegram_errors import DEFAULT_RETRY_AFTER, KeepRateLimits, map_error, mapped_errors
from channels.telegram_polling import Handler, poll_updates
from channels.telegram_render import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    SHARE_LOCATION,
    SHARE_PHONE,
    Markup,
    markup,
    render_reply,
    split_text,
)

__all__ = [
    "ALLOWED_UPDATES",
    "CALLBACK_DATA_LIMIT",
    "CAPABILITIES",
    "CAPTION_LIMIT",
    "DEFAULT_RETRY_AFTER",
    "NAME",
    "SECRET_HEADER",
    "SHARE_LOCATION",
    "SHARE_PHONE",
    "Handler",
    "Markup",
    "TelegramAdapter",
    "map_error",
    "normalise_phone",
    "split_text",
]

NAME = "telegram"
CAPABILITIES = Capabilities(max_buttons=10, images=True, location=True, contact=True, max_text=4096)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

MediaKind = Literal["image", "video", "audio", "file"]
_KINDS: dict[str, MediaKind] = {"image": "image", "video": "video", "audio": "audio"}


class TelegramAdapter:
    """One Telegram bot: its token, its webhook secret and where the Bot API lives."""

    name = NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        token: str,
        secret_token: str,
        *,
        base_url: str = "https://api.telegram.org/bot",
        base_file_url: str = "https://api.telegram.org/file/bot",
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        write_timeout: float = 10.0,
        media_write_timeout: float = 30.0,
    ) -> None:
        if not _SECRET.fullmatch(secret_token):
            raise ValueError("secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        self._secret = secret_token.encode()

        def transport(pool_size: int) -> BaseRequest:
            return KeepRateLimits(
                HTTPXRequest(
                    connection_pool_size=pool_size,
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                    media_write_timeout=media_write_timeout,
                )
            )

        self._bot = Bot(
            token,
            base_url=base_url,
            base_file_url=base_file_url,
            request=transport(64),
            get_updates_request=transport(1),
        )

    # -- inbound (pure) -------------------------------------------------------------------

    def verify(self, request: RawRequest) -> None:
        """The secret given to setWebhook must come back in the header (constant-time check)."""
        given = request.header(SECRET_HEADER)
        if given is None:
            raise SignatureError(f"missing {SECRET_HEADER}")
        if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self._secret):
            raise SignatureError(f"wrong {SECRET_HEADER}")

    def parse(self, request: RawRequest) -> list[Inbound]:
        """A citizen's message or button press; [] for updates the bot does not act on."""
        update = _load_update(request.body)
        try:
            if update.message is not None:
                return _from_message(update.update_id, update.message)
            if update.callback_query is not None:
                return _from_callback(update.update_id, update.callback_query)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            # de_json does not validate: a field of the wrong type or a missing object
            # surfaces while reading it (pydantic's ValidationError is a ValueError)
            raise PayloadError(f"unexpected Telegram update shape: {exc}") from exc
        return []  # edited messages, live-location edits, polls, chat members...

    def acknowledgements(self, request: RawRequest) -> list[Outgoing]:
        """Calls to make as soon as the update is accepted, whatever the bot answers.

        A button press must be answered with answerCallbackQuery (even with no text)
        or the citizen's client shows a progress bar for a while; `send` them.
        """
        data = _load_json(request.body)
        if "callback_query" not in data:  # most updates: no need to build PTB objects twice
            return []
        query = _to_update(data).callback_query
        if query is None or not isinstance(query.id, str):
            return []
        recipient = str(query.from_user.id) if query.from_user else ""
        payload = {"method": "answerCallbackQuery", "callback_query_id": query.id}
        return [Outgoing(recipient=recipient, payload=payload, kind="answer_callback")]

    # -- outbound -------------------------------------------------------------------------

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [out for reply in replies for out in render_reply(reply, recipient, CAPABILITIES)]

    async def send(self, message: Outgoing) -> str:
        """Make one rendered call; the Telegram message id, "" for a callback answer."""
        with mapped_errors():
            return await self._call(dict(message.payload), message.recipient)

    async def file_url(self, file_id: str) -> str:
        """Where to download a citizen's file (valid about an hour; contains the bot token)."""
        with mapped_errors():
            file = await self._bot.get_file(file_id)
        if not file.file_path:
            raise BadRequest("getFile returned no file_path")
        return file.file_path

    async def set_webhook(self, url: str) -> None:
        """Register the public webhook URL, with this adapter's secret and update types."""
        secret = self._secret.decode()
        with mapped_errors():
            await self._bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def aclose(self) -> None:
        await self._bot.shutdown()

    async def _call(self, payload: dict[str, Any], recipient: str) -> str:
        method = payload.pop("method", None)
        try:
            chat_id = str(payload.pop("chat_id", recipient))
            reply_markup = markup(payload.pop("reply_markup", None))
            if method == "sendMessage":
                sent = await self._bot.send_message(chat_id, reply_markup=reply_markup, **payload)
            elif method == "sendPhoto":
                sent = await self._bot.send_photo(chat_id, reply_markup=reply_markup, **payload)
            elif method == "answerCallbackQuery":
                await self._bot.answer_callback_query(**payload)
                return ""
            else:
                raise BadRequest(f"not a call this adapter makes: {method!r}")
        except (TypeError, KeyError, ValueError) as exc:
            raise BadRequest(f"malformed {method} payload: {exc}") from exc
        return str(sent.message_id)

    # -- local development ----------------------------------------------------------------

    async def poll(
        self, handle: Handler, *, stop: asyncio.Event, timeout: int = 30, backoff: float = 1.0
    ) -> None:
        """Long-poll getUpdates until `stop` is set, handing each update to `handle` as a
        webhook request signed with the secret, so polling reuses the webhook path.

        An update is confirmed (the next offset) once `handle` returns or raises: a handler
        error is logged and the update skipped, as Telegram gives up on a failing webhook.
        Rate limits and network errors are waited out; a Conflict (a webhook is set, or
        another poller runs) and other errors end polling.
        """
        headers = {"content-type": "application/json", SECRET_HEADER.lower(): self._secret.decode()}
        await poll_updates(
            self._bot,
            handle,
            headers=headers,
            allowed_updates=ALLOWED_UPDATES,
            stop=stop,
            timeout=timeout,
            backoff=backoff,
        )


# -- parsing --------------------------------------------------------------------------------


def _load_update(body: bytes) -> Update:
    return _to_update(_load_json(body))


def _load_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise PayloadError("not a Telegram update: no integer update_id")
    return data


def _to_update(data: dict[str, Any]) -> Update:
    # only what the bot acts on is read: an ignored kind (edited message, poll, chat
    # member...) whose shape PTB does not expect is still just ignored
    wanted = {key: data[key] for key in ("update_id", *ALLOWED_UPDATES) if key in data}
    try:
        return Update.de_json(wanted, None)
    except Exception as exc:  # de_json trusts its input; any shape error surfaces here
        raise PayloadError(f"not a Telegram update: {exc!r}") from exc


def _from_message(update_id: int, message: Message) -> list[Inbound]:
    if message.chat.type != "private" or not message.from_user or message.from_user.is_bot:
        return []  # the intake bot talks to citizens one to one
    text = message.text or message.caption or ""
    media = _media(message)
    phone = _own_phone(message)
    location = message.location
    if not (text or media or location or message.contact):
        return []  # stickers, dice, polls, service messages
    fields: dict[str, Any] = {"text": text, "media": media}
    if location is not None:
        fields.update(lat=location.latitude, lon=location.longitude)
    if phone is not None and message.contact is not None:
        name = " ".join(filter(None, (message.contact.first_name, message.contact.last_name)))
        fields.update(contact_phone=phone, sender_name=name or None)
    return [_inbound(update_id, message.chat.id, **fields)]


def _from_callback(update_id: int, query: CallbackQuery) -> list[Inbound]:
    message = query.message
    if query.data is None or (message is not None and message.chat.type != "private"):
        return []
    chat_id = message.chat.id if message is not None else query.from_user.id
    return [_inbound(update_id, chat_id, payload=query.data)]


def _inbound(update_id: int, chat_id: object, **fields: Any) -> Inbound:
    if type(chat_id) is not int:
        raise PayloadError("chat id is not an integer")
    return Inbound(channel=NAME, sender_id=str(chat_id), message_id=str(update_id), **fields)


def _media(message: Message) -> tuple[Media, ...]:
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return (Media(kind="image", provider_ref=largest.file_id, mime_type="image/jpeg"),)
    if message.video is not None:
        return (_file("video", message.video.file_id, message.video.mime_type),)
    if message.video_note is not None:
        return (_file("video", message.video_note.file_id, "video/mp4"),)
    if message.voice is not None:
        return (_file("audio", message.voice.file_id, message.voice.mime_type),)
    if message.audio is not None:
        return (_file("audio", message.audio.file_id, message.audio.mime_type),)
    if message.document is not None:
        # a photo sent "as a file" keeps its EXIF (GPS); treat it as an image
        mime = message.document.mime_type
        kind = _KINDS.get((mime or "").split("/", 1)[0], "file")
        return (_file(kind, message.document.file_id, mime),)
    return ()


def _file(kind: MediaKind, file_id: str, mime_type: str | None) -> Media:
    return Media(kind=kind, provider_ref=file_id, mime_type=mime_type)


def _own_phone(message: Message) -> str | None:
    """The shared number in E.164, only when it is the sender's own (shared with the button)."""
    contact = message.contact
    if contact is None or message.from_user is None or contact.user_id != message.from_user.id:
        return None
    return normalise_phone(contact.phone_number)
