"""The Telegram adapter's other Bot API calls: file downloads (getFile), webhook registration,
and long polling (getUpdates) handing updates to the webhook path.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from channels.base import BadRequest, RawRequest
from channels.telegram import TelegramAdapter
from tests.channels.telegram.conftest import SECRET, sample, tg_error
from tests.fakes.telegram_api import FakeTelegramApi


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
