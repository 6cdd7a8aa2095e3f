"""The generic HTTP SMS gateway provider: configurable inbound fields, HMAC, templated sends.

Inbound posts are the recorded aggregator calls in tests/data/sms/ (JSON and a
form with Vietnamese field names) signed with HMAC-SHA256; sends go to a fake
aggregator on 127.0.0.1, which records the request the template produced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import tomllib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.messages import Reply
from channels import sms_gateway
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
from channels.sms_gateway import GatewayInbound, GatewayOutbound, GatewaySmsAdapter
from tests.channels.contract import AdapterContract
from tests.fakes.server import free_port, serve
from tests.fakes.sms_gateway import FakeGateway

DATA = Path(__file__).resolve().parents[1] / "data" / "sms"
SECRET = "gateway-shared-secret"
API_KEY = "api-key-0123"
CITIZEN = "+84912345678"
NOW = datetime(2026, 11, 23, 7, 6, 0, tzinfo=UTC)  # 14:06 in Vietnam
URL = "https://paht.example.gov.vn/channels/sms/gateway"

JSON_INBOUND = GatewayInbound(
    format="json",
    provider="brandsms",
    sender_field="msisdn",
    text_field="content",
    message_id_field="sms_id",
    time_field="received_at",
    signature_header="X-Signature",
    signature_prefix="sha256=",
)
FORM_INBOUND = GatewayInbound(
    format="form",
    sender_field="sdt",
    text_field="noidung",
    message_id_field="ma_tin",
    time_field="thoigian",
    signature_header="X-Chu-Ky",
    signature_encoding="base64",
)


def outbound(base: str, **changes: object) -> GatewayOutbound:
    template = {
        "url": f"{base}/v2/sms/send",
        "headers": {"Authorization": "Bearer {api_key}", "X-Client": "paht {{v1}}"},
        "body": {
            "brandname": "{brandname}",
            "phone": "{to_84}",
            "message": "{text}",
            "unicode": "{unicode}",
            "request_id": "{message_id}",
            "type": 1,
            "meta": {"national": "{to_national}", "parts": ["{segments}"]},
        },
        "values": {"brandname": "VINHLONG_SO"},
        "success_status": [200],
        "success_field": "code",
        "success_values": ["00"],
        "message_id_path": "data.message_id",
        "error_codes": {"05": "unreachable", "08": "rate_limited", "99": "transient"},
    }
    return GatewayOutbound.model_validate({**template, **changes})


def signed(
    body: bytes, *, secret: str = SECRET, header: str = "x-signature", prefix: str = "sha256="
) -> RawRequest:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", header: prefix + digest}
    return RawRequest(method="POST", url=URL, headers=headers, body=body)


def json_body(**changes: object) -> bytes:
    item = json.loads((DATA / "gateway_message.json").read_text())
    return json.dumps({**item, **changes}, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def fake() -> FakeGateway:
    return FakeGateway()


@pytest.fixture(scope="module")
def fake_url(fake: FakeGateway) -> Iterator[str]:
    with serve(fake.app) as url:
        yield url


def make_adapter(base: str, **changes: object) -> GatewaySmsAdapter:
    options: dict[str, object] = {
        "shared_secret": SECRET,
        "inbound": JSON_INBOUND,
        "outbound": outbound(base),
        "secret_values": {"api_key": API_KEY},
        "clock": lambda: NOW,
        **changes,
    }
    return GatewaySmsAdapter(**options)  # type: ignore[arg-type]


@pytest.fixture
async def adapter(fake: FakeGateway, fake_url: str) -> AsyncIterator[GatewaySmsAdapter]:
    fake.reset()
    adapter = make_adapter(fake_url)
    yield adapter
    await adapter.aclose()


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
    def send_failure(self, adapter: GatewaySmsAdapter, fake: FakeGateway):  # type: ignore[no-untyped-def]
        async def fail(status: int, body: bytes) -> Exception | None:
            fake.answer_next(status, body)
            try:
                await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
            except Exception as exc:
                return exc
            return None

        return fail


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
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
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


# -- sending -----------------------------------------------------------------------


async def test_send_fills_the_json_template(adapter: GatewaySmsAdapter, fake: FakeGateway) -> None:
    [outgoing] = adapter.render(
        [Reply(text='Phản ánh "202611230001": đã tiếp nhận\nCảm ơn!')], "0912345678"
    )
    provider_id = await adapter.send(outgoing)
    [call] = fake.calls
    assert (call.method, call.path) == ("POST", "/v2/sms/send")
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.headers["x-client"] == "paht {v1}"
    assert call.headers["content-type"].startswith("application/json")
    body = call.json()
    request_id = body.pop("request_id")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert body == {
        "brandname": "VINHLONG_SO",
        "phone": "84912345678",
        "message": 'Phan anh "202611230001": da tiep nhan\nCam on!',
        "unicode": "0",
        "type": 1,
        "meta": {"national": "0912345678", "parts": ["1"]},
    }
    assert provider_id == "gw-1"


async def test_values_are_data_never_template_or_json(
    adapter: GatewaySmsAdapter, fake: FakeGateway
) -> None:
    nasty = '", "brandname": "EVIL", "x": "{api_key} }} {{'
    await adapter.send(
        Outgoing(recipient=CITIZEN, payload={"body": nasty, "message_id": "outbox-42"})
    )
    body = fake.calls[0].json()
    assert body["message"] == nasty and body["brandname"] == "VINHLONG_SO"
    assert body["request_id"] == "outbox-42"


async def test_form_and_url_templates_are_encoded(fake: FakeGateway, fake_url: str) -> None:
    fake.reset()
    form = make_adapter(
        fake_url,
        outbound=outbound(
            fake_url, body_format="form", body={"to": "{to}", "msg": "{text}", "n": 2}
        ),
    )
    await form.send(Outgoing(recipient=CITIZEN, payload={"body": "a&b=c Đ"}))
    call = fake.calls[-1]
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(call.body.decode()) == {"to": [CITIZEN], "msg": ["a&b=c Đ"], "n": ["2"]}
    query = make_adapter(
        fake_url,
        outbound=outbound(
            fake_url,
            method="GET",
            url=fake_url + "/send?key={api_key}&to={to}&text={text}&brand={brandname}",
            body_format="none",
            body={},
        ),
    )
    await query.send(Outgoing(recipient=CITIZEN, payload={"body": "a&b=c ?#/ Đ"}))
    call = fake.calls[-1]
    assert (call.method, call.body) == ("GET", b"")
    assert parse_qs(call.query) == {
        "key": [API_KEY],
        "to": [CITIZEN],
        "text": ["a&b=c ?#/ Đ"],
        "brand": ["VINHLONG_SO"],
    }
    await form.aclose()
    await query.aclose()


@pytest.mark.parametrize(
    ("status", "answer", "headers", "expected"),
    [
        (200, {"code": "05", "message": "so 0912345678 khong ton tai"}, {}, Unreachable),
        (200, {"code": "08"}, {"Retry-After": "30"}, RateLimited),
        (200, {"code": "99"}, {}, Transient),
        (200, {"code": "13"}, {}, BadRequest),
        (200, b"OK", {}, Transient),  # accepted but unreadable: better twice than never
        (429, b"", {"Retry-After": "30"}, RateLimited),
        (401, {"error": "bad key"}, {}, BadRequest),
        (502, b"", {}, Transient),
    ],
)
async def test_answers_map_to_the_error_family(
    adapter: GatewaySmsAdapter,
    fake: FakeGateway,
    status: int,
    answer: bytes | dict[str, str],
    headers: dict[str, str],
    expected: type[Exception],
) -> None:
    fake.answer_next(status, answer, headers)
    with pytest.raises(expected) as raised:
        await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
    assert "912345678" not in str(raised.value)
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == 30.0


async def test_reference_is_returned_without_a_provider_id(
    fake: FakeGateway, fake_url: str
) -> None:
    fake.reset()
    adapter = make_adapter(fake_url, outbound=outbound(fake_url, message_id_path="data.missing"))
    reference = await adapter.send(
        Outgoing(recipient=CITIZEN, payload={"body": "x", "message_id": "outbox-7"})
    )
    assert reference == "outbox-7"
    await adapter.aclose()


async def test_unreachable_gateway_and_bad_recipient() -> None:
    adapter = make_adapter(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Transient):
        await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
    with pytest.raises(BadRequest):
        await adapter.send(Outgoing(recipient="recipient-1", payload={"body": "x"}))
    await adapter.aclose()


def test_template_mistakes_are_caught_at_construction() -> None:
    base = "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="unknown placeholders"):
        make_adapter(base, outbound=outbound(base, body={"x": "{apikey}"}))
    with pytest.raises(ValueError, match="stray brace"):
        make_adapter(base, outbound=outbound(base, body={"x": "{text"}))
    with pytest.raises(ValueError, match="shadow"):
        make_adapter(base, secret_values={"api_key": "k", "text": "t"})
    with pytest.raises(ValueError):
        GatewayOutbound(url="ftp://x")
    with pytest.raises(ValueError):
        GatewaySmsAdapter(shared_secret="", outbound=outbound(base))


async def test_header_injection_is_refused(fake: FakeGateway, fake_url: str) -> None:
    fake.reset()
    adapter = make_adapter(fake_url, secret_values={"api_key": "k\r\nX-Evil: 1"})
    with pytest.raises(BadRequest):
        await adapter.send(Outgoing(recipient=CITIZEN, payload={"body": "x"}))
    assert fake.calls == []
    await adapter.aclose()


async def test_the_documented_example_works(fake: FakeGateway, fake_url: str) -> None:
    """The worked example in the module docstring (copied into the README) stays true."""
    doc = sms_gateway.__doc__ or ""
    block = doc.split("holds it, the\nsecrets come from the environment)::\n", 1)[1]
    toml = "\n".join(line[4:] for line in block.split("\n    # environment")[0].splitlines())
    config = tomllib.loads(toml)["sms_gateway"]
    inbound = GatewayInbound.model_validate(config["inbound"])
    example = GatewayOutbound.model_validate(config["outbound"])
    example = example.model_copy(update={"url": fake_url + "/v2/sms/send"})
    adapter = GatewaySmsAdapter(
        shared_secret=SECRET,
        inbound=inbound,
        outbound=example,
        secret_values={"api_key": API_KEY},
        clock=lambda: NOW,
    )
    call = {"msisdn": "84912345678", "content": "den duong hu", "sms_id": "A1B2",
            "received_at": "2026-11-23 14:05:09"}  # fmt: skip
    request = signed(json.dumps(call).encode())
    adapter.verify(request)
    [message] = adapter.parse(request)
    assert (message.sender_id, message.message_id) == (CITIZEN, "brandsms:A1B2")
    fake.reset()
    [outgoing] = adapter.render([Reply(text="Đã tiếp nhận")], message.sender_id)
    assert await adapter.send(outgoing) == "gw-1"
    sent = fake.calls[0]
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.json()["phone"] == "84912345678" and sent.json()["message"] == "Da tiep nhan"
    await adapter.aclose()


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
