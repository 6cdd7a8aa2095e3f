"""The outbox on SQLite and PostgreSQL: which message of a citizen a claim takes, and a
round's outcomes recorded in batches (what a failure mid-round leaves behind)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_session_factory
from backend.notifications import dispatcher, rounds
from backend.notifications.dispatcher import LEASE, Dispatcher, _claim, dispatch_once
from backend.notifications.models import (
    OUTBOX_DEAD,
    OUTBOX_PENDING,
    OUTBOX_SENT,
    OutboxMessage,
)
from backend.settings import OutboxSettings
from tests.backend.test_outbox_claims import SlowAdapter, _adapters, _queue, _row

START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _set(factory: sessionmaker[Session], row_id: int, **values: Any) -> None:
    with factory.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


def test_a_claim_takes_each_citizens_oldest_pending_message_only_if_it_is_free(
    engine: Engine,
) -> None:
    factory = make_session_factory(engine)
    who = ["lan", "lan", "minh", "minh", "hoa", "hoa", "tuan", "tuan", "an", "an", "binh"]
    ids = _queue(factory, who)
    lan1, _, minh1, minh2, hoa1, _, tuan1, tuan2, an1, _, binh = ids
    _set(factory, lan1, next_attempt_at=START + timedelta(minutes=1))  # waiting for its retry
    _set(factory, minh1, status=OUTBOX_SENT)  # done: Minh's next one is her oldest pending
    _set(factory, hoa1, claimed_by="other", claimed_until=START + timedelta(seconds=30))
    _set(factory, tuan1, status=OUTBOX_DEAD)
    _set(factory, an1, claimed_by="crashed", claimed_until=START - timedelta(seconds=1))
    taken = _claim(
        factory, now=START, channels=["fake"], limit=100, lease=LEASE, claimer="me", exclude=[binh]
    )
    # Lan's and Hoa's later messages wait behind their first; Bình's was tried this call.
    assert [due.id for due in taken] == [minh2, tuan2, an1]
    assert {_row(factory, i).claimed_by for i in (minh2, tuan2, an1)} == {"me"}
    again = _claim(factory, now=START, channels=["fake"], limit=100, lease=LEASE, claimer="x")
    assert [due.id for due in again] == [binh]


def _small_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounds that send one at a time and record every three outcomes: a known order."""
    monkeypatch.setattr(rounds, "CONCURRENCY", 1)
    monkeypatch.setattr(rounds, "FLUSH_EVERY", 3)


def test_a_failure_to_record_keeps_what_was_recorded_and_gives_back_the_rest(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_session_factory(engine)
    ids = _queue(factory, [f"citizen-{n}" for n in range(10)])
    _small_rounds(monkeypatch)
    real, calls = dispatcher._record_outcomes, []

    def broken_second_batch(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real(*args, **kwargs)

    monkeypatch.setattr(dispatcher, "_record_outcomes", broken_second_batch)
    adapter = SlowAdapter()
    with pytest.raises(RuntimeError, match="disk full"):
        asyncio.run(dispatch_once(factory, _adapters(adapter), clock=lambda: START))
    assert [int(text) for _, text, _ in adapter.sent] == ids[:6]  # no send after the failure
    rows = [_row(factory, i) for i in ids]
    assert [r.status for r in rows[:3]] == [OUTBOX_SENT] * 3  # the first batch stays recorded
    # The second batch was sent but not recorded: held until the lease ends, then resent.
    assert {(r.status, r.claimed_until) for r in rows[3:6]} == {(OUTBOX_PENDING, START + LEASE)}
    assert {(r.status, r.claimed_by) for r in rows[6:]} == {(OUTBOX_PENDING, None)}  # given back


def test_an_error_mid_round_records_the_sends_before_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_session_factory(engine)
    ids = _queue(factory, [f"citizen-{n}" for n in range(8)])
    _small_rounds(monkeypatch)
    adapter = SlowAdapter()
    real_send = adapter.send

    async def send(message: Any) -> str:
        if message.payload["text"] == str(ids[4]):
            raise RuntimeError("adapter bug")
        return await real_send(message)

    adapter.send = send  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="adapter bug"):
        asyncio.run(dispatch_once(factory, _adapters(adapter), clock=lambda: START))
    rows = [_row(factory, i) for i in ids]
    # Sent before the error, recorded though the last of them had not filled a batch.
    assert [(r.status, r.attempts) for r in rows[:4]] == [(OUTBOX_SENT, 1)] * 4
    assert rows[4].claimed_until == START + LEASE  # the failing one waits for its lease
    assert {(r.status, r.claimed_by) for r in rows[5:]} == {(OUTBOX_PENDING, None)}


def test_an_outcome_is_recorded_once_the_database_is_back(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_session_factory(engine)
    ids = _queue(factory, ["lan", "minh", "hoa"])
    real, failures = dispatcher._record_outcomes, [OperationalError("UPDATE", {}, Exception())]

    def flaky(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        real(*args, **kwargs)

    monkeypatch.setattr(dispatcher, "_record_outcomes", flaky)
    adapter = SlowAdapter()
    sent = asyncio.run(dispatch_once(factory, _adapters(adapter), clock=lambda: START))
    assert sent == 3 and not failures
    rows = [_row(factory, i) for i in ids]
    assert [(r.status, r.attempts, r.claimed_by) for r in rows] == [(OUTBOX_SENT, 1, None)] * 3
    # Nothing left to send again.
    assert asyncio.run(dispatch_once(factory, _adapters(adapter), clock=lambda: START)) == 0
    assert len(adapter.sent) == 3


def test_the_lease_comes_from_the_settings(engine: Engine) -> None:
    factory = make_session_factory(engine)
    [row_id] = _queue(factory, ["lan"])
    outbox = Dispatcher.from_settings(OutboxSettings(lease_seconds=7))
    adapter = SlowAdapter()
    adapter.failures = [RuntimeError("crash")]
    with pytest.raises(RuntimeError):
        asyncio.run(outbox.dispatch_once(factory, _adapters(adapter), clock=lambda: START))
    assert _row(factory, row_id).claimed_until == START + timedelta(seconds=7)
    with factory() as session:
        assert session.scalar(select(OutboxMessage.status)) == OUTBOX_PENDING


def test_what_was_sent_during_a_long_outage_is_recorded_not_resent(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_session_factory(engine)
    ids = _queue(factory, ["lan", "minh"])
    real, down = dispatcher._record_outcomes, [True]

    def outage(*args: Any, **kwargs: Any) -> None:
        if down[0]:
            raise OperationalError("UPDATE", {}, Exception("server closed the connection"))
        real(*args, **kwargs)

    monkeypatch.setattr(dispatcher, "_record_outcomes", outage)
    outbox = Dispatcher(lease=timedelta(seconds=0.4))  # over before a retry could be made
    adapter = SlowAdapter()
    with pytest.raises(OperationalError):
        asyncio.run(outbox.dispatch_once(factory, _adapters(adapter), clock=lambda: START))
    assert len(adapter.sent) == 2 and len(outbox.unrecorded) == 2
    with pytest.raises(OperationalError):  # still down: nothing new is claimed or sent
        asyncio.run(outbox.dispatch_once(factory, _adapters(adapter), clock=lambda: START))
    down[0] = False
    later = START + timedelta(minutes=5)  # the leases have long run out
    assert asyncio.run(outbox.dispatch_once(factory, _adapters(adapter), clock=lambda: later)) == 0
    assert len(adapter.sent) == 2 and outbox.unrecorded == []
    assert [_row(factory, i).status for i in ids] == [OUTBOX_SENT] * 2
