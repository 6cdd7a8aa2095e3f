"""The SMS channel ("sms"): what both providers share, and the Twilio provider.

Two providers sit behind the one SMS channel: Twilio (`TwilioSmsAdapter`, here)
and a generic HTTP gateway for Vietnamese aggregators and brandname providers
(`channels.sms_gateway.GatewaySmsAdapter`). Twilio offers no two-way SMS and no
MMS in Vietnam, so Twilio inbound serves numbers abroad and tests; Vietnamese
intake goes through the gateway. Both share:

* `SmsStyle` — diacritics (off by default: GSM-7, 160 characters a segment) and
  the segment budget (default 3); `render_sms` turns replies into one SMS each
  (see `channels.sms_text`), so `Capabilities.max_buttons` is 0;
* `normalise_phone` — sender and recipient numbers in E.164 (`+84…`) read with
  phonenumbers, region VN; the citizen's E.164 number is the `sender_id`.

Twilio: `verify` checks `X-Twilio-Signature` with twilio's `RequestValidator`
over the URL Twilio requested — behind a TLS-terminating proxy that is the
configured `public_base_url` plus the request's path and query, never the
internal URL — and over the form parameters (repeated names included).
`send` goes through the real twilio `Client`, whose `http_client` is the small
async httpx-based `TwilioHttp` below: it never blocks the event loop, its API
origin is configurable (a fake server in tests) and it remembers the last
response headers so a 429 can carry Retry-After. Twilio errors map to the
channel error family: 429/20429 → RateLimited; 21610 (recipient replied STOP),
21612 and 21614 (not reachable by SMS, landline) → Unreachable; other 4xx
(21211 invalid number...) → BadRequest; 5xx and network errors → Transient.
Error messages keep Twilio's code but mask digit runs: logs never hold phones.
"""

from __future__ import annotations

import contextvars
import email.utils
import json
import logging
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import HMAC_SHA1, RequestValidator, get_signature_algorithm
from twilio.rest import Client

from bot.messages import Inbound, Media, Reply
from channels import phones
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
)
from channels.sms_text import MAX_SEGMENTS, max_chars, measure, sms_text

NAME = "sms"
TWILIO_API = "https://api.twilio.com"
MAX_MEDIA = 10
MAX_FIELDS = 200
UNREACHABLE_CODES = frozenset({21610, 21612, 21614})
DEFAULT_RETRY_AFTER = 5.0
MediaKind = Literal["image", "video", "audio", "file"]
log = logging.getLogger(__name__)


class InvalidPhone(ValueError):
    """Not a phone number (the message never repeats the number)."""


def normalise_phone(raw: str) -> str:
    """`0912 345 678`, `84912345678`, `+84912345678` → `+84912345678`, or InvalidPhone."""
    phone = phones.normalise_phone(raw.strip())
    if phone is None:
        raise InvalidPhone("not a phone number")
    return phone


def redact(text: str) -> str:
    """Provider messages may quote the number: mask every run of 6+ digits."""
    return re.sub(r"\+?\d[\d ]{4,}\d", "***", text)


@dataclass(frozen=True)
class SmsStyle:
    """How replies go out as SMS; the same for both providers."""

    diacritics: bool = False  # keep accents (UCS-2) when the message fits the budget with them
    segment_budget: int = 3
    image_urls: bool = False  # an image reply adds its URL as text (otherwise dropped)

    def __post_init__(self) -> None:
        if not 1 <= self.segment_budget <= MAX_SEGMENTS:
            raise ValueError(f"segment_budget must be 1..{MAX_SEGMENTS}")

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            max_buttons=0,
            images=False,
            location=False,
            contact=False,
            max_text=max_chars(self.segment_budget),
            diacritics=self.diacritics,
        )


def render_sms(replies: Sequence[Reply], recipient: str, style: SmsStyle) -> list[Outgoing]:
    """One SMS a reply: `{"body", "encoding", "segments"}`, within the segment budget."""
    out: list[Outgoing] = []
    for reply in replies:
        body = sms_text(
            reply,
            segments=style.segment_budget,
            diacritics=style.diacritics,
            image_urls=style.image_urls,
        )
        length = measure(body)
        payload = {"body": body, "encoding": length.encoding, "segments": length.segments}
        out.append(Outgoing(recipient=recipient, payload=payload, kind="sms"))
    return out


