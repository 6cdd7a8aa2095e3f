"""`kill -9` of a `paht worker` in the middle of a round, then a new worker: nothing is lost,
and what reaches a citizen twice is only what the dead worker had sent but not yet recorded.

What the dispatcher guarantees (backend.notifications.rounds): a round is sent concurrently
and its outcomes are recorded in batches, so a crash repeats what was sent since the last
recorded batch — at most two batches plus the sends in flight, each message at most twice,
each citizen's messages still in order. Here the provider holds one request of the first
round until the worker is dead and then delivers it (as a provider that finished its work
would), while the round's other sends went through and were not recorded yet.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.notifications import rounds
from backend.notifications.models import OUTBOX_PENDING, OutboxMessage
from tests.faults.provider import FaultyProvider
from tests.faults.support import (
    WorkerConfig,
    all_sent,
    expected_by_chat,
    queue,
    start_workers,
    wait_until,
)

pytestmark = pytest.mark.postgres


def _claimed_by(factory: sessionmaker[Session], prefix: str) -> dict[str, str]:
    """The texts of the messages a claimer still holds, and their status."""
    with factory() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.claimed_by.startswith(prefix))
        ).all()
        return {str(row.payload["text"]): row.status for row in rows}


def test_a_killed_worker_loses_nothing_and_repeats_only_what_it_had_not_recorded(
    pg_factory: sessionmaker[Session],
    provider: tuple[FaultyProvider, str],
    worker_config: WorkerConfig,
) -> None:
    fake, _ = provider
    fake.delay, fake.hold_at = 0.01, 8  # the 8th send of the first round hangs
    texts = queue(pg_factory, citizens=12, each=3)  # a round: each citizen's next message
    [first] = start_workers(worker_config, "first")
    try:
        wait_until(fake.held.is_set, 30, "the provider to hold a request")
        wait_until(lambda: len(fake.counts()) >= 11, 10, "the round's other sends")
        first.kill()
    finally:
        first.stop()
    in_flight = fake.attempts[7].text
    delivered_before = set(fake.counts())

    # The dead worker still holds its round: the message in flight and the unrecorded sends.
    held = _claimed_by(pg_factory, first.claimer_prefix)
    assert in_flight in held and set(held.values()) == {OUTBOX_PENDING}
    assert len(held) <= 2 * rounds.FLUSH_EVERY + rounds.CONCURRENCY
    fake.release.set()  # ...and the provider delivers the message in flight after all
    wait_until(lambda: fake.counts()[in_flight] == 1, 10, "the held message to be delivered")

    [second] = start_workers(worker_config, "second")
    try:
        wait_until(lambda: all_sent(pg_factory, len(texts)), 30, "the outbox to drain")
    finally:
        second.stop()

    counts = fake.counts()
    assert set(counts) == set(texts)  # nothing lost
    repeated = {text for text, n in counts.items() if n > 1}
    assert repeated <= set(held) & (delivered_before | {in_flight})  # only unrecorded sends
    assert all(counts[text] == 2 for text in repeated)
    expected = expected_by_chat(texts)
    for chat, got in fake.by_chat().items():
        assert [text for text, _ in itertools.groupby(got)] == expected[chat], chat
    taken_over = {d.text for d in fake.delivered() if d.token.endswith(":second")}
    assert set(held) <= taken_over  # the new worker sent what the dead one had claimed
