"""The Zalo OA adapter: contract, recorded events, signatures, rendering, sends and tokens.

Sends go to `tests.fakes.zalo_api.FakeZalo` served on 127.0.0.1; tokens live in
a `FileTokenStore` under tmp_path. The clock is fixed at NOW, a minute after
the recorded events' timestamps.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Button, Inbound, Media, Reply
from channels.base import (
    BadRequest,
    Outgoing,
    PayloadError,
    RateLimited,
    RawRequest,
    SignatureError,
    Transient,
    Unreachable,
)
from channels.zalo import ZaloAdapter, normalise_phone, split_text
from channels.zalo_tokens import FileTokenStore, TokenError, TokenPair
from tests.channels.contract import REPLIES, AdapterContract, SendFailure
from tests.fakes.server import serve
from tests.fakes.zalo_api import APP_ID, APP_SECRET, FakeZalo

DATA = Path(__file__).resolve().parents[1] / "data" / "zalo"
OA_SECRET = "oa-secret-key"
USER = "246845883529197922"
NOW = datetime(2025, 11, 23, 12, 14, tzinfo=UTC)
CONTACT_IMAGE = "https://cdn.example/paht-banner.png"
WEBHOOK_URL = "https://paht.example/channels/zalo/webhook"
CS = "/v3.0/oa/message/cs"


def body(name: str) -> bytes:
    return (DATA / f"{name}.json").read_bytes()


def sign(raw: bytes, secret: str = OA_SECRET, prefix: str = "mac=") -> str:
    timestamp = str(json.loads(raw)["timestamp"])
    digest = hashlib.sha256(APP_ID.encode() + raw + timestamp.encode() + secret.encode())
    return prefix + digest.hexdigest()


def webhook(raw: bytes, signature: str | None = "sign") -> RawRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-zevent-signature"] = sign(raw) if signature == "sign" else signature
    return RawRequest(method="POST", url=WEBHOOK_URL, headers=headers, body=raw)


def make_adapter(
    url: str, store: Any, clock: Callable[[], datetime] = lambda: NOW, **kwargs: Any
) -> ZaloAdapter:
    return ZaloAdapter(
        app_id=APP_ID,
        oa_secret_key=OA_SECRET,
        app_secret_key=APP_SECRET,
        token_store=store,
        contact_image_url=CONTACT_IMAGE,
        api_base=url,
        oauth_base=url,
        clock=clock,
        **kwargs,
    )


PURE = make_adapter("http://127.0.0.1:9", FileTokenStore(Path("/nonexistent/tokens.json")))


@pytest.fixture(scope="module")
def zalo_server() -> Iterator[tuple[FakeZalo, str]]:
    fake = FakeZalo()
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(zalo_server: tuple[FakeZalo, str]) -> FakeZalo:
    zalo_server[0].reset()
    return zalo_server[0]


@pytest.fixture
def url(zalo_server: tuple[FakeZalo, str]) -> str:
    return zalo_server[1]


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "zalo-tokens.json"
    path.write_text(TokenPair("at-0", "rt-0", NOW + timedelta(hours=20)).to_json())
    return path


@pytest.fixture
async def adapter(fake: FakeZalo, url: str, token_file: Path) -> AsyncIterator[ZaloAdapter]:
    adapter = make_adapter(url, FileTokenStore(token_file))
    yield adapter
    await adapter.aclose()


def text_out(adapter: ZaloAdapter, text: str = "Đã tiếp nhận") -> Any:
    return adapter.render([Reply(text=text)], USER)[0]


class TestZaloContract(AdapterContract):
    @pytest.fixture
    def text_request(self) -> RawRequest:
        return webhook(body("user_send_text"))

    @pytest.fixture
    def forged_request(self) -> RawRequest:
        raw = body("user_send_text")
        return webhook(raw, sign(raw, secret="not-the-oa-secret"))

    @pytest.fixture
    def unsigned_request(self) -> RawRequest:
        return webhook(body("user_send_text"), signature=None)

    @pytest.fixture
    def malformed_request(self) -> RawRequest:
        return webhook(b'{"timestamp":"1763900000000","hello":"world"}')

    @pytest.fixture
    def send_failure(self, fake: FakeZalo, adapter: ZaloAdapter) -> SendFailure:
        async def fail(status: int, raw: bytes) -> Exception | None:
            fake.fail_next(status, raw)
            try:
                await adapter.send(text_out(adapter))
            except Exception as exc:
                return exc
            return None

        return fail


# -- parse: one recorded body per event -------------------------------------------

IMAGE_URL = "https://photo-stal.zadn.vn/org/abc.jpg"
PARSED: dict[str, dict[str, Any] | None] = {
    "user_send_text": {"message_id": "96d3cdf3af150460909"},
    "user_send_text_button": {"payload": "/public:yes", "text": ""},
    "user_send_text_escaped": {"text": "Ngập nước đường Trần Phú"},
    "user_send_image": {"text": "ổ gà trước nhà", "media": (Media(kind="image", url=IMAGE_URL),)},
    "user_send_gif": {
        "media": (
            Media(kind="image", url="https://photo-stal.zadn.vn/org/g.gif", mime_type="image/gif"),
        )
    },
    "user_send_location": {"lat": 10.2537316, "lon": 105.9721938, "text": ""},
    "user_send_file": {
        "media": (
            Media(
                kind="file",
                url="https://f1.zdn.vn/files/don-phan-anh.pdf",
                mime_type="application/pdf",
            ),
        )
    },
    "user_send_audio": {"media": (Media(kind="audio", url="https://voice-stal.zdn.vn/v/abc.amr"),)},
    "user_send_video": {"media": (Media(kind="video", url="https://video-stal.zdn.vn/v/abc.mp4"),)},
    "user_send_link": {"text": "https://baovinhlong.example/ngap-nuoc"},
    "user_submit_info": {
        "contact_phone": "+84793333111",  # 0121 333 3111 renumbered to 079 in 2018
        "sender_name": "Nguyễn Văn An",
        "message_id": "user_submit_info:1763900007000:246845883529197922",
    },
    "follow": {"payload": "/help", "message_id": "follow:1763900008000:246845883529197922"},
    "user_click_chatnow": {"payload": "/help"},
    "user_send_sticker": None,
    "unfollow": None,
    "oa_send_text": None,
    "user_seen_message": None,
    "user_received_message": None,
}


def test_every_recorded_body_is_covered() -> None:
    assert {p.stem for p in DATA.glob("*.json")} == set(PARSED)


@pytest.mark.parametrize("name", sorted(PARSED))
def test_recorded_events_are_verified_and_parsed(name: str) -> None:
    request = webhook(body(name))
    PURE.verify(request)
    messages = PURE.parse(request)
    expected = PARSED[name]
    if expected is None:
        assert messages == []
        return
    assert len(messages) == 1
    message = messages[0]
    assert message.channel == "zalo" and message.sender_id == USER and message.message_id
    for key, value in expected.items():
        assert getattr(message, key) == value, key


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"not json",
        b'{"event_name":"user_send_text","timestamp":"1","sender":{"id":"1"}}',
        b'{"event_name":"user_send_image","timestamp":"1","sender":{"id":"1"},"message":{}}',
        b'{"event_name":"user_send_location","timestamp":"1","sender":{"id":"1"},"message":'
        b'{"attachments":[{"type":"location","payload":{"coordinates":'
        b'{"latitude":"95","longitude":"1"}}}]}}',
        b'{"event_name":"user_send_image","timestamp":"1","sender":{"id":"1"},"message":'
        b'{"attachments":[{"type":"image","payload":{"url":"file:///etc/passwd"}}]}}',
        b'{"event_name":"follow","timestamp":"1"}',
        b'{"event_name":"user_submit_info","timestamp":"1","sender":{"id":"1"}}',
    ],
)
def test_malformed_events_are_payload_errors(raw: bytes) -> None:
    with pytest.raises(PayloadError):
        PURE.parse(webhook(raw, signature=None))


# -- verify ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["mac=", "", "MAC="])
def test_signature_with_or_without_mac_prefix_is_accepted(prefix: str) -> None:
    raw = body("user_send_text_escaped")
    PURE.verify(webhook(raw, sign(raw, prefix=prefix)))
    PURE.verify(webhook(raw, sign(raw, prefix=prefix).upper().replace("MAC=", prefix)))


def test_signature_covers_the_bytes_as_received() -> None:
    raw = body("user_send_text_escaped")
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    with pytest.raises(SignatureError):
        PURE.verify(webhook(reserialised, sign(raw)))
    with pytest.raises(SignatureError):
        PURE.verify(webhook(raw.replace(b"Tr", b"tr"), sign(raw)))


@pytest.mark.parametrize(
    "raw", [b"", b"[1]", b'{"event_name":"follow"}', b'{"timestamp":"12ab"}', b'{"timestamp":true}']
)
def test_a_body_without_a_timestamp_cannot_be_verified(raw: bytes) -> None:
    with pytest.raises(SignatureError):
        PURE.verify(webhook(raw, "mac=" + "0" * 64))


@pytest.mark.parametrize(
    ("clock", "accepted"),
    [
        (NOW + timedelta(hours=12), True),  # a retry hours later carries the original timestamp
        (NOW + timedelta(hours=14), False),
        (NOW - timedelta(minutes=4), True),
        (NOW - timedelta(minutes=10), False),  # from the future
    ],
)
def test_stale_timestamps_are_refused(clock: datetime, accepted: bool) -> None:
    adapter = make_adapter("http://127.0.0.1:9", None, clock=lambda: clock)
    request = webhook(body("user_send_text"))
    if accepted:
        adapter.verify(request)
    else:
        with pytest.raises(SignatureError, match="stale"):
            adapter.verify(request)
    make_adapter("http://127.0.0.1:9", None, clock=lambda: clock, max_age=None).verify(request)


@pytest.mark.parametrize("timestamp", ["0", "9999999999999999"])
def test_absurd_timestamps_are_stale_not_crashes(timestamp: str) -> None:
    raw = body("user_send_text").replace(b'"1763900000000"', f'"{timestamp}"'.encode())
    with pytest.raises(SignatureError, match="stale"):
        PURE.verify(webhook(raw))


# -- render ----------------------------------------------------------------------


def messages_of(replies: list[Reply], adapter: ZaloAdapter = PURE) -> list[dict[str, Any]]:
    out = adapter.render(replies, USER)
    assert all(o.kind == "cs" and o.payload["recipient"] == {"user_id": USER} for o in out)
    return [dict(o.payload["message"]) for o in out]


def test_text_and_buttons_render_as_query_buttons() -> None:
    reply = REPLIES["two_buttons"]
    assert messages_of([reply]) == [
        {
            "text": reply.text,
            "attachment": {
                "type": "template",
                "payload": {
                    "buttons": [
                        {"title": "Có", "type": "oa.query.hide", "payload": "/public:yes"},
                        {"title": "Không", "type": "oa.query.hide", "payload": "/public:no"},
                    ]
                },
            },
        }
    ]
    show = make_adapter("http://127.0.0.1:9", None, button_type="oa.query.show")
    assert messages_of([reply], show)[0]["attachment"]["payload"]["buttons"][0]["type"] == (
        "oa.query.show"
    )


def test_five_buttons_fit_six_become_numbered_lines() -> None:
    buttons = tuple(Button(title=f"Mục {i}" * 30, payload=f"/edit:f{i}") for i in range(1, 7))
    five = messages_of([Reply(text="Chọn", buttons=buttons[:5])])[0]
    titles = [b["title"] for b in five["attachment"]["payload"]["buttons"]]
    assert len(titles) == 5 and all(len(t) <= 100 for t in titles)
    six = messages_of([Reply(text="Chọn", buttons=buttons)])
    assert six == [{"text": six[0]["text"]}] and "\n6. Mục 6" in six[0]["text"]


def test_image_is_a_media_template_with_its_caption() -> None:
    assert messages_of([REPLIES["image"]]) == [
        {
            "text": "Ảnh hiện trường",
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": "https://example.invalid/a.jpg"}],
                },
            },
        }
    ]
    with_buttons = Reply(
        text="Đúng ảnh?", image="https://x.example/p.jpg", buttons=REPLIES["two_buttons"].buttons
    )
    image, text = messages_of([with_buttons])
    assert "text" not in image and image["attachment"]["payload"]["template_type"] == "media"
    assert text["text"] == "Đúng ảnh?" and len(text["attachment"]["payload"]["buttons"]) == 2


def test_ask_contact_adds_a_request_user_info_form() -> None:
    reply = Reply(
        text="Cho biết số điện thoại",
        buttons=(Button(title="Gửi ẩn danh", payload="/contact:skip"),),
        ask_contact=True,
    )
    text, form = messages_of([reply])
    assert text["attachment"]["payload"]["buttons"][0]["payload"] == "/contact:skip"
    payload = form["attachment"]["payload"]
    assert payload["template_type"] == "request_user_info"
    [element] = payload["elements"]
    assert element["image_url"] == CONTACT_IMAGE
    assert 0 < len(element["title"]) <= 100 and 0 < len(element["subtitle"]) <= 500


def test_long_text_is_split_at_2000_characters_and_buttons_go_last() -> None:
    reply = Reply(text=REPLIES["long"].text, buttons=REPLIES["two_buttons"].buttons)
    parts = messages_of([reply])
    assert len(parts) == 4 and all(len(p["text"]) <= 2000 for p in parts)
    assert [("attachment" in p) for p in parts] == [False, False, False, True]
    assert " ".join(p["text"] for p in parts).split() == reply.text.split()


@given(st.text(max_size=3000), st.integers(min_value=5, max_value=300))
def test_split_text_keeps_every_word_within_the_limit(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


# -- send ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "two_buttons", "image", "ask_contact"])
async def test_sends_post_the_rendered_payload_with_the_access_token(
    fake: FakeZalo, adapter: ZaloAdapter, kind: str
) -> None:
    outgoing = adapter.render([REPLIES[kind]], USER)
    ids = [await adapter.send(o) for o in outgoing]
    calls = fake.message_calls()
    assert [c.path for c in calls] == [CS] * len(outgoing)
    assert [c.json for c in calls] == [dict(o.payload) for o in outgoing]
    assert {c.headers["access_token"] for c in calls} == {"at-0"}
    assert ids == [f"msg-{i}" for i in range(1, len(outgoing) + 1)]
    if kind == "ask_contact":
        assert calls[-1].json["message"]["attachment"]["payload"]["template_type"] == (
            "request_user_info"
        )


ERRORS: list[tuple[str, int, dict[str, str], type[Exception], float | None]] = [
    ("error", -230, {}, Unreachable, None),  # outside the 7-day window
    ("error", -217, {}, Unreachable, None),
    ("error", -32, {}, RateLimited, 60.0),
    ("error", -32, {"retry-after": "5"}, RateLimited, 5.0),
    ("error", -211, {}, RateLimited, 3600.0),
    ("error", -201, {}, BadRequest, None),
    ("error", -240, {}, BadRequest, None),
    ("error", -999, {}, BadRequest, None),  # unknown refusal: do not retry blindly
    ("error", -320, {}, Transient, None),  # no Zalo Cloud balance: retry once topped up
    ("http", 429, {"retry-after": "7"}, RateLimited, 7.0),
    ("http", 429, {"retry-after": "nan"}, RateLimited, 60.0),
    ("http", 502, {}, Transient, None),
    ("http", 404, {}, BadRequest, None),
    ("http", 200, {}, Transient, None),  # 200 without a Zalo envelope
]


@pytest.mark.parametrize(("how", "code", "headers", "expected", "retry_after"), ERRORS)
async def test_zalo_errors_map_to_the_family(
    fake: FakeZalo,
    adapter: ZaloAdapter,
    how: str,
    code: int,
    headers: dict[str, str],
    expected: type[Exception],
    retry_after: float | None,
) -> None:
    if how == "error":
        fake.fail_next_with_error(code, headers=headers)
    else:
        fake.fail_next(code, b"<html>oops</html>", headers)
    with pytest.raises(expected) as raised:
        await adapter.send(text_out(adapter))
    if retry_after is not None:
        assert isinstance(raised.value, RateLimited) and raised.value.retry_after == retry_after
    assert fake.refreshes == []


async def test_timeouts_are_transient(token_file: Path) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    adapter = make_adapter(
        "http://127.0.0.1:9",
        FileTokenStore(token_file),
        client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(timeout)),
    )
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    with pytest.raises(BadRequest):
        await adapter.send(Outgoing(USER, {}, kind="promotion"))
    await adapter.aclose()


# -- tokens ----------------------------------------------------------------------


class RecordingStore(FileTokenStore):
    """The file store, logging each completed (durable) save into the fake's event log."""

    def __init__(self, path: Path, events: list[tuple[str, ...]]) -> None:
        super().__init__(path)
        self.events = events

    async def save(self, pair: TokenPair) -> None:
        await super().save(pair)
        self.events.append(("saved", pair.access_token, pair.refresh_token))