class FormParams(dict[str, list[str]]):
    """Form fields with repeated names kept, as twilio's RequestValidator reads them."""

    def getlist(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None


def read_form(body: bytes) -> FormParams:
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict"
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("body is not a UTF-8 form of reasonable size") from exc
    form = FormParams()
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def retry_after(headers: Mapping[str, str] | None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date), else `default`."""
    value = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
    if not value:
        return default
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


_last_headers: contextvars.ContextVar[httpx.Headers | None] = contextvars.ContextVar(
    "twilio_last_headers", default=None
)


class TwilioHttp(AsyncHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """twilio's async HTTP client interface on httpx, with a configurable API origin."""

    def __init__(self, http: httpx.AsyncClient, api_base_url: str = TWILIO_API) -> None:
        super().__init__(logger=log, is_async=True, timeout=None)
        self._http = http
        self._base = api_base_url.rstrip("/")

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        parts = urlsplit(uri)
        url = self._base + parts.path + (f"?{parts.query}" if parts.query else "")
        response = await self._http.request(
            method,
            url,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=allow_redirects,
        )
        _last_headers.set(response.headers)
        return TwilioResponse(response.status_code, response.text, response.headers)


class TwilioSmsAdapter:
    """Twilio Programmable Messaging: inbound webhook and outbound SMS.

    Settings: `account_sid`, `auth_token` (secret); `from_number` (an E.164
    number or a registered alphanumeric sender ID such as "VINHLONG_SO") or
    `messaging_service_sid`; `public_base_url` (scheme://host[/prefix] Twilio
    calls, when behind a proxy); optional `status_callback_url`,
    `webhook_shared_key` (secret for SharedKey-signed webhooks, HMAC-SHA256);
    `api_base_url` (a fake server in tests); `style`; `http` (an httpx client
    to share; one with `timeout` is made otherwise).
    """

    name = NAME

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        public_base_url: str | None = None,
        status_callback_url: str | None = None,
        webhook_shared_key: str | None = None,
        api_base_url: str = TWILIO_API,
        style: SmsStyle | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs from_number or messaging_service_sid")
        self._account_sid, self._auth_token = account_sid, auth_token
        self._from, self._service = from_number, messaging_service_sid
        self._public_base = public_base_url.rstrip("/") if public_base_url else None
        self._status_callback = status_callback_url
        self._shared_key = webhook_shared_key
        self.style = style or SmsStyle()
        self.capabilities = self.style.capabilities
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._client = Client(
            account_sid, auth_token, http_client=TwilioHttp(self._http, api_base_url)
        )

    def media_auth(self) -> tuple[str, str]:
        """Basic-auth credentials for downloading MediaUrlN (give only to Twilio's origin)."""
        return self._account_sid, self._auth_token

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- inbound ---------------------------------------------------------------

    def signed_url(self, request: RawRequest) -> str:
        """The URL Twilio signed: the public base plus the request's path and query."""
        if self._public_base is None:
            return request.url
        parts = urlsplit(request.url)
        query = parts.query or urlencode(request.query)
        return self._public_base + parts.path + (f"?{query}" if query else "")

    def verify(self, request: RawRequest) -> None:
        signature = request.header("x-twilio-signature")
        if not signature:
            raise SignatureError("X-Twilio-Signature missing")
        algorithm = get_signature_algorithm(request.header("x-twilio-webhooks-signature-settings"))
        token = self._auth_token if algorithm == HMAC_SHA1 else self._shared_key
        if token is None:
            raise SignatureError(f"{algorithm} signature but no webhook shared key configured")
        try:
            params = read_form(request.body)
        except PayloadError as exc:
            raise SignatureError("unreadable form cannot be verified") from exc
        if not RequestValidator(token).validate(
            self.signed_url(request), params, signature, algorithm=algorithm
        ):
            raise SignatureError("X-Twilio-Signature does not match")

    def parse(self, request: RawRequest) -> list[Inbound]:
        form = read_form(request.body)
        status = (form.first("SmsStatus") or form.first("MessageStatus") or "received").lower()
        if status != "received":
            return []  # a status callback: nothing for the bot
        sid = form.first("MessageSid") or form.first("SmsSid")
        sender = form.first("From")
        if not sid or len(sid) > 64 or not (sid.isascii() and sid.isalnum()):
            raise PayloadError("MessageSid missing or malformed")
        if not sender:
            raise PayloadError("From missing")
        try:
            sender_id = normalise_phone(sender)
        except InvalidPhone as exc:
            raise PayloadError("From is not a phone number") from exc
        text = unicodedata.normalize("NFC", form.first("Body") or "")
        return [
            Inbound(
                channel=NAME, sender_id=sender_id, message_id=sid, text=text, media=_media(form)
            )
        ]

    # -- outbound --------------------------------------------------------------

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return render_sms(replies, recipient, self.style)

    async def send(self, message: Outgoing) -> str:
        try:
            to = normalise_phone(message.recipient)
        except InvalidPhone as exc:
            raise BadRequest("recipient is not a phone number") from exc
        fields: dict[str, Any] = {"to": to, "body": str(message.payload["body"])}
        if self._service:
            fields["messaging_service_sid"] = self._service
        else:
            fields["from_"] = self._from
        if self._status_callback:
            fields["status_callback"] = self._status_callback
        token = _last_headers.set(None)
        try:
            created = await self._client.messages.create_async(**fields)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise from_twilio(exc, _last_headers.get()) from exc
        except TwilioException as exc:
            raise Transient(f"twilio: {type(exc).__name__}") from exc
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise Transient(f"twilio unreachable: {type(exc).__name__}") from exc
        finally:
            _last_headers.reset(token)
        return str(created.sid)


def from_twilio(
    exc: TwilioRestException | TwilioServiceException, headers: Mapping[str, str] | None = None
) -> SendError:
    """A Twilio error response as the channel error family."""
    status, code = int(exc.status), exc.code
    detail = getattr(exc, "msg", None) or getattr(exc, "detail", None) or ""
    text = f"twilio {status} error {code}: {redact(str(detail))}"
    if status == 429 or code == 20429:
        return RateLimited(text, retry_after(headers))
    if code in UNREACHABLE_CODES:
        return Unreachable(text)
    if status >= 500 or status == 408:
        return Transient(text)
    return BadRequest(text)


def _media(form: FormParams) -> tuple[Media, ...]:
    raw = form.first("NumMedia") or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_MEDIA:
        raise PayloadError("NumMedia is not a small number")
    media = []
    for i in range(int(raw)):
        url = form.first(f"MediaUrl{i}") or ""
        if urlsplit(url).scheme not in ("http", "https"):
            raise PayloadError(f"MediaUrl{i} missing or not http(s)")
        mime = form.first(f"MediaContentType{i}") or None
        ref = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or None
        media.append(Media(kind=_kind(mime), url=url, provider_ref=ref, mime_type=mime))
    return tuple(media)


def _kind(mime: str | None) -> MediaKind:
    major = (mime or "").split("/", 1)[0].lower()
    if major == "image":
        return "image"
    if major == "video":
        return "video"
    return "audio" if major == "audio" else "file"
