"""The SMS channel's Twilio provider, inbound: recorded forms, signatures, a fuzzed parser.

Inbound posts are the recorded forms in tests/data/sms/ signed as Twilio signs them
(`tests.fakes.signing`).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import PayloadError, RawRequest, SignatureError
from channels.sms import TwilioSmsAdapter
from tests.channels.sms.conftest import (
    CITIZEN,
    INTERNAL,
    PATH,
    PUBLIC,
    SID,
    TOKEN,
    recorded,
    text_form,
    twilio_request,
)
from tests.fakes.signing import twilio_shared_key_headers

# -- Twilio inbound -----------------------------------------------------------------


async def test_recorded_sms_is_parsed(adapter: TwilioSmsAdapter) -> None:
    request = twilio_request(recorded("twilio_sms.form"))
    adapter.verify(request)
    [message] = adapter.parse(request)
    assert message.channel == "sms" and message.sender_id == CITIZEN
    assert message.message_id == "SM5d3c1f0a9b8e4c7d6a5b4c3d2e1f0a9b"
    assert message.text == "Đèn đường hư ở ấp 3, xã Long Hồ, 2 tuần nay chưa sửa"
    assert message.media == () and message.contact_phone is None


async def test_recorded_mms_carries_two_media(adapter: TwilioSmsAdapter) -> None:
    request = twilio_request(recorded("twilio_mms.form"))
    adapter.verify(request)
    [message] = adapter.parse(request)
    assert message.sender_id == CITIZEN and message.message_id.startswith("MM")
    image, video = message.media
    assert (image.kind, image.mime_type) == ("image", "image/jpeg")
    assert (video.kind, video.mime_type) == ("video", "video/mp4")
    assert image.url and image.url.startswith(f"https://api.twilio.com/2010-04-01/Accounts/{SID}/")
    assert image.provider_ref == "ME1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
    assert adapter.media_auth() == (SID, TOKEN)


async def test_status_callback_gives_the_bot_nothing(adapter: TwilioSmsAdapter) -> None:
    request = twilio_request(recorded("twilio_status.form"))
    adapter.verify(request)
    assert adapter.parse(request) == []


@pytest.mark.parametrize(
    "body",
    [
        b"MessageSid=SM1&From=%2B84912345678&NumMedia=two",
        b"MessageSid=SM1&From=%2B84912345678&NumMedia=1",
        b"MessageSid=SM1&From=%2B84912345678&NumMedia=1&MediaUrl0=file%3A%2F%2F%2Fetc%2Fpasswd",
        b"MessageSid=SM1&From=not-a-number",
        b"MessageSid=SM%2F..&From=%2B84912345678",
        b"\xff\xfe",
    ],
)
async def test_malformed_forms_are_payload_errors(adapter: TwilioSmsAdapter, body: bytes) -> None:
    with pytest.raises(PayloadError):
        adapter.parse(RawRequest(method="POST", url=INTERNAL + PATH, headers={}, body=body))


# -- Twilio signatures ----------------------------------------------------------------


async def test_public_url_setting_decides_what_is_verified(fake_url: str) -> None:
    request = twilio_request(recorded("twilio_sms.form"))  # Twilio signed the public URL
    behind_proxy = TwilioSmsAdapter(
        account_sid=SID, auth_token=TOKEN, from_number="X", public_base_url=PUBLIC + "/"
    )
    behind_proxy.verify(request)
    assert behind_proxy.signed_url(request) == PUBLIC + PATH
    unconfigured = TwilioSmsAdapter(account_sid=SID, auth_token=TOKEN, from_number="X")
    with pytest.raises(SignatureError):
        unconfigured.verify(request)  # the internal http:// URL is not what Twilio signed
    # the backend may instead hand over the public URL itself
    unconfigured.verify(
        RawRequest(method="POST", url=PUBLIC + PATH, headers=request.headers, body=request.body)
    )
    http_public = TwilioSmsAdapter(
        account_sid=SID,
        auth_token=TOKEN,
        from_number="X",
        public_base_url="http://paht.example.gov.vn",
    )
    with pytest.raises(SignatureError):
        http_public.verify(request)  # scheme is part of the signature
    await asyncio.gather(behind_proxy.aclose(), unconfigured.aclose(), http_public.aclose())


async def test_query_string_and_default_port_are_part_of_the_signed_url() -> None:
    body = text_form()
    adapter = TwilioSmsAdapter(
        account_sid=SID, auth_token=TOKEN, from_number="X", public_base_url=PUBLIC
    )
    signed = twilio_request(
        body, signed_url=f"{PUBLIC}:443{PATH}?tenant=vl", url=f"{INTERNAL}{PATH}?tenant=vl"
    )
    adapter.verify(signed)
    other_query = RawRequest(
        method="POST", url=f"{INTERNAL}{PATH}?tenant=xx", headers=signed.headers, body=body
    )
    with pytest.raises(SignatureError):
        adapter.verify(other_query)
    await adapter.aclose()


async def test_known_twilio_example_signature() -> None:
    adapter = TwilioSmsAdapter(account_sid=SID, auth_token="12345", from_number="X")
    body = urlencode(
        {
            "CallSid": "CA1234567890ABCDE",
            "Caller": "+12349013030",
            "Digits": "1234",
            "From": "+12349013030",
            "To": "+18005551212",
        }
    ).encode()
    headers = {"x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    adapter.verify(RawRequest(method="POST", url=url, headers=headers, body=body))
    tampered = body.replace(b"Digits=1234", b"Digits=1235")
    with pytest.raises(SignatureError):
        adapter.verify(RawRequest(method="POST", url=url, headers=headers, body=tampered))
    await adapter.aclose()


async def test_repeated_parameters_and_extra_params_are_signed(adapter: TwilioSmsAdapter) -> None:
    body = text_form() + b"&Extra=1&Extra=2&NewTwilioParam=x"
    adapter.verify(twilio_request(body))
    forged = twilio_request(text_form() + b"&Extra=1")
    with pytest.raises(SignatureError):
        adapter.verify(RawRequest(method="POST", url=forged.url, headers=forged.headers, body=body))


async def test_shared_key_signatures_need_the_shared_key() -> None:
    body = text_form()
    signed = twilio_request(body, token="shared-key-secret", signed_url=PUBLIC + PATH)
    headers = {
        **signed.headers,
        **twilio_shared_key_headers("shared-key-secret", PUBLIC + PATH, body),
    }
    request = RawRequest(method="POST", url=signed.url, headers=headers, body=body)
    with_key = TwilioSmsAdapter(
        account_sid=SID,
        auth_token=TOKEN,
        from_number="X",
        public_base_url=PUBLIC,
        webhook_shared_key="shared-key-secret",
    )
    with_key.verify(request)
    without_key = TwilioSmsAdapter(
        account_sid=SID, auth_token=TOKEN, from_number="X", public_base_url=PUBLIC
    )
    with pytest.raises(SignatureError):
        without_key.verify(request)
    await asyncio.gather(with_key.aclose(), without_key.aclose())


# -- fuzz ---------------------------------------------------------------------------------

_FIELDS = st.sampled_from(
    ["MessageSid", "SmsSid", "From", "Body", "NumMedia", "MediaUrl0", "MediaContentType0",
     "MediaUrl1", "SmsStatus", "MessageStatus", "To", "X"]
)  # fmt: skip


_PARSER = TwilioSmsAdapter(account_sid=SID, auth_token=TOKEN, from_number="X")


@settings(max_examples=300)
@given(
    fields=st.lists(st.tuples(_FIELDS, st.text(max_size=40)), max_size=12),
    raw=st.binary(max_size=200),
)
def test_twilio_parser_fuzz(fields: list[tuple[str, str]], raw: bytes) -> None:
    for body in (urlencode(fields).encode(), raw):
        try:
            result = _PARSER.parse(RawRequest(method="POST", url=PATH, headers={}, body=body))
        except PayloadError:
            continue
        assert isinstance(result, list)
