"""Four `paht worker` processes draining one outbox of 400 messages on PostgreSQL: every
message reaches its citizen exactly once, each citizen's in order, and the work is shared."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.faults.provider import FaultyProvider
from tests.faults.support import (
    WorkerConfig,
    all_sent,
    expected_by_chat,
    queue,
    start_workers,
    stop_all,
    wait_until,
)

pytestmark = pytest.mark.postgres


def test_four_workers_deliver_each_message_once_and_in_order(
    pg_factory: sessionmaker[Session],
    provider: tuple[FaultyProvider, str],
    worker_config: WorkerConfig,
) -> None:
    fake, _ = provider
    fake.delay = 0.005
    workers = start_workers(worker_config, "w1", "w2", "w3", "w4")
    try:
        texts = queue(pg_factory, citizens=80, each=5)
        wait_until(lambda: all_sent(pg_factory, len(texts)), 45, "the outbox to drain")
    finally:
        stop_all(workers)

    counts = fake.counts()
    assert sorted(counts) == sorted(texts)  # all delivered
    assert set(counts.values()) == {1}  # none twice
    assert fake.by_chat() == expected_by_chat(texts)  # each citizen's in order
    senders = {d.token for d in fake.delivered()}
    assert len(senders) >= 2, f"one worker did everything: {senders}"
    assert not fake.failed_attempts()
