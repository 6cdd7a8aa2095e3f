"""Several dispatchers sharing one outbox, on SQLite and PostgreSQL: each message is sent
once, a citizen's messages in order, a claim holds until its lease runs out."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory, utcnow
from backend.notifications.dispatcher import (
    LEASE,
    Due,
    Outcome,
    RetryPolicy,
    _claim,
    _finish,
    claimable,
    dispatch_once,
)
from backend.notifications.models import OUTBOX_DEAD, OUTBOX_PENDING, OUTBOX_SENT, OutboxMessage
from bot.messages import Reply
from channels.base import BadRequest, ChannelAdapter, Outgoing, Transient

START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


class SlowAdapter:
    """A provider shared by every dispatcher: records each send; can be slow or fail."""

    name = "fake"

    def __init__(self, delay: float = 0.0, fail_first: frozenset[str] = frozenset()) -> None:
        self.delay, self.fail_first = delay, set(fail_first)
        self.sent: list[tuple[str, str, str]] = []  # (recipient, text, dispatcher thread)
        self.failures: list[Exception] = []
        self._lock = threading.Lock()

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [Outgoing(recipient=recipient, payload={"text": r.text}) for r in replies]

    async def send(self, message: Outgoing) -> str:
        text = str(message.payload["text"])
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            if text in self.fail_first:
                self.fail_first.discard(text)
                raise Transient("provider busy")
            self.sent.append((message.recipient, text, threading.current_thread().name))
        if self.delay:
            await asyncio.sleep(random.uniform(0, self.delay))
        return text


def _adapters(adapter: SlowAdapter) -> dict[str, ChannelAdapter]:
    return {"fake": cast(ChannelAdapter, adapter)}  # render and send are all it uses


def _queue(
    factory: sessionmaker[Session], recipients: Sequence[str], *, at: datetime = START
) -> list[int]:
    """One message per entry of `recipients`, in that order; its text is its id."""
    with factory.begin() as session:
        rows = [
            OutboxMessage(
                idempotency_key=f"k{n}",
                channel="fake",
                recipient=who,
                kind="reply",
                payload={},
                status=OUTBOX_PENDING,
                attempts=0,
                next_attempt_at=at,
                created_at=at,
            )
            for n, who in enumerate(recipients)
        ]
        session.add_all(rows)
        session.flush()
        for row in rows:
            row.payload = Reply(text=str(row.id)).model_dump(mode="json")
        return [row.id for row in rows]


def _row(factory: sessionmaker[Session], row_id: int) -> OutboxMessage:
    with factory() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return row


def _pending(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        query = select(func.count()).select_from(OutboxMessage)
        return session.scalar(query.where(OutboxMessage.status == OUTBOX_PENDING)) or 0


def _claim_at(
    factory: sessionmaker[Session], now: datetime, claimer: str, limit: int = 100
) -> list[Due]:
    return _claim(factory, now=now, channels=["fake"], limit=limit, lease=LEASE, claimer=claimer)


def _drain(database_url: str, adapter: SlowAdapter, errors: list[BaseException]) -> None:
    """One dispatcher with its own engine and event loop, as another process would be."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    policy = RetryPolicy(base_delay=0.02, max_delay=0.05)

    async def run() -> None:
        deadline = time.monotonic() + 60
        while await asyncio.to_thread(_pending, factory):
            assert time.monotonic() < deadline, "the outbox was not drained in time"
            sent = await dispatch_once(
                factory, _adapters(adapter), clock=utcnow, policy=policy, limit=20
            )
            if not sent:
                await asyncio.sleep(0.01)

    try:
        asyncio.run(run())
    except BaseException as exc:
        errors.append(exc)
    finally:
        engine.dispose()


def test_four_dispatchers_send_every_message_once_and_each_citizens_in_order(
    engine: Engine, database_url: str
) -> None:
    factory = make_session_factory(engine)
    rng = random.Random(7)
    recipients = [f"citizen-{rng.randrange(50)}" for _ in range(400)]
    ids = _queue(factory, recipients, at=utcnow() - timedelta(seconds=1))
    adapter = SlowAdapter(delay=0.003, fail_first=frozenset(str(i) for i in ids[::9]))
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_drain, args=(database_url, adapter, errors), name=f"d{n}")
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors and not any(t.is_alive() for t in threads)

    assert sorted(int(text) for _, text, _ in adapter.sent) == ids  # each once
    by_citizen: dict[str, list[int]] = {}
    for who, text, _ in adapter.sent:
        by_citizen.setdefault(who, []).append(int(text))
    for who, sent in by_citizen.items():
        assert sent == sorted(sent), f"{who} got messages out of order"
    assert len({thread for _, _, thread in adapter.sent}) > 1  # they did share the work
    with factory() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert {(r.status, r.claimed_until, r.claimed_by) for r in rows} == {
            (OUTBOX_SENT, None, None)
        }
        assert sum(r.attempts for r in rows) == len(ids) + len(ids[::9])


