"""Webhooks under abuse: malformed bodies with valid signatures, hostile ids, whole replays.

Every body is signed as its provider would sign it, so it gets past `verify`
and tests what comes after: no 5xx, ever, and nothing stored (inbox, reports,
conversations and outbox stay empty). Bodies are hypothesis-generated: random
bytes, random JSON, recorded payloads (tests/data/) cut short, and recorded
payloads with one required field deleted or of the wrong type. The fuzzing
runs on SQLite only (speed); hostile ids (NUL characters, huge numbers) and
coordinates off the globe run on both databases. Finally a whole recorded
conversation is replayed twice and the database must not change at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from backend.app import create_app
from backend.channels.models import INBOX_FAILED, INBOX_PENDING, InboxMessage
from backend.channels.registry import Channels
from backend.channels.routes import WEBHOOK_PATHS
from backend.conversations.models import Conversation
from backend.db import make_session_factory
from backend.models import Base
from backend.notifications.models import OutboxMessage
from backend.reports.models import Report
from channels.base import ChannelAdapter
from channels.sms import TwilioSmsAdapter
from channels.sms_gateway import GatewayOutbound, GatewaySmsAdapter
from channels.telegram import TelegramAdapter
from channels.zalo import ZaloAdapter
from channels.zalo_tokens import FileTokenStore
from nlu import Nlu
from tests.conftest import make_settings
from tests.e2e import test_sms_flow as sms_flow
from tests.e2e import test_zalo_flow as zalo_flow
from tests.e2e.conftest import wait_for
from tests.fakes.signing import hmac_sha256
from tests.fakes.zalo_api import APP_ID, APP_SECRET

DATA = Path(__file__).resolve().parents[1] / "data"
NOW = datetime(2026, 11, 23, 7, 6, tzinfo=UTC)  # the fuzzed adapters' clock
NOW_MS = str(int(NOW.timestamp() * 1000))
NOW_VN = (NOW + timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S")
TG_TOKEN, TG_SECRET = "123456:fuzz-token", "fuzz-secret"
TWILIO_SID, TWILIO_TOKEN = "AC00000000000000000000000000000011", "fuzz-twilio-token"
GW_SECRET = "fuzz-gateway-secret"
DEAD = "http://127.0.0.1:9"  # nothing may be sent, so senders point nowhere
PATHS = {**WEBHOOK_PATHS, "sms_gateway_max_age": WEBHOOK_PATHS["sms_gateway"]}
ALLOWED = {  # Telegram and Zalo retry non-2xx answers, so malformed bodies are acknowledged
    "zalo": {200, 403},  # 403: a body with no readable timestamp cannot be verified
    "telegram": {200},
    "sms_twilio": {200, 400, 403},  # 200: a status callback, nothing to handle; 403: not UTF-8
    "sms_gateway": {200, 400},  # 200: an empty JSON list, no message in it
    "sms_gateway_max_age": {200, 400, 403},
}


# -- signing what we send ------------------------------------------------------------------


def zalo_headers(body: bytes) -> dict[str, str]:
    try:
        return {"x-zevent-signature": zalo_flow.sign(body)}
    except (ValueError, KeyError, TypeError, RecursionError):  # no timestamp to sign with
        return {"x-zevent-signature": "mac=" + hashlib.sha256(body).hexdigest()}


def twilio_headers(body: bytes) -> dict[str, str]:
    try:
        return sms_flow.twilio_headers(body, token=TWILIO_TOKEN)
    except (UnicodeDecodeError, ValueError):
        return {"x-twilio-signature": "not-signable"}  # not a form: verify must refuse it


def gateway_headers(body: bytes) -> dict[str, str]:
    return {"x-signature": f"sha256={hmac_sha256(GW_SECRET, body)}"}


SIGN: dict[str, Callable[[bytes], dict[str, str]]] = {
    "zalo": zalo_headers,
    "telegram": lambda _: {"x-telegram-bot-api-secret-token": TG_SECRET},
    "sms_twilio": twilio_headers,
    "sms_gateway": gateway_headers,
    "sms_gateway_max_age": gateway_headers,
}


# -- the apps under test -------------------------------------------------------------------


def make_adapter(key: str, tmp_path: Path) -> ChannelAdapter:
    if key == "zalo":
        return ZaloAdapter(
            app_id=APP_ID,
            oa_secret_key=zalo_flow.OA_SECRET,
            app_secret_key=APP_SECRET,
            token_store=FileTokenStore(tmp_path / "zalo-tokens.json"),
            contact_image_url="https://cdn.example/banner.png",
            api_base=DEAD,
            oauth_base=DEAD,
            clock=lambda: NOW,
        )
    if key == "telegram":
        return TelegramAdapter(
            TG_TOKEN, TG_SECRET, base_url=f"{DEAD}/bot", base_file_url=f"{DEAD}/file/bot"
        )
    if key == "sms_twilio":
        return TwilioSmsAdapter(
            account_sid=TWILIO_SID,
            auth_token=TWILIO_TOKEN,
            from_number="VINHLONG_SO",
            public_base_url=sms_flow.PUBLIC,
            api_base_url=DEAD,
        )
    # the README's worked example (format "auto" unless it checks the message time)
    max_age = {"format": "json", "max_age_seconds": 600} if key.endswith("max_age") else {}
    inbound = sms_flow.INBOUND.model_copy(update={"format": "auto", **max_age})
    return GatewaySmsAdapter(
        shared_secret=GW_SECRET,
        inbound=inbound,
        outbound=GatewayOutbound(url=f"{DEAD}/send"),
        clock=lambda: NOW,
    )


@dataclass
class Webhook:
    key: str
    client: TestClient
    engine: Engine

    def post(self, body: bytes, content_type: str | None = "application/json") -> int:
        headers = SIGN[self.key](body)
        if content_type:
            headers["content-type"] = content_type
        return self.client.post(PATHS[self.key], content=body, headers=headers).status_code

    def inbox(self) -> list[dict[str, Any]]:
        """The neutral messages stored, to show what a malformed body let through."""
        with make_session_factory(self.engine)() as session:
            return [row.message for row in session.scalars(select(InboxMessage))]

    def forget(self) -> None:
        """Empty every table (after a failing example, so that shrinking stays truthful)."""
        with self.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())

    def pending(self) -> int:
        with make_session_factory(self.engine)() as session:
            query = select(func.count()).select_from(InboxMessage)
            return session.scalar(query.where(InboxMessage.status == INBOX_PENDING)) or 0

    def failed(self) -> list[str | None]:
        with make_session_factory(self.engine)() as session:
            query = select(InboxMessage.last_error).where(InboxMessage.status == INBOX_FAILED)
            return list(session.scalars(query))

    def stored(self) -> dict[str, int]:
        with make_session_factory(self.engine)() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (InboxMessage, Report, Conversation, OutboxMessage)
            }


@pytest.fixture
def webhook(
    request: pytest.FixtureRequest, engine: Engine, database_url: str, nlu: Nlu, tmp_path: Path
) -> Iterator[Webhook]:
    key: str = request.param
    adapter = make_adapter(key, tmp_path)
    route = "sms_gateway" if key.startswith("sms_gateway") else key
    channels = Channels(webhook={route: adapter}, senders={adapter.name: adapter})
    app = create_app(make_settings(database_url=database_url), nlu=nlu, channels=channels)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Webhook(key, client, engine)


# -- malformed bodies ----------------------------------------------------------------------

DELETE = object()  # "remove this field" in a mutation
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
CONTAINERS = st.lists(JSON, max_size=2) | st.dictionaries(st.text(max_size=5), JSON, max_size=2)
NOT_TEXT = st.none() | CONTAINERS | st.just(DELETE)  # for a required string field
WRONG_OBJECT = st.booleans() | st.integers() | st.text(max_size=8) | st.lists(JSON, max_size=2)
NOT_OBJECT = WRONG_OBJECT | st.none() | st.just(DELETE)  # for a required object
NOT_INT = NOT_TEXT | st.text(max_size=8) | st.floats() | st.booleans()
NOT_PLACE = CONTAINERS | st.sampled_from(["bắc", "", "10,25", DELETE, 91.0, -181.0, 1e400])


def recorded(channel: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / channel / f"{name}.json").read_text())
    if channel == "zalo":
        data["timestamp"] = NOW_MS
    return data


GATEWAY_MESSAGE = {**recorded("sms", "gateway_message"), "received_at": NOW_VN}
TWILIO_FORM = [
    (k, v)
    for k, v in parse_qsl((DATA / "sms" / "twilio_mms.form").read_text().strip())
    if k != "From"
] + [("From", "+84912345678")]  # From last: a cut before its value loses the sender
Z_TEXT, Z_IMAGE = recorded("zalo", "user_send_text"), recorded("zalo", "user_send_image")
Z_PLACE = recorded("zalo", "user_send_location")
T_TEXT, T_PRESS = recorded("telegram", "text"), recorded("telegram", "callback_query")
ATTACHED = ("message", "attachments", 0, "payload")
BAD_URLS = st.sampled_from(["", "ftp://x/y.jpg", "javascript:alert(1)"])
Mutation = tuple[dict[str, Any], tuple[Any, ...], st.SearchStrategy[Any]]
MUTATIONS: dict[str, list[Mutation]] = {
    "zalo": [
        (Z_TEXT, ("sender",), NOT_OBJECT),
        (Z_TEXT, ("sender", "id"), NOT_TEXT),
        (Z_TEXT, ("message",), NOT_OBJECT),
        (Z_TEXT, ("message", "text"), NOT_TEXT),
        (Z_IMAGE, ("message", "attachments"), NOT_OBJECT),
        (Z_IMAGE, (*ATTACHED, "url"), NOT_TEXT | BAD_URLS),
        (Z_PLACE, (*ATTACHED, "coordinates", "latitude"), NOT_PLACE),
        (recorded("zalo", "user_submit_info"), ("info",), NOT_OBJECT),
        (recorded("zalo", "follow"), ("follower", "id"), NOT_TEXT),
    ],
    # A button press without its `id` or `from` (null) is still read: the adapter checks
    # only what the bot uses, and the chat of the pressed message says who pressed.
    "telegram": [
        (T_TEXT, ("update_id",), NOT_INT),
        (T_TEXT, ("message", "chat"), NOT_OBJECT),
        (T_TEXT, ("message", "chat", "id"), NOT_INT),
        (T_TEXT, ("message", "text"), CONTAINERS),
        (T_PRESS, ("callback_query", "from"), WRONG_OBJECT),
        (T_PRESS, ("callback_query", "message", "chat", "id"), NOT_INT),
        (T_PRESS, ("callback_query", "data"), CONTAINERS),
        (recorded("telegram", "location"), ("message", "location", "latitude"), CONTAINERS),
    ],
    "sms_gateway": [
        (GATEWAY_MESSAGE, ("msisdn",), NOT_TEXT | st.sampled_from(["", "abc", "+", "true"])),
        (GATEWAY_MESSAGE, ("content",), NOT_TEXT),
        (GATEWAY_MESSAGE, ("sms_id",), NOT_TEXT | st.sampled_from(["", "  ", "x" * 101])),
    ],
}
MUTATIONS["sms_gateway_max_age"] = [
    *MUTATIONS["sms_gateway"],
    (GATEWAY_MESSAGE, ("received_at",), NOT_TEXT | st.sampled_from(["hôm qua", "2026-13-45"])),
]


def mutate(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of `doc` with the field at `path` replaced (or deleted)."""
    copy = json.loads(json.dumps(doc))
    *parents, last = path
    node = copy
    for step in parents:
        node = node[step]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return copy


