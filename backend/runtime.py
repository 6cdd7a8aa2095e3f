"""What the web app and `paht worker` share: database, NLU, channels, media intake, pipeline.

The web app always needs the database, the NLU (the web chat and the hotline answer
inline) and the channels (webhook verification). The pipeline — stored webhook
messages through the bot, the outbox to the providers, media downloads — runs
inside the app by default (`pipeline = "in_app"`, the embedded default of
`make run`), or in separate `paht worker` processes (`pipeline = "worker"`), which
keeps the bot's CPU work off the processes that acknowledge webhooks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.channels.pipeline import Pipeline
from backend.channels.registry import Channels, build_channels
from backend.conversations.service import ChatContext, bot_config
from backend.db import make_engine, make_session_factory
from backend.media import MediaLimits
from backend.media.configured import media_store_from
from backend.media.download import DownloadLimits
from backend.media.service import MediaIntake, MediaPolicy
from backend.media.store import MediaStore
from backend.notifications.dispatcher import Dispatcher
from backend.reports.corrections import training_files
from backend.settings import Settings
from backend.webhooks_out.sender import WebhookSender
from nlu import Nlu, load_nlu

log = logging.getLogger(__name__)
_heap_frozen = False


@dataclass
class Runtime:
    engine: Engine
    sessions: sessionmaker[Session]
    chat: ChatContext
    channels: Channels
    media_store: MediaStore
    media_policy: MediaPolicy
    pipeline: Pipeline

    async def aclose(self) -> None:
        await self.pipeline.stop()
        await self.channels.aclose()
        close_store = getattr(self.media_store, "aclose", None)  # OwnS3MediaStore's client
        if close_store is not None:
            await close_store()
        self.engine.dispose()


async def open_runtime(
    settings: Settings,
    *,
    nlu: Nlu | None = None,
    channels: Channels | None = None,
    media_store: MediaStore | None = None,
) -> Runtime:
    """Everything wired from the settings; tests pass a loaded NLU and fake-backed channels.
    The pipeline is built, not started."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    chat = ChatContext(
        settings=settings, nlu=nlu or load_nlu_for(settings), bot=bot_config(settings)
    )
    wired = channels or await build_channels(settings, sessions=sessions)
    policy = media_policy(settings)
    store = media_store or media_store_from(settings.media)
    media = MediaIntake(
        sessions,
        adapters=wired.senders,
        store=store,
        policy=policy,
        twilio_auth=wired.twilio_auth,
    )
    dispatcher = Dispatcher.from_settings(settings.outbox)
    webhooks = WebhookSender(sessions, settings.webhooks)  # outgoing webhooks, if configured
    pipeline = Pipeline(
        sessions,
        chat,
        wired.senders,
        idle_seconds=settings.outbox.idle_seconds,
        media=media,
        dispatcher=dispatcher,
        companions=[webhooks],
    )
    return Runtime(engine, sessions, chat, wired, store, policy, pipeline)


def load_nlu_for(settings: Settings) -> Nlu:
    """The NLU engine for this deployment (trains on first start if no model is built)."""
    return load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=settings.nlu.model_dir,
        extra_data_dirs=(*settings.nlu.extra_data_dirs, *training_files(settings)),
        nationwide=settings.nationwide,
        category_threshold=settings.nlu.confidence_threshold,
    )


def media_policy(settings: Settings) -> MediaPolicy:
    """The media intake's limits from the deployment settings."""
    limits = MediaLimits(download=DownloadLimits(max_bytes=settings.media.max_bytes))
    return MediaPolicy(limits=limits, max_attempts=settings.media.max_attempts)


async def run_worker(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    nlu: Nlu | None = None,
    channels: Channels | None = None,
) -> None:
    """`paht worker`: run the pipeline until SIGTERM/SIGINT (or `stop` is set).

    Several workers may run against one PostgreSQL: inbox messages are taken with
    row locks (SKIP LOCKED) in per-citizen order, outbox messages are claimed with a
    lease before they are sent.
    """
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    runtime = await open_runtime(settings, nlu=nlu, channels=channels)
    freeze_heap()
    runtime.pipeline.start()
    log.info("worker started")
    try:
        await stop.wait()
    finally:
        await runtime.aclose()
        log.info("worker stopped")


def freeze_heap() -> None:
    """Leave what is loaded at start out of the garbage collector's full passes.

    The NLU model and the gazetteer are millions of long-lived objects; a full collection
    walked them all and stalled every request in the process for ~100 ms (the webhook
    benchmark's p99 went from ~170 ms to ~40 ms with this). Only the first call of a process
    freezes: later apps in one process (tests) must not pin their garbage forever.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGTERM or SIGINT (Ctrl+C). Signal handlers belong to the main thread:
    a loop run elsewhere (tests) is stopped through `stop` itself."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
