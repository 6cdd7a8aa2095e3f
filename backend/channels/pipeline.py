"""The in-process pipeline of the embedded default: inbox → bot → outbox → providers → media.

One asyncio task started with the app: it handles stored webhook messages
(in a worker thread, the database code is synchronous), sends what the outbox
holds, and keeps a media round going (pending attachments downloaded into the
media store) in the background, so a slow download never holds back a reply.
A webhook wakes it at once; otherwise it looks every `idle_seconds` (`[outbox]
idle_seconds`, one second by default). `companions` are other
background loops (the outgoing webhook sender) that start and stop with it, wherever it
runs (`paht serve` in_app or `paht worker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from backend.channels.service import process_pending
from backend.conversations.service import ChatContext
from backend.db import utcnow
from backend.media.service import MediaIntake
from backend.notifications.dispatcher import Dispatcher
from channels.base import ChannelAdapter

log = logging.getLogger(__name__)


class Companion(Protocol):
    def start(self) -> None: ...

    async def stop(self) -> None: ...


class Pipeline:
    def __init__(
        self,
        factory: sessionmaker[Session],
        ctx: ChatContext,
        adapters: Mapping[str, ChannelAdapter],
        idle_seconds: float = 1.0,
        media: MediaIntake | None = None,
        dispatcher: Dispatcher | None = None,
        companions: Sequence[Companion] = (),
    ) -> None:
        self.factory, self.ctx, self.adapters = factory, ctx, adapters
        self.idle_seconds = idle_seconds
        self.dispatcher = dispatcher or Dispatcher()  # its send limits last between rounds
        self.media = media or MediaIntake(factory, adapters=adapters)
        self.media.on_progress = self.media.on_progress or self.wake
        self.companions = tuple(companions)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Handle what is stored, send what is due, start or collect a media round; the work
        done (a media round's work counts once it has finished)."""
        handled = await asyncio.to_thread(process_pending, self.factory, ctx=self.ctx, now=utcnow())
        sent = await self.dispatcher.dispatch_once(self.factory, self.adapters, clock=utcnow)
        media = self.media.tick()
        return handled + sent + media

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("pipeline round failed")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
                self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="paht-pipeline")
        for companion in self.companions:
            companion.start()

    async def stop(self) -> None:
        for companion in self.companions:
            await companion.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.media.aclose()
