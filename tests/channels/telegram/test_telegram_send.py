"""The Telegram adapter's sends through the real PTB `Bot` to a fake Bot API on 127.0.0.1,
and the API's errors, timeouts and absence mapped to the error family.
"""

from __future__ import annotations

import pytest

from bot.messages import Button, Reply
from channels.base import BadRequest, Outgoing, RateLimited, Transient, Unreachable
from channels.telegram import SHARE_PHONE, TelegramAdapter
from tests.channels.telegram.conftest import (
    CITIZEN,
    make_adapter,
    sample,
    send_text,
    tg_error,
    webhook,
)
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegramApi


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


async def test_timeout_is_transient(fake: FakeTelegramApi, fake_url: str) -> None:
    adapter = make_adapter(fake_url, read_timeout=0.2)
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
