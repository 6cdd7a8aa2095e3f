"""The SMS channel's Twilio provider, outbound: sends through the real twilio SDK
(`Client.messages.create_async`) to a fake Messages API on 127.0.0.1, and its errors.
"""

from __future__ import annotations

import asyncio

import pytest

from channels.base import BadRequest, Outgoing, RateLimited, Transient, Unreachable
from channels.sms import TwilioSmsAdapter
from tests.channels.sms.conftest import CITIZEN, PUBLIC, SID, TOKEN, YES_NO
from tests.fakes.server import free_port
from tests.fakes.twilio_api import FakeTwilio


async def test_send_posts_the_message_form_with_basic_auth(
    adapter: TwilioSmsAdapter, fake: FakeTwilio
) -> None:
    [outgoing] = adapter.render([YES_NO], "0912345678")
    sid = await adapter.send(outgoing)
    [call] = fake.calls
    assert call.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert call.auth == (SID, TOKEN)
    assert call.field("To") == CITIZEN and call.field("From") == "VINHLONG_SO"
    assert call.field("Body") == "Ban co dong y khong?\n1. Co\n2. Khong\nTra loi bang so thu tu."
    assert "StatusCallback" not in call.form and "MessagingServiceSid" not in call.form
    assert sid == "SM00000000000000000000000000000001"


async def test_send_through_a_messaging_service_with_status_callback(
    fake: FakeTwilio, fake_url: str
) -> None:
    fake.reset()
    adapter = TwilioSmsAdapter(
        account_sid=SID,
        auth_token=TOKEN,
        messaging_service_sid="MG0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
        status_callback_url=PUBLIC + "/channels/sms/twilio/status",
        api_base_url=fake_url,
    )
    await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "Chao ban"}))
    [call] = fake.calls
    assert call.field("MessagingServiceSid") == "MG0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
    assert call.field("StatusCallback") == PUBLIC + "/channels/sms/twilio/status"
    assert "From" not in call.form
    await adapter.aclose()


async def test_a_slow_send_does_not_block_the_event_loop(
    adapter: TwilioSmsAdapter, fake: FakeTwilio
) -> None:
    fake.delay_next(0.3)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
    ticker.cancel()
    assert ticks >= 10


def _error(code: int, message: str, status: int = 400) -> dict[str, object]:
    return {"code": code, "message": message, "status": status}


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (429, _error(20429, "Too Many Requests", 429), {"Retry-After": "7"}, RateLimited),
        (
            400,
            _error(21610, f"Attempt to send to unsubscribed recipient {CITIZEN}"),
            {},
            Unreachable,
        ),
        (400, _error(21614, "'To' number is not a valid mobile number"), {}, Unreachable),
        (400, _error(21211, f"Invalid 'To' Phone Number: {CITIZEN}"), {}, BadRequest),
        (401, _error(20003, "Authenticate", 401), {}, BadRequest),
        (503, b"<html>busy</html>", {}, Transient),
        (
            400,
            {
                "type": "https://www.twilio.com/docs/errors/21610",
                "title": "Unsubscribed",
                "status": 400,
                "code": 21610,
                "detail": CITIZEN,
            },
            {},
            Unreachable,
        ),  # RFC 9457
    ],
)
async def test_twilio_errors_map_to_the_error_family(
    adapter: TwilioSmsAdapter,
    fake: FakeTwilio,
    status: int,
    body: bytes | dict[str, object],
    headers: dict[str, str],
    expected: type[Exception],
) -> None:
    fake.fail_next(status, body, headers)
    with pytest.raises(expected) as raised:
        await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
    assert "912345678" not in str(raised.value), "logs never hold phone numbers"
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == 7.0


async def test_unreachable_provider_and_bad_recipient() -> None:
    down = TwilioSmsAdapter(
        account_sid=SID,
        auth_token=TOKEN,
        from_number="X",
        api_base_url=f"http://127.0.0.1:{free_port()}",
    )
    with pytest.raises(Transient):
        await down.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
    with pytest.raises(BadRequest):
        await down.send(Outgoing(recipient="recipient-1", payload={"body": "x"}))
    await down.aclose()


def test_twilio_needs_a_sender() -> None:
    with pytest.raises(ValueError):
        TwilioSmsAdapter(account_sid=SID, auth_token=TOKEN)
