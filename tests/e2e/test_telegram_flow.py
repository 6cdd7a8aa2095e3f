"""A citizen reports on Telegram: real python-telegram-bot against a fake Bot API server."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from backend.app import create_app
from backend.channels.models import InboxMessage
from backend.channels.registry import Channels
from backend.db import make_session_factory
from backend.reports.models import Report
from channels.telegram import TelegramAdapter
from nlu import Nlu
from tests.conftest import make_settings
from tests.e2e.conftest import settled, wait_for
from tests.fakes.server import serve
from tests.fakes.telegram_api import FakeTelegramApi

TOKEN, SECRET = "123456:E2E-token", "e2e-secret"
CHAT = {"id": 5550001, "type": "private", "first_name": "Hoa"}
USER = {"id": 5550001, "is_bot": False, "first_name": "Hoa"}
_ids = itertools.count(1000)


def _message(**content: Any) -> dict[str, Any]:
    n = next(_ids)
    return {
        "update_id": n,
        "message": {"message_id": n, "date": 1763895800, "chat": CHAT, "from": USER, **content},
    }


def _button(data: str) -> dict[str, Any]:
    n = next(_ids)
    return {
        "update_id": n,
        "callback_query": {"id": f"cb{n}", "from": USER, "chat_instance": "1", "data": data},
    }


@pytest.fixture
def telegram(
    engine: Engine, database_url: str, nlu: Nlu
) -> Iterator[tuple[TestClient, FakeTelegramApi]]:
    fake = FakeTelegramApi(TOKEN)
    with serve(fake.app) as url:
        adapter = TelegramAdapter(
            TOKEN, SECRET, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot"
        )
        channels = Channels(webhook={"telegram": adapter}, senders={"telegram": adapter})
        app = create_app(make_settings(database_url=database_url), nlu=nlu, channels=channels)
        with TestClient(app) as client:
            yield client, fake


def _post(client: TestClient, update: dict[str, Any], secret: str = SECRET) -> int:
    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}
    return client.post(
        "/channels/telegram/webhook", content=json.dumps(update), headers=headers
    ).status_code


def _say(client: TestClient, fake: FakeTelegramApi, update: dict[str, Any]) -> str:
    """Post one update and return the text of the bot's last reply to it."""
    before = len(fake.calls_to("sendMessage"))
    assert _post(client, update) == 200
    engine = client.app.state.sessions.kw["bind"]  # type: ignore[attr-defined]
    wait_for(lambda: len(fake.calls_to("sendMessage")) > before and settled(engine))
    return fake.calls_to("sendMessage")[-1].params["text"]


def test_full_report_with_photo_location_and_contact(
    telegram: tuple[TestClient, FakeTelegramApi], engine: Engine
) -> None:
    client, fake = telegram
    assert "Xin chào" in _say(client, fake, _message(text="/start"))
    asked = _say(
        client,
        fake,
        _message(text="Cột điện nghiêng sắp đổ trước trường tiểu học, dây điện võng sát đầu người"),
    )
    assert "ở đâu" in asked
    asked = _say(client, fake, _message(location={"latitude": 10.2537, "longitude": 105.9722}))
    assert "ảnh" in asked
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "large-photo", "file_unique_id": "l", "width": 1280, "height": 960},
    ]
    assert "Đã nhận 1 ảnh" in _say(client, fake, _message(photo=photo))
    assert "công khai" in _say(client, fake, _button("/media:done"))
    asked = _say(client, fake, _button("/public:no"))
    keyboard = fake.calls_to("sendMessage")[-1].json("reply_markup")
    assert "số điện thoại" in asked and "keyboard" in keyboard  # the "share my number" button
    contact = {"phone_number": "0987654321", "first_name": "Hoa", "user_id": USER["id"]}
    summary = _say(client, fake, _message(contact=contact))
    while "kiểm tra lại" not in summary:  # the NLU may ask for the category
        summary = _say(
            client,
            fake,
            _button(
                fake.calls_to("sendMessage")[-1].json("reply_markup")["inline_keyboard"][0][0][
                    "callback_data"
                ]
            ),
        )
    done = _say(client, fake, _button("/confirm"))
    assert "Mã phản ánh" in done
    wait_for(lambda: len(fake.calls_to("answerCallbackQuery")) >= 3)  # every press answered

    with make_session_factory(engine)() as session:
        report = session.scalars(select(Report)).one()
        assert report.channel == "telegram"
        assert report.reporter_phone == "+84987654321"
        assert (report.lat, report.lon) == (10.2537, 105.9722)
        assert [a.provider_ref for a in report.attachments] == ["large-photo"]


def test_forged_and_redelivered_updates(
    telegram: tuple[TestClient, FakeTelegramApi], engine: Engine
) -> None:
    client, fake = telegram
    update = _message(text="xin chào")
    assert _post(client, update, secret="wrong") == 403
    assert _post(client, update) == 200
    wait_for(lambda: fake.calls_to("sendMessage"))
    assert _post(client, update) == 200  # Telegram retries
    assert _post(client, {"update_id": "garbage"}) == 200  # acknowledged, ignored
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 1
    assert len(fake.calls_to("sendMessage")) == 1
