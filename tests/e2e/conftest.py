"""End-to-end helpers: the app with real channel adapters pointed at fake providers."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, func, select

from backend.channels.models import INBOX_PENDING, InboxMessage
from backend.db import make_session_factory
from backend.notifications.models import OUTBOX_PENDING, OutboxMessage


def wait_for(condition: Callable[[], object], timeout: float = 15.0) -> None:
    """Poll until `condition()` is truthy (the pipeline works after the webhook answers)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the pipeline did not get there in time")
        time.sleep(0.05)


def settled(engine: Engine) -> bool:
    """Every stored message handled and every reply it caused sent."""
    with make_session_factory(engine)() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.status == INBOX_PENDING)
        )
        unsent = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OUTBOX_PENDING)
        )
    return waiting == 0 and unsent == 0
