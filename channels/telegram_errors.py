"""How Bot API failures reach the outbox: PTB errors mapped to the channel error family.

Owns: `map_error` (a PTB `TelegramError` as a `SendError`: rate-limited, blocked or
otherwise unreachable, bad request, transient), the `mapped_errors` context manager
the adapter wraps its calls in, and `KeepRateLimits`, the transport wrapper that turns
any HTTP 429 into PTB's `RetryAfter` so a bare 429 is never mistaken for a network
error.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from telegram import error as tg
from telegram.request import BaseRequest
from telegram.warnings import PTBDeprecationWarning

from channels.base import BadRequest, Blocked, RateLimited, SendError, Transient, Unreachable

DEFAULT_RETRY_AFTER = 5  # seconds, for a 429 that does not say how long
_NO_CHAT = ("chat not found", "user not found")


class ChatNotFound(Blocked, BadRequest):
    """400 "chat not found": the citizen deleted their account or the chat never existed.

    Both a refusal (the same call will never succeed) and an unreachable citizen, so the
    outbox, which looks for `Unreachable` first, sends the update another way (SMS).
    """


class KeepRateLimits(BaseRequest):
    """PTB's httpx transport, except that a 429 always means "rate limited".

    PTB raises RetryAfter only when the body carries `parameters.retry_after`; a bare 429
    (from a proxy, say) would otherwise look like any network error.
    """

    __slots__ = ("_inner",)

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await self._inner.do_request(*args, **kwargs)
        if code == 429 and not _says_retry_after(payload):
            with warnings.catch_warnings():  # PTB reads its own deprecated attribute
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                raise tg.RetryAfter(DEFAULT_RETRY_AFTER)
        return code, payload


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    try:
        yield
    except tg.TelegramError as exc:
        raise map_error(exc) from exc


def map_error(exc: tg.TelegramError) -> SendError:
    """A PTB error as the outbox's error family."""
    if isinstance(exc, tg.RetryAfter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return RateLimited(str(exc), retry_after=seconds)
    if isinstance(exc, tg.Forbidden):
        return Blocked(str(exc))  # blocked by the citizen, deactivated, never started the bot
    if isinstance(exc, tg.ChatMigrated):
        return Unreachable(str(exc))  # not a private chat
    if isinstance(exc, tg.BadRequest):
        if any(words in str(exc).lower() for words in _NO_CHAT):
            return ChatNotFound(str(exc))
        return BadRequest(str(exc))
    if isinstance(exc, tg.InvalidToken):
        return Transient(f"bot token rejected by the Bot API: {exc}")  # fixable by an operator
    return Transient(str(exc))  # NetworkError, TimedOut, 5xx, Conflict, unreadable answers


def _says_retry_after(payload: bytes) -> bool:
    try:
        parameters = json.loads(payload).get("parameters") or {}
        return bool(parameters.get("retry_after"))
    except (ValueError, AttributeError, RecursionError):
        return False
