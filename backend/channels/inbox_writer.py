"""Group commit for webhook acknowledgements: many webhooks' messages stored in one transaction.

A webhook may answer 200 only once its messages are committed (a crash after the
answer must not lose them), and one transaction per request costs more than the
rest of the request. Requests arriving while a write is in flight wait for the
next one, which stores all of them with one multi-row INSERT ... ON CONFLICT DO
NOTHING (a provider's redelivery still has no second effect). Under light load
a batch is one request and nothing waits longer than a single write; under a
flood the batches grow and the cost per message falls. No library offers this
for SQLAlchemy, so it is written here; it is a few dozen lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from backend.channels.service import inbox_rows, insert_inbox
from backend.db import utcnow
from bot.messages import Inbound

log = logging.getLogger(__name__)


def write_rows(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """One transaction, one statement; duplicates (redeliveries) are skipped."""
    with engine.begin() as conn:
        insert_inbox(conn, rows)


class InboxWriter:
    """Stores messages for concurrent webhook requests, one transaction per batch."""

    def __init__(self, engine: Engine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._waiting: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, messages: Sequence[Inbound]) -> None:
        """Return once `messages` are committed; raise if their batch could not be."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((inbox_rows(messages, utcnow()), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._waiting:
            size = self._max_batch
            batch, self._waiting = self._waiting[:size], self._waiting[size:]
            rows = [row for rows, _ in batch for row in rows]
            try:
                await asyncio.to_thread(write_rows, self._engine, rows)
            except Exception as exc:
                log.exception("inbox batch of %d messages not stored", len(rows))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
