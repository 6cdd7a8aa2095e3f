"""One citizen across channels, and flood protection per citizen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from backend.citizens.models import ChannelIdentity, Citizen
from backend.conversations.service import ChatContext, bot_config, handle_inbound
from backend.db import make_session_factory, unit_of_work
from backend.reports.models import Report
from bot.messages import Inbound, Reply
from nlu import Nlu
from tests.conftest import make_settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _context(nlu: Nlu, **overrides: object) -> ChatContext:
    settings = make_settings(**overrides)
    return ChatContext(settings=settings, nlu=nlu, bot=bot_config(settings))


def _send(engine: Engine, ctx: ChatContext, msg: Inbound, now: datetime = NOW) -> list[Reply]:
    with unit_of_work(make_session_factory(engine)) as session:
        return handle_inbound(session, msg=msg, ctx=ctx, now=now)


def test_a_shared_phone_links_the_citizens_channels(engine: Engine, nlu: Nlu) -> None:
    ctx = _context(nlu)
    report = [
        "Đèn đường hẻm 12 Nguyễn Trãi phường 9 thành phố Vĩnh Long bị tắt cả tuần nay",
        "/media:done",
        "/public:no",
        "Lê Văn Tám 0912345678",
        "/confirm",
    ]
    for i, text in enumerate(report):
        payload = text if text.startswith("/") else None
        _send(
            engine,
            ctx,
            Inbound(
                channel="sms",
                sender_id="+84912345678",
                message_id=f"s{i}",
                text="" if payload else text,
                payload=payload,
            ),
        )
    _send(
        engine,
        ctx,
        Inbound(
            channel="telegram",
            sender_id="tg-55",
            message_id="t1",
            contact_phone="+84912345678",
            sender_name="Tám",
        ),
    )
    with make_session_factory(engine)() as session:
        identities = session.scalars(select(ChannelIdentity)).all()
        assert {(i.channel, i.external_id) for i in identities} == {
            ("sms", "+84912345678"),
            ("telegram", "tg-55"),
        }
        assert len({i.citizen_id for i in identities}) == 1
        citizen = session.get(Citizen, identities[0].citizen_id)
        assert citizen is not None and citizen.phone == "+84912345678"
        assert session.scalars(select(Report)).one().citizen_id == citizen.id


def test_a_flood_gets_one_polite_reply_then_silence(engine: Engine, nlu: Nlu) -> None:
    ctx = _context(nlu, rate_limit_per_minute=3)
    answers = [
        _send(
            engine,
            ctx,
            Inbound(channel="web", sender_id="spam", message_id=f"f{i}", text="alo"),
            NOW + timedelta(seconds=i),
        )
        for i in range(6)
    ]
    assert all(a for a in answers[:3])
    assert "nhiều tin nhắn" in answers[3][0].text
    assert answers[4] == [] and answers[5] == []
    later = _send(
        engine,
        ctx,
        Inbound(channel="web", sender_id="spam", message_id="f9", text="alo"),
        NOW + timedelta(minutes=2),
    )
    assert later and "nhiều tin nhắn" not in later[0].text