async def test_invalid_token_refreshes_persists_then_retries_once(
    fake: FakeZalo, url: str, token_file: Path
) -> None:
    fake.revoke_access_tokens()
    adapter = make_adapter(url, RecordingStore(token_file, fake.events))
    assert await adapter.send(text_out(adapter)) == "msg-2"
    assert fake.events == [
        ("send", "at-0", "-216"),
        ("refresh", "rt-0"),
        ("issued", "at-1", "rt-1"),
        ("saved", "at-1", "rt-1"),  # durable before the retried send
        ("send", "at-1", "ok"),
    ]
    stored = TokenPair.from_json(token_file.read_bytes())
    assert (stored.access_token, stored.refresh_token) == ("at-1", "rt-1")
    assert stored.expires_at == NOW + timedelta(seconds=90000)
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    await adapter.tokens.refresh()
    assert fake.refreshes == ["rt-0", "rt-1"], "a used refresh token is never presented again"
    await adapter.aclose()


@pytest.mark.parametrize("code", [-216, -220, -124])
async def test_a_token_refused_again_after_refresh_is_transient(
    fake: FakeZalo, adapter: ZaloAdapter, code: int
) -> None:
    fake.fail_next_with_error(code)
    fake.fail_next_with_error(code)
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    assert fake.refreshes == ["rt-0"]


