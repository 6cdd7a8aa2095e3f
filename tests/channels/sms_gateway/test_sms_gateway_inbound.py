"""The SMS channel's generic HTTP gateway, inbound: configurable fields, message times,
HMAC signatures and the replay window, and a fuzzed parser.

Inbound posts are the recorded aggregator calls in tests/data/sms/ (JSON and a form with
Vietnamese field names) signed with HMAC-SHA256 (`tests.fakes.signing`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import sms_gateway
from channels.base import PayloadError, RawRequest, SignatureError
from channels.sms_gateway import GatewayInbound, GatewaySmsAdapter
from tests.channels.sms_gateway.conftest import (
    CITIZEN,
    DATA,
    FORM_INBOUND,
    JSON_INBOUND,
    NOW,
    SECRET,
    URL,
    json_body,
    make_adapter,
    signed,
)
from tests.fakes.signing import hmac_sha256

# -- inbound ----------------------------------------------------------------------


async def test_recorded_json_post_with_custom_field_names(adapter: GatewaySmsAdapter) -> None:
    request = signed((DATA / "gateway_message.json").read_bytes())
    adapter.verify(request)
    [message] = adapter.parse(request)
    assert (message.channel, message.sender_id) == ("sms", CITIZEN)
    assert message.message_id == "brandsms:A1B2C3D4"
    assert message.text == "Đèn đường hư ở ấp 3, xã Long Hồ"


def test_recorded_form_post_with_custom_field_names() -> None:
    body = (DATA / "gateway_message.form").read_bytes().strip()
    digest = hmac_sha256(SECRET, body, encoding="base64")
    request = RawRequest(
        method="POST",
        url=URL,
        headers={"content-type": "application/x-www-form-urlencoded", "x-chu-ky": digest},
        body=body,
    )
    adapter = make_adapter("http://127.0.0.1:9", inbound=FORM_INBOUND)
    adapter.verify(request)
    [message] = adapter.parse(request)
    assert (message.sender_id, message.message_id) == (CITIZEN, "gw:771024")
    assert message.text == "den duong hu o ap 3"


def test_batches_nested_fields_and_derived_ids() -> None:
    inbound = GatewayInbound(
        sender_field="sms.sender", text_field="sms.body", message_id_field=None, time_field="ts"
    )
    adapter = make_adapter("http://127.0.0.1:9", inbound=inbound)
    items = [
        {"sms": {"sender": 84912345678, "body": "1"}, "ts": 1795417509},
        {"sms": {"sender": "0987654321", "body": "mất điện"}, "ts": "2026-11-23T14:05:09+07:00"},
    ]
    body = json.dumps(items).encode()
    first, second = adapter.parse(RawRequest(method="POST", url=URL, headers={}, body=body))
    assert (first.sender_id, first.text) == (CITIZEN, "1")
    assert second.sender_id == "+84987654321" and second.message_id.startswith("gw:")
    again = adapter.parse(RawRequest(method="POST", url=URL, headers={}, body=body))
    assert [m.message_id for m in again] == [first.message_id, second.message_id]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"msisdn": "84912345678", "content": "x"}',  # no message id
        b'{"msisdn": "hello", "content": "x", "sms_id": "1"}',
        b'{"msisdn": "84912345678", "content": {"a": 1}, "sms_id": "1"}',
        b'{"msisdn": "84912345678", "content": "x", "sms_id": ""}',
        json.dumps([{"msisdn": "84912345678", "content": "x", "sms_id": "1"}] * 101).encode(),
    ],
)
def test_malformed_posts_are_payload_errors(body: bytes) -> None:
    adapter = make_adapter("http://127.0.0.1:9")
    with pytest.raises(PayloadError):
        adapter.parse(RawRequest(method="POST", url=URL, headers={}, body=body))


VN = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("raw", "fmt", "expected"),
    [
        (1795417509, None, datetime(2026, 11, 23, 7, 5, 9, tzinfo=UTC)),
        (1795417509000, None, datetime(2026, 11, 23, 7, 5, 9, tzinfo=UTC)),
        ("1795417509", None, datetime(2026, 11, 23, 7, 5, 9, tzinfo=UTC)),
        ("2026-11-23 14:05:09", None, datetime(2026, 11, 23, 7, 5, 9, tzinfo=UTC)),
        ("2026-11-23T07:05:09Z", None, datetime(2026, 11, 23, 7, 5, 9, tzinfo=UTC)),
        ("23/11/2026 14:05:09", "%d/%m/%Y %H:%M:%S", datetime(2026, 11, 23, 7, 5, 9, tzinfo=UTC)),
    ],
)
def test_message_times(raw: object, fmt: str | None, expected: datetime) -> None:
    assert sms_gateway.parse_time(raw, fmt, VN) == expected


@pytest.mark.parametrize("raw", ["yesterday", [1], True, float("nan"), "99/99/2026"])
def test_unreadable_message_times(raw: object) -> None:
    with pytest.raises(PayloadError):
        sms_gateway.parse_time(raw, None, VN)


# -- signatures --------------------------------------------------------------------


def test_signature_good_forged_missing_and_malformed() -> None:
    adapter = make_adapter("http://127.0.0.1:9")
    body = json_body()
    adapter.verify(signed(body))
    adapter.verify(signed(body, prefix="SHA256="))  # the prefix is matched case-blind
    bad = [
        signed(body, secret="guessed"),
        RawRequest(method="POST", url=URL, headers=signed(body).headers, body=body + b" "),
        RawRequest(method="POST", url=URL, headers={}, body=body),
        RawRequest(method="POST", url=URL, headers={"x-signature": "sha256=zz"}, body=body),
        signed(body, header="x-other-header"),
    ]
    tampered = signed(body)
    bad.append(
        RawRequest(method="POST", url=URL, headers=tampered.headers, body=json_body(content="x"))
    )
    for request in bad:
        with pytest.raises(SignatureError):
            adapter.verify(request)


def test_timestamp_window_refuses_replays() -> None:
    inbound = JSON_INBOUND.model_copy(update={"max_age_seconds": 300})
    fresh = make_adapter("http://127.0.0.1:9", inbound=inbound)
    fresh.verify(signed(json_body()))  # 14:05:09 Vietnam time, a minute ago
    late = make_adapter(
        "http://127.0.0.1:9", inbound=inbound, clock=lambda: NOW + timedelta(hours=1)
    )
    with pytest.raises(SignatureError):
        late.verify(signed(json_body()))
    without_time = json.dumps({"msisdn": "84912345678", "content": "x", "sms_id": "1"}).encode()
    with pytest.raises(SignatureError):
        fresh.verify(signed(without_time))
    utc = make_adapter(
        "http://127.0.0.1:9", inbound=inbound.model_copy(update={"utc_offset_hours": 0})
    )
    with pytest.raises(SignatureError):
        utc.verify(signed(json_body()))  # read as UTC the message is 7 hours in the future


# -- fuzz ---------------------------------------------------------------------------

_PARSER = make_adapter("http://127.0.0.1:9")
_FORM_PARSER = make_adapter("http://127.0.0.1:9", inbound=FORM_INBOUND)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["msisdn", "content", "sms_id", "received_at", "x"]), inner
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(
    value=_JSON,
    raw=st.binary(max_size=200),
    fields=st.dictionaries(st.text(max_size=8), st.text(max_size=20)),
)
def test_gateway_parser_fuzz(value: object, raw: bytes, fields: dict[str, str]) -> None:
    bodies = [json.dumps(value).encode(), raw, urlencode(fields).encode()]
    for parser in (_PARSER, _FORM_PARSER):
        for body in bodies:
            try:
                result = parser.parse(RawRequest(method="POST", url=URL, headers={}, body=body))
            except PayloadError:
                continue
            assert isinstance(result, list)
