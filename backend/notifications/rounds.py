"""A claimed round of outbox messages: sent concurrently, outcomes recorded in batches.

Owns `Round`. A round holds at most one message per citizen (the claim's ordering rule),
so its messages may go out side by side without a citizen's messages overtaking each
other: up to `concurrency` sends at once, each still waiting for the channel's send
limits, and each starting only while at least half of the lease remains (so a send never
overlaps another dispatcher's after the lease ran out). What could not start is given
back at the end of the round.

Outcomes are recorded every `flush_every` sends and at the round's end, each batch in
one transaction (`record`, injected: `backend.notifications.dispatcher` writes them,
retrying while the database is unreachable and the lease lasts). A batch that still
could not be recorded goes to `unrecorded`, which the dispatcher keeps and records
before its next claim, once the database is back. A crash of the process repeats what
was sent since the last recorded batch (one batch, plus one filling up while it was
being written, plus the sends in flight): those rows stay claimed until the lease runs
out, then are sent again — at least once, as before. An unexpected error in a send
stops the round: sends in flight finish and are recorded, the rest is given back, the
failing row keeps its lease. No database here.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.notifications.models import OUTBOX_SENT
from backend.notifications.sending import Due, Outcome, Sender

log = logging.getLogger(__name__)
# Sends in flight at once, per dispatcher. More costs CPU without sending faster: httpcore's
# pool scans every connection for each request (bench/outbox.py: 8 about 1.1 ms of worker
# CPU per message, 16 about 1.6 ms).
CONCURRENCY = 8
FLUSH_EVERY = 20  # outcomes recorded per transaction


@dataclass(frozen=True)
class Recorded:
    """A send's outcome, waiting to be recorded; `at`: when the send ended."""

    due: Due
    outcome: Outcome
    at: datetime


Record = Callable[[list[Recorded], bool], Awaitable[None]]  # (batch, retry while lease lasts)
GiveBack = Callable[[list[int]], Awaitable[None]]


class Round:
    def __init__(
        self,
        send: Sender,
        record: Record,
        give_back: GiveBack,
        *,
        clock: Callable[[], datetime],
        lease: timedelta,
        concurrency: int | None = None,
        flush_every: int | None = None,
        unrecorded: list[Recorded] | None = None,
    ) -> None:
        self.send, self.record, self.give_back = send, record, give_back
        self.clock, self.lease = clock, lease
        self.concurrency = max(1, concurrency or CONCURRENCY)
        self.flush_every = max(1, flush_every or FLUSH_EVERY)
        self._waiting: collections.deque[Due] = collections.deque()
        self._late: list[int] = []
        self._buffer: list[Recorded] = []
        self._lock = asyncio.Lock()
        self._stopped = False
        self.sent = 0
        self.unrecorded = [] if unrecorded is None else unrecorded  # outcomes not yet recorded

    async def run(self, batch: list[Due]) -> int:
        """Send `batch` (claimed together); returns how many were sent."""
        self._waiting.extend(batch)
        workers = min(self.concurrency, len(batch))
        cancelled = True
        try:
            results = await asyncio.gather(
                *(self._work() for _ in range(workers)), return_exceptions=True
            )
            cancelled = False
        finally:
            try:
                await self._flush(retry=not cancelled)  # no waiting for the database on shutdown
            finally:
                left = [due.id for due in self._waiting] + self._late
                self._waiting.clear()
                if left:  # the lease is running out, or the round was cancelled or failed
                    await self.give_back(left)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return self.sent

    async def _work(self) -> None:
        while self._waiting and not self._stopped:
            if self.clock() >= self._waiting[0].claimed_until - self.lease / 2:
                return  # too late to start any of them (one lease for the round)
            due = self._waiting.popleft()
            try:
                outcome = await self.send(due, start_by=due.claimed_until - self.lease / 2)
            except BaseException:
                self._stopped = True
                raise
            if outcome is None:
                self._late.append(due.id)
                continue
            self.sent += outcome.status == OUTBOX_SENT
            self._buffer.append(Recorded(due, outcome, self.clock()))
            if len(self._buffer) >= self.flush_every:
                await self._flush(retry=True)

    async def _flush(self, *, retry: bool) -> None:
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return
            try:
                await self.record(batch, retry)
            except BaseException:
                self._stopped = True  # sending on would only add to what cannot be recorded
                self.unrecorded.extend(batch)
                log.error("could not record %d outbox outcomes yet", len(batch))
                raise