def test_simultaneous_claims_are_disjoint_and_take_one_message_per_citizen(
    engine: Engine, database_url: str
) -> None:
    factory = make_session_factory(engine)
    ids = _queue(factory, [f"citizen-{n % 30}" for n in range(90)])
    engines = [make_engine(database_url) for _ in range(6)]
    barrier = threading.Barrier(len(engines))
    claims: list[list[Due]] = [[] for _ in engines]

    def claim(n: int) -> None:
        barrier.wait()
        claims[n] = _claim_at(make_session_factory(engines[n]), START, f"d{n}")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for each in engines:
        each.dispose()

    taken = [due.id for batch in claims for due in batch]
    assert sorted(taken) == ids[:30]  # every citizen's first message, each claimed once
    for n, batch in enumerate(claims):
        for due in batch:
            assert _row(factory, due.id).claimed_by == f"d{n}"


def test_a_claimed_message_waits_for_its_lease_then_another_dispatcher_takes_it(
    engine: Engine,
) -> None:
    factory = make_session_factory(engine)
    first, later, other = _queue(factory, ["lan", "lan", "minh"])
    [held] = _claim_at(factory, START, "crashed", limit=1)  # claimed, then never finished
    assert held.id == first and held.claimed_until == START + LEASE
    adapter = SlowAdapter()

    def dispatch(at: datetime) -> int:
        return asyncio.run(dispatch_once(factory, _adapters(adapter), clock=lambda: at))

    # While the lease holds: Lan's messages wait (the later one must not overtake), Minh's goes.
    assert dispatch(START + LEASE - timedelta(seconds=1)) == 1
    assert [text for _, text, _ in adapter.sent] == [str(other)]
    assert dispatch(START + LEASE) == 0
    assert _row(factory, first).claimed_by == "crashed"
    # Once it has run out, the message is sent (at least once after a crash), then the next.
    assert dispatch(START + LEASE + timedelta(seconds=1)) == 2
    assert [text for _, text, _ in adapter.sent] == [str(other), str(first), str(later)]
    # The first dispatcher, back after all, records nothing twice.
    _finish(factory, held, Outcome(OUTBOX_SENT), START + LEASE, "crashed")
    assert _row(factory, first).attempts == 1


def test_a_failed_send_leaves_the_message_unclaimed_pending_or_dead(engine: Engine) -> None:
    factory = make_session_factory(engine)
    retried, dead = _queue(factory, ["lan", "minh"])
    adapter = SlowAdapter()
    adapter.failures = [Transient("provider down"), BadRequest("no such user")]
    policy = RetryPolicy(base_delay=10, max_delay=10)
    sent = asyncio.run(
        dispatch_once(factory, _adapters(adapter), clock=lambda: START, policy=policy)
    )
    assert sent == 0 and adapter.sent == []
    row = _row(factory, retried)
    assert (row.status, row.attempts, row.claimed_until, row.claimed_by) == (
        OUTBOX_PENDING,
        1,
        None,
        None,
    )
    assert START + timedelta(seconds=5) <= row.next_attempt_at <= START + timedelta(seconds=10)
    assert row.last_error == "provider down"
    row = _row(factory, dead)
    assert (row.status, row.claimed_until, row.claimed_by) == (OUTBOX_DEAD, None, None)
    # Not before its retry time, and then by whichever dispatcher comes.
    assert _claim_at(factory, START + timedelta(seconds=4), "other") == []
    [due] = _claim_at(factory, START + timedelta(seconds=11), "other")
    assert due.id == retried and due.attempts == 1


def test_an_unexpected_error_gives_back_the_rest_of_the_round(engine: Engine) -> None:
    factory = make_session_factory(engine)
    broken, untouched = _queue(factory, ["lan", "minh"])
    adapter = SlowAdapter()
    adapter.failures = [RuntimeError("adapter bug")]
    with pytest.raises(RuntimeError):
        asyncio.run(dispatch_once(factory, _adapters(adapter), clock=lambda: START))
    assert _row(factory, broken).claimed_until == START + LEASE  # kept until its lease ends
    row = _row(factory, untouched)
    assert (row.status, row.claimed_until, row.claimed_by) == (OUTBOX_PENDING, None, None)


def test_a_claim_in_progress_is_skipped_not_waited_for(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one claim at a time (BEGIN IMMEDIATE); row locks are PostgreSQL's")
    factory = make_session_factory(engine)
    first, later, other = _queue(factory, ["lan", "lan", "minh"])
    with factory() as session:
        # Another dispatcher has locked Lan's first message and not committed its claim yet.
        locked = session.scalars(claimable(START, ["fake"]).limit(1)).all()
        assert [row.id for row in locked] == [first]
        started = time.monotonic()
        taken = _claim_at(factory, START, "second")
        assert time.monotonic() - started < 5
        assert [due.id for due in taken] == [other]  # not Lan's first, nor her later one
        session.rollback()
    assert [due.id for due in _claim_at(factory, START, "third")] == [first]
    assert later not in {due.id for due in _claim_at(factory, START, "fourth")}
