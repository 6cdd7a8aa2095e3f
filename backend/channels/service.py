"""Storing acknowledged webhook messages and running them through the bot afterwards.

A webhook route, after verifying and parsing, only stores its messages (an
insert that ignores a provider's redelivery). `process_pending`
runs the bot for each stored message in its own transaction and writes the
replies to the outbox in that same transaction, so a reply is never lost nor
sent for a message that was not handled.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from backend.channels.models import INBOX_DONE, INBOX_FAILED, INBOX_PENDING, InboxMessage
from backend.conversations.service import ChatContext, handle_inbound
from backend.db import unit_of_work
from backend.logs import mask_pii
from backend.notifications.service import enqueue
from bot.messages import Inbound

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def message_key(msg: Inbound) -> str:
    """The provider message id, or a digest of the message when the provider gives none."""
    if msg.message_id:
        return msg.message_id
    return "sha256:" + hashlib.sha256(msg.model_dump_json().encode()).hexdigest()[:40]


def inbox_rows(messages: Sequence[Inbound], now: datetime) -> list[dict[str, Any]]:
    """The inbox rows of `messages`, keyed by the provider's message id."""
    return [
        {
            "channel": msg.channel,
            "provider_message_id": message_key(msg),
            "sender_id": msg.sender_id,
            "message": msg.model_dump(mode="json"),
            "status": INBOX_PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for msg in messages
    ]


def store_inbound(session: Session, *, messages: Sequence[Inbound], now: datetime) -> None:
    """Store new messages; a redelivered one is ignored.

    Webhook routes store through `inbox_writer.InboxWriter`, which batches
    concurrent requests into one transaction of this same `insert_inbox`.
    """
    insert_inbox(session, inbox_rows(messages, now))


def insert_inbox(db: Session | Connection, rows: list[dict[str, Any]]) -> None:
    """One multi-row INSERT ... ON CONFLICT DO NOTHING (redeliveries are skipped)."""
    if not rows:
        return
    dialect = db.dialect if isinstance(db, Connection) else db.get_bind().dialect
    insert = pg_insert if dialect.name == "postgresql" else sqlite_insert
    stmt = insert(InboxMessage).on_conflict_do_nothing(
        index_elements=["channel", "provider_message_id"]
    )
    db.execute(stmt, rows)


def _next_pending(session: Session) -> InboxMessage | None:
    """The oldest message whose citizen has no earlier message still waiting.

    With several pipelines (several `paht serve` workers) a citizen's second
    message must not overtake the first while another worker handles it: the
    earlier row stays pending until that worker commits, so the later one is
    not eligible yet; SKIP LOCKED lets the workers share other citizens.
    """
    earlier = aliased(InboxMessage)
    waiting_before = (
        select(earlier.id)
        .where(
            earlier.status == INBOX_PENDING,
            earlier.channel == InboxMessage.channel,
            earlier.sender_id == InboxMessage.sender_id,
            earlier.id < InboxMessage.id,
        )
        .exists()
    )
    query = (
        select(InboxMessage)
        .where(InboxMessage.status == INBOX_PENDING, ~waiting_before)
        .order_by(InboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=InboxMessage)
    )
    return session.scalar(query)


def process_pending(
    factory: sessionmaker[Session], *, ctx: ChatContext, now: datetime, limit: int = 100
) -> int:
    """Handle up to `limit` stored messages, oldest first. Returns how many were handled."""
    handled = 0
    for _ in range(limit):
        item_id: int | None = None
        try:
            with unit_of_work(factory) as session:
                item = _next_pending(session)
                if item is None:
                    return handled
                item_id = item.id
                _process(session, item, ctx, now)
            handled += 1
        except Exception as exc:
            log.exception("inbox message failed")
            if item_id is None:
                raise
            _record_failure(factory, item_id, exc)
    return handled


def _process(session: Session, item: InboxMessage, ctx: ChatContext, now: datetime) -> None:
    msg = Inbound.model_validate(item.message)
    msg = msg if msg.message_id else msg.model_copy(update={"message_id": item.provider_message_id})
    replies = handle_inbound(session, msg=msg, ctx=ctx, now=now)
    for index, reply in enumerate(replies):
        enqueue(
            session,
            key=f"reply:{item.channel}:{item.provider_message_id}:{index}",
            channel=item.channel,
            recipient=item.sender_id,
            kind="reply",
            payload=reply.model_dump(mode="json"),
            now=now,
        )
    item.status = INBOX_DONE
    item.attempts += 1
    item.processed_at = now


def _record_failure(factory: sessionmaker[Session], item_id: int, exc: Exception) -> None:
    with unit_of_work(factory) as session:
        item = session.get(InboxMessage, item_id)
        if item is None:
            return
        item.attempts += 1
        item.last_error = mask_pii(f"{type(exc).__name__}: {exc}")[:2000]
        if item.attempts >= MAX_ATTEMPTS:
            item.status = INBOX_FAILED
