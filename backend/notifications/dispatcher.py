"""Sending the outbox through the channel adapters, in order per citizen.

Several dispatchers may run at once (`paht serve --workers N`, `paht worker`,
against one database), so a dispatcher first *claims* what it will send: in one
short transaction it leases the due rows (`claimed_until`, `claimed_by`), taking
only the oldest waiting message of each citizen (channel, recipient) and rows
nobody else holds (SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE
serialises the claims). Recording an outcome ends the lease, which frees that
citizen's next message for the next claim, here or in another dispatcher. A
dispatcher that dies keeps its rows until the lease runs out (`[outbox]
lease_seconds`, two minutes by default); then another takes them: at least once
after a crash, never twice while the first one is alive.

A claimed round goes out concurrently, its outcomes recorded in batches of about
twenty, one transaction each (`backend.notifications.rounds`): a crash repeats at
most what was sent since the last recorded batch. If the database is unreachable
when a batch is to be recorded, the recording is retried with backoff while the
leases last; after that the `Dispatcher` keeps the outcomes and records them before
its next claim, so an outage does not make sent messages go out again (unless
another dispatcher takes the rows first, their lease having run out: at least once).

A transient failure or a rate limit postpones the message (exponential backoff
with jitter, or the provider's retry-after) and holds back that citizen's later
messages so they never arrive out of order, until `max_attempts` sends or
`give_up_after` (from the row's creation) have passed: then it is dead. A citizen
who cannot be reached that way (`Unreachable`: outside Zalo's 7-day window,
blocked the bot) gets it by the next route of `backend.notifications.fallbacks`:
the row is `rerouted` and a fallback row written in the same transaction, or dead
with the reason when no route is left. A refused message is dead-lettered.

Fallback rows carry their route in `via`; they are rendered by the adapter's
`render_via(via, replies, recipient, ref=...)` (e.g. a Zalo "giao dịch" card or a
ZNS template) rather than `render`, unless the route is the channel itself (SMS).

Every provider call first waits for the channel's token buckets
(`backend.notifications.send_limits`: Telegram 30/s overall and 1/s per chat by
default, Zalo and SMS as configured in `[outbox]`). The buckets belong to one
`Dispatcher` and so to one process: with N dispatcher processes, configure each
with the provider's limit divided by N.

Web chat messages are not sent: the citizen's page fetches them (GET /chat/updates,
which marks them sent), so the dispatcher leaves them alone and they never crowd out
the messages it has to send.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, any_, func, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import unit_of_work
from backend.logs import mask_pii
from backend.notifications.fallbacks import available_routes, reroute
from backend.notifications.models import OUTBOX_PENDING, OUTBOX_REROUTED, OUTBOX_SENT, OutboxMessage
from backend.notifications.rounds import Recorded, Round
from backend.notifications.send_limits import Clock, Limit, SendLimits, Sleep
from backend.notifications.sending import Due, Outcome, RetryPolicy, Sender
from backend.settings import OutboxSettings, SendLimitSettings
from channels import web
from channels.base import ChannelAdapter

__all__ = ["LEASE", "Dispatcher", "Due", "Outcome", "RetryPolicy", "claimable", "dispatch_once"]

log = logging.getLogger(__name__)
PULL_CHANNELS = frozenset({web.NAME})  # the citizen's client fetches these itself
LEASE = timedelta(seconds=120)


@dataclass
class Dispatcher:
    """A dispatcher's retry policy and the send limits it keeps between rounds."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    limits: SendLimits = field(default_factory=SendLimits)
    lease: timedelta = LEASE  # how long a claim holds (`[outbox] lease_seconds`)
    unrecorded: list[Recorded] = field(default_factory=list)  # sent during a database outage

    @classmethod
    def from_settings(
        cls,
        outbox: OutboxSettings,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> Dispatcher:
        """The `[outbox]` settings; `clock` and `sleep` pace the send limits (tests fake them)."""
        policy = RetryPolicy(
            base_delay=outbox.retry_base_delay.total_seconds(),
            max_delay=outbox.retry_max_delay.total_seconds(),
            max_attempts=outbox.max_attempts,
            give_up_after=outbox.give_up_after,
        )
        limits = {
            "telegram": _limit(outbox.telegram),
            "zalo": _limit(outbox.zalo),
            "sms": _limit(outbox.sms),
        }
        lease = timedelta(seconds=outbox.lease_seconds)
        return cls(policy, SendLimits(limits, clock=clock, sleep=sleep), lease)

    async def dispatch_once(
        self,
        factory: sessionmaker[Session],
        adapters: Mapping[str, ChannelAdapter],
        *,
        clock: Callable[[], datetime],
        limit: int = 100,
    ) -> int:
        return await dispatch_once(
            factory,
            adapters,
            clock=clock,
            policy=self.policy,
            limits=self.limits,
            limit=limit,
            lease=self.lease,
            unrecorded=self.unrecorded,
        )


def _limit(setting: SendLimitSettings) -> Limit:
    return Limit(setting.per_second, setting.burst, setting.per_recipient_per_second)


def dispatcher_id() -> str:
    """Who holds a claim: host and process, plus a token telling loops of one process apart."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def claimable(
    now: datetime,
    channels: Collection[str],
    exclude: Collection[int] = (),
    *,
    dialect: str | None = None,
) -> Select[OutboxMessage]:
    """Due rows nobody holds, each its citizen's oldest message still waiting, oldest first.

    A citizen's later message is not eligible while an earlier one is pending, claimed by
    another dispatcher or waiting for its retry, so it cannot overtake it: the query takes
    each citizen's oldest pending row and keeps it only if it is due and free. On
    PostgreSQL (`dialect`) those heads are an array computed once (`id = ANY(ARRAY(...))`),
    which keeps the plan cheap whatever the table's statistics say (with stale ones, after
    a burst, `IN (subquery)` and a correlated NOT EXISTS became nested loops of seconds).
    """
    heads = (
        select(func.min(OutboxMessage.id))
        .where(OutboxMessage.status == OUTBOX_PENDING, OutboxMessage.channel.in_(channels))
        .group_by(OutboxMessage.channel, OutboxMessage.recipient)
    )
    if dialect == "postgresql":
        is_head = OutboxMessage.id == any_(func.array(heads.scalar_subquery()))
    else:
        is_head = OutboxMessage.id.in_(heads)
    return (
        select(OutboxMessage)
        .where(
            is_head,
            OutboxMessage.status == OUTBOX_PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            OutboxMessage.id.not_in(list(exclude)),
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
        query = claimable(now, channels, exclude, dialect=session.get_bind().dialect.name)
        rows = session.scalars(query.limit(limit)).all()
        for row in rows:
            row.claimed_until, row.claimed_by = until, claimer
        return [
            Due(
                r.id,
                r.channel,
                r.recipient,
                dict(r.payload),
                r.attempts,
                until,
                via=r.via,
                created_at=r.created_at,
            )
            for r in rows
        ]


def _finish(
    factory: sessionmaker[Session],
    due: Due,
    outcome: Outcome,
    now: datetime,
    claimer: str,
    routes: Collection[str] = (),
) -> None:
    """Record one send's outcome (see `_record_outcomes`)."""
    _record_outcomes(factory, [Recorded(due, outcome, now)], claimer, routes)


