"""Sending the outbox through the channel adapters, in order per citizen.

Several dispatchers may run at once (`paht serve --workers N`, `paht worker`,
against one database), so a dispatcher first *claims* what it will send: in one
short transaction it leases the due rows (`claimed_until`, `claimed_by`), taking
only the oldest waiting message of each citizen (channel, recipient) and rows
nobody else holds (SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE
serialises the claims). Recording an outcome ends the lease, which frees that
citizen's next message for the next claim, here or in another dispatcher. A
dispatcher that dies keeps its rows until the lease runs out; then another takes
them: at least once after a crash, never twice while the first one is alive.

A transient failure or a rate limit postpones the message (exponential backoff
with jitter, or the provider's retry-after) and holds back that citizen's later
messages so they never arrive out of order; a refused or unreachable message is
dead-lettered with its reason.

Web chat messages are not sent: the citizen's page fetches them (GET /chat/updates,
which marks them sent), so the dispatcher leaves them alone and they never crowd out
the messages it has to send.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from backend.db import unit_of_work
from backend.logs import mask_pii
from backend.notifications.models import OUTBOX_DEAD, OUTBOX_PENDING, OUTBOX_SENT, OutboxMessage
from bot.messages import Reply
from channels import web
from channels.base import ChannelAdapter, RateLimited, SendError, Transient

log = logging.getLogger(__name__)
PULL_CHANNELS = frozenset({web.NAME})  # the citizen's client fetches these itself
LEASE = timedelta(seconds=120)


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 5.0
    max_delay: float = 900.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        capped = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return float(capped * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class Due:
    id: int
    channel: str
    recipient: str
    payload: dict[str, object]
    attempts: int
    claimed_until: datetime


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None = None
    retry_at: datetime | None = None


def dispatcher_id() -> str:
    """Who holds a claim: host and process, plus a token telling loops of one process apart."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def claimable(
    now: datetime, channels: Collection[str], exclude: Collection[int] = ()
) -> Select[OutboxMessage]:
    """Due rows nobody holds, each its citizen's oldest message still waiting, oldest first.

    A citizen's later message is not eligible while an earlier one is pending, claimed by
    another dispatcher or waiting for its retry, so it cannot overtake it.
    """
    earlier = aliased(OutboxMessage)
    waiting_before = (
        select(earlier.id)
        .where(
            earlier.status == OUTBOX_PENDING,
            earlier.channel == OutboxMessage.channel,
            earlier.recipient == OutboxMessage.recipient,
            earlier.id < OutboxMessage.id,
        )
        .exists()
    )
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OUTBOX_PENDING,
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.channel.in_(channels),
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            OutboxMessage.id.not_in(list(exclude)),
            ~waiting_before,
        )
        .order_by(OutboxMessage.id)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )


def _claim(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    channels: Collection[str],
    limit: int,
    lease: timedelta,
    claimer: str,
    exclude: Collection[int] = (),
) -> list[Due]:
    """Lease up to `limit` claimable rows to `claimer` until `now + lease`, in one transaction."""
    if not channels or limit <= 0:
        return []
    until = now + lease
    with unit_of_work(factory) as session:
        rows = session.scalars(claimable(now, channels, exclude).limit(limit)).all()
        for row in rows:
            row.claimed_until, row.claimed_by = until, claimer
        return [Due(r.id, r.channel, r.recipient, dict(r.payload), r.attempts, until) for r in rows]


def _finish(
    factory: sessionmaker[Session], due: Due, outcome: Outcome, now: datetime, claimer: str
) -> None:
    """Record what the send did and end the lease.

    If the lease ran out and another dispatcher holds the row now, only a successful
    send is recorded (it did reach the citizen); a failure is left to the new holder.
    """
    with unit_of_work(factory) as session:
        row = session.get(OutboxMessage, due.id, with_for_update=True)
        if row is None or row.status != OUTBOX_PENDING:
            return
        if row.claimed_by not in (claimer, None) and outcome.status != OUTBOX_SENT:
            return
        row.attempts += 1
        row.status = outcome.status
        row.last_error = mask_pii(outcome.error)[:2000] if outcome.error else None
        row.claimed_until = row.claimed_by = None
        if outcome.status == OUTBOX_SENT:
            row.sent_at = now
        if outcome.retry_at is not None:
            row.next_attempt_at = outcome.retry_at


