"""The SMS channel: segment arithmetic, SMS rendering, and the Twilio provider end to end.

Twilio sends go through the real twilio SDK (`Client.messages.create_async`)
against a fake Messages API on 127.0.0.1; inbound posts are the recorded forms
in tests/data/sms/ signed with twilio's own RequestValidator.
"""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import HMAC_SHA256, RequestValidator

from bot import templates as t
from bot.messages import Button, Reply
from channels.base import (
    BadRequest,
    Outgoing,
    PayloadError,
    RateLimited,
    RawRequest,
    SignatureError,
    Transient,
    Unreachable,
)
from channels.sms import InvalidPhone, SmsStyle, TwilioSmsAdapter, normalise_phone, render_sms
from channels.sms_text import GSM7_BASIC, GSM7_EXTENSION, measure, sms_text, to_gsm7
from tests.channels.contract import REPLIES, VIETNAMESE_MARKS, AdapterContract
from tests.fakes.server import free_port, serve
from tests.fakes.twilio_api import FakeTwilio

DATA = Path(__file__).resolve().parents[1] / "data" / "sms"
SID = "AC00000000000000000000000000000011"
TOKEN = "twilio-auth-token-for-tests"
PUBLIC = "https://paht.example.gov.vn"
INTERNAL = "http://10.0.0.5:8000"
PATH = "/channels/sms/twilio"
CITIZEN = "+84912345678"


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes().strip()


def twilio_request(
    body: bytes, *, token: str = TOKEN, signed_url: str = PUBLIC + PATH, url: str = INTERNAL + PATH
) -> RawRequest:
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode(), keep_blank_values=True):
        params.setdefault(name, []).append(value)
    signature = RequestValidator(token).compute_signature(signed_url, _MultiDict(params))
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": signature,
    }
    return RawRequest(method="POST", url=url, headers=headers, body=body)


class _MultiDict(dict[str, list[str]]):
    def getlist(self, name: str) -> list[str]:
        return self[name]


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
def fake() -> Iterator[FakeTwilio]:
    yield FakeTwilio(SID, TOKEN)


@pytest.fixture(scope="module")
def fake_url(fake: FakeTwilio) -> Iterator[str]:
    with serve(fake.app) as url:
        yield url


@pytest.fixture
async def adapter(fake: FakeTwilio, fake_url: str) -> AsyncIterator[TwilioSmsAdapter]:
    fake.reset()
    adapter = TwilioSmsAdapter(
        account_sid=SID,
        auth_token=TOKEN,
        from_number="VINHLONG_SO",
        public_base_url=PUBLIC,
        api_base_url=fake_url,
    )
    yield adapter
    await adapter.aclose()


class TestTwilioSmsContract(AdapterContract):
    @pytest.fixture
    def text_request(self) -> RawRequest:
        return twilio_request(text_form())

    @pytest.fixture
    def forged_request(self) -> RawRequest:
        return twilio_request(text_form(), token="not-the-auth-token")

    @pytest.fixture
    def unsigned_request(self, text_request: RawRequest) -> RawRequest:
        headers = {k: v for k, v in text_request.headers.items() if k != "x-twilio-signature"}
        return RawRequest(
            method="POST", url=text_request.url, headers=headers, body=text_request.body
        )

    @pytest.fixture
    def malformed_request(self) -> RawRequest:
        return twilio_request(b"Body=no+sender+and+no+sid&NumMedia=0")

    @pytest.fixture
    def send_failure(self, adapter: TwilioSmsAdapter, fake: FakeTwilio):  # type: ignore[no-untyped-def]
        async def fail(status: int, body: bytes) -> Exception | None:
            fake.fail_next(status, body)
            try:
                await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
            except Exception as exc:
                return exc
            return None

        return fail


# -- encoding and segments ------------------------------------------------------

