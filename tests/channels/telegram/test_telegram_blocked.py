"""A citizen Telegram will not deliver to any more (blocked the bot, chat gone) is `Blocked`, which
the outbox answers with an SMS; other refusals stay plain bad requests."""

from __future__ import annotations

import pytest

from channels.base import BadRequest, Blocked
from channels.telegram import TelegramAdapter
from tests.channels.telegram.conftest import send_text, tg_error
from tests.fakes.telegram_api import FakeTelegramApi


async def test_blocking_the_bot_is_blocked(adapter: TelegramAdapter, fake: FakeTelegramApi) -> None:
    fake.block_next()
    with pytest.raises(Blocked, match="blocked"):
        await send_text(adapter)


async def test_a_chat_that_is_gone_is_blocked(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.chat_not_found_next()
    with pytest.raises(Blocked) as raised:
        await send_text(adapter)
    assert isinstance(raised.value, BadRequest)  # the same call will never succeed either


@pytest.mark.parametrize(
    "description", ["Forbidden: user is deactivated", "Forbidden: bot can't initiate conversation"]
)
async def test_other_refusals_of_the_citizen_are_blocked(
    adapter: TelegramAdapter, fake: FakeTelegramApi, description: str
) -> None:
    fake.fail_next(403, tg_error(403, description))
    with pytest.raises(Blocked):
        await send_text(adapter)


async def test_a_bad_payload_is_not_blocked(
    adapter: TelegramAdapter, fake: FakeTelegramApi
) -> None:
    fake.fail_next(400, tg_error(400, "Bad Request: message is too long"))
    with pytest.raises(BadRequest) as raised:
        await send_text(adapter)
    assert not isinstance(raised.value, Blocked)