def _release(factory: sessionmaker[Session], ids: Sequence[int], claimer: str) -> None:
    """Give back claimed rows this dispatcher will not send, so others need not wait."""
    with unit_of_work(factory) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == claimer)
            .values(claimed_until=None, claimed_by=None)
        )


async def dispatch_once(
    factory: sessionmaker[Session],
    adapters: Mapping[str, ChannelAdapter],
    *,
    clock: Callable[[], datetime],
    policy: RetryPolicy = RetryPolicy(),
    limit: int = 100,
    lease: timedelta = LEASE,
    claimer: str | None = None,
) -> int:
    """Send what is due now, claiming at most `limit` rows; returns how many were sent.

    It claims in rounds: a round holds at most one message per citizen, and its
    outcomes make those citizens' next messages claimable in the next round. A message
    postponed here is not tried again in the same call, even if already due again.
    """
    claimer = claimer or dispatcher_id()
    channels = sorted(set(adapters) - PULL_CHANNELS)
    tried: set[int] = set()
    sent = claimed = 0
    while claimed < limit:
        batch = await asyncio.to_thread(
            _claim,
            factory,
            now=clock(),
            channels=channels,
            limit=limit - claimed,
            lease=lease,
            claimer=claimer,
            exclude=tried,
        )
        if not batch:
            break
        claimed += len(batch)
        tried.update(due.id for due in batch)
        sent += await _deliver(factory, adapters, batch, policy, clock, lease, claimer)
    return sent


async def _deliver(
    factory: sessionmaker[Session],
    adapters: Mapping[str, ChannelAdapter],
    batch: list[Due],
    policy: RetryPolicy,
    clock: Callable[[], datetime],
    lease: timedelta,
    claimer: str,
) -> int:
    """Send a claimed round one by one. A send starts only while at least half its lease
    remains, so it cannot overlap another dispatcher's; what is left over is given back."""
    sent, waiting = 0, list(batch)
    try:
        while waiting and clock() < waiting[0].claimed_until - lease / 2:
            due = waiting.pop(0)
            outcome = await _send(adapters[due.channel], due, policy, clock)
            await asyncio.to_thread(_finish, factory, due, outcome, clock(), claimer)
            sent += outcome.status == OUTBOX_SENT
    finally:
        if waiting:  # the lease is running out, or the round was cancelled or failed
            await _give_back(factory, [due.id for due in waiting], claimer)
    return sent


async def _give_back(factory: sessionmaker[Session], ids: list[int], claimer: str) -> None:
    try:
        await asyncio.to_thread(_release, factory, ids, claimer)
    except Exception:  # they stay claimed until their lease runs out
        log.exception("could not release %d claimed outbox messages", len(ids))


async def _send(
    adapter: ChannelAdapter, due: Due, policy: RetryPolicy, clock: Callable[[], datetime]
) -> Outcome:
    reply = Reply.model_validate(due.payload)
    try:
        for outgoing in adapter.render([reply], due.recipient):
            await adapter.send(outgoing)
    except RateLimited as exc:
        return _retry(due, policy, clock, str(exc), exc.retry_after)
    except Transient as exc:
        return _retry(due, policy, clock, str(exc), policy.delay(due.attempts + 1))
    except SendError as exc:
        log.warning("outbox message %s dead: %s", due.id, type(exc).__name__)
        return Outcome(OUTBOX_DEAD, f"{type(exc).__name__}: {exc}")
    return Outcome(OUTBOX_SENT)


def _retry(
    due: Due, policy: RetryPolicy, clock: Callable[[], datetime], error: str, delay: float
) -> Outcome:
    if due.attempts + 1 >= policy.max_attempts:
        return Outcome(OUTBOX_DEAD, f"gave up after {due.attempts + 1} attempts: {error}")
    return Outcome(OUTBOX_PENDING, error, clock() + timedelta(seconds=delay))