VIETNAMESE_152 = (
    "Phản ánh 202611230001 đã được chuyển đến UBND xã Long Hồ xử lý. Hạn trả lời "
    "trước ngày 30/11/2026. Tra cứu: nhắn TRA CUU 202611230001. Xin cảm ơn bạn ạ."
)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters count double
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),  # an escape pair is never split
        ("{[]}" + "a" * 152, "GSM-7", 160, 1),
        ("àèéìòù Ñ ü @£$¥", "GSM-7", 15, 1),  # these accented letters are GSM-7
        ("ă" * 70, "UCS-2", 70, 1),
        ("ă" * 71, "UCS-2", 71, 2),
        ("ă" * 134, "UCS-2", 134, 2),
        ("ă" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
        ("a" * 159 + "đ", "UCS-2", 160, 3),  # one Vietnamese letter turns all of it UCS-2
        (VIETNAMESE_152, "UCS-2", 152, 3),
        (to_gsm7(VIETNAMESE_152), "GSM-7", 152, 1),
    ],
)
def test_encoding_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    length = measure(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_gsm_tables_are_complete() -> None:
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10  # 128 codes minus ESC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đèn đường hư", "Den duong hu"),
        ("KHẨN CẤP", "KHAN CAP"),
        ("bấm «Xong»", 'bam "Xong"'),
        ("“trích dẫn” – … •", '"trich dan" - ... -'),
        ("khoảng\u00a0cách\ttab", "khoang cach tab"),
        ("Ứng Ửng Ựng Ỳ ỹ", "Ung Ung Ung Y y"),
        ("😀 ✓", "? ?"),
        ("Œuvre ß", "?uvre ß"),
    ],
)
def test_to_gsm7(text: str, expected: str) -> None:
    assert to_gsm7(text) == expected
    assert measure(to_gsm7(text)).encoding == "GSM-7"


def test_every_vietnamese_letter_folds_into_gsm7() -> None:
    letters = "".join(sorted(VIETNAMESE_MARKS)) + "".join(sorted(VIETNAMESE_MARKS)).upper()
    folded = to_gsm7(letters)
    assert len(folded) == len(letters)
    assert set(folded) <= set(string.ascii_letters)


# -- rendering and degradation -----------------------------------------------------

YES_NO = Reply(
    text="Bạn có đồng ý không?",
    buttons=(Button(title="Có", payload="/yes"), Button(title="Không", payload="/no")),
)
CODE = "202611230001"


def test_options_become_numbered_lines_without_diacritics() -> None:
    [out] = render_sms([YES_NO], CITIZEN, SmsStyle())
    assert out.payload["body"] == "Ban co dong y khong?\n1. Co\n2. Khong\nTra loi bang so thu tu."
    assert (out.payload["encoding"], out.payload["segments"], out.kind) == ("GSM-7", 1, "sms")
    assert SmsStyle().capabilities.max_buttons == 0


def test_press_becomes_text_and_prompts_are_plain_text() -> None:
    contact = sms_text(t.ask_contact())
    assert 'nhan "Gui an danh"' in contact and "bam" not in contact
    assert "Nhan so dien thoai trong tin tra loi." in contact
    assert "Nhan dia chi trong tin tra loi." in sms_text(t.ask_location())


def test_images_are_dropped_or_become_a_link() -> None:
    reply = Reply(text="Ảnh hiện trường", image="https://paht.example.gov.vn/m/1.jpg")
    assert sms_text(reply) == "Anh hien truong"
    assert (
        sms_text(reply, image_urls=True) == "Anh hien truong\nhttps://paht.example.gov.vn/m/1.jpg"
    )


def test_diacritics_kept_when_they_fit_and_dropped_when_the_budget_needs_it() -> None:
    assert sms_text(YES_NO, diacritics=True).startswith("Bạn có đồng ý không?\n1. Có")
    long = Reply(text=VIETNAMESE_152 + " Nội dung thêm, đủ để vượt quá ba phần tin nhắn có dấu.")
    assert measure(long.text).segments == 4
    text = sms_text(long, segments=3, diacritics=True)
    assert measure(text).encoding == "GSM-7" and CODE in text
    assert SmsStyle(diacritics=True).capabilities.diacritics


