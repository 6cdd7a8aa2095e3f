"""Group commit of webhook messages: every acknowledged message is stored, in few transactions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from backend.channels import inbox_writer
from backend.channels.inbox_writer import InboxWriter
from backend.channels.models import InboxMessage
from bot.messages import Inbound


def _msg(i: int, sender: str = "u1") -> Inbound:
    return Inbound(channel="telegram", sender_id=sender, message_id=f"m{i}", text=f"tin {i}")


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(InboxMessage)) or 0


async def test_concurrent_webhooks_share_transactions_and_all_are_stored(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = inbox_writer.write_rows

    def counting(engine: Engine, rows: list[dict[str, Any]]) -> None:
        calls.append(len(rows))
        real(engine, rows)

    monkeypatch.setattr(inbox_writer, "write_rows", counting)
    writer = InboxWriter(engine)
    await asyncio.gather(*(writer.store([_msg(i, sender=f"u{i % 7}")]) for i in range(60)))
    assert _count(engine) == 60
    assert sum(calls) == 60
    assert len(calls) < 10, calls  # batched, not one transaction per request


async def test_redelivered_messages_are_stored_once(engine: Engine) -> None:
    writer = InboxWriter(engine)
    await asyncio.gather(*(writer.store([_msg(i % 5)]) for i in range(20)))
    await writer.store([_msg(1), _msg(2)])
    assert _count(engine) == 5


async def test_a_failed_write_fails_every_request_of_its_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(engine: Engine, rows: list[dict[str, Any]]) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(inbox_writer, "write_rows", down)
    writer = InboxWriter(engine)
    results = await asyncio.gather(
        *(writer.store([_msg(i)]) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, OperationalError) for r in results)
    monkeypatch.undo()
    await writer.store([_msg(9)])  # the writer recovers once the database is back
    assert _count(engine) == 1
