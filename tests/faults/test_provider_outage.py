"""The provider fails for a while — HTTP 500s, then requests that hang past the client's
timeout — and then recovers: every queued message reaches its citizen exactly once, and each
citizen's in order.

Two dispatchers share the outbox, each with its own Telegram adapter (python-telegram-bot
over HTTP) pointed at the fake provider. The provider decides when a request arrives whether
it delivers: a 500 or a hung request delivers nothing, so "exactly once" is what its record
must show. (A provider that times out *after* delivering is the at-least-once window of
test_worker_killed.)
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import utcnow
from backend.notifications.dispatcher import RetryPolicy, dispatch_once
from backend.notifications.models import OUTBOX_SENT, OutboxMessage
from channels.base import ChannelAdapter
from channels.telegram import TelegramAdapter
from tests.faults.provider import FaultyProvider
from tests.faults.support import all_sent, expected_by_chat, queue, wait_until

pytestmark = pytest.mark.postgres

POLICY = RetryPolicy(base_delay=0.05, max_delay=0.2, max_attempts=1000)


def _dispatcher(
    factory: sessionmaker[Session], url: str, stop: threading.Event, errors: list[BaseException]
) -> None:
    """One dispatcher loop with its own event loop and provider client, until `stop`."""

    async def run() -> None:
        adapter = TelegramAdapter(
            "424242:outage", "faults-secret", base_url=f"{url}/bot", read_timeout=0.3
        )
        adapters: dict[str, ChannelAdapter] = {"telegram": adapter}
        try:
            while not stop.is_set():
                sent = await dispatch_once(
                    factory, adapters, clock=utcnow, policy=POLICY, lease=timedelta(seconds=10)
                )
                if not sent:
                    await asyncio.sleep(0.02)
        finally:
            await adapter.aclose()

    try:
        asyncio.run(run())
    except BaseException as exc:
        errors.append(exc)


def _failures(fake: FaultyProvider, mode: str) -> int:
    return sum(attempt.mode == mode for attempt in fake.failed_attempts())


def test_after_an_outage_every_message_arrives_once_and_in_order(
    pg_factory: sessionmaker[Session], provider: tuple[FaultyProvider, str]
) -> None:
    fake, url = provider
    fake.mode, fake.hang_seconds = "error", 1.0
    texts = queue(pg_factory, citizens=6, each=5)
    stop, errors = threading.Event(), []
    threads = [
        threading.Thread(target=_dispatcher, args=(pg_factory, url, stop, errors)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: _failures(fake, "error") >= 20, 20, "500s to be retried")
        fake.mode = "hang"
        wait_until(lambda: _failures(fake, "hang") >= 6, 20, "timed-out sends to be retried")
        assert not fake.delivered()
        fake.mode = "ok"
        wait_until(lambda: all_sent(pg_factory, len(texts)), 30, "the outbox to drain")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
    assert not errors

    counts = fake.counts()
    assert sorted(counts) == sorted(texts) and set(counts.values()) == {1}
    assert fake.by_chat() == expected_by_chat(texts)
    with pg_factory() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert {row.status for row in rows} == {OUTBOX_SENT}
    assert sum(row.attempts for row in rows) > len(rows)  # the failures were retried
