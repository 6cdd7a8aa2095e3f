"""The SMS channel's Twilio provider under test: recorded forms signed as Twilio signs them,
and the adapter sending through the real twilio SDK to a fake Messages API on 127.0.0.1.

The inbound posts are the recorded forms in tests/data/sms/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.messages import Button, Reply
from channels.base import RawRequest
from channels.sms import TwilioSmsAdapter
from tests.fakes.signing import TWILIO_SIGNATURE, twilio_signature
from tests.fakes.twilio_api import FakeTwilio

DATA = Path(__file__).resolve().parents[2] / "data" / "sms"
SID = "AC00000000000000000000000000000011"
TOKEN = "twilio-auth-token-for-tests"
PUBLIC = "https://paht.example.gov.vn"
INTERNAL = "http://10.0.0.5:8000"
PATH = "/channels/sms/twilio"
CITIZEN = "+84912345678"
YES_NO = Reply(
    text="Bạn có đồng ý không?",
    buttons=(Button(title="Có", payload="/yes"), Button(title="Không", payload="/no")),
)


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes().strip()


def twilio_request(
    body: bytes, *, token: str = TOKEN, signed_url: str = PUBLIC + PATH, url: str = INTERNAL + PATH
) -> RawRequest:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        TWILIO_SIGNATURE: twilio_signature(token, signed_url, body),
    }
    return RawRequest(method="POST", url=url, headers=headers, body=body)


def text_form(body: str = "đèn đường hư ở ấp 3") -> bytes:
    fields = {
        "MessageSid": "SM11111111111111111111111111111111",
        "AccountSid": SID,
        "From": CITIZEN,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
    }
    return urlencode(fields).encode()


@pytest.fixture(scope="module")
def provider() -> FakeTwilio:
    return FakeTwilio(SID, TOKEN)


@pytest.fixture
async def adapter(fake: FakeTwilio, fake_url: str) -> AsyncIterator[TwilioSmsAdapter]:
    adapter = TwilioSmsAdapter(
        account_sid=SID,
        auth_token=TOKEN,
        from_number="VINHLONG_SO",
        public_base_url=PUBLIC,
        api_base_url=fake_url,
    )
    yield adapter
    await adapter.aclose()