async def test_http_401_refreshes_and_retries(fake: FakeZalo, adapter: ZaloAdapter) -> None:
    fake.fail_next(401)
    assert await adapter.send(text_out(adapter)) == "msg-2"
    assert [c.headers["access_token"] for c in fake.message_calls()] == ["at-0", "at-1"]


async def test_concurrent_sends_share_one_refresh(fake: FakeZalo, adapter: ZaloAdapter) -> None:
    fake.revoke_access_tokens()
    ids = await asyncio.gather(*(adapter.send(text_out(adapter)) for _ in range(6)))
    assert len(set(ids)) == 6
    assert fake.refreshes == ["rt-0"]


async def test_a_token_near_expiry_is_refreshed_before_sending(
    fake: FakeZalo, url: str, token_file: Path
) -> None:
    token_file.write_text(TokenPair("at-0", "rt-0", NOW + timedelta(minutes=30)).to_json())
    adapter = make_adapter(url, FileTokenStore(token_file))
    await adapter.send(text_out(adapter))
    assert [e[0] for e in fake.events] == ["refresh", "issued", "send"]
    assert fake.events[-1] == ("send", "at-1", "ok")
    await adapter.aclose()


async def test_a_failed_early_refresh_still_sends_with_the_valid_token(
    fake: FakeZalo, url: str, token_file: Path
) -> None:
    token_file.write_text(TokenPair("at-0", "rt-burnt", NOW + timedelta(minutes=30)).to_json())
    adapter = make_adapter(url, FileTokenStore(token_file))
    assert await adapter.send(text_out(adapter)) == "msg-1"
    assert fake.refreshes == ["rt-burnt"] and fake.events[-1] == ("send", "at-0", "ok")
    await adapter.aclose()


