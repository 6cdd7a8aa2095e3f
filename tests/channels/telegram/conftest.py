"""The Telegram adapter under test: sample updates posted as Telegram posts them, and the real
python-telegram-bot `Bot` talking to a fake Bot API on 127.0.0.1.

The updates in tests/data/telegram/ are written by hand in the Bot API's shape (the fields
PTB 22.8 reads), not captured from a live bot: the tests run offline.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.messages import Reply
from channels.base import RawRequest
from channels.telegram import TelegramAdapter
from tests.fakes.signing import telegram_secret_header
from tests.fakes.telegram_api import FakeTelegramApi

DATA = Path(__file__).resolve().parents[2] / "data" / "telegram"
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
        headers.update(telegram_secret_header(secret))
    return RawRequest("POST", "/channels/telegram/webhook", headers, raw)


def make_adapter(url: str, **timeouts: float) -> TelegramAdapter:
    return TelegramAdapter(
        TOKEN, SECRET, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot", **timeouts
    )


async def send_text(adapter: TelegramAdapter) -> None:
    await adapter.send(adapter.render([Reply(text="Xin chào")], CITIZEN)[0])


def tg_error(code: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": code, "description": description}).encode()


@pytest.fixture(scope="module")
def provider() -> FakeTelegramApi:
    return FakeTelegramApi(TOKEN)


@pytest.fixture
async def adapter(fake: FakeTelegramApi, fake_url: str) -> AsyncIterator[TelegramAdapter]:
    adapter = make_adapter(fake_url, read_timeout=2.0)
    yield adapter
    await adapter.aclose()
