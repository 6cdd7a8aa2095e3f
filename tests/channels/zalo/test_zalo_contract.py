"""The adapter contract, run against the Zalo OA adapter."""

from __future__ import annotations

import pytest

from channels.base import RawRequest
from channels.zalo import ZaloAdapter
from tests.channels.contract import AdapterContract, SendFailure, failing_send
from tests.channels.zalo.conftest import body, sign, text_out, webhook
from tests.fakes.zalo_api import FakeZalo


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
        return failing_send(fake.fail_next, lambda: adapter.send(text_out(adapter)))