async def test_a_refused_refresh_token_needs_reauthorisation(
    fake: FakeZalo, url: str, token_file: Path
) -> None:
    token_file.write_text(TokenPair("at-0", "rt-stolen", NOW + timedelta(hours=2)).to_json())
    fake.revoke_access_tokens()
    adapter = make_adapter(url, FileTokenStore(token_file))
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    with pytest.raises(TokenError) as raised:
        await adapter.tokens.refresh()
    assert raised.value.reauthorise
    await adapter.aclose()


async def test_a_pair_rotated_by_another_process_is_followed(
    fake: FakeZalo, url: str, token_file: Path
) -> None:
    first, second = (make_adapter(url, FileTokenStore(token_file)) for _ in range(2))
    await second.send(text_out(second))  # caches at-0
    fake.revoke_access_tokens()
    await first.send(text_out(first))  # rotates to at-1 / rt-1 in the shared file
    await second.send(text_out(second))  # at-0 refused → the store already has at-1
    assert fake.refreshes == ["rt-0"]
    assert fake.events[-1] == ("send", "at-1", "ok")
    for adapter in (first, second):
        await adapter.aclose()


async def test_a_lost_refresh_race_follows_the_winner(
    fake: FakeZalo, url: str, token_file: Path
) -> None:
    class RacingStore(FileTokenStore):
        """Another process refreshes right after our read: our refresh token is burnt."""

        raced = False

        async def load(self) -> TokenPair:
            pair = await super().load()
            if not self.raced:
                self.raced = True
                fake.refresh_tokens, fake.access_tokens = {"rt-9"}, {"at-9"}
                await super().save(TokenPair("at-9", "rt-9", NOW + timedelta(hours=25)))
            return pair

    adapter = make_adapter(url, RacingStore(token_file))
    assert await adapter.tokens.refresh() == "at-9"
    assert fake.refreshes == ["rt-0"]
    await adapter.aclose()


