"""The SMS channel's generic HTTP gateway provider under test: an aggregator configured by
field names and a send template, its posts signed with HMAC-SHA256, and a fake aggregator
on 127.0.0.1 that records the request the template produced.

The inbound posts are the recorded aggregator calls in tests/data/sms/ (JSON, and a form
with Vietnamese field names). `JSON_INBOUND` is also the aggregator of tests/e2e.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from channels.base import RawRequest
from channels.sms_gateway import GatewayInbound, GatewayOutbound, GatewaySmsAdapter
from tests.fakes.signing import hmac_sha256
from tests.fakes.sms_gateway import FakeGateway

DATA = Path(__file__).resolve().parents[2] / "data" / "sms"
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
    headers = {"content-type": "application/json", header: prefix + hmac_sha256(secret, body)}
    return RawRequest(method="POST", url=URL, headers=headers, body=body)


def json_body(**changes: object) -> bytes:
    item = json.loads((DATA / "gateway_message.json").read_text())
    return json.dumps({**item, **changes}, ensure_ascii=False).encode()


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


@pytest.fixture(scope="module")
def provider() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
async def adapter(fake: FakeGateway, fake_url: str) -> AsyncIterator[GatewaySmsAdapter]:
    adapter = make_adapter(fake_url)
    yield adapter
    await adapter.aclose()
