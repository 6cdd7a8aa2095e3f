"""The adapter contract, run against the Telegram adapter."""

from __future__ import annotations

import pytest

from channels.base import RawRequest
from channels.telegram import TelegramAdapter
from tests.channels.contract import AdapterContract, SendFailure, failing_send
from tests.channels.telegram.conftest import sample, send_text, webhook
from tests.fakes.telegram_api import FakeTelegramApi


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
        return failing_send(fake.fail_next, lambda: send_text(adapter))