def _record_outcomes(
    factory: sessionmaker[Session],
    batch: Sequence[Recorded],
    claimer: str,
    routes: Collection[str] = (),
) -> None:
    """Record what the sends did and end their leases, in one transaction: the sent rows in
    one UPDATE, the others row by row (a rerouted message's fallback row is written here;
    `routes`: the fallback routes available). Recording again what is recorded changes
    nothing, so a batch whose commit was lost may be retried.

    If the lease ran out and another dispatcher holds a row now, only a successful send is
    recorded (it did reach the citizen); a failure is left to the new holder.
    """
    sent = [r for r in batch if r.outcome.status == OUTBOX_SENT]
    with unit_of_work(factory) as session:
        if sent:
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_([r.due.id for r in sent]),
                    OutboxMessage.status == OUTBOX_PENDING,
                )
                .values(
                    status=OUTBOX_SENT,
                    attempts=OutboxMessage.attempts + 1,
                    last_error=None,
                    claimed_until=None,
                    claimed_by=None,
                    sent_at=max(r.at for r in sent),  # the batch's: within a fraction of a second
                )
                .execution_options(synchronize_session=False)
            )
        for r in batch:
            if r.outcome.status != OUTBOX_SENT:
                _apply(session, r, claimer, routes)


def _apply(session: Session, done: Recorded, claimer: str, routes: Collection[str]) -> None:
    """Record an outcome other than sent: a retry time, dead, or rerouted."""
    outcome = done.outcome
    row = session.get(OutboxMessage, done.due.id, with_for_update=True)
    if row is None or row.status != OUTBOX_PENDING or row.claimed_by not in (claimer, None):
        return
    row.attempts += 1
    row.status = outcome.status
    row.last_error = mask_pii(outcome.error)[:2000] if outcome.error else None
    row.claimed_until = row.claimed_by = None
    if outcome.status == OUTBOX_REROUTED:
        error = row.last_error or "unreachable"
        reroute(session, row, error=error, window=outcome.window, routes=routes, now=done.at)
    if outcome.retry_at is not None:
        row.next_attempt_at = outcome.retry_at


