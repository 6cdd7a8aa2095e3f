"""Delivering webhook events: claim due rows, POST them signed, record the outcome.

Like the outbox dispatcher, a sender first leases the rows it will send (one short
transaction, SKIP LOCKED on PostgreSQL), so several processes never send one row
at the same time while the lease holds. A 2xx answer delivers the event; anything
else (another status, a timeout, a refused connection) is retried with exponential
backoff and jitter, and after `max_attempts` the row is dead with its last error.
A row whose endpoint is no longer configured is dead at once. `WebhookSender` runs
this in a loop beside the pipeline (backend.runtime).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import unit_of_work, utcnow
from backend.notifications.dispatcher import dispatcher_id
from backend.notifications.sending import RetryPolicy
from backend.settings import WebhookSettings
from backend.webhooks_out import signing
from backend.webhooks_out.models import DEAD, DELIVERED, PENDING, WebhookDelivery

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)


# The outbox's backoff, slower: a receiving system may be down for a while.
WEBHOOK_RETRY = RetryPolicy(base_delay=10.0, max_delay=3600.0, max_attempts=10)


@dataclass(frozen=True)
class Due:
    id: int
    event: str
    event_id: str
    url: str
    payload: dict[str, object]
    attempts: int


def claim(factory: sessionmaker[Session], *, now: datetime, limit: int, claimer: str) -> list[Due]:
    """Lease up to `limit` due rows nobody holds, oldest first, in one transaction."""
    stmt = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work(factory) as session:
        rows = session.scalars(stmt).all()
        for row in rows:
            row.claimed_until, row.claimed_by = now + LEASE, claimer
        return [Due(r.id, r.event, r.event_id, r.url, dict(r.payload), r.attempts) for r in rows]


async def post(
    client: httpx.AsyncClient, due: Due, endpoint: WebhookSettings, now: datetime
) -> str | None:
    """Send one event; None when the receiver took it, else the error to record."""
    raw = signing.body(due.payload)
    secret = endpoint.secret.get_secret_value()
    sent = signing.headers(secret, raw, event=due.event, event_id=due.event_id, now=now)
    try:
        response = await client.post(
            endpoint.url, content=raw, headers=sent, timeout=endpoint.timeout_seconds
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def finish(
    factory: sessionmaker[Session],
    due: Due,
    *,
    error: str | None,
    now: datetime,
    claimer: str,
    policy: RetryPolicy,
    final: bool = False,
) -> None:
    """Record an attempt's outcome and end the lease (unless another sender holds the row)."""
    with unit_of_work(factory) as session:
        row = session.get(WebhookDelivery, due.id, with_for_update=True)
        if row is None or row.claimed_by != claimer or row.status != PENDING:
            return
        row.attempts += 1
        row.claimed_until = row.claimed_by = None
        if error is None:
            row.status, row.delivered_at, row.last_error = DELIVERED, now, None
            return
        row.last_error = error
        if final or row.attempts >= policy.max_attempts:
            row.status = DEAD
            log.warning("webhook %s to %s is dead: %s", row.event_id, row.url, error)
        else:
            row.next_attempt_at = now + timedelta(seconds=policy.delay(row.attempts))


async def deliver_once(
    factory: sessionmaker[Session],
    *,
    endpoints: Sequence[WebhookSettings],
    client: httpx.AsyncClient,
    clock: Callable[[], datetime] = utcnow,
    policy: RetryPolicy | None = None,
    claimer: str | None = None,
    limit: int = 20,
) -> int:
    """Send what is due now; returns how many rows were attempted."""
    policy = policy or WEBHOOK_RETRY
    claimer = claimer or dispatcher_id()
    by_url = {e.url: e for e in endpoints}
    due = await asyncio.to_thread(claim, factory, now=clock(), limit=limit, claimer=claimer)

    async def one(item: Due) -> None:
        endpoint = by_url.get(item.url)
        if endpoint is None:
            error, final = "endpoint no longer configured", True
        else:
            error, final = await post(client, item, endpoint, clock()), False
        await asyncio.to_thread(
            finish,
            factory,
            item,
            error=error,
            now=clock(),
            claimer=claimer,
            policy=policy,
            final=final,
        )

    await asyncio.gather(*(one(item) for item in due))
    return len(due)


class WebhookSender:
    """The delivery loop: a round every `idle_seconds` while nothing is due, at once otherwise."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        endpoints: Sequence[WebhookSettings],
        *,
        client: httpx.AsyncClient | None = None,
        policy: RetryPolicy | None = None,
        idle_seconds: float = 2.0,
    ) -> None:
        self.factory, self.endpoints = factory, list(endpoints)
        self.client = client or httpx.AsyncClient(follow_redirects=False)
        self.policy = policy or WEBHOOK_RETRY
        self.idle_seconds = idle_seconds
        self.claimer = dispatcher_id()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        return await deliver_once(
            self.factory,
            endpoints=self.endpoints,
            client=self.client,
            policy=self.policy,
            claimer=self.claimer,
        )

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("webhook round failed")
                busy = 0
            if not busy:
                await asyncio.sleep(self.idle_seconds)

    def start(self) -> None:
        if self.endpoints and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="paht-webhooks-out")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.aclose()