class Crash(BaseException):
    """The process dies here."""


async def test_a_crash_between_refresh_and_save_keeps_the_new_pair(
    fake: FakeZalo, url: str, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal is fsynced before the rename; a crash in between is recovered on load."""

    def crash(self: FileTokenStore) -> None:
        raise Crash

    fake.revoke_access_tokens()
    adapter = make_adapter(url, FileTokenStore(token_file))
    monkeypatch.setattr(FileTokenStore, "_commit", crash)
    with pytest.raises(Crash):
        await adapter.send(text_out(adapter))
    monkeypatch.undo()
    assert TokenPair.from_json(token_file.read_bytes()).refresh_token == "rt-0"
    assert (token_file.parent / "zalo-tokens.json.new").exists()

    restarted = make_adapter(url, FileTokenStore(token_file))
    assert await restarted.send(text_out(restarted)) == "msg-2"
    assert fake.events[-1] == ("send", "at-1", "ok")
    assert fake.refreshes == ["rt-0"], "the burnt refresh token is never needed again"
    assert TokenPair.from_json(token_file.read_bytes()).refresh_token == "rt-1"
    assert not (token_file.parent / "zalo-tokens.json.new").exists()
    for a in (adapter, restarted):
        await a.aclose()


async def test_a_torn_journal_is_discarded_and_the_old_pair_kept(token_file: Path) -> None:
    journal = token_file.parent / "zalo-tokens.json.new"
    journal.write_text('{"access_token": "at-1", "refresh_tok')
    pair = await FileTokenStore(token_file).load()
    assert pair.refresh_token == "rt-0" and not journal.exists()


async def test_a_failed_save_keeps_the_pair_unused_until_saved(
    fake: FakeZalo, url: str, token_file: Path
) -> None:
    class FullDisk(FileTokenStore):
        failures = 1

        async def save(self, pair: TokenPair) -> None:
            if self.failures:
                self.failures -= 1
                raise OSError("No space left on device")
            await super().save(pair)

    fake.revoke_access_tokens()
    adapter = make_adapter(url, FullDisk(token_file))
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    assert [e for e in fake.events if e[0] == "send"] == [("send", "at-0", "-216")]
    assert await adapter.send(text_out(adapter)) == "msg-2"
    assert fake.events[-1] == ("send", "at-1", "ok")
    assert fake.refreshes == ["rt-0"]
    assert TokenPair.from_json(token_file.read_bytes()).access_token == "at-1"
    await adapter.aclose()


async def test_missing_tokens_need_authorisation_and_the_code_grant_stores_them(
    fake: FakeZalo, url: str, tmp_path: Path
) -> None:
    path = tmp_path / "none.json"
    adapter = make_adapter(url, FileTokenStore(path))
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    link = adapter.tokens.permission_url("https://paht.example/zalo/callback", "chal", "st-1")
    assert link.startswith(f"{url}/v4/oa/permission?app_id={APP_ID}&redirect_uri=https%3A")
    pair = await adapter.tokens.exchange_code("code-1", "verifier-43-chars")
    assert pair.access_token == "at-1" and "at-1" not in repr(pair)
    assert (await FileTokenStore(path).load()).refresh_token == "rt-1"
    assert await adapter.send(text_out(adapter)) == "msg-1"
    await adapter.aclose()


# -- phones and fuzz ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("84912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("+84 912.345.678", "+84912345678"),
        ("841693333111", "+84393333111"),  # Viettel 0169 → 039
        ("84551234567", "+84551234567"),  # MVNO range phonenumbers does not know yet
        ("02703822123", "+842703822123"),  # Vĩnh Long landline
        ("+1 415 555 0100", "+14155550100"),  # a foreign Zalo user keeps their number
        ("+1 000 000", None),
        ("12345", None),
        ("không có", None),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


SAMPLES = [json.loads(body(name)) for name in sorted(PARSED)]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON document."""
    keys = (
        node.keys()
        if isinstance(node, dict)
        else range(len(node))
        if isinstance(node, list)
        else []
    )
    return [slot for key in keys for slot in [(node, key), *_slots(node[key])]]


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    event = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(_slots(event)))
        if draw(st.booleans()) and isinstance(container, dict):
            del container[key]
        else:
            container[key] = draw(JSON_VALUES)
        if not _slots(event):
            break
    return json.dumps(event).encode()


def _parse_or_refuse(raw: bytes) -> None:
    try:
        messages = PURE.parse(webhook(raw, signature=None))
    except PayloadError:
        return
    assert isinstance(messages, list) and all(isinstance(m, Inbound) for m in messages)
    with pytest.raises(SignatureError):
        PURE.verify(webhook(raw, "mac=" + "0" * 64))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_fuzzed_events_parse_or_raise_payload_error(raw: bytes) -> None:
    _parse_or_refuse(raw)


@settings(max_examples=200)
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_fuzzed_bodies_parse_or_raise_payload_error(raw: bytes) -> None:
    _parse_or_refuse(raw)


def test_a_deeply_nested_body_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        PURE.parse(webhook(b"[" * 100_000 + b"]" * 100_000, signature=None))