def dump(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


TWILIO_BREAKS: list[tuple[tuple[str, ...], list[Any]]] = [
    (("MessageSid", "SmsSid", "SmsMessageSid"), [DELETE, "", "x" * 65, "SM-not-alnum!"]),
    (("From",), [DELETE, "", "+", "not a phone"]),
    (("NumMedia",), ["-1", "abc", "11"]),
    (("MediaUrl0",), [DELETE, "", "ftp://x/y.jpg"]),
]


@st.composite
def mutated(draw: st.DrawFn, key: str) -> bytes:
    """A recorded payload with one required field deleted or of the wrong type."""
    if key == "sms_twilio":
        names, values = draw(st.sampled_from(TWILIO_BREAKS))
        value = draw(st.sampled_from(values))
        form = [(k, value if k in names else v) for k, v in TWILIO_FORM]
        return urlencode([(k, v) for k, v in form if v is not DELETE]).encode()
    doc, path, values = draw(st.sampled_from(MUTATIONS[key]))
    return dump(mutate(doc, path, draw(values)))


@st.composite
def truncated(draw: st.DrawFn, key: str) -> bytes:
    if key == "sms_twilio":
        body = urlencode(TWILIO_FORM).encode()
        return body[: draw(st.integers(0, body.rindex(b"From=") + len(b"From=")))]
    doc = draw(st.sampled_from(MUTATIONS[key]))[0]
    body = dump(doc)
    return body[: draw(st.integers(0, len(body) - 1))]


def malformed(key: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=300), JSON.map(dump), truncated(key), mutated(key))


