"""The SMS channel's generic HTTP gateway, outbound: the send template filled in as data,
the aggregator's answers mapped to the error family, and the documented example.

Sends go to a fake aggregator on 127.0.0.1, which records the request the template produced.
"""

from __future__ import annotations

import json
import re
import tomllib
from urllib.parse import parse_qs

import pytest

from bot.messages import Reply
from channels import sms_gateway
from channels.base import BadRequest, Outgoing, RateLimited, Transient, Unreachable
from channels.sms_gateway import GatewayInbound, GatewayOutbound, GatewaySmsAdapter
from tests.channels.sms_gateway.conftest import (
    API_KEY,
    CITIZEN,
    NOW,
    SECRET,
    make_adapter,
    outbound,
    signed,
)
from tests.fakes.server import free_port
from tests.fakes.sms_gateway import FakeGateway


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
