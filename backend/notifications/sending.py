"""One claimed outbox message sent: rendered for its route, paced, its outcome classified.

Owns the retry policy (exponential backoff with jitter, `max_attempts`,
`give_up_after`), `Due` (a claimed row as the sender needs it), `Outcome` (what
the dispatcher records) and the sender: it renders the row with the adapter's
`render`, or with `render_via(via, replies, recipient, ref=...)` for a fallback
route that is not the channel's own (a Zalo "giao dịch" card, a ZNS template),
waits for the send limits before every provider call, and maps the channel error
family to an outcome: retry later, reroute (unreachable this way), or dead.
Where the adapter takes a client reference the provider deduplicates on (the SMS
gateway's `{message_id}`), each part gets one derived from the row id, so a message
resent after a crash carries the same reference as the first time.
No database here: `backend.notifications.dispatcher` claims and records.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.notifications.models import (
    OUTBOX_DEAD,
    OUTBOX_PENDING,
    OUTBOX_REROUTED,
    OUTBOX_SENT,
)
from backend.notifications.send_limits import SendLimits
from bot.messages import Reply
from channels.base import (
    BadRequest,
    ChannelAdapter,
    Outgoing,
    OutsideWindow,
    RateLimited,
    SendError,
    Transient,
    Unreachable,
)
from channels.sms_gateway import GatewaySmsAdapter

log = logging.getLogger(__name__)
_REFERENCES = uuid.UUID("6f1d2c1e-8a52-4d0b-9a51-7061687400b0")  # namespace of our references


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 5.0
    max_delay: float = 900.0
    max_attempts: int = 8
    give_up_after: timedelta | None = None  # since the row was written

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
    claimed_until: datetime
    via: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None = None
    retry_at: datetime | None = None
    window: bool = False  # rerouted because of the interaction window (any next route)


@dataclass(frozen=True)
class Sender:
    """Sends one claimed message: renders it for its route, waits for the send limits."""

    adapters: Mapping[str, ChannelAdapter]
    policy: RetryPolicy
    clock: Callable[[], datetime]
    limits: SendLimits
    routes: frozenset[str]

    async def __call__(self, due: Due, *, start_by: datetime | None = None) -> Outcome | None:
        """The outcome of sending `due`; None, without any provider call, if the first part
        could not start before `start_by` (the send limits made it wait that long)."""
        adapter = self.adapters[due.channel]
        parts = 0
        try:
            for outgoing in _render(adapter, due):
                await self.limits.acquire(due.channel, outgoing.recipient)
                if not parts and start_by is not None and self.clock() >= start_by:
                    return None
                await adapter.send(outgoing)
                parts += 1
        except RateLimited as exc:
            return self._retry(due, str(exc), exc.retry_after)
        except Transient as exc:
            return self._retry(due, str(exc), self.policy.delay(due.attempts + 1))
        except Unreachable as exc:
            error = f"{type(exc).__name__}: {exc}"
            if parts:  # part of it reached the citizen: resending it elsewhere would repeat it
                return Outcome(OUTBOX_DEAD, f"{error} (after {parts} part(s) were sent)")
            log.info("outbox message %s rerouted: %s", due.id, type(exc).__name__)
            return Outcome(OUTBOX_REROUTED, error, window=isinstance(exc, OutsideWindow))
        except SendError as exc:
            log.warning("outbox message %s dead: %s", due.id, type(exc).__name__)
            return Outcome(OUTBOX_DEAD, f"{type(exc).__name__}: {exc}")
        return Outcome(OUTBOX_SENT)

    def _retry(self, due: Due, error: str, delay: float) -> Outcome:
        now, policy = self.clock(), self.policy
        if due.attempts + 1 >= policy.max_attempts:
            return Outcome(OUTBOX_DEAD, f"gave up after {due.attempts + 1} attempts: {error}")
        created, give_up = due.created_at, policy.give_up_after
        if created is not None and give_up is not None and now - created >= give_up:
            return Outcome(OUTBOX_DEAD, f"gave up after {policy.give_up_after}: {error}")
        return Outcome(OUTBOX_PENDING, error, now + timedelta(seconds=delay))


def _render(adapter: ChannelAdapter, due: Due) -> list[Outgoing]:
    """The provider calls for a row: its channel's own rendering, or its fallback route's."""
    replies = [Reply.model_validate(due.payload)]
    if due.via is None or due.via == due.channel:
        return _referenced(adapter, due, adapter.render(replies, due.recipient))
    render_via = getattr(adapter, "render_via", None)
    if render_via is None:
        raise BadRequest(f"{due.channel} cannot send by route {due.via!r}")
    outgoing: list[Outgoing] = render_via(due.via, replies, due.recipient, ref=f"outbox{due.id}")
    return _referenced(adapter, due, outgoing)


def _referenced(adapter: ChannelAdapter, due: Due, parts: list[Outgoing]) -> list[Outgoing]:
    """`parts` with a client reference per part, stable across resends, where the adapter
    passes one to the provider (a UUID, as the SMS gateway makes when none is given)."""
    if not isinstance(adapter, GatewaySmsAdapter):
        return parts
    return [
        dataclasses.replace(
            part,
            payload={
                **part.payload,
                "message_id": uuid.uuid5(_REFERENCES, f"outbox:{due.id}:{n}").hex,
            },
        )
        for n, part in enumerate(parts)
    ]