FUZZED = [
    "zalo",
    "telegram",
    "sms_twilio",
    "sms_gateway",
    "sms_gateway_max_age",
]


@pytest.mark.parametrize("webhook", FUZZED, indirect=True)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_malformed_bodies_with_valid_signatures(webhook: Webhook, data: st.DataObject) -> None:
    body = data.draw(malformed(webhook.key), label="body")
    content_type = data.draw(
        st.sampled_from(["application/json", "application/x-www-form-urlencoded", None]),
        label="content-type",
    )
    if any(webhook.stored().values()):
        webhook.forget()
    status = webhook.post(body, content_type)
    event(f"HTTP {status}")
    assert status in ALLOWED[webhook.key]
    assert webhook.inbox() == []
    assert webhook.stored() == {"inbox": 0, "reports": 0, "conversations": 0, "outbox": 0}


@pytest.mark.parametrize("webhook", ["sms_gateway_max_age"], indirect=True)
def test_gateway_with_a_replay_window_refuses_unreadable_bodies(webhook: Webhook) -> None:
    unreadable_time = dump({**GATEWAY_MESSAGE, "received_at": "hôm qua"})
    assert webhook.post(b"not json") in (400, 403)
    assert webhook.post(unreadable_time) in (400, 403)
    assert webhook.stored()["inbox"] == 0


