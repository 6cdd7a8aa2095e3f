"""Push channels end to end with a test adapter: webhook → inbox → bot → outbox → provider."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.channels.models import InboxMessage
from backend.channels.registry import Channels
from backend.channels.service import _next_pending, store_inbound
from backend.db import make_session_factory
from backend.notifications.dispatcher import RetryPolicy, dispatch_once
from backend.notifications.models import OutboxMessage
from bot.messages import Inbound, Reply
from channels.base import (
    Capabilities,
    Outgoing,
    PayloadError,
    RawRequest,
    SignatureError,
    Transient,
    degrade,
)
from nlu import Nlu
from tests.conftest import make_settings


class FakeAdapter:
    """A provider in miniature: JSON webhooks signed with a header, sends recorded."""

    name = "fake"
    capabilities = Capabilities(
        max_buttons=2, images=False, location=False, contact=False, max_text=1000
    )

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.failures: list[Exception] = []

    def verify(self, request: RawRequest) -> None:
        if request.header("x-signature") != "good":
            raise SignatureError("bad signature")

    def parse(self, request: RawRequest) -> list[Inbound]:
        data = request.json()
        if not isinstance(data, dict) or "id" not in data or "from" not in data:
            raise PayloadError("not a fake message")
        return [
            Inbound(
                channel=self.name,
                sender_id=data["from"],
                message_id=data["id"],
                text=data.get("text", ""),
            )
        ]

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [
            Outgoing(recipient=recipient, payload={"text": degrade(r, self.capabilities).text})
            for r in replies
        ]

    async def send(self, message: Outgoing) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return str(len(self.sent))


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture
def app_client(
    engine: Engine, database_url: str, nlu: Nlu, adapter: FakeAdapter
) -> Iterator[TestClient]:
    channels = Channels(webhook={"sms_gateway": adapter}, senders={"fake": adapter})
    app = create_app(make_settings(database_url=database_url), nlu=nlu, channels=channels)
    with TestClient(app) as client:
        yield client


def _post(client: TestClient, body: object, signature: str | None = "good") -> int:
    headers = {"content-type": "application/json"}
    if signature:
        headers["x-signature"] = signature
    return client.post(
        "/channels/sms/gateway", content=json.dumps(body), headers=headers
    ).status_code


def _wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "pipeline did not finish in time"
        time.sleep(0.05)


def test_webhook_message_is_answered_through_the_provider(
    app_client: TestClient, adapter: FakeAdapter, engine: Engine
) -> None:
    assert _post(app_client, {"id": "m1", "from": "+84912345678", "text": "xin chào"}) == 200
    _wait_for(lambda: adapter.sent)
    assert "Xin chào" in adapter.sent[0].payload["text"]
    assert adapter.sent[0].recipient == "+84912345678"
    assert (
        "1. Gửi phản ánh" in adapter.sent[0].payload["text"]
        or len(adapter.sent[0].payload["text"]) > 0
    )


def test_redelivery_forgery_and_garbage_store_nothing_new(
    app_client: TestClient, adapter: FakeAdapter, engine: Engine
) -> None:
    factory = make_session_factory(engine)
    body = {"id": "m1", "from": "+84912345678", "text": "đèn đường hẻm 5 phường 9 bị tắt"}
    assert _post(app_client, body) == 200
    _wait_for(lambda: adapter.sent)
    replies = len(adapter.sent)
    assert _post(app_client, body) == 200  # the provider retries
    assert _post(app_client, body, signature="forged") == 403
    assert _post(app_client, body, signature=None) == 403
    assert _post(app_client, ["not", "a", "message"]) == 400
    time.sleep(0.5)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 1
    assert len(adapter.sent) == replies


def test_transient_failure_is_retried_and_delivered_once_in_order(
    engine: Engine, adapter: FakeAdapter
) -> None:
    factory: sessionmaker[Session] = make_session_factory(engine)
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    with factory.begin() as session:
        for i in range(3):
            session.add(
                OutboxMessage(
                    idempotency_key=f"k{i}",
                    channel="fake",
                    recipient="u1",
                    kind="reply",
                    payload=Reply(text=f"tin {i}").model_dump(mode="json"),
                    status="pending",
                    attempts=0,
                    next_attempt_at=start,
                    created_at=start,
                )
            )
    adapter.failures = [Transient("provider down")]
    clock = [start]
    policy = RetryPolicy(base_delay=10, max_delay=10)
    assert (
        asyncio.run(
            dispatch_once(factory, {"fake": adapter}, clock=lambda: clock[0], policy=policy)
        )
        == 0
    )
    assert adapter.sent == []  # the first failed, the others wait behind it
    clock[0] = start + timedelta(seconds=11)
    assert (
        asyncio.run(
            dispatch_once(factory, {"fake": adapter}, clock=lambda: clock[0], policy=policy)
        )
        == 3
    )
    assert [o.payload["text"] for o in adapter.sent] == ["tin 0", "tin 1", "tin 2"]
    assert (
        asyncio.run(
            dispatch_once(factory, {"fake": adapter}, clock=lambda: clock[0], policy=policy)
        )
        == 0
    )


def test_a_citizens_later_message_waits_while_another_worker_handles_the_first(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip(
            "SQLite runs one pipeline at a time (BEGIN IMMEDIATE); row locks are PostgreSQL's"
        )
    factory = make_session_factory(engine)
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    with factory.begin() as session:
        store_inbound(
            session,
            messages=[
                Inbound(channel="fake", sender_id="lan", message_id="a1", text="một"),
                Inbound(channel="fake", sender_id="lan", message_id="a2", text="hai"),
                Inbound(channel="fake", sender_id="minh", message_id="b1", text="ba"),
            ],
            now=now,
        )
    with factory() as first, factory() as second:
        taken = _next_pending(first)  # worker 1 holds Lan's first message, uncommitted
        assert taken is not None and taken.provider_message_id == "a1"
        other = _next_pending(second)  # worker 2 must not take Lan's second one
        assert other is not None and other.provider_message_id == "b1"
        first.rollback()
        second.rollback()


def test_database_down_is_not_acknowledged_and_the_retry_is_answered(
    app_client: TestClient, adapter: FakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from backend.channels import inbox_writer

    def down(engine: Engine, rows: object) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    body = {"id": "m1", "from": "+84912345678", "text": "xin chào"}
    with monkeypatch.context() as patch:
        patch.setattr(inbox_writer, "write_rows", down)
        assert _post(app_client, body) == 503  # not acknowledged: the provider will retry
    assert _post(app_client, body) == 200
    _wait_for(lambda: adapter.sent)
    assert "Xin chào" in adapter.sent[0].payload["text"]
