"""The adapter contract, run against the SMS channel's generic HTTP gateway provider."""

from __future__ import annotations

import pytest

from channels.base import Outgoing, RawRequest
from channels.sms_gateway import GatewaySmsAdapter
from tests.channels.contract import AdapterContract, SendFailure, failing_send
from tests.channels.sms_gateway.conftest import CITIZEN, URL, json_body, signed
from tests.fakes.sms_gateway import FakeGateway


class TestGatewaySmsContract(AdapterContract):
    @pytest.fixture
    def text_request(self) -> RawRequest:
        return signed(json_body(content="đèn đường hư ở ấp 3"))

    @pytest.fixture
    def forged_request(self) -> RawRequest:
        return signed(json_body(content="đèn đường hư ở ấp 3"), secret="guessed")

    @pytest.fixture
    def unsigned_request(self) -> RawRequest:
        body = json_body(content="đèn đường hư ở ấp 3")
        return RawRequest(method="POST", url=URL, headers={}, body=body)

    @pytest.fixture
    def malformed_request(self) -> RawRequest:
        return signed(b'{"from": "0912345678", "text": "wrong field names"}')

    @pytest.fixture
    def send_failure(self, adapter: GatewaySmsAdapter, fake: FakeGateway) -> SendFailure:
        outgoing = Outgoing(recipient=CITIZEN, payload={"body": "x"})
        return failing_send(fake.answer_next, lambda: adapter.send(outgoing))
