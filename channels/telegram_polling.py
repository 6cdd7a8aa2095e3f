"""Long polling of the Telegram Bot API (`getUpdates`), for local development.

Owns: the `getUpdates` loop behind `TelegramAdapter.poll` (offsets, a prompt stop,
waiting out rate limits and network errors with backoff, giving up on a Conflict)
and handing each update over as a webhook request, so polling reuses the webhook
path. The adapter supplies the bot, the webhook headers (with its secret) and the
update types.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from telegram import Bot, Update
from telegram import error as tg

from channels.base import RateLimited, RawRequest, Transient
from channels.telegram_errors import map_error

Handler = Callable[[RawRequest], Awaitable[None]]

_log = logging.getLogger("channels.telegram")  # the adapter's logger, as before the split


async def poll_updates(
    bot: Bot,
    handle: Handler,
    *,
    headers: Mapping[str, str],
    allowed_updates: Sequence[str],
    stop: asyncio.Event,
    timeout: int,
    backoff: float,
) -> None:
    """Long-poll getUpdates until `stop` is set; see `TelegramAdapter.poll`."""
    offset: int | None = None
    delay = backoff
    while not stop.is_set():
        try:
            updates = await _updates(bot, offset, timeout, allowed_updates, stop)
        except tg.Conflict:
            raise
        except tg.TelegramError as exc:
            error = map_error(exc)
            if isinstance(error, RateLimited):
                pause = error.retry_after
            elif isinstance(error, Transient):
                pause, delay = delay, min(delay * 2, 30.0)
            else:
                raise error from exc
            _log.warning("telegram getUpdates failed (%s); retrying in %.1fs", error, pause)
            await _pause(stop, pause)
            continue
        delay = backoff
        for update in updates:
            offset = max(offset or 0, update.update_id + 1)
            await _hand_over(handle, update, headers)


async def _updates(
    bot: Bot,
    offset: int | None,
    timeout: int,
    allowed_updates: Sequence[str],
    stop: asyncio.Event,
) -> list[Update]:
    fetch = asyncio.ensure_future(
        bot.get_updates(offset=offset, timeout=timeout, allowed_updates=allowed_updates)
    )
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not fetch.done():
        fetch.cancel()
        await asyncio.gather(fetch, return_exceptions=True)
        return []
    return list(fetch.result())


async def _hand_over(handle: Handler, update: Update, headers: Mapping[str, str]) -> None:
    body = json.dumps(update.to_dict(), ensure_ascii=False).encode()
    try:
        await handle(RawRequest(method="POST", url="getUpdates", headers=dict(headers), body=body))
    except Exception:
        _log.exception("telegram update %s could not be handled; skipped", update.update_id)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
