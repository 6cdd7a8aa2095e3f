"""The Zalo OA adapter, inbound: every recorded event parsed, the X-ZEvent-Signature and its
timestamp window, phone numbers, and malformed and fuzzed bodies.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Inbound, Media
from channels.base import PayloadError, SignatureError
from channels.zalo import normalise_phone
from tests.channels.zalo.conftest import DATA, NOW, PURE, USER, body, make_adapter, sign, webhook

# -- parse: one recorded body per event -------------------------------------------

IMAGE_URL = "https://photo-stal.zadn.vn/org/abc.jpg"
PARSED: dict[str, dict[str, Any] | None] = {
    "user_send_text": {"message_id": "96d3cdf3af150460909"},
    "user_send_text_button": {"payload": "/public:yes", "text": ""},
    "user_send_text_escaped": {"text": "Ngập nước đường Trần Phú"},
    "user_send_image": {"text": "ổ gà trước nhà", "media": (Media(kind="image", url=IMAGE_URL),)},
    "user_send_gif": {
        "media": (
            Media(kind="image", url="https://photo-stal.zadn.vn/org/g.gif", mime_type="image/gif"),
        )
    },
    "user_send_location": {"lat": 10.2537316, "lon": 105.9721938, "text": ""},
    "user_send_file": {
        "media": (
            Media(
                kind="file",
                url="https://f1.zdn.vn/files/don-phan-anh.pdf",
                mime_type="application/pdf",
            ),
        )
    },
    "user_send_audio": {"media": (Media(kind="audio", url="https://voice-stal.zdn.vn/v/abc.amr"),)},
    "user_send_video": {"media": (Media(kind="video", url="https://video-stal.zdn.vn/v/abc.mp4"),)},
    "user_send_link": {"text": "https://baovinhlong.example/ngap-nuoc"},
    "user_submit_info": {
        "contact_phone": "+84793333111",  # 0121 333 3111 renumbered to 079 in 2018
        "sender_name": "Nguyễn Văn An",
        "message_id": "user_submit_info:1763900007000:246845883529197922",
    },
    "follow": {"payload": "/help", "message_id": "follow:1763900008000:246845883529197922"},
    "user_click_chatnow": {"payload": "/help"},
    "user_send_sticker": None,
    "unfollow": None,
    "oa_send_text": None,
    "user_seen_message": None,
    "user_received_message": None,
}


def test_every_recorded_body_is_covered() -> None:
    assert {p.stem for p in DATA.glob("*.json")} == set(PARSED)


@pytest.mark.parametrize("name", sorted(PARSED))
def test_recorded_events_are_verified_and_parsed(name: str) -> None:
    request = webhook(body(name))
    PURE.verify(request)
    messages = PURE.parse(request)
    expected = PARSED[name]
    if expected is None:
        assert messages == []
        return
    assert len(messages) == 1
    message = messages[0]
    assert message.channel == "zalo" and message.sender_id == USER and message.message_id
    for key, value in expected.items():
        assert getattr(message, key) == value, key


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"not json",
        b'{"event_name":"user_send_text","timestamp":"1","sender":{"id":"1"}}',
        b'{"event_name":"user_send_image","timestamp":"1","sender":{"id":"1"},"message":{}}',
        b'{"event_name":"user_send_location","timestamp":"1","sender":{"id":"1"},"message":'
        b'{"attachments":[{"type":"location","payload":{"coordinates":'
        b'{"latitude":"95","longitude":"1"}}}]}}',
        b'{"event_name":"user_send_image","timestamp":"1","sender":{"id":"1"},"message":'
        b'{"attachments":[{"type":"image","payload":{"url":"file:///etc/passwd"}}]}}',
        b'{"event_name":"follow","timestamp":"1"}',
        b'{"event_name":"user_submit_info","timestamp":"1","sender":{"id":"1"}}',
    ],
)
def test_malformed_events_are_payload_errors(raw: bytes) -> None:
    with pytest.raises(PayloadError):
        PURE.parse(webhook(raw, signature=None))


# -- verify ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["mac=", "", "MAC="])
def test_signature_with_or_without_mac_prefix_is_accepted(prefix: str) -> None:
    raw = body("user_send_text_escaped")
    PURE.verify(webhook(raw, sign(raw, prefix=prefix)))
    PURE.verify(webhook(raw, sign(raw, prefix=prefix).upper().replace("MAC=", prefix)))


def test_signature_covers_the_bytes_as_received() -> None:
    raw = body("user_send_text_escaped")
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    with pytest.raises(SignatureError):
        PURE.verify(webhook(reserialised, sign(raw)))
    with pytest.raises(SignatureError):
        PURE.verify(webhook(raw.replace(b"Tr", b"tr"), sign(raw)))


@pytest.mark.parametrize(
    "raw", [b"", b"[1]", b'{"event_name":"follow"}', b'{"timestamp":"12ab"}', b'{"timestamp":true}']
)
def test_a_body_without_a_timestamp_cannot_be_verified(raw: bytes) -> None:
    with pytest.raises(SignatureError):
        PURE.verify(webhook(raw, "mac=" + "0" * 64))


@pytest.mark.parametrize(
    ("clock", "accepted"),
    [
        (NOW + timedelta(hours=12), True),  # a retry hours later carries the original timestamp
        (NOW + timedelta(hours=14), False),
        (NOW - timedelta(minutes=4), True),
        (NOW - timedelta(minutes=10), False),  # from the future
    ],
)
def test_stale_timestamps_are_refused(clock: datetime, accepted: bool) -> None:
    adapter = make_adapter("http://127.0.0.1:9", None, clock=lambda: clock)
    request = webhook(body("user_send_text"))
    if accepted:
        adapter.verify(request)
    else:
        with pytest.raises(SignatureError, match="stale"):
            adapter.verify(request)
    make_adapter("http://127.0.0.1:9", None, clock=lambda: clock, max_age=None).verify(request)


@pytest.mark.parametrize("timestamp", ["0", "9999999999999999"])
def test_absurd_timestamps_are_stale_not_crashes(timestamp: str) -> None:
    raw = body("user_send_text").replace(b'"1763900000000"', f'"{timestamp}"'.encode())
    with pytest.raises(SignatureError, match="stale"):
        PURE.verify(webhook(raw))


# -- phones and fuzz ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("84912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("+84 912.345.678", "+84912345678"),
        ("841693333111", "+84393333111"),  # Viettel 0169 → 039
        ("84551234567", "+84551234567"),  # MVNO range phonenumbers does not know yet
        ("02703822123", "+842703822123"),  # Vĩnh Long landline
        ("+1 415 555 0100", "+14155550100"),  # a foreign Zalo user keeps their number
        ("+1 000 000", None),
        ("12345", None),
        ("không có", None),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


SAMPLES = [json.loads(body(name)) for name in sorted(PARSED)]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON document."""
    keys = (
        node.keys()
        if isinstance(node, dict)
        else range(len(node))
        if isinstance(node, list)
        else []
    )
    return [slot for key in keys for slot in [(node, key), *_slots(node[key])]]


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    event = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(_slots(event)))
        if draw(st.booleans()) and isinstance(container, dict):
            del container[key]
        else:
            container[key] = draw(JSON_VALUES)
        if not _slots(event):
            break
    return json.dumps(event).encode()


def _parse_or_refuse(raw: bytes) -> None:
    try:
        messages = PURE.parse(webhook(raw, signature=None))
    except PayloadError:
        return
    assert isinstance(messages, list) and all(isinstance(m, Inbound) for m in messages)
    with pytest.raises(SignatureError):
        PURE.verify(webhook(raw, "mac=" + "0" * 64))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_fuzzed_events_parse_or_raise_payload_error(raw: bytes) -> None:
    _parse_or_refuse(raw)


@settings(max_examples=200)
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_fuzzed_bodies_parse_or_raise_payload_error(raw: bytes) -> None:
    _parse_or_refuse(raw)


def test_a_deeply_nested_body_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        PURE.parse(webhook(b"[" * 100_000 + b"]" * 100_000, signature=None))
