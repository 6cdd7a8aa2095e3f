"""The Zalo Official Account channel: webhook signature and events in, OA API v3 messages out.

Owns: checking `X-ZEvent-Signature`, reading Zalo webhook events into `Inbound`
messages, rendering `Reply` as customer-service ("tư vấn") messages for
`POST /v3.0/oa/message/cs`, sending them and mapping Zalo's answers to the
channel error family. Access tokens live in `channels.zalo_tokens`, the event
models and their parsing in `channels.zalo_events`, the error-code table in
`channels.zalo_errors`, the ZNS body and errors in `channels.zalo_zns`; their
public names are re-exported here.

Routes: "tư vấn" reaches a citizen only within 7 days of their last
interaction (-230 otherwise, raised as `OutsideWindow`). The outbox then writes
a fallback row whose `via` names the next route, and renders it with
`render_via(via, replies, recipient, ref=...)` instead of `render`:
`"zalo_transaction"` — a "giao dịch" card (`template_type "transaction"`,
header + up to two 250-character texts + up to 4 buttons) for
`POST /v3.0/oa/message/transaction`, allowed within a year; `"zalo_zns"` — a
ZNS template to the citizen's phone (`recipient` is then the phone), offered
only when a template id is configured. `routes` lists what this adapter can
render that way; `Outgoing.kind` ("cs", "transaction", "zns") tells `send`
where to post. The route is an argument rather than adapter state so one
adapter serves every route, and `render` stays the plain channel contract.

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
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from bot.messages import Button, Inbound, Reply
from channels.base import (
    BadRequest,
    Capabilities,
    Outgoing,
    RateLimited,
    RawRequest,
    SignatureError,
    Transient,
    degrade,
)
from channels.phones import normalise_phone
from channels.zalo_errors import (
    NEEDS_ADMIN,
    RATE_LIMITS,
    TOKEN_ERRORS,
    UNREACHABLE,
    error_for,
    json_body,
    retry_after,
    token_refused,
)
from channels.zalo_events import (
    FOLLOW_PAYLOAD,
    NAME,
    Id,
    Lat,
    Lon,
    MediaKind,
    body_timestamp,
    parse_events,
)
from channels.zalo_tokens import ClientFactory, Clock, TokenError, TokenStore, ZaloTokens
from channels.zalo_zns import KIND as ZNS_KIND
from channels.zalo_zns import PATH as ZNS_PATH
from channels.zalo_zns import VIA as ZNS_VIA
from channels.zalo_zns import zns_body, zns_outcome

__all__ = [
    "CAPABILITIES",
    "DEFAULT_TIMEOUT",
    "FOLLOW_PAYLOAD",
    "MAX_TEXT",
    "NAME",
    "NEEDS_ADMIN",
    "PATHS",
    "RATE_LIMITS",
    "SIGNATURE_HEADER",
    "TOKEN_ERRORS",
    "TRANSACTION_VIA",
    "UNREACHABLE",
    "ZNS_VIA",
    "Id",
    "Lat",
    "Lon",
    "MediaKind",
    "ZaloAdapter",
    "normalise_phone",
    "split_text",
]

log = logging.getLogger(__name__)

MAX_TEXT = 2000  # text and image captions [Z-CS-TEXT]
CAPABILITIES = Capabilities(max_buttons=5, images=True, location=True, contact=True, max_text=2000)
PATHS = {"cs": "/v3.0/oa/message/cs", "transaction": "/v3.0/oa/message/transaction"}
TRANSACTION_VIA = "zalo_transaction"
# A "giao dịch" card: header ≤ 100, at most two texts ≤ 250, at most 4 buttons ≤ 35 [Z-TX]
TRANSACTION_CAPS = replace(CAPABILITIES, max_buttons=4, images=False)
_TX_TEXT, _TX_TEXTS, _TX_BUTTON = 250, 2, 35
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SIGNATURE_HEADER = "x-zevent-signature"
_SKEW = timedelta(minutes=5)  # a webhook timestamp may be this far ahead of our clock


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
        zns_base: str = "https://business.openapi.zalo.me",
        zns_template_id: str | None = None,
        zns_template_param: str = "content",
        transaction_header: str = "Cập nhật phản ánh",
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
        self._zns_url = zns_base.rstrip("/") + ZNS_PATH
        self._zns = (zns_template_id, zns_template_param) if zns_template_id else None
        self._tx_header = transaction_header[:100]
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
        timestamp = body_timestamp(request.body)
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
        return parse_events(request.body)

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [
            Outgoing(recipient, {"recipient": {"user_id": recipient}, "message": m}, kind="cs")
            for reply in replies
            for m in self._messages(degrade(reply, CAPABILITIES))
        ]

    @property
    def routes(self) -> tuple[str, ...]:
        """The fallback routes `render_via` renders (ZNS only with a template id)."""
        return (TRANSACTION_VIA, ZNS_VIA) if self._zns else (TRANSACTION_VIA,)

    def render_via(
        self, via: str, replies: Sequence[Reply], recipient: str, *, ref: str
    ) -> list[Outgoing]:
        """Replies as a fallback route's messages; `ref` (the outbox row) is ZNS's tracking id.

        For "zalo_zns" the recipient is the citizen's phone number (E.164)."""
        if via == TRANSACTION_VIA:
            return [
                Outgoing(recipient, self._transaction(reply, recipient), kind="transaction")
                for reply in replies
            ]
        if via == ZNS_VIA and self._zns is not None:
            template_id, param = self._zns
            return [
                Outgoing(
                    recipient,
                    zns_body(
                        reply, recipient, template_id=template_id, param=param, tracking_id=ref
                    ),
                    kind=ZNS_KIND,
                )
                for reply in replies
            ]
        raise BadRequest(f"Zalo cannot send by route {via!r}")

    def _transaction(self, reply: Reply, recipient: str) -> dict[str, Any]:
        reply = degrade(reply, TRANSACTION_CAPS)
        texts = split_text(reply.text.strip(), _TX_TEXT)
        if len(texts) > _TX_TEXTS:
            texts = [*texts[: _TX_TEXTS - 1], texts[_TX_TEXTS - 1][: _TX_TEXT - 1] + "…"]
        elements: list[dict[str, Any]] = [
            {"type": "header", "content": self._tx_header, "align": "left"},
            *({"type": "text", "content": t, "align": "left"} for t in texts if t),
        ]
        buttons = [
            {"title": b.title[:_TX_BUTTON], "type": self._button_type, "payload": b.payload}
            for b in reply.buttons
        ]
        card = _template("transaction", language="VI", elements=elements)
        if buttons:
            card["attachment"]["payload"]["buttons"] = buttons
        return {"recipient": {"user_id": recipient}, "message": card}

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
        if message.kind == ZNS_KIND:
            url = self._zns_url
        elif message.kind in PATHS:
            url = self._api_base + PATHS[message.kind]
        else:
            raise BadRequest(f"unknown Zalo message kind {message.kind!r}")
        try:
            token = await self.tokens.access_token()
            response = await self._post(url, message.payload, token)
            if token_refused(response):
                log.warning("Zalo refused the access token; refreshing once")
                token = await self.tokens.refresh(stale=token)
                response = await self._post(url, message.payload, token)
        except TokenError as exc:
            raise Transient(f"no usable Zalo access token: {exc}") from exc
        if message.kind == ZNS_KIND:
            return zns_outcome(response, self._clock())
        return _outcome(response)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self._client_factory()
        return self._http

    async def _post(self, url: str, payload: Any, token: str) -> httpx.Response:
        try:
            return await self._client().post(
                url,
                json=payload,
                headers={"access_token": token},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise Transient(f"Zalo unreachable: {exc!r}") from exc


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


def _outcome(response: httpx.Response) -> str:
    """Zalo's message id, or the error family: HTTP status first, then the body's `error`."""
    status = response.status_code
    if status == 429:
        raise RateLimited("Zalo HTTP 429", retry_after(response, 60.0))
    if status >= 500 or status in (401, 408):
        raise Transient(f"Zalo HTTP {status}")
    if status >= 400:
        raise BadRequest(f"Zalo HTTP {status}")
    body = json_body(response)
    code = body.get("error")
    if type(code) is not int:
        raise Transient(f"unreadable Zalo answer (HTTP {status})")
    if code == 0:
        data = body.get("data")
        return str(data.get("message_id", "")) if isinstance(data, dict) else ""
    text = str(body.get("message", ""))
    log.warning("Zalo send refused: error %s %s", code, text)
    raise error_for(code, text, response)
