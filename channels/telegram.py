"""The Telegram channel: Bot API updates in, Bot API calls out, through python-telegram-bot.

Owns: checking the webhook secret header, reading `Update`s into neutral `Inbound`
messages, rendering `Reply`s as Bot API calls (inline keyboards, the "share my
phone number" and "send my location" reply keyboards, photos, long texts split),
sending them, the download URL of a citizen's file, and long polling for local
development.

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
import contextlib
import hmac
import json
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

import phonenumbers
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram import error as tg
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.messages import Inbound, Media, Reply
from channels.base import (
    BadRequest,
    Capabilities,
    Outgoing,
    PayloadError,
    RateLimited,
    RawRequest,
    SendError,
    SignatureError,
    Transient,
    Unreachable,
    degrade,
)

NAME = "telegram"
CAPABILITIES = Capabilities(max_buttons=10, images=True, location=True, contact=True, max_text=4096)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8
DEFAULT_RETRY_AFTER = 5  # seconds, for a 429 that does not say how long
SHARE_PHONE = "Chia sẻ số điện thoại"
SHARE_LOCATION = "Gửi vị trí"

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
_MARKUPS: dict[str, type[Markup]] = {
    "inline_keyboard": InlineKeyboardMarkup,
    "keyboard": ReplyKeyboardMarkup,
    "remove_keyboard": ReplyKeyboardRemove,
}
_log = logging.getLogger(__name__)

Handler = Callable[[RawRequest], Awaitable[None]]
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
            return _KeepRateLimits(
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
        query = _load_update(request.body).callback_query
        if query is None or not isinstance(query.id, str):
            return []
        recipient = str(query.from_user.id) if query.from_user else ""
        payload = {"method": "answerCallbackQuery", "callback_query_id": query.id}
        return [Outgoing(recipient=recipient, payload=payload, kind="answer_callback")]

    # -- outbound -------------------------------------------------------------------------

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [out for reply in replies for out in _render(reply, recipient)]

    async def send(self, message: Outgoing) -> str:
        """Make one rendered call; the Telegram message id, "" for a callback answer."""
        with _mapped_errors():
            return await self._call(dict(message.payload), message.recipient)

    async def file_url(self, file_id: str) -> str:
        """Where to download a citizen's file (valid about an hour; contains the bot token)."""
        with _mapped_errors():
            file = await self._bot.get_file(file_id)
        if not file.file_path:
            raise BadRequest("getFile returned no file_path")
        return file.file_path

    async def set_webhook(self, url: str) -> None:
        """Register the public webhook URL, with this adapter's secret and update types."""
        secret = self._secret.decode()
        with _mapped_errors():
            await self._bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def aclose(self) -> None:
        await self._bot.shutdown()

    async def _call(self, payload: dict[str, Any], recipient: str) -> str:
        method = payload.pop("method", None)
        try:
            chat_id = str(payload.pop("chat_id", recipient))
            markup = _markup(payload.pop("reply_markup", None))
            if method == "sendMessage":
                sent = await self._bot.send_message(chat_id, reply_markup=markup, **payload)
            elif method == "sendPhoto":
                sent = await self._bot.send_photo(chat_id, reply_markup=markup, **payload)
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
        offset: int | None = None
        delay = backoff
        while not stop.is_set():
            try:
                updates = await self._updates(offset, timeout, stop)
            except tg.Conflict:
                raise
            except tg.TelegramError as exc:
                error = map_error(exc)
                if isinstance(error, RateLimited):
                    pause = error.retry_after
                elif isinstance(error, Transient):
                    pause, delay = delay, min(delay * 2, 30.0)
                else:
                    raise error from exc
                _log.warning("telegram getUpdates failed (%s); retrying in %.1fs", error, pause)
                await _pause(stop, pause)
                continue
            delay = backoff
            for update in updates:
                offset = max(offset or 0, update.update_id + 1)
                await self._hand_over(handle, update)

    async def _updates(self, offset: int | None, timeout: int, stop: asyncio.Event) -> list[Update]:
        fetch = asyncio.ensure_future(
            self._bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        )
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return []
        return list(fetch.result())

    async def _hand_over(self, handle: Handler, update: Update) -> None:
        body = json.dumps(update.to_dict(), ensure_ascii=False).encode()
        headers = {"content-type": "application/json", SECRET_HEADER.lower(): self._secret.decode()}
        try:
            await handle(RawRequest(method="POST", url="getUpdates", headers=headers, body=body))
        except Exception:
            _log.exception("telegram update %s could not be handled; skipped", update.update_id)


class _KeepRateLimits(BaseRequest):
    """PTB's httpx transport, except that a 429 always means "rate limited".

    PTB raises RetryAfter only when the body carries `parameters.retry_after`; a bare 429
    (from a proxy, say) would otherwise look like any network error.
    """

    __slots__ = ("_inner",)

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await self._inner.do_request(*args, **kwargs)
        if code == 429 and not _says_retry_after(payload):
            with warnings.catch_warnings():  # PTB reads its own deprecated attribute
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                raise tg.RetryAfter(DEFAULT_RETRY_AFTER)
        return code, payload


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except tg.TelegramError as exc:
        raise map_error(exc) from exc


def map_error(exc: tg.TelegramError) -> SendError:
    """A PTB error as the outbox's error family."""
    if isinstance(exc, tg.RetryAfter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return RateLimited(str(exc), retry_after=seconds)
    if isinstance(exc, tg.Forbidden | tg.ChatMigrated):
        return Unreachable(str(exc))  # blocked by the citizen, deactivated, not a private chat
    if isinstance(exc, tg.BadRequest):
        return BadRequest(str(exc))
    if isinstance(exc, tg.InvalidToken):
        return Transient(f"bot token rejected by the Bot API: {exc}")  # fixable by an operator
    return Transient(str(exc))  # NetworkError, TimedOut, 5xx, Conflict, unreadable answers


# -- parsing --------------------------------------------------------------------------------


def _load_update(body: bytes) -> Update:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise PayloadError("not a Telegram update: no integer update_id")
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


def normalise_phone(raw: str) -> str | None:
    """+84... form; Telegram sends its verified numbers with or without "+"."""
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    # Telegram verified the number by SMS: accept ranges newer than the metadata (055...).
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _says_retry_after(payload: bytes) -> bool:
    try:
        parameters = json.loads(payload).get("parameters") or {}
        return bool(parameters.get("retry_after"))
    except (ValueError, AttributeError, RecursionError):
        return False


# -- rendering ------------------------------------------------------------------------------


def _render(reply: Reply, chat_id: str) -> list[Outgoing]:
    inline = not (reply.ask_contact or reply.ask_location)
    if inline and any(not _fits_callback(b.payload) for b in reply.buttons):
        # callback_data holds at most 64 bytes: offer numbered options instead, which the
        # bot maps back from the options it remembers (exact, and never silently truncated)
        reply = degrade(reply, replace(CAPABILITIES, max_buttons=0))
    reply = degrade(reply, CAPABILITIES)
    calls: list[dict[str, Any]] = []
    text = reply.text.strip()
    if reply.image:
        photo: dict[str, Any] = {"method": "sendPhoto", "chat_id": chat_id, "photo": reply.image}
        if text and _units(text) <= CAPTION_LIMIT:
            photo["caption"], text = text, ""
        calls.append(photo)
    calls += [
        {"method": "sendMessage", "chat_id": chat_id, "text": chunk}
        for chunk in (split_text(text, CAPABILITIES.max_text) if text else [])
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


def _markup(data: object) -> Markup | None:
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


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
