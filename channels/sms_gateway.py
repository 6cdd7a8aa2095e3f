"""The generic HTTP SMS gateway provider of the SMS channel (Vietnamese aggregators, brandname).

Vietnamese carriers and aggregators each have their own HTTP API, so nothing
here names one: the inbound field names, the signature header and the outbound
request are configuration (`GatewayInbound`, `GatewayOutbound`, pydantic models
a settings file can hold as they are; they and the template substitution live in
`channels.sms_gateway_config` and are re-exported here).

Inbound (`POST /channels/sms/gateway`): a JSON object (or a JSON list of them)
or a form, with configurable field names for sender, text, message id and time
(dotted paths such as `data.msisdn` reach into JSON). The signature header
(configurable name, optional prefix such as `sha256=`) carries HMAC-SHA256 of
the raw body with the shared secret, hex or base64, compared in constant time.
With `max_age_seconds`, the message time in the signed body must be that close
to now (naive times are Vietnam time, UTC+7, unless `utc_offset_hours` says
otherwise). Message ids are prefixed with `provider` (`gw:12345`), so switching
aggregators cannot make a new message look like a redelivery.

Outbound: one HTTP request built from a template. Placeholders `{name}` appear
in the URL, header values and string leaves of the body; `{{`/`}}` are literal
braces. Values are inserted as data, never evaluated: percent-encoded in the
URL, JSON-escaped by serialising the filled-in body, form-encoded by httpx; a
header value with a line break is refused. Available placeholders:
`{to}` (+84912345678), `{to_84}` (84912345678), `{to_national}` (0912345678),
`{text}`, `{unicode}` ("1" when the text needs UCS-2, else "0"), `{segments}`,
`{message_id}` (the Outgoing payload's `message_id` when the outbox sets one,
else a fresh UUID: a client reference providers can deduplicate on), plus every
name in `values` (e.g. `{brandname}`) and in the adapter's `secret_values`.
Success is a status in `success_status` and, when `success_field` is set, that
JSON field holding one of `success_values`; `error_codes` maps other values of
it to rate_limited / unreachable / bad_request / transient (default
bad_request). The provider's message id is read from `message_id_path`.
HTTP 429 → RateLimited (Retry-After), 5xx/408 and network errors → Transient,
other statuses → BadRequest.

Worked example (a brandname provider; TOML as a settings file holds it, the
secrets come from the environment)::

    [sms_gateway.inbound]
    format = "json"
    provider = "brandsms"
    sender_field = "msisdn"          # "84912345678"
    text_field = "content"
    message_id_field = "sms_id"
    time_field = "received_at"       # "2026-11-23 14:05:09", Vietnam time
    signature_header = "X-Signature"
    signature_prefix = "sha256="
    max_age_seconds = 600

    [sms_gateway.outbound]
    method = "POST"
    url = "https://api.brandsms.example.vn/v2/sms/send"
    body_format = "json"
    success_status = [200]
    success_field = "code"
    success_values = ["00"]
    message_id_path = "data.message_id"
    values = { brandname = "VINHLONG_SO" }
    error_codes = { "05" = "unreachable", "08" = "rate_limited", "99" = "transient" }
    [sms_gateway.outbound.headers]
    Authorization = "Bearer {api_key}"
    [sms_gateway.outbound.body]
    brandname = "{brandname}"
    phone = "{to_84}"
    message = "{text}"
    unicode = "{unicode}"
    request_id = "{message_id}"
    type = 1                         # non-string leaves are sent as they are

    # environment: PAHT_SMS_GATEWAY__SHARED_SECRET, PAHT_SMS_GATEWAY__API_KEY
    GatewaySmsAdapter(shared_secret=..., inbound=..., outbound=...,
                      secret_values={"api_key": ...})

The aggregator then calls us with
`{"msisdn": "84912345678", "content": "den duong hu", "sms_id": "A1B2",
"received_at": "2026-11-23 14:05:09"}` and
`X-Signature: sha256=<hex HMAC-SHA256 of those exact bytes>`; we send
`POST https://api.brandsms.example.vn/v2/sms/send` with
`Authorization: Bearer <api key>` and `{"brandname": "VINHLONG_SO", "phone":
"84912345678", "message": "Da tiep nhan ...", "unicode": "0", "request_id":
"<uuid>", "type": 1}`, and expect `200 {"code": "00", "data": {"message_id":
"..."}}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import quote

import httpx

from bot.messages import Inbound, Reply
from channels import sms
from channels.base import (
    BadRequest,
    Outgoing,
    PayloadError,
    RateLimited,
    RawRequest,
    SendError,
    SignatureError,
    Transient,
    Unreachable,
)
from channels.sms_gateway_config import (
    BUILTIN_PLACEHOLDERS,
    ErrorKind,
    Frozen,
    GatewayInbound,
    GatewayOutbound,
    check_placeholders,
    lookup,
    placeholders,
    scalar_text,
    substitute,
    walk,
)
from channels.sms_text import measure

__all__ = [
    "BUILTIN_PLACEHOLDERS",
    "MAX_BATCH",
    "ErrorKind",
    "Frozen",
    "GatewayInbound",
    "GatewayOutbound",
    "GatewaySmsAdapter",
    "lookup",
    "parse_time",
    "placeholders",
    "scalar_text",
    "substitute",
]

MAX_BATCH = 100


class GatewaySmsAdapter:
    """A Vietnamese SMS aggregator or brandname provider behind a configurable HTTP API.

    Settings: `shared_secret` (HMAC key of inbound calls); `inbound`,
    `outbound` (the models of `channels.sms_gateway_config`); `secret_values`
    (secret placeholders such as an API key or password, kept out of reprs and
    settings dumps); `style`;
    `http` (an httpx client to share; one with `timeout` is made otherwise);
    `clock` (for the timestamp window; tests inject one).
    """

    name = sms.NAME

    def __init__(
        self,
        *,
        shared_secret: str,
        outbound: GatewayOutbound,
        inbound: GatewayInbound | None = None,
        secret_values: Mapping[str, str] | None = None,
        style: sms.SmsStyle | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not shared_secret:
            raise ValueError("the gateway needs a shared secret")
        self._secret = shared_secret.encode()
        self.inbound = inbound or GatewayInbound()
        self.outbound = outbound
        self._secret_values = dict(secret_values or {})
        check_placeholders(outbound, self._secret_values)
        self.style = style or sms.SmsStyle()
        self.capabilities = self.style.capabilities
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._clock = clock

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- inbound ---------------------------------------------------------------

    def verify(self, request: RawRequest) -> None:
        cfg = self.inbound
        header = (request.header(cfg.signature_header) or "").strip()
        if not header:
            raise SignatureError(f"{cfg.signature_header} missing")
        given = _decode_signature(header, cfg.signature_prefix, cfg.signature_encoding)
        expected = hmac.new(self._secret, request.body, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, given):
            raise SignatureError(f"{cfg.signature_header} does not match")
        if cfg.max_age_seconds is not None:
            self._check_age(request, cfg.max_age_seconds)

    def _check_age(self, request: RawRequest, max_age: int) -> None:
        now = self._clock()
        for item in self._items(request):
            sent = self._time(item)
            if sent is None:
                raise SignatureError("no message time to check the signature's age")
            if abs((now - sent).total_seconds()) > max_age:
                raise SignatureError("stale message time: possible replay")

    def parse(self, request: RawRequest) -> list[Inbound]:
        return [self._message(item) for item in self._items(request)]

    def _items(self, request: RawRequest) -> list[Mapping[str, Any]]:
        kind = self.inbound.format
        if kind == "auto":
            kind = _guess_format(request)
        if kind == "form":
            return [{k: v[0] for k, v in sms.read_form(request.body).items()}]
        data = request.json()
        items = data if isinstance(data, list) else [data]
        if len(items) > MAX_BATCH or not all(isinstance(i, dict) for i in items):
            raise PayloadError("expected a JSON object or a list of at most 100 objects")
        return items

    def _field(self, item: Mapping[str, Any], path: str, what: str) -> str:
        value = scalar_text(item.get(path) if path in item else lookup(item, path))
        if value is None:
            raise PayloadError(f"{what} field '{path}' missing or not text")
        return value

    def _message(self, item: Mapping[str, Any]) -> Inbound:
        cfg = self.inbound
        try:
            sender = sms.normalise_phone(self._field(item, cfg.sender_field, "sender"))
        except sms.InvalidPhone as exc:
            raise PayloadError("sender is not a phone number") from exc
        text = unicodedata.normalize("NFC", self._field(item, cfg.text_field, "text"))
        if cfg.message_id_field is None:
            sent = self._time(item)
            digest = f"{sender}\n{sent.isoformat() if sent else ''}\n{text}".encode()
            raw_id = hashlib.sha256(digest).hexdigest()[:32]
        else:
            raw_id = self._field(item, cfg.message_id_field, "message id").strip()
            if not raw_id or len(raw_id) > 100:
                raise PayloadError("message id empty or longer than 100 characters")
        message_id = f"{cfg.provider}:{raw_id}"
        return Inbound(channel=sms.NAME, sender_id=sender, message_id=message_id, text=text)

    def _time(self, item: Mapping[str, Any]) -> datetime | None:
        cfg = self.inbound
        if cfg.time_field is None:
            return None
        raw = item.get(cfg.time_field) if cfg.time_field in item else lookup(item, cfg.time_field)
        if raw is None:
            return None
        return parse_time(raw, cfg.time_format, timezone(timedelta(hours=cfg.utc_offset_hours)))

    # -- outbound --------------------------------------------------------------

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return sms.render_sms(replies, recipient, self.style)

    def build_request(self, message: Outgoing) -> tuple[httpx.Request, str]:
        """The provider request for one SMS, and our client reference (`{message_id}`)."""
        values = self._values(message)
        out = self.outbound
        try:
            url = substitute(out.url, values, lambda v: quote(v, safe=""))
            headers = {k: _header(substitute(v, values, str)) for k, v in out.headers.items()}
            body = walk(out.body, lambda s: substitute(s, values, str))
        except ValueError as exc:
            raise BadRequest(f"gateway template: {exc}") from exc
        kwargs: dict[str, Any] = {"headers": headers}
        if out.body_format == "json":
            kwargs["content"] = json.dumps(body, ensure_ascii=False).encode()
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json; charset=utf-8"
        elif out.body_format == "form":
            kwargs["data"] = {
                k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()
            }
        return self._http.build_request(out.method, url, **kwargs), values["message_id"]

    def _values(self, message: Outgoing) -> dict[str, str]:
        try:
            to = sms.normalise_phone(message.recipient)
        except sms.InvalidPhone as exc:
            raise BadRequest("recipient is not a phone number") from exc
        text = str(message.payload.get("body", ""))
        length = measure(text)
        reference = str(message.payload.get("message_id") or uuid.uuid4().hex)
        builtins = {
            "to": to,
            "to_84": to.lstrip("+"),
            "to_national": "0" + to[3:] if to.startswith("+84") else to,
            "text": text,
            "unicode": "1" if length.encoding == "UCS-2" else "0",
            "segments": str(length.segments),
            "message_id": reference,
        }
        return {**self.outbound.values, **self._secret_values, **builtins}

    async def send(self, message: Outgoing) -> str:
        request, reference = self.build_request(message)
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            raise Transient(f"gateway unreachable: {type(exc).__name__}") from exc
        return self._result(response, reference)

    def _result(self, response: httpx.Response, reference: str) -> str:
        out, status = self.outbound, response.status_code
        if status == 429:
            raise RateLimited("gateway 429", sms.retry_after(response.headers))
        if status >= 500 or status == 408:
            raise Transient(f"gateway {status}")
        if status not in out.success_status:
            raise BadRequest(f"gateway {status}: {sms.redact(response.text[:200])}")
        if out.success_field is None and out.message_id_path is None:
            return reference
        try:
            data = response.json()
        except ValueError as exc:  # accepted but unreadable: retrying beats losing the SMS
            raise Transient(f"gateway {status}: answer is not JSON") from exc
        if out.success_field is not None:
            code = scalar_text(lookup(data, out.success_field))
            if code not in out.success_values:
                raise _gateway_error(out.error_codes.get(code or "", "bad_request"), code, response)
        provider_id = (
            scalar_text(lookup(data, out.message_id_path)) if out.message_id_path else None
        )
        return provider_id or reference


def _gateway_error(kind: ErrorKind, code: str | None, response: httpx.Response) -> SendError:
    text = f"gateway {response.status_code} code {code}: {sms.redact(response.text[:200])}"
    if kind == "rate_limited":
        return RateLimited(text, sms.retry_after(response.headers))
    if kind == "unreachable":
        return Unreachable(text)
    return Transient(text) if kind == "transient" else BadRequest(text)


def _header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("a header value would contain a line break")
    return value


def _decode_signature(header: str, prefix: str, encoding: str) -> bytes:
    if prefix and header.lower().startswith(prefix.lower()):
        header = header[len(prefix) :]
    try:
        if encoding == "hex":
            return bytes.fromhex(header)
        return base64.b64decode(header, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise SignatureError("signature is not valid hex/base64") from exc


def _guess_format(request: RawRequest) -> Literal["json", "form"]:
    content_type = (request.header("content-type") or "").lower()
    if "json" in content_type:
        return "json"
    if "form" in content_type:
        return "form"
    return "json" if request.body.lstrip()[:1] in (b"{", b"[") else "form"


def parse_time(raw: Any, fmt: str | None, tz: timezone) -> datetime:
    """Epoch seconds or milliseconds, ISO 8601, or `fmt`; naive times are in `tz`."""
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            seconds = raw / 1000 if raw > 100_000_000_000 else raw
            return datetime.fromtimestamp(seconds, UTC)
        if not isinstance(raw, str):
            raise PayloadError("message time is not text or a number")
        text = raw.strip()
        if fmt is None and re.fullmatch(r"\d{9,13}(\.\d+)?", text):
            return parse_time(float(text), None, tz)
        when = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError) as exc:
        raise PayloadError("message time unreadable") from exc
    return when if when.tzinfo else when.replace(tzinfo=tz)
