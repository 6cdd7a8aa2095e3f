"""Sending the outbox through the channel adapters, in order per citizen.

This is the in-process dispatcher of the embedded default: one loop, oldest
message first. A transient failure or a rate limit postpones the message
(exponential backoff with jitter, or the provider's retry-after) and holds
back that citizen's later messages so they never arrive out of order; a
refused or unreachable message is dead-lettered with its reason.

Web chat messages are not sent: the citizen's page fetches them (GET /chat/updates,
which marks them sent), so the dispatcher leaves them alone and they never crowd out
the messages it has to send.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import unit_of_work
from backend.logs import mask_pii
from backend.notifications.models import OUTBOX_DEAD, OUTBOX_PENDING, OUTBOX_SENT, OutboxMessage
from bot.messages import Reply
from channels import web
from channels.base import ChannelAdapter, RateLimited, SendError, Transient

log = logging.getLogger(__name__)
PULL_CHANNELS = frozenset({web.NAME})  # the citizen's client fetches these itself


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


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None = None
    retry_at: datetime | None = None


def _due(factory: sessionmaker[Session], now: datetime, limit: int) -> list[Due]:
    with factory() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OUTBOX_PENDING,
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.channel.not_in(PULL_CHANNELS),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
        return [Due(r.id, r.channel, r.recipient, dict(r.payload), r.attempts) for r in rows]


def _finish(factory: sessionmaker[Session], due: Due, outcome: Outcome, now: datetime) -> None:
    with unit_of_work(factory) as session:
        row = session.get(OutboxMessage, due.id)
        if row is None or row.status != OUTBOX_PENDING:
            return
        row.attempts += 1
        row.status = outcome.status
        row.last_error = mask_pii(outcome.error)[:2000] if outcome.error else None
        if outcome.status == OUTBOX_SENT:
            row.sent_at = now
        if outcome.retry_at is not None:
            row.next_attempt_at = outcome.retry_at


async def dispatch_once(
    factory: sessionmaker[Session],
    adapters: Mapping[str, ChannelAdapter],
    *,
    clock: Callable[[], datetime],
    policy: RetryPolicy = RetryPolicy(),
    limit: int = 100,
) -> int:
    """Send what is due now; returns how many messages were sent."""
    sent = 0
    held: set[tuple[str, str]] = set()  # citizens whose earlier message is still waiting
    for due in await asyncio.to_thread(_due, factory, clock(), limit):
        who = (due.channel, due.recipient)
        adapter = adapters.get(due.channel)
        if who in held or adapter is None:
            held.add(who)
            continue
        outcome = await _send(adapter, due, policy, clock)
        await asyncio.to_thread(_finish, factory, due, outcome, clock())
        if outcome.status == OUTBOX_SENT:
            sent += 1
        elif outcome.status == OUTBOX_PENDING:
            held.add(who)
    return sent


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
