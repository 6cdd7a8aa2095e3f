"""The Zalo Official Account channel: webhook signature and events in, OA API v3 messages out.

Owns: checking `X-ZEvent-Signature`, reading Zalo webhook events into `Inbound`
messages, rendering `Reply` as customer-service ("tư vấn") messages for
`POST /v3.0/oa/message/cs`, sending them and mapping Zalo's answers to the
channel error family. Access tokens live in `channels.zalo_tokens`.

`zalo-sdk` (0.3.0) is not used. It is synchronous (`requests`, which would
block the event loop), sets no timeouts, hard-codes the OAuth URLs (no fake
server, no configurable base), treats only some token errors as such (-216
when the text says "expired"; -220 not at all), serialises buttons wrongly
and installs a top-level `test` package that shadows the standard library's.
What it would give us — three URL paths and dict builders — is a few lines
here, so this module is a thin async `httpx` client with configurable
`api_base`/`oauth_base` and explicit timeouts.

Signature: hex SHA-256 of app id + raw body + the body's `timestamp` + OA
secret key, accepted with or without a `mac=` prefix (unsettled in the
sources); a timestamp older than `max_age` (13 h: Zalo resends identical
bodies for ~1 h by its docs, 12 h by a tutorial) or 5 min ahead is refused.

Decisions: button presses come back as the button's payload (`oa.query.hide`:
the user's chat stays clean; the OA receives `user_send_text` with the
payload string, which is read back as `Inbound.payload`). Stickers are
ignored (`[]`): they carry no report content and an answer would spend one of
the citizen's free replies. `follow` and `user_click_chatnow` become the
payload "/help", which the bot answers deterministically with the guide and
its menu, whatever the conversation state (free text "xin chào" would depend
on the NLU and could be absorbed into an open draft). `unfollow`, delivery and
seen receipts, the OA's own echoes (`oa_send_*`) and unknown events give `[]`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import mimetypes
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
import phonenumbers
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.messages import Button, Inbound, Media, Reply
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
from channels.zalo_tokens import ClientFactory, Clock, TokenError, TokenStore, ZaloTokens

log = logging.getLogger(__name__)

NAME = "zalo"
MAX_TEXT = 2000  # text and image captions [Z-CS-TEXT]
CAPABILITIES = Capabilities(max_buttons=5, images=True, location=True, contact=True, max_text=2000)
FOLLOW_PAYLOAD = "/help"
PATHS = {"cs": "/v3.0/oa/message/cs"}
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SIGNATURE_HEADER = "x-zevent-signature"
_SKEW = timedelta(minutes=5)  # a webhook timestamp may be this far ahead of our clock

TOKEN_ERRORS = frozenset({-216, -220, -124})
UNREACHABLE = frozenset({-213, -217, -218, -227, -230, -232, -244})
RATE_LIMITS = {-32: 60.0, -211: 3600.0}  # default retry-after, seconds
NEEDS_ADMIN = frozenset({-209, -212, -221, -223, -224, -234, -320, -321})  # retry once fixed
# every other non-zero code (-100, -201, -210, -233, -240, -248, unknown) → BadRequest

_PAYLOAD = re.compile(r"/[a-z_]+(?::[a-z0-9_]+)?")
_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_HTTP_URL = re.compile(r"https?://\S+", re.I)
MediaKind = Literal["image", "video", "audio", "file"]
_MEDIA_KINDS: dict[str, MediaKind] = {"image": "image", "gif": "image", "audio": "audio"}
_MEDIA_KINDS |= {"video": "video", "file": "file"}
_OLD_MOBILE = {  # 11-digit prefixes renumbered in 2018-2019 [VN-1011]
    **{"120": "70", "121": "79", "122": "77", "126": "76", "128": "78"},
    **{"123": "83", "124": "84", "125": "85", "127": "81", "129": "82"},
    **{f"16{d}": f"3{d}" for d in "23456789"},
    **{"186": "56", "188": "58", "199": "59"},
}
_VN_MOBILE = re.compile(r"[35789][0-9]{8}")


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


class ZaloAdapter:
    """Zalo OA: verify, parse and render are pure; send is the only I/O."""

    name = NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        app_id: str,
        oa_secret_key: str,
        app_secret_key: str,
        token_store: TokenStore,
        contact_image_url: str,
        api_base: str = "https://openapi.zalo.me",
        oauth_base: str = "https://oauth.zaloapp.com",
        client_factory: ClientFactory | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock = lambda: datetime.now(UTC),
        max_age: timedelta | None = timedelta(hours=13),
        button_type: Literal["oa.query.hide", "oa.query.show"] = "oa.query.hide",
        contact_title: str = "Chia sẻ số điện thoại",
        contact_subtitle: str = "Bấm vào đây để gửi họ tên và số điện thoại Zalo của bạn "
        "cho cán bộ tiếp nhận phản ánh.",
    ) -> None:
        self._app_id = app_id
        self._oa_secret = oa_secret_key
        self._api_base = api_base.rstrip("/")
        self._client_factory = client_factory or httpx.AsyncClient
        self._http: httpx.AsyncClient | None = None
        self._timeout = timeout
        self._clock = clock
        self._max_age = max_age
        self._button_type = button_type
        self._contact = {
            "title": contact_title[:100],
            "subtitle": contact_subtitle[:500],
            "image_url": contact_image_url,
        }
        self.tokens = ZaloTokens(
            app_id=app_id,
            app_secret_key=app_secret_key,
            store=token_store,
            client=self._client,
            oauth_base=oauth_base,
            timeout=timeout,
            clock=clock,
        )

    def verify(self, request: RawRequest) -> None:
        """Header = [mac=]hex(sha256(app_id + raw body + body.timestamp + OA secret key))."""
        given = (request.header(SIGNATURE_HEADER) or "").strip()
        if not given:
            raise SignatureError("missing X-ZEvent-Signature")
        timestamp = _timestamp(request.body)
        material = (
            self._app_id.encode() + request.body + timestamp.encode() + self._oa_secret.encode()
        )
        expected = hashlib.sha256(material).hexdigest().encode()
        given = given[4:] if given[:4].lower() == "mac=" else given
        if not hmac.compare_digest(given.lower().encode("utf-8", "replace"), expected):
            raise SignatureError("X-ZEvent-Signature does not match")
        if self._max_age is None:
            return
        age = (
            self._clock()
            - datetime(1970, 1, 1, tzinfo=UTC)
            - timedelta(milliseconds=int(timestamp))
        )
        if not -_SKEW <= age <= self._max_age:
            raise SignatureError(f"stale webhook timestamp {timestamp} (age {age})")

    def parse(self, request: RawRequest) -> list[Inbound]:
        data = _load(request.body)
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

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [
            Outgoing(recipient, {"recipient": {"user_id": recipient}, "message": m}, kind="cs")
            for reply in replies
            for m in self._messages(degrade(reply, CAPABILITIES))
        ]

    def _messages(self, reply: Reply) -> list[dict[str, Any]]:
        chunks = [c for c in split_text(reply.text, MAX_TEXT) if c.strip()]
        if reply.image and not reply.buttons:
            caption = chunks.pop() if chunks else None
            out = [_text(c) for c in chunks] + [_image(reply.image, caption)]
        else:
            out = [_image(reply.image, None)] if reply.image else []
            out += [_text(c) for c in chunks[:-1]]
            if chunks:
                out.append(_text(chunks[-1], reply.buttons, self._button_type))
        if reply.ask_contact:
            out.append(_template("request_user_info", elements=[dict(self._contact)]))
        return out

    async def send(self, message: Outgoing) -> str:
        """Send one rendered message; returns Zalo's message id or raises a `SendError`."""
        path = PATHS.get(message.kind)
        if path is None:
            raise BadRequest(f"unknown Zalo message kind {message.kind!r}")
        try:
            token = await self.tokens.access_token()
            response = await self._post(path, message.payload, token)
            if _token_refused(response):
                log.warning("Zalo refused the access token; refreshing once")
                token = await self.tokens.refresh(stale=token)
                response = await self._post(path, message.payload, token)
        except TokenError as exc:
            raise Transient(f"no usable Zalo access token: {exc}") from exc
        return _outcome(response)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self._client_factory()
        return self._http

    async def _post(self, path: str, payload: Any, token: str) -> httpx.Response:
        try:
            return await self._client().post(
                f"{self._api_base}{path}",
                json=payload,
                headers={"access_token": token},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise Transient(f"Zalo unreachable: {exc!r}") from exc


def _timestamp(body: bytes) -> str:
    """The body's `timestamp` (ms since the epoch) exactly as it enters the signature."""
    try:
        value = _as_str(_load(body).get("timestamp"))
    except PayloadError as exc:
        raise SignatureError("body is not a JSON object: nothing to verify") from exc
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise SignatureError("no readable timestamp to verify")
    return value


def _load(body: bytes) -> dict[str, Any]:
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


def normalise_phone(raw: str) -> str | None:
    """E.164 (+84…) for a Vietnamese number in any usual form; old 11-digit mobiles renumbered."""
    try:
        number = phonenumbers.parse(re.sub(r"[\s.()-]", "", raw), "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84:
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = str(number.national_number)
    if len(national) == 10 and national[:3] in _OLD_MOBILE:
        national = _OLD_MOBILE[national[:3]] + national[3:]
    candidate = phonenumbers.parse(f"+84{national}")
    if phonenumbers.is_valid_number(candidate) or _VN_MOBILE.fullmatch(national):
        return f"+84{national}"  # new MVNO ranges (e.g. 055) are not all in phonenumbers yet
    return None


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at a line break or space where possible."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    return chunks


def _template(template_type: str | None = None, **payload: Any) -> dict[str, Any]:
    body = {"template_type": template_type, **payload} if template_type else payload
    return {"attachment": {"type": "template", "payload": body}}


def _text(text: str, buttons: Sequence[Button] = (), button_type: str = "") -> dict[str, Any]:
    if not buttons:
        return {"text": text}
    rendered = [
        {"title": b.title[:100], "type": button_type, "payload": b.payload} for b in buttons
    ]
    return {"text": text, **_template(buttons=rendered)}


def _image(url: str, caption: str | None) -> dict[str, Any]:
    message = _template("media", elements=[{"media_type": "image", "url": url}])
    return {"text": caption, **message} if caption else message


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _token_refused(response: httpx.Response) -> bool:
    status = response.status_code
    return status == 401 or (status == 200 and _json(response).get("error") in TOKEN_ERRORS)


def _outcome(response: httpx.Response) -> str:
    """Zalo's message id, or the error family: HTTP status first, then the body's `error`."""
    status = response.status_code
    if status == 429:
        raise RateLimited("Zalo HTTP 429", _retry_after(response, 60.0))
    if status >= 500 or status in (401, 408):
        raise Transient(f"Zalo HTTP {status}")
    if status >= 400:
        raise BadRequest(f"Zalo HTTP {status}")
    body = _json(response)
    code = body.get("error")
    if type(code) is not int:
        raise Transient(f"unreadable Zalo answer (HTTP {status})")
    if code == 0:
        data = body.get("data")
        return str(data.get("message_id", "")) if isinstance(data, dict) else ""
    text = str(body.get("message", ""))
    log.warning("Zalo send refused: error %s %s", code, text)
    raise _error(code, text, response)


def _error(code: int, text: str, response: httpx.Response) -> SendError:
    detail = f"Zalo error {code}: {text}"
    if code in TOKEN_ERRORS:
        return Transient(f"{detail} (after a token refresh)")
    if code in UNREACHABLE:
        return Unreachable(detail)
    if code in RATE_LIMITS:
        return RateLimited(detail, _retry_after(response, RATE_LIMITS[code]))
    if code in NEEDS_ADMIN:
        return Transient(f"{detail} (OA configuration or balance)")
    return BadRequest(detail)


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return default
    return min(max(seconds, 0.0), 86400.0) if math.isfinite(seconds) else default