async def _record(
    factory: sessionmaker[Session],
    batch: list[Recorded],
    *,
    retry: bool,
    clock: Callable[[], datetime],
    claimer: str,
    routes: Collection[str],
) -> None:
    """Record a batch; while the database is unreachable, retry with backoff as long as the
    leases last (after that the rows are another dispatcher's to send again)."""
    until = min(r.due.claimed_until for r in batch)
    delay = 0.5
    while True:
        try:
            await asyncio.to_thread(_record_outcomes, factory, batch, claimer, routes)
            return
        except (OperationalError, InterfaceError) as exc:
            if not retry or clock() + timedelta(seconds=delay) >= until:
                raise
            log.warning("recording %d outbox outcomes failed, retrying: %s", len(batch), exc)
        await asyncio.sleep(delay)
        delay = min(2 * delay, 10.0)


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
    policy: RetryPolicy | None = None,
    limits: SendLimits | None = None,
    limit: int = 100,
    lease: timedelta = LEASE,
    claimer: str | None = None,
    unrecorded: list[Recorded] | None = None,
) -> int:
    """Send what is due now, claiming at most `limit` rows; returns how many were sent.

    It claims in rounds: a round holds at most one message per citizen, is sent
    concurrently (`backend.notifications.rounds`), and its outcomes make those citizens'
    next messages claimable in the next round. A message postponed here is not tried
    again in the same call, even if already due again.

    `unrecorded` (kept by the caller between calls): outcomes a database outage kept from
    being recorded; they are recorded first (this raises while the database is still
    away), so what was sent is not sent again after the lease.
    """
    claimer = claimer or dispatcher_id()
    channels = sorted(set(adapters) - PULL_CHANNELS)
    send = Sender(
        adapters, policy or RetryPolicy(), clock, limits or SendLimits(), available_routes(adapters)
    )

    async def record(batch: list[Recorded], retry: bool) -> None:
        await _record(factory, batch, retry=retry, clock=clock, claimer=claimer, routes=send.routes)

    async def give_back(ids: list[int]) -> None:
        await _give_back(factory, ids, claimer)

    unrecorded = [] if unrecorded is None else unrecorded
    if unrecorded:
        await record(list(unrecorded), False)
        unrecorded.clear()
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
        round_ = Round(send, record, give_back, clock=clock, lease=lease, unrecorded=unrecorded)
        sent += await round_.run(batch)
    return sent


async def _give_back(factory: sessionmaker[Session], ids: list[int], claimer: str) -> None:
    try:
        await asyncio.to_thread(_release, factory, ids, claimer)
    except Exception:  # they stay claimed until their lease runs out
        log.exception("could not release %d claimed outbox messages", len(ids))
