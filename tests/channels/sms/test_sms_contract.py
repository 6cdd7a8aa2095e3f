"""The adapter contract, run against the SMS channel's Twilio provider."""

from __future__ import annotations

import pytest

from channels.base import Outgoing, RawRequest
from channels.sms import TwilioSmsAdapter
from tests.channels.contract import AdapterContract, SendFailure, failing_send
from tests.channels.sms.conftest import CITIZEN, text_form, twilio_request
from tests.fakes.signing import TWILIO_SIGNATURE
from tests.fakes.twilio_api import FakeTwilio


class TestTwilioSmsContract(AdapterContract):
    @pytest.fixture
    def text_request(self) -> RawRequest:
        return twilio_request(text_form())

    @pytest.fixture
    def forged_request(self) -> RawRequest:
        return twilio_request(text_form(), token="not-the-auth-token")

    @pytest.fixture
    def unsigned_request(self, text_request: RawRequest) -> RawRequest:
        headers = {k: v for k, v in text_request.headers.items() if k != TWILIO_SIGNATURE}
        return RawRequest(
            method="POST", url=text_request.url, headers=headers, body=text_request.body
        )

    @pytest.fixture
    def malformed_request(self) -> RawRequest:
        return twilio_request(b"Body=no+sender+and+no+sid&NumMedia=0")

    @pytest.fixture
    def send_failure(self, adapter: TwilioSmsAdapter, fake: FakeTwilio) -> SendFailure:
        outgoing = Outgoing(recipient=CITIZEN, payload={"body": "x"})
        return failing_send(fake.fail_next, lambda: adapter.send(outgoing))
