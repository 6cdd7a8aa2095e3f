"""Per-channel send rates and the `[outbox]` settings: token buckets on an injected clock (a fake
sleep moves it, nothing waits for real), then the dispatcher pacing a Telegram burst and giving up
on a message that keeps failing, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_session_factory
from backend.notifications.dispatcher import Dispatcher, dispatch_once
from backend.notifications.models import OUTBOX_DEAD, OUTBOX_PENDING, OutboxMessage
from backend.notifications.send_limits import Limit, SendLimits, TokenBucket
from backend.settings import OutboxSettings
from bot.messages import Reply
from channels.base import ChannelAdapter, Outgoing, Transient
from tests.conftest import make_settings

START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


class FakeTime:
    """A monotonic clock that only a (fake) sleep moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _limits(time: FakeTime, **limits: Limit) -> SendLimits:
    return SendLimits(limits, clock=time.clock, sleep=time.sleep)


def _sends(limits: SendLimits, time: FakeTime, calls: Sequence[tuple[str, str]]) -> list[float]:
    """When each (channel, recipient) send may go, in order."""

    async def run() -> list[float]:
        at = []
        for channel, recipient in calls:
            await limits.acquire(channel, recipient)
            at.append(time.now)
        return at

    return asyncio.run(run())


def test_a_bucket_lets_a_burst_through_then_refills_at_its_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(rate=2.0, burst=3, clock=time.clock)
    for _ in range(3):
        assert bucket.wait_time() == 0
        bucket.take()
    assert bucket.wait_time() == pytest.approx(0.5)
    time.now += 0.25
    assert bucket.wait_time() == pytest.approx(0.25)
    time.now += 10  # never more than the burst
    for _ in range(3):
        bucket.take()
    assert bucket.wait_time() == pytest.approx(0.5)
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1, clock=time.clock)


def test_telegram_defaults_thirty_a_second_and_one_a_second_per_chat() -> None:
    time = FakeTime()
    limits = Dispatcher.from_settings(
        make_settings().outbox, clock=time.clock, sleep=time.sleep
    ).limits
    # 30 chats at once go without waiting; the 31st waits for the bucket to refill.
    at = _sends(limits, time, [("telegram", f"chat-{n}") for n in range(31)])
    assert at[:30] == [100.0] * 30
    assert at[30] == pytest.approx(100 + 1 / 30)
    # One chat: a message a second.
    at = _sends(limits, time, [("telegram", "lan")] * 3)
    assert [b - a for a, b in itertools.pairwise(at)] == [
        pytest.approx(1.0),
        pytest.approx(1.0),
    ]


def test_channels_are_paced_separately_and_an_unlimited_one_never_waits() -> None:
    time = FakeTime()
    limits = _limits(time, zalo=Limit(per_second=2.0, burst=1), sms=Limit(per_second=1.0))
    at = _sends(limits, time, [("zalo", "a"), ("zalo", "b"), ("sms", "+84912345678")])
    assert at == [100.0, pytest.approx(100.5), pytest.approx(100.5)]  # sms had its own token
    before = list(time.slept)
    _sends(limits, time, [("web", "x")] * 50 + [("fake", "y")] * 50)
    assert time.slept == before


def test_outbox_settings_configure_the_dispatcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAHT_OUTBOX__ZALO__PER_SECOND", "0.5")
    monkeypatch.setenv("PAHT_OUTBOX__GIVE_UP_AFTER", "3600")
    monkeypatch.setenv("PAHT_OUTBOX__RETRY_BASE_DELAY", "PT2S")
    outbox = make_settings().outbox
    assert outbox.give_up_after == timedelta(hours=1)
    time = FakeTime()
    dispatcher = Dispatcher.from_settings(outbox, clock=time.clock, sleep=time.sleep)
    assert dispatcher.policy.give_up_after == timedelta(hours=1)
    assert dispatcher.policy.base_delay == 2.0 and dispatcher.policy.max_attempts == 8
    at = _sends(dispatcher.limits, time, [("zalo", "a"), ("zalo", "b")])
    assert at[1] - at[0] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        OutboxSettings.model_validate({"sms": {"per_second": 0}})


class Recorder:
    """A provider that records when (on the fake clock) each message went, or fails."""

    name = "telegram"

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.sent: list[tuple[str, float]] = []
        self.failing = False

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [Outgoing(recipient, {"text": r.text}) for r in replies]

    async def send(self, message: Outgoing) -> str:
        if self.failing:
            raise Transient("Telegram is down")
        self.sent.append((message.recipient, self.time.now))
        return "1"


def _queue(factory: sessionmaker[Session], recipients: Sequence[str], at: datetime) -> list[int]:
    with factory.begin() as session:
        rows = [
            OutboxMessage(
                idempotency_key=f"k{n}",
                channel="telegram",
                recipient=who,
                kind="report_update",
                payload=Reply(text=f"tin {n}").model_dump(mode="json"),
                next_attempt_at=at,
                created_at=at,
            )
            for n, who in enumerate(recipients)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def test_the_dispatcher_paces_a_burst_for_one_chat(engine: Engine) -> None:
    factory = make_session_factory(engine)
    _queue(factory, ["lan", "lan", "lan", "minh"], START)
    time = FakeTime()
    provider = Recorder(time)
    limits = _limits(time, telegram=Limit(per_second=30, per_recipient_per_second=1))
    adapters = {"telegram": cast(ChannelAdapter, provider)}
    sent = asyncio.run(dispatch_once(factory, adapters, clock=lambda: START, limits=limits))
    assert sent == 4
    lan = [at for who, at in provider.sent if who == "lan"]
    assert [b - a for a, b in itertools.pairwise(lan)] == [
        pytest.approx(1.0),
        pytest.approx(1.0),
    ]
    assert ("minh", 100.0) in provider.sent  # another chat did not wait for Lan's


def test_a_message_still_failing_after_give_up_after_is_dead(engine: Engine) -> None:
    factory = make_session_factory(engine)
    [row_id] = _queue(factory, ["lan"], START)
    provider = Recorder(FakeTime())
    provider.failing = True
    dispatcher = Dispatcher.from_settings(
        OutboxSettings(give_up_after=timedelta(hours=6), max_attempts=100)
    )
    adapters = {"telegram": cast(ChannelAdapter, provider)}

    def attempt(at: datetime) -> OutboxMessage:
        asyncio.run(dispatcher.dispatch_once(factory, adapters, clock=lambda: at))
        with factory() as session:
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            return row

    row = attempt(START + timedelta(hours=5))
    assert (row.status, row.attempts) == (OUTBOX_PENDING, 1)
    row = attempt(START + timedelta(hours=6, minutes=1))
    assert (row.status, row.attempts) == (OUTBOX_DEAD, 2)
    assert row.last_error == "gave up after 6:00:00: Telegram is down"
    assert provider.sent == []
