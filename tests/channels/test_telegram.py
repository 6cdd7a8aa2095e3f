"""The Telegram adapter: the contract, parse/render on sample updates, and the real
python-telegram-bot `Bot` against a fake Bot API on 127.0.0.1 (sends, errors, getFile,
long polling).

The updates in tests/data/telegram/ are written by hand in the Bot API's shape (the
fields PTB 22.8 reads), not captured from a live bot: the tests run offline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Button, Reply
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
from channels.telegram import (
    SECRET_HEADER,
    SHARE_LOCATION,
    SHARE_PHONE,
    TelegramAdapter,
    normalise_phone,
    split_text,
)
from tests.channels.contract import AdapterContract, SendFailure
from tests.fakes.server import free_port, serve
from tests.fakes.telegram_api import FakeTelegramApi

DATA = Path(__file__).resolve().parents[1] / "data" / "telegram"
TOKEN = "123456:TEST-token"
SECRET = "s3cret_webhook-token"
CITIZEN = "5123456789"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    return data


def webhook(body: bytes | dict[str, Any], secret: str | None = SECRET) -> RawRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER.lower()] = secret
    return RawRequest("POST", "/channels/telegram/webhook", headers, raw)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeTelegramApi, str]]:
    fake = FakeTelegramApi(TOKEN)
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake(server: tuple[FakeTelegramApi, str]) -> FakeTelegramApi:
    server[0].reset()
    return server[0]


def make_adapter(url: str, **timeouts: float) -> TelegramAdapter:
    return TelegramAdapter(
        TOKEN, SECRET, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot", **timeouts
    )


@pytest.fixture
async def adapter(
    server: tuple[FakeTelegramApi, str], fake: FakeTelegramApi
) -> AsyncIterator[TelegramAdapter]:
    adapter = make_adapter(server[1], read_timeout=2.0)
    yield adapter
    await adapter.aclose()


# -- the contract -------------------------------------------------------------------------


class TestTelegramContract(AdapterContract):
    @pytest.fixture
    def text_request(self) -> RawRequest:
        return webhook(sample("text"))

    @pytest.fixture
    def forged_request(self) -> RawRequest:
        return webhook(sample("text"), secret="not-the-secret")

    @pytest.fixture
    def unsigned_request(self) -> RawRequest:
        return webhook(sample("text"), secret=None)

    @pytest.fixture
    def malformed_request(self) -> RawRequest:
        return webhook(b'{"sender": "u1", "message": "not a Telegram update"}')

    @pytest.fixture
    def send_failure(self, adapter: TelegramAdapter, fake: FakeTelegramApi) -> SendFailure:
        async def fail(status: int, body: bytes) -> Exception | None:
            fake.fail_next(status, body)
            try:
                await adapter.send(adapter.render([Reply(text="Xin chào")], CITIZEN)[0])
            except Exception as exc:
                return exc
            return None

        return fail


# -- verify and parse ---------------------------------------------------------------------


def test_secret_is_compared_exactly(adapter: TelegramAdapter) -> None:
    adapter.verify(webhook(sample("text")))
    for wrong in ("", SECRET[:-1], SECRET + "x", SECRET.upper(), "sécret"):
        with pytest.raises(SignatureError):
            adapter.verify(webhook(sample("text"), secret=wrong))


def test_constructor_refuses_a_secret_telegram_would_refuse() -> None:
    for bad in ("", "has space", "x" * 257, "dấu"):
        with pytest.raises(ValueError):
            TelegramAdapter(TOKEN, bad)


def test_text_keeps_update_id_and_chat_id(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("text")))
    assert message.channel == "telegram"
    assert message.message_id == "734118001" and message.sender_id == CITIZEN
    assert message.text.startswith("đèn đường hư ở đầu hẻm 45")
    assert message.media == () and message.payload is None and message.contact_phone is None


def test_photo_takes_the_largest_size_and_the_caption(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("photo_caption")))
    assert message.text == "Cột đèn số 12 không sáng"
    [photo] = message.media
    assert photo.kind == "image" and photo.provider_ref == "AgACAgUAAxkBAAMFaSK1-large"
    assert photo.url is None  # the downloader asks file_url(provider_ref)


def test_photo_sizes_out_of_order_still_give_the_largest(adapter: TelegramAdapter) -> None:
    update = sample("photo_caption")
    update["message"]["photo"].reverse()
    [message] = adapter.parse(webhook(update))
    assert message.media[0].provider_ref == "AgACAgUAAxkBAAMFaSK1-large"


def test_location(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("location")))
    assert (message.lat, message.lon) == (10.253456, 105.972345)
    assert message.text == ""


def test_own_contact_gives_an_e164_phone_and_name(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("contact_own")))
    assert message.contact_phone == "+84912345678"
    assert message.sender_name == "Lan Nguyễn"


def test_someone_elses_contact_gives_no_phone(adapter: TelegramAdapter) -> None:
    [message] = adapter.parse(webhook(sample("contact_other")))
    assert message.contact_phone is None and message.sender_name is None
    unlinked = sample("contact_other")
    del unlinked["message"]["contact"]["user_id"]  # a phone-book entry, not a Telegram user
    [message] = adapter.parse(webhook(unlinked))
    assert message.contact_phone is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("84912345678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("0912345678", "+84912345678"),
        ("+84 91 234 5678", "+84912345678"),
        ("84551234567", "+84551234567"),  # a range newer than phonenumbers' metadata
        ("+14155552671", "+14155552671"),
        ("12", None),
        ("not a phone", None),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_callback_query_is_a_button_payload_and_is_acknowledged(
    adapter: TelegramAdapter,
) -> None:
    request = webhook(sample("callback_query"))
    [message] = adapter.parse(request)
    assert message.payload == "/public:yes" and message.sender_id == CITIZEN
    assert message.message_id == "734118006"
    [ack] = adapter.acknowledgements(request)
    assert ack.kind == "answer_callback" and ack.recipient == CITIZEN
    assert ack.payload == {
        "method": "answerCallbackQuery",
        "callback_query_id": "2201029381923847561",
    }
    assert adapter.acknowledgements(webhook(sample("text"))) == []


@pytest.mark.parametrize(
    ("name", "kind", "mime"),
    [("voice", "audio", "audio/ogg"), ("document_image", "image", "image/jpeg")],
)
def test_other_media_keep_their_mime_type(
    adapter: TelegramAdapter, name: str, kind: str, mime: str
) -> None:
    [message] = adapter.parse(webhook(sample(name)))
    [media] = message.media
    assert (media.kind, media.mime_type) == (kind, mime)


@pytest.mark.parametrize("name", ["sticker", "edited_message", "group_text", "chat_member", "poll"])
def test_updates_the_bot_does_not_act_on_are_ignored(adapter: TelegramAdapter, name: str) -> None:
    assert adapter.parse(webhook(sample(name))) == []


def test_ignored_kinds_are_not_read_at_all(adapter: TelegramAdapter) -> None:
    old_poll = sample("poll")
    for option in old_poll["poll"]["options"]:
        del option["persistent_id"]  # PTB 22.8 requires it (Bot API 9.6)
    assert adapter.parse(webhook(old_poll)) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"update_id": "1"}',
        b'{"update_id": true}',
        b'{"update_id": 1, "message": "hi"}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "x"}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": "5",'
        b' "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "A"},'
        b' "text": "x"}}',
        b"[" * 5000,
        "\ud800".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_bodies_are_payload_errors(adapter: TelegramAdapter, body: bytes) -> None:
    with pytest.raises(PayloadError):
        adapter.parse(webhook(body))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
SAMPLES = [sample(p.stem) for p in sorted(DATA.glob("*.json"))]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [prefix]
    found = [prefix]
    for key, child in items:
        found += _paths(child, (*prefix, key))
    return found


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    """A recorded update with one value (or the whole thing) replaced by arbitrary JSON."""
    update = json.loads(json.dumps(draw(st.sampled_from(SAMPLES))))
    path = draw(st.sampled_from(_paths(update)))
    value = draw(JSON)
    if not path:
        return json.dumps(value).encode()
    target = update
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(update).encode()


def test_fuzzed_bodies_give_a_list_or_a_payload_error() -> None:
    adapter = TelegramAdapter(TOKEN, SECRET)  # parse is pure: no server needed

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(mutated_samples(), JSON.map(lambda v: json.dumps(v).encode()), st.binary()))
    def check(body: bytes) -> None:
        request = webhook(body)
        try:
            result = adapter.parse(request)
            adapter.acknowledgements(request)
        except PayloadError:
            return
        assert isinstance(result, list)

    check()


# -- render (pure) ------------------------------------------------------------------------


def render_one(adapter: TelegramAdapter, reply: Reply) -> list[dict[str, Any]]:
    return [dict(out.payload) for out in adapter.render([reply], CITIZEN)]


def test_buttons_become_an_inline_keyboard(adapter: TelegramAdapter) -> None:
    reply = Reply(text="Công khai?", buttons=(Button(title="Có", payload="/public:yes"),))
    [call] = render_one(adapter, reply)
    assert call == {
        "method": "sendMessage",
        "chat_id": CITIZEN,
        "text": "Công khai?",
        "reply_markup": {"inline_keyboard": [[{"text": "Có", "callback_data": "/public:yes"}]]},
    }


def test_more_buttons_than_the_channel_shows_become_numbered_lines(
    adapter: TelegramAdapter,
) -> None:
    buttons = tuple(Button(title=f"Lĩnh vực {i}", payload=f"/category:c{i}") for i in range(12))
    [call] = render_one(adapter, Reply(text="Lĩnh vực nào?", buttons=buttons))
    assert "1. Lĩnh vực 0" in call["text"] and "12. Lĩnh vực 11" in call["text"]
    assert "inline_keyboard" not in call["reply_markup"]


def test_a_payload_longer_than_callback_data_degrades_to_numbered_lines(
    adapter: TelegramAdapter,
) -> None:
    long = Button(title="Đường Phạm Thái Bường", payload="/category:" + "đ" * 40)  # 90 bytes
    short = Button(title="Khác", payload="/category:khac")
    [call] = render_one(adapter, Reply(text="Chọn", buttons=(long, short)))
    assert "1. Đường Phạm Thái Bường\n2. Khác" in call["text"]
    assert call["reply_markup"] == {"remove_keyboard": True}


def test_ask_contact_is_a_one_time_request_contact_keyboard(adapter: TelegramAdapter) -> None:
    reply = Reply(
        text="Cho biết số điện thoại",
        buttons=(Button(title="Gửi ẩn danh", payload="/contact:skip"),),
        ask_contact=True,
    )
    [call] = render_one(adapter, reply)
    assert call["reply_markup"] == {
        "keyboard": [[{"text": SHARE_PHONE, "request_contact": True}], [{"text": "Gửi ẩn danh"}]],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }


def test_ask_location_is_a_request_location_button(adapter: TelegramAdapter) -> None:
    [call] = render_one(adapter, Reply(text="Ở đâu?", ask_location=True))
    assert call["reply_markup"]["keyboard"] == [
        [{"text": SHARE_LOCATION, "request_location": True}]
    ]


def test_image_with_a_short_text_is_one_photo_with_caption(adapter: TelegramAdapter) -> None:
    [call] = render_one(adapter, Reply(text="Ảnh hiện trường", image="https://x.invalid/a.jpg"))
    assert call["method"] == "sendPhoto" and call["photo"] == "https://x.invalid/a.jpg"
    assert call["caption"] == "Ảnh hiện trường"


def test_image_with_a_long_text_is_a_photo_then_the_text(adapter: TelegramAdapter) -> None:
    calls = render_one(adapter, Reply(text="Dài. " * 300, image="https://x.invalid/a.jpg"))
    assert [c["method"] for c in calls] == ["sendPhoto", "sendMessage"]
    assert "caption" not in calls[0] and "reply_markup" in calls[1]


def test_long_text_is_split_at_word_breaks_within_4096(adapter: TelegramAdapter) -> None:
    text = "Nội dung rất dài. " * 400
    calls = render_one(adapter, Reply(text=text, buttons=(Button(title="OK", payload="/ok"),)))
    assert len(calls) == 2
    assert all(len(c["text"]) <= 4096 for c in calls)
    assert " ".join(c["text"] for c in calls).split() == text.split()
    assert "reply_markup" not in calls[0] and "inline_keyboard" in calls[1]["reply_markup"]


def test_split_counts_utf16_units_and_cuts_words_only_when_it_must() -> None:
    assert split_text("😀" * 3000, 4096) == ["😀" * 2048, "😀" * 952]
    assert split_text("a" * 5000, 4096) == ["a" * 4096, "a" * 904]
    assert split_text("abcdef\n\ng h ij", 10) == ["abcdef", "g h ij"]  # paragraph first
    assert split_text("", 10) == []


# -- send through the real PTB Bot --------------------------------------------------------


async def test_text_is_sent_with_sendmessage(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    [out] = adapter.render([Reply(text="Đã tiếp nhận phản ánh.")], CITIZEN)
    message_id = await adapter.send(out)
    [call] = fake.calls_to("sendMessage")
    assert message_id == "1001"
    assert call.params["chat_id"] == CITIZEN and call.params["text"] == "Đã tiếp nhận phản ánh."
    assert call.json("reply_markup") == {"remove_keyboard": True}


async def test_inline_keyboard_reaches_the_api(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    buttons = (
        Button(title="Có", payload="/public:yes"),
        Button(title="Không", payload="/public:no"),
    )
    for out in adapter.render([Reply(text="Công khai?", buttons=buttons)], CITIZEN):
        await adapter.send(out)
    assert fake.calls_to("sendMessage")[0].json("reply_markup") == {
        "inline_keyboard": [
            [{"text": "Có", "callback_data": "/public:yes"}],
            [{"text": "Không", "callback_data": "/public:no"}],
        ]
    }


async def test_contact_keyboard_reaches_the_api(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    reply = Reply(text="Số điện thoại?", ask_contact=True)
    for out in adapter.render([reply], CITIZEN):
        await adapter.send(out)
    markup = fake.calls_to("sendMessage")[0].json("reply_markup")
    assert markup["keyboard"] == [[{"text": SHARE_PHONE, "request_contact": True}]]
    assert markup["one_time_keyboard"] is True


async def test_photo_is_sent_with_sendphoto(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    reply = Reply(text="Ảnh sau xử lý", image="https://paht.example.vn/media/a.jpg")
    for out in adapter.render([reply], CITIZEN):
        await adapter.send(out)
    [call] = fake.calls_to("sendPhoto")
    assert call.params["photo"] == "https://paht.example.vn/media/a.jpg"
    assert call.params["caption"] == "Ảnh sau xử lý"


async def test_long_text_is_sent_as_several_messages(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    text = "Nội dung rất dài. " * 400
    ids = [await adapter.send(out) for out in adapter.render([Reply(text=text)], CITIZEN)]
    calls = fake.calls_to("sendMessage")
    assert len(ids) == len(calls) == 2 and ids[0] != ids[1]
    assert "".join(c.params["text"] for c in calls).replace(" ", "") == text.replace(" ", "")


async def test_callback_answer_is_sent(adapter: TelegramAdapter, fake: FakeTelegramApi) -> None:
    [ack] = adapter.acknowledgements(webhook(sample("callback_query")))
    assert await adapter.send(ack) == ""
    [call] = fake.calls_to("answerCallbackQuery")
    assert call.params == {"callback_query_id": "2201029381923847561"}


async def test_a_payload_this_adapter_did_not_render_is_a_bad_request(
    adapter: TelegramAdapter,
) -> None:
    for payload in (
        {"method": "sendDice"},
        {"method": "sendMessage"},
        {"method": "sendMessage", "text": "x", "reply_markup": {"weird": 1}},
    ):
        with pytest.raises(BadRequest):
            await adapter.send(Outgoing(recipient=CITIZEN, payload=payload))


async def send_text(adapter: TelegramAdapter) -> None:
    await adapter.send(adapter.render([Reply(text="Xin chào")], CITIZEN)[0])


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own
async def test_telegram_429_is_rate_limited_with_its_retry_after(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.rate_limit_next(retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await send_text(adapter)
    assert caught.value.retry_after == 7


async def test_blocked_bot_is_unreachable(adapter: TelegramAdapter, fake: FakeTelegramApi) -> None:
    fake.block_next()
    with pytest.raises(Unreachable, match="blocked"):
        await send_text(adapter)


async def test_a_bare_429_is_still_rate_limited(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.fail_next(429, b"<html>slow down</html>")
    with pytest.raises(RateLimited) as caught:
        await send_text(adapter)
    assert caught.value.retry_after > 0


def tg_error(code: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": code, "description": description}).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, tg_error(403, "Forbidden: bot was blocked by the user"), Unreachable),
        (403, tg_error(403, "Forbidden: user is deactivated"), Unreachable),
        (400, tg_error(400, "Bad Request: message is too long"), BadRequest),
        (400, tg_error(400, "Bad Request: chat not found"), BadRequest),
        (401, tg_error(401, "Unauthorized"), Transient),
        (502, b"<html>Bad Gateway</html>", Transient),
        (500, tg_error(500, "Internal Server Error"), Transient),
    ],
)
async def test_provider_errors_map_to_the_family(
    adapter: TelegramAdapter, fake: FakeTelegramApi, status: int, body: bytes, expected: type
) -> None:
    fake.fail_next(status, body)
    with pytest.raises(expected):
        await send_text(adapter)


async def test_timeout_is_transient(
    server: tuple[FakeTelegramApi, str], fake: FakeTelegramApi
) -> None:
    adapter = make_adapter(server[1], read_timeout=0.2)
    fake.fail_next(200, b'{"ok":true,"result":true}', delay=1.0)
    try:
        with pytest.raises(Transient):
            await send_text(adapter)
    finally:
        await adapter.aclose()


async def test_unreachable_api_is_transient() -> None:
    adapter = make_adapter(f"http://127.0.0.1:{free_port()}", connect_timeout=1.0)
    try:
        with pytest.raises(Transient):
            await send_text(adapter)
    finally:
        await adapter.aclose()


# -- files, webhook registration, polling -------------------------------------------------


async def test_file_url_points_at_a_downloadable_file(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.add_file("AgACAgUAAxkBAAMFaSK1-large", "photos/file_7.jpg", b"\xff\xd8jpeg bytes")
    url = await adapter.file_url("AgACAgUAAxkBAAMFaSK1-large")
    assert url.endswith("/file/bot123456:TEST-token/photos/file_7.jpg")
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.content == b"\xff\xd8jpeg bytes"
    with pytest.raises(BadRequest):
        await adapter.file_url("unknown")


async def test_set_webhook_sends_the_secret_and_update_types(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    await adapter.set_webhook("https://paht.example.vn/channels/telegram/webhook")
    [call] = fake.calls_to("setWebhook")
    assert call.params["url"] == "https://paht.example.vn/channels/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.json("allowed_updates") == ["message", "callback_query"]


async def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def test_polling_hands_updates_to_the_webhook_path_and_advances_the_offset(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.add_update(sample("text"))
    fake.add_update(sample("photo_caption"))
    received: list[RawRequest] = []

    async def handle(request: RawRequest) -> None:
        received.append(request)

    stop = asyncio.Event()
    task = asyncio.create_task(adapter.poll(handle, stop=stop, timeout=1))
    await wait_for(lambda: len(fake.calls_to("getUpdates")) >= 2)
    stop.set()
    await asyncio.wait_for(task, 5)

    assert len(received) == 2
    for request in received:
        adapter.verify(request)  # signed with the secret, like a webhook
    [text], [photo] = (adapter.parse(r) for r in received)
    assert text.message_id == "734118001" and text.text.startswith("đèn đường hư")
    assert photo.media[0].provider_ref == "AgACAgUAAxkBAAMFaSK1-large"
    first, second = fake.calls_to("getUpdates")[:2]
    assert "offset" not in first.params
    assert second.params["offset"] == "734118003"  # both confirmed
    assert json.loads(first.params["allowed_updates"]) == ["message", "callback_query"]


async def test_polling_skips_an_update_its_handler_fails_and_waits_out_errors(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.fail_next(502, b"")
    fake.add_update(sample("text"))
    fake.add_update(sample("location"))
    received: list[RawRequest] = []

    async def handle(request: RawRequest) -> None:
        received.append(request)
        if len(received) == 1:
            raise RuntimeError("the backend failed")

    stop = asyncio.Event()
    task = asyncio.create_task(adapter.poll(handle, stop=stop, timeout=1, backoff=0.05))
    await wait_for(lambda: len(fake.calls_to("getUpdates")) >= 3)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(received) == 2
    assert fake.calls_to("getUpdates")[2].params["offset"] == "734118004"


async def test_polling_stops_promptly_during_a_long_poll(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.hold_seconds = 30
    stop = asyncio.Event()

    async def handle(request: RawRequest) -> None:
        raise AssertionError("no updates expected")

    task = asyncio.create_task(adapter.poll(handle, stop=stop, timeout=30))
    await wait_for(lambda: len(fake.calls_to("getUpdates")) >= 1)
    stop.set()
    await asyncio.wait_for(task, 2)
    fake.hold_seconds = 0  # let the fake's pending long poll end


async def test_polling_ends_on_a_conflict(adapter: TelegramAdapter, fake: FakeTelegramApi) -> None:
    import telegram.error

    fake.fail_next(
        409, tg_error(409, "Conflict: can't use getUpdates method while webhook is active")
    )

    async def handle(request: RawRequest) -> None:
        raise AssertionError("no updates expected")

    with pytest.raises(telegram.error.Conflict):
        await asyncio.wait_for(adapter.poll(handle, stop=asyncio.Event(), timeout=1), 5)