def test_politeness_tail_goes_first_and_the_report_code_stays_whole() -> None:
    reply = Reply(
        text=(
            f"Đã tiếp nhận phản ánh của bạn. Mã phản ánh: {CODE}. "
            "Cán bộ sẽ xem xét và trả lời bạn trong thời gian sớm nhất có thể. "
            "Cảm ơn bạn đã đồng hành cùng chính quyền. Chúc bạn một ngày tốt lành!"
        )
    )
    full = sms_text(reply, segments=2)
    assert "Cam on" in full
    one = sms_text(reply, segments=1)
    assert measure(one).segments == 1
    assert f"Ma phan anh: {CODE}." in one
    assert "Cam on" not in one and "Chuc" not in one


def test_a_polite_sentence_with_a_code_is_not_politeness() -> None:
    reply = Reply(text="Nội dung dài. " * 20 + f"Cảm ơn bạn, mã phản ánh của bạn là {CODE}.")
    assert f"ma phan anh cua ban la {CODE}." in sms_text(reply, segments=1)


def test_a_sentence_with_numbers_is_kept_whole_or_dropped() -> None:
    reply = Reply(
        text="Chào bạn. " + "Thông tin chung rất dài. " * 3 + f"Tra cứu bằng mã {CODE} khi cần."
    )
    for segments in (1, 2):
        text = sms_text(reply, segments=segments)
        assert measure(text).segments <= segments
        assert f"Tra cuu bang ma {CODE} khi can." in text


def test_long_and_template_replies_respect_every_budget() -> None:
    replies = [*REPLIES.values(), t.help_text(), t.ask_public(), t.edit_menu(), t.ask_contact()]
    for segments in range(1, 6):
        for reply in replies:
            text = sms_text(reply, segments=segments)
            assert text and measure(text).segments <= segments, (segments, reply.text[:30])
            assert measure(text).encoding == "GSM-7"


def test_budget_is_configurable_and_bounded() -> None:
    assert SmsStyle(segment_budget=1).capabilities.max_text == 160
    assert SmsStyle().capabilities.max_text == 459
    with pytest.raises(ValueError):
        SmsStyle(segment_budget=0)


_WORD = st.text(alphabet="abcđêôơưăâáàảãạ0123456789.,:?!«»", min_size=1, max_size=15)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(_WORD, max_size=120),
    titles=st.lists(_WORD, max_size=6),
    segments=st.integers(1, 4),
)
def test_shortening_never_cuts_a_number(words: list[str], titles: list[str], segments: int) -> None:
    reply = Reply(
        text=" ".join(words), buttons=tuple(Button(title=w, payload="/x") for w in titles)
    )
    text = sms_text(reply, segments=segments)
    assert measure(text).segments <= segments
    if words or titles:
        assert text.strip()
    source = {w.strip('.,:?!"') for w in to_gsm7(" ".join(words + titles)).split()}
    options = {f"{i}. {to_gsm7(' '.join(w.split()))}" for i, w in enumerate(titles, 1)}
    shown = [line.split(" ", 1)[1] if line in options else line for line in text.split("\n")]
    for token in re.findall(r"\S*\d\S*", "\n".join(shown)):
        assert token.strip('.,:?!"') in source, token


# -- phone numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0912345678", CITIZEN),
        ("+84 912 345 678", CITIZEN),
        ("84912345678", CITIZEN),
        ("091.234.5678", CITIZEN),
        ("0559123456", "+84559123456"),
        ("+15005550006", "+15005550006"),
    ],
)
def test_phone_numbers_normalise_to_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "abc", "112", "0912"])
def test_not_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


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
    params = {k: [v] for k, v in parse_qsl(body.decode())}
    signature = RequestValidator("shared-key-secret").compute_signature(
        PUBLIC + PATH, _MultiDict(params), algorithm=HMAC_SHA256
    )
    headers = {
        **signed.headers,
        "x-twilio-signature": signature,
        "x-twilio-webhooks-signature-settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
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


# -- Twilio sends through the real SDK --------------------------------------------------


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
