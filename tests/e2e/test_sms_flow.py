"""A citizen reports by SMS: through a generic aggregator (signed JSON in, templated HTTP out)
and through Twilio (signed form in, the real twilio SDK out), both against fake providers.

SMS has no buttons: the bot's options arrive as numbered lines and the citizen
answers "1" or "2". Replies go out without diacritics (GSM-7) within the
segment budget.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from backend.app import create_app
from backend.channels.models import InboxMessage
from backend.channels.registry import Channels
from backend.db import make_session_factory
from backend.reports.models import Report
from channels.sms import SmsStyle, TwilioSmsAdapter
from channels.sms_gateway import GatewayOutbound, GatewaySmsAdapter
from channels.sms_text import measure
from nlu import Nlu
from tests.channels.sms_gateway.conftest import JSON_INBOUND
from tests.conftest import make_settings
from tests.e2e.conftest import settled, wait_for
from tests.fakes.server import serve
from tests.fakes.signing import TWILIO_SIGNATURE, hmac_sha256, twilio_signature
from tests.fakes.sms_gateway import FakeGateway
from tests.fakes.twilio_api import FakeTwilio

CITIZEN = "+84912345678"
GATEWAY_SECRET = "e2e-gateway-secret"
API_KEY = "e2e-api-key"
TWILIO_SID = "AC00000000000000000000000000000011"
TWILIO_TOKEN = "e2e-twilio-token"
TWILIO_PATH = "/channels/sms/twilio"
GATEWAY_PATH = "/channels/sms/gateway"
PUBLIC = "http://testserver"  # what TestClient requests, as Twilio would behind no proxy
BUDGET = 3
REPORT = (
    "Đèn đường hư mấy hôm nay ở đường Phạm Thái Bường, phường 9 thành phố Vĩnh Long, "
    "tối om rất nguy hiểm"
)
VIETNAMESE = re.compile(r"[^\x00-\x7f]")  # what GSM-7 folding leaves is plain ASCII here
_ids = itertools.count(1)

INBOUND = JSON_INBOUND  # the aggregator of the channel tests, posting JSON signed with HMAC


def outbound(base: str) -> GatewayOutbound:
    return GatewayOutbound.model_validate(
        {
            "url": f"{base}/v2/sms/send",
            "headers": {"Authorization": "Bearer {api_key}"},
            "body": {
                "brandname": "{brandname}",
                "phone": "{to_84}",
                "message": "{text}",
                "unicode": "{unicode}",
                "request_id": "{message_id}",
            },
            "values": {"brandname": "VINHLONG_SO"},
            "success_status": [200],
            "success_field": "code",
            "success_values": ["00"],
            "message_id_path": "data.message_id",
        }
    )


def gateway_body(words: str, sms_id: str | None = None) -> bytes:
    item = {
        "msisdn": CITIZEN.lstrip("+"),
        "content": words,
        "sms_id": sms_id or f"E2E{next(_ids):05d}",
        "shortcode": "8079",
        "received_at": "2026-11-23 14:05:09",
    }
    return json.dumps(item, ensure_ascii=False).encode()


def gateway_headers(body: bytes, secret: str = GATEWAY_SECRET) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-signature": f"sha256={hmac_sha256(secret, body)}",
    }


def twilio_body(words: str) -> bytes:
    sid = f"SM{next(_ids):032x}"
    fields = {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": words,
        "FromCountry": "VN",
        "To": "+15005550006",
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": CITIZEN,
        "ApiVersion": "2010-04-01",
    }
    return urlencode(fields).encode()


def twilio_headers(body: bytes, token: str = TWILIO_TOKEN) -> dict[str, str]:
    signature = twilio_signature(token, PUBLIC + TWILIO_PATH, body)
    return {"content-type": "application/x-www-form-urlencoded", TWILIO_SIGNATURE: signature}


@dataclass
class Sms:
    """The app and one fake provider; `sent()` lists the SMS texts the provider was told to send."""

    client: TestClient
    engine: Engine
    path: str
    body: Callable[[str], bytes]
    headers: Callable[[bytes], dict[str, str]]
    sent: Callable[[], list[str]]
    delivered: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def say(self, words: str) -> list[str]:
        """Text the bot; the SMS it sent back."""
        before = len(self.sent())
        raw = self.body(words)
        headers = self.headers(raw)
        self.delivered.append((self.path, raw, headers))  # path, body, headers
        assert self.client.post(self.path, content=raw, headers=headers).status_code == 200
        wait_for(lambda: len(self.sent()) > before and settled(self.engine))
        return self.sent()[before:]


def _option(sms: str, title: str) -> str:
    """The number of the option line whose title starts with `title` ("2. Khong cong khai")."""
    match = re.search(rf"^(\d+)\. {re.escape(title)}", sms, re.M)
    assert match, f"no option {title!r} in {sms!r}"
    return match.group(1)


def converse(sms: Sms) -> list[str]:
    """A whole report by SMS, answering numbered options and typing the contact; every SMS sent."""
    asked = sms.say(REPORT)[-1]
    assert "cong khai" in asked
    asked = sms.say(_option(asked, "Khong cong khai"))[-1]
    assert "qua so 0912345678 ban dang dung" in asked and _option(asked, "Gui an danh") == "2"
    asked = sms.say("Tran Thi Hoa")[-1]  # the number is the sender's: only the name is typed
    while "kiem tra lai" not in asked:  # the NLU may still ask for the category
        asked = sms.say("1")[-1]
    assert "Lien he: Tran Thi Hoa, 0912345678" in asked
    done = sms.say(_option(asked, "Gui phan anh"))
    assert "Ma phan anh" in done[-1]
    return sms.sent()


def assert_sms_style(sent: list[str]) -> None:
    assert sent
    for body in sent:
        assert not VIETNAMESE.search(body), body
        length = measure(body)
        assert length.encoding == "GSM-7", body
        assert length.segments <= BUDGET, body


def stored_report(engine: Engine) -> Report:
    with make_session_factory(engine)() as session:
        report = session.scalars(select(Report)).one()
        session.expunge(report)
        return report


@contextmanager
def running_gateway(
    engine: Engine, database_url: str, nlu: Nlu
) -> Iterator[tuple[Sms, FakeGateway]]:
    """The app with the gateway adapter, sending through a fake aggregator on 127.0.0.1."""
    fake = FakeGateway()
    with serve(fake.app) as url:
        adapter = GatewaySmsAdapter(
            shared_secret=GATEWAY_SECRET,
            inbound=INBOUND,
            outbound=outbound(url),
            secret_values={"api_key": API_KEY},
            style=SmsStyle(diacritics=False, segment_budget=BUDGET),
        )
        channels = Channels(webhook={"sms_gateway": adapter}, senders={"sms": adapter})
        app = create_app(make_settings(database_url=database_url), nlu=nlu, channels=channels)
        with TestClient(app) as client:
            sms = Sms(
                client,
                engine,
                GATEWAY_PATH,
                gateway_body,
                gateway_headers,
                lambda: [c.json()["message"] for c in fake.calls],
            )
            yield sms, fake


@pytest.fixture
def gateway(engine: Engine, database_url: str, nlu: Nlu) -> Iterator[tuple[Sms, FakeGateway]]:
    with running_gateway(engine, database_url, nlu) as running:
        yield running


@pytest.fixture
def twilio(engine: Engine, database_url: str, nlu: Nlu) -> Iterator[tuple[Sms, FakeTwilio]]:
    fake = FakeTwilio(TWILIO_SID, TWILIO_TOKEN)
    with serve(fake.app) as url:
        adapter = TwilioSmsAdapter(
            account_sid=TWILIO_SID,
            auth_token=TWILIO_TOKEN,
            from_number="VINHLONG_SO",
            public_base_url=PUBLIC,
            api_base_url=url,
            style=SmsStyle(diacritics=False, segment_budget=BUDGET),
        )
        channels = Channels(webhook={"sms_twilio": adapter}, senders={"sms": adapter})
        app = create_app(make_settings(database_url=database_url), nlu=nlu, channels=channels)
        with TestClient(app) as client:
            sms = Sms(
                client,
                engine,
                TWILIO_PATH,
                twilio_body,
                twilio_headers,
                lambda: [c.field("Body") or "" for c in fake.calls],
            )
            yield sms, fake


def test_full_report_through_the_gateway(gateway: tuple[Sms, FakeGateway], engine: Engine) -> None:
    sms, fake = gateway
    sent = converse(sms)
    assert_sms_style(sent)
    report = stored_report(engine)
    assert re.fullmatch(r"\d{12}", report.code)
    assert report.code in sent[-1]
    assert report.channel == "sms"
    assert (report.reporter_name, report.reporter_phone) == ("Tran Thi Hoa", CITIZEN)
    assert report.commune_code == "29551"
    assert report.public_consent is False
    for call in fake.calls:
        assert call.method == "POST" and call.path == "/v2/sms/send"
        assert call.headers["authorization"] == f"Bearer {API_KEY}"
        body = call.json()
        assert (body["brandname"], body["phone"], body["unicode"]) == (
            "VINHLONG_SO",
            "84912345678",
            "0",
        )
    assert len({c.json()["request_id"] for c in fake.calls}) == len(fake.calls)


def test_forged_gateway_sms_is_refused(gateway: tuple[Sms, FakeGateway], engine: Engine) -> None:
    sms, fake = gateway
    raw = gateway_body(REPORT)
    forged = gateway_headers(raw, secret="guessed")
    assert sms.client.post(GATEWAY_PATH, content=raw, headers=forged).status_code == 403
    assert sms.client.post(GATEWAY_PATH, content=raw, headers={}).status_code == 403
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 0
    assert fake.calls == []


def test_full_report_through_twilio(twilio: tuple[Sms, FakeTwilio], engine: Engine) -> None:
    sms, fake = twilio
    sent = converse(sms)
    assert_sms_style(sent)
    report = stored_report(engine)
    assert report.code in sent[-1]
    assert report.reporter_phone == CITIZEN
    assert report.commune_code == "29551"
    for call in fake.calls:
        assert call.account_sid == TWILIO_SID and call.auth == (TWILIO_SID, TWILIO_TOKEN)
        assert (call.field("To"), call.field("From")) == (CITIZEN, "VINHLONG_SO")


def test_forged_twilio_sms_is_refused(twilio: tuple[Sms, FakeTwilio], engine: Engine) -> None:
    sms, fake = twilio
    raw = twilio_body(REPORT)
    forged = twilio_headers(raw, token="not-the-auth-token")
    assert sms.client.post(TWILIO_PATH, content=raw, headers=forged).status_code == 403
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 0
    assert fake.calls == []