# -- hostile ids and coordinates (both databases) ------------------------------------------

HOSTILE = [
    pytest.param("telegram", {**T_TEXT, "update_id": 10**140}, id="tg-id"),
    pytest.param("zalo", mutate(Z_TEXT, ("message", "msg_id"), "96d3\x00cdf"), id="zalo-msg"),
    pytest.param("zalo", mutate(Z_TEXT, ("sender", "id"), "2468458\x00"), id="zalo-sender"),
    pytest.param("sms_gateway", {**GATEWAY_MESSAGE, "sms_id": "A1B2\x00"}, id="gateway-id"),
    pytest.param("zalo", mutate(Z_TEXT, ("message", "text"), "đèn hư\x00"), id="zalo-text"),
]


@pytest.mark.parametrize(("webhook", "doc"), HOSTILE, indirect=["webhook"])
def test_hostile_ids_never_fail_the_webhook_nor_the_pipeline(
    webhook: Webhook, doc: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """A NUL character or an absurdly long id: refused, ignored or handled — never a 5xx."""
    assert webhook.post(dump(doc)) < 500
    wait_for(lambda: webhook.pending() == 0)
    assert webhook.failed() == []


OFF_THE_GLOBE = [
    ("latitude", 90.5),
    ("latitude", -91.0),
    ("latitude", 1e400),
    ("longitude", 180.5),
    ("longitude", -181.0),
    ("longitude", -1e400),
]


@pytest.mark.parametrize(
    "webhook",
    ["zalo", "telegram"],
    indirect=True,
)
@pytest.mark.parametrize(("field", "value"), OFF_THE_GLOBE)
def test_coordinates_off_the_globe_are_not_stored(
    webhook: Webhook, field: str, value: float
) -> None:
    path: tuple[Any, ...]
    if webhook.key == "zalo":
        path, doc = (*ATTACHED, "coordinates", field), Z_PLACE
    else:
        path, doc = ("message", "location", field), recorded("telegram", "location")
    assert webhook.post(dump(mutate(doc, path, value))) in ALLOWED[webhook.key]
    assert webhook.inbox() == []


# -- a whole conversation replayed ---------------------------------------------------------


# What the media step owns changes on its own schedule (downloads, retries): left out.
ATTACHMENT_COLUMNS = ("id", "report_id", "url", "provider_ref", "created_at")


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in primary-key order (attachments: what the intake stored)."""
    with engine.connect() as conn:
        rows = {}
        for table in Base.metadata.sorted_tables:
            columns = (
                [table.c[n] for n in ATTACHMENT_COLUMNS] if table.name == "attachments" else [table]
            )
            query = select(*columns).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in conn.execute(query)]
        return rows


@contextmanager
def recorded_conversation(
    channel: str, engine: Engine, database_url: str, nlu: Nlu, tmp_path: Path
) -> Iterator[tuple[TestClient, list[tuple[str, bytes, dict[str, str]]], Callable[[], int]]]:
    """Run a whole report conversation; yield the client, its webhooks and a sent-count."""
    if channel == "zalo":
        with zalo_flow.running_zalo(engine, database_url, nlu, tmp_path) as zalo:
            zalo_flow.converse(zalo)
            yield zalo.client, zalo.delivered, lambda: len(zalo.fake.message_calls())
        return
    with sms_flow.running_gateway(engine, database_url, nlu) as (sms, fake):
        sms_flow.converse(sms)
        yield sms.client, sms.delivered, lambda: len(fake.calls)


@pytest.mark.parametrize("channel", ["sms_gateway", "zalo"])
def test_replaying_a_whole_conversation_changes_nothing(
    channel: str, engine: Engine, database_url: str, nlu: Nlu, tmp_path: Path
) -> None:
    with recorded_conversation(channel, engine, database_url, nlu, tmp_path) as (
        client,
        webhooks,
        sent,
    ):
        wait_for(lambda: sms_flow.settled(engine))
        first, replies = snapshot(engine), sent()
        assert len(first["reports"]) == 1 and len(first["inbox"]) == len(webhooks)
        for _ in range(2):  # providers retry; twice over, in the same order
            for path, body, headers in webhooks:
                assert client.post(path, content=body, headers=headers).status_code == 200
            wait_for(lambda: sms_flow.settled(engine))
            assert snapshot(engine) == first
        assert sent() == replies  # the provider got nothing more either
    with engine.connect() as conn:  # one version step per message, not per delivery
        assert list(conn.scalars(select(Conversation.version))) == [len(webhooks)]
