"""`paht telegram-polling`: updates fetched with getUpdates take the webhook path."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from backend.migrate import upgrade
from backend.telegram_cli import poll
from tests.conftest import make_settings
from tests.fakes.server import serve
from tests.fakes.telegram_api import FakeTelegramApi

TOKEN = "123456:POLL-token"


async def test_polled_update_is_answered(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'poll.db'}"
    upgrade(database_url)
    fake = FakeTelegramApi(TOKEN)
    fake.add_update(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1763895800,
                "chat": {"id": 42, "type": "private", "first_name": "Ba"},
                "from": {"id": 42, "is_bot": False, "first_name": "Ba"},
                "text": "xin chào",
            },
        }
    )
    with serve(fake.app) as url:
        settings = make_settings(
            database_url=database_url,
            telegram={"bot_token": TOKEN, "secret_token": "poll-secret", "api_base": url},
        )
        task = asyncio.create_task(poll(settings))
        for _ in range(300):
            if fake.calls_to("sendMessage") or task.done():
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    replies = fake.calls_to("sendMessage")
    assert replies and "Xin chào" in replies[0].params["text"]
    assert replies[0].params["chat_id"] == "42"
