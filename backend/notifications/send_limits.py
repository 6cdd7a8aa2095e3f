"""Per-channel send rates for the outbox dispatcher: async token buckets.

Owns: `TokenBucket` (a rate and a burst, refilled continuously from an injected
clock), `Limit` (a channel's overall rate and, optionally, a per-recipient rate)
and `SendLimits`, which the dispatcher awaits before every provider call:
`await limits.acquire(channel, recipient)` waits until both the channel's bucket
and the recipient's have a token, then takes one from each. Telegram's defaults
are its flood limits (about 30 messages a second across chats, 1 a second per
chat); Zalo and SMS take what the deployment configures (`[outbox]` settings).

The buckets live in the dispatcher's process: N dispatcher processes (`paht
serve --workers N`, several `paht worker`s) together send up to N times the
configured rate, so configure each with the provider's limit divided by N. A
provider's 429 / retry-after remains the backstop (the message is postponed).

The clock and the sleep are injected, so the arithmetic is tested without
waiting; by default they are `time.monotonic` and `asyncio.sleep`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
MAX_RECIPIENT_BUCKETS = 10_000  # beyond this, buckets that are full again are forgotten
_EPSILON = 1e-9  # a token this close to whole is whole (float sums, a clock's resolution)


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; starts full."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self._tokens, self._at = float(burst), clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return self._tokens

    def wait_time(self) -> float:
        """Seconds until a token is available (0 if one is now)."""
        tokens = self._refill()
        return 0.0 if tokens >= 1 - _EPSILON else (1 - tokens) / self.rate

    def take(self) -> None:
        self._refill()
        self._tokens -= 1

    def full(self) -> bool:
        return self._refill() >= self.burst


@dataclass(frozen=True)
class Limit:
    """A channel's send rate: overall, and per recipient (chat) if set; bursts default to
    one second's worth (at least one message)."""

    per_second: float
    burst: float | None = None
    per_recipient_per_second: float | None = None
    per_recipient_burst: float = 1.0


class SendLimits:
    """The token buckets of one dispatcher process, by channel (and recipient)."""

    def __init__(
        self,
        limits: Mapping[str, Limit] | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._limits = dict(limits or {})
        self._clock, self._sleep = clock, sleep
        self._channels = {
            name: TokenBucket(
                limit.per_second, limit.burst or max(1.0, math.ceil(limit.per_second)), clock
            )
            for name, limit in self._limits.items()
        }
        self._recipients: dict[tuple[str, str], TokenBucket] = {}

    async def acquire(self, channel: str, recipient: str) -> float:
        """Wait until `channel` may send to `recipient` now, and count that send; returns
        the seconds waited. A channel without a configured limit never waits."""
        buckets = self._buckets(channel, recipient)
        waited = 0.0
        while True:
            wait = max((bucket.wait_time() for bucket in buckets), default=0.0)
            if wait <= 0:
                for bucket in buckets:
                    bucket.take()
                return waited
            await self._sleep(wait)
            waited += wait

    def _buckets(self, channel: str, recipient: str) -> list[TokenBucket]:
        overall = self._channels.get(channel)
        if overall is None:
            return []
        limit = self._limits[channel]
        if limit.per_recipient_per_second is None:
            return [overall]
        key = (channel, recipient)
        bucket = self._recipients.get(key)
        if bucket is None:
            self._forget_idle()
            bucket = TokenBucket(
                limit.per_recipient_per_second, limit.per_recipient_burst, self._clock
            )
            self._recipients[key] = bucket
        return [overall, bucket]

    def _forget_idle(self) -> None:
        if len(self._recipients) >= MAX_RECIPIENT_BUCKETS:
            for key in [k for k, b in self._recipients.items() if b.full()]:
                del self._recipients[key]
