"""Concurrency on both databases: unique report codes, no lost conversation updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from backend.conversations.models import Conversation, ConversationEvent
from backend.conversations.service import ChatContext, bot_config, handle_inbound
from backend.db import make_session_factory, unit_of_work
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.settings import Settings
from bot.messages import Inbound, Media
from bot.state import State
from nlu import Nlu

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def test_200_concurrent_reports_get_200_distinct_codes(engine: Engine, settings: Settings) -> None:
    factory = make_session_factory(engine)

    def create(i: int) -> str:
        with unit_of_work(factory) as session:
            data = ReportCreate(content=f"Phản ánh thử nghiệm số {i}", channel="web")
            return create_report(session, data=data, settings=settings, now=NOW).code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(create, range(200)))
    assert len(set(codes)) == 200
    assert sorted(codes) == [f"20261123{n:04d}" for n in range(1, 201)]


def test_simultaneous_messages_of_one_citizen_lose_no_update(
    engine: Engine, settings: Settings, nlu: Nlu
) -> None:
    factory = make_session_factory(engine)
    ctx = ChatContext(settings=settings, nlu=nlu, bot=bot_config(settings))

    def send(message_id: str, **fields: object) -> None:
        msg = Inbound(channel="web", sender_id="lan", message_id=message_id, **fields)  # type: ignore[arg-type]
        with unit_of_work(factory) as session:
            handle_inbound(session, msg=msg, ctx=ctx, now=NOW)

    send("start", text="Nước ngập sâu ở hẻm 7 đường Lê Lợi phường 1 sau cơn mưa chiều nay")
    photos = [Media(kind="image", url=f"https://example.invalid/{i}.jpg") for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(
            pool.map(
                lambda p: send(p[0], media=(p[1],)), [(f"p{i}", m) for i, m in enumerate(photos)]
            )
        )

    with factory() as session:
        conversation = session.scalars(select(Conversation)).one()
        state = State.model_validate(conversation.state)
        assert state.draft is not None
        assert sorted(m.url or "" for m in state.draft.media) == sorted(m.url or "" for m in photos)
        assert state.draft.turns == 13
        assert conversation.version == 13
        inbound = (
            select(func.count())
            .select_from(ConversationEvent)
            .where(ConversationEvent.direction == "in")
        )
        assert session.scalar(inbound) == 13
