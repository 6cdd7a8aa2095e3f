"""Fallbacks, on SQLite and PostgreSQL, through the real adapters and fake providers on 127.0.0.1:
a Zalo update refused outside the 7-day window goes as a "giao dịch" card, then ZNS, then SMS; a
Telegram citizen who blocked the bot gets an SMS. Each step is a recorded outbox row, and the
citizen receives each update exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.citizens.models import ChannelIdentity, Citizen
from backend.db import make_session_factory
from backend.notifications.dispatcher import dispatch_once
from backend.notifications.models import (
    OUTBOX_DEAD,
    OUTBOX_PENDING,
    OUTBOX_REROUTED,
    OUTBOX_SENT,
    OutboxMessage,
)
from backend.reports.models import Report
from bot.messages import Button, Reply
from channels.base import ChannelAdapter, without_diacritics
from channels.zalo_tokens import FileTokenStore, TokenPair
from tests.channels.sms_gateway.conftest import make_adapter as make_sms
from tests.channels.telegram.conftest import CITIZEN as CHAT
from tests.channels.telegram.conftest import TOKEN
from tests.channels.telegram.conftest import make_adapter as make_telegram
from tests.channels.zalo.conftest import NOW as ZALO_NOW
from tests.channels.zalo.conftest import USER
from tests.channels.zalo.conftest import make_adapter as make_zalo
from tests.fakes.server import serve
from tests.fakes.sms_gateway import FakeGateway
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.zalo_api import FakeZalo

START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PHONE = "+84912345678"  # the citizen's, linked to their Zalo / Telegram identity
REPORTER_PHONE = "+84987654321"  # given in the report
UPDATE = Reply(
    text="Phản ánh PA-2026-000123 đã được UBND phường 9 tiếp nhận và đang xử lý.",
    buttons=(Button(title="Xem chi tiết", payload="/status:PA-2026-000123"),),
)


@dataclass
class Providers:
    zalo: FakeZalo
    telegram: FakeTelegramApi
    sms: FakeGateway
    urls: dict[str, str]

    def reset(self) -> None:
        self.zalo.reset()
        self.telegram.reset()
        self.sms.reset()

    def sms_texts(self) -> list[tuple[str, str]]:
        return [(c.json()["phone"], c.json()["message"]) for c in self.sms.calls]

    def zalo_delivered(self) -> list[str]:
        return list(self.zalo.delivered)


@pytest.fixture(scope="module")
def served() -> Iterator[Providers]:
    zalo, telegram, sms = FakeZalo(), FakeTelegramApi(TOKEN), FakeGateway()
    with serve(zalo.app) as z, serve(telegram.app) as t, serve(sms.app) as s:
        yield Providers(zalo, telegram, sms, {"zalo": z, "telegram": t, "sms": s})


@pytest.fixture
def providers(served: Providers) -> Providers:
    served.reset()
    return served


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "zalo-tokens.json"
    path.write_text(TokenPair("at-0", "rt-0", ZALO_NOW + timedelta(hours=20)).to_json())
    return path


class Wiring:
    """The adapters a deployment would have, pointed at the fakes; `adapters(...)` picks some."""

    def __init__(self, providers: Providers, token_file: Path) -> None:
        urls = providers.urls
        self.all: dict[str, ChannelAdapter] = {
            "zalo": make_zalo(urls["zalo"], FileTokenStore(token_file)),
            "zalo+zns": make_zalo(
                urls["zalo"],
                FileTokenStore(token_file),
                zns_base=urls["zalo"],
                zns_template_id="301234",
                zns_template_param="noi_dung",
            ),
            "telegram": make_telegram(urls["telegram"], read_timeout=5.0),
            "sms": make_sms(urls["sms"]),
        }

    def adapters(self, *names: str) -> dict[str, ChannelAdapter]:
        return {name.split("+")[0]: self.all[name] for name in names}

    async def aclose(self) -> None:
        for adapter in self.all.values():
            await adapter.aclose()  # type: ignore[attr-defined]


@pytest.fixture
async def wiring(providers: Providers, token_file: Path) -> AsyncIterator[Wiring]:
    wiring = Wiring(providers, token_file)
    yield wiring
    await wiring.aclose()


def _citizen(
    sessions: sessionmaker[Session], channel: str, external_id: str, phone: str | None
) -> int:
    """A report by a citizen known on `channel` (with `phone`, if any); its id."""
    with sessions.begin() as session:
        citizen = Citizen(phone=phone, created_at=START, updated_at=START)
        citizen.identities.append(
            ChannelIdentity(channel=channel, external_id=external_id, created_at=START)
        )
        session.add(citizen)
        session.flush()
        report = Report(
            code="PA-2026-000123",
            title="Đèn đường hỏng",
            content="Đèn đường hẻm 5 phường 9 bị tắt",
            status="received",
            channel=channel,
            citizen_id=citizen.id,
            reporter_phone=REPORTER_PHONE if phone is None else None,
            due_at=START + timedelta(days=5),
        )
        session.add(report)
        session.flush()
        return report.id


def _queue(
    sessions: sessionmaker[Session], channel: str, recipient: str, report_id: int, n: int = 1
) -> list[int]:
    with sessions.begin() as session:
        rows = [
            OutboxMessage(
                idempotency_key=f"report-event:{i}:{report_id}",
                channel=channel,
                recipient=recipient,
                report_id=report_id,
                kind="report_update",
                payload=UPDATE.model_copy(update={"text": f"{UPDATE.text} ({i})"}).model_dump(
                    mode="json"
                )
                if n > 1
                else UPDATE.model_dump(mode="json"),
                next_attempt_at=START,
                created_at=START,
            )
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


async def _dispatch(sessions: sessionmaker[Session], adapters: dict[str, ChannelAdapter]) -> int:
    return await dispatch_once(sessions, adapters, clock=lambda: START)


def _chain(sessions: sessionmaker[Session]) -> list[tuple[str, str | None, str, str]]:
    """Every row as (status, via, channel, recipient), in id order."""
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(r.status, r.via, r.channel, r.recipient) for r in rows]


def _rows(sessions: sessionmaker[Session]) -> Sequence[OutboxMessage]:
    with sessions() as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


async def test_outside_the_window_a_zalo_update_goes_as_a_transaction_card(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring
) -> None:
    report = _citizen(sessions, "zalo", USER, PHONE)
    [original] = _queue(sessions, "zalo", USER, report)
    providers.zalo.refuse("cs", -230)

    assert await _dispatch(sessions, wiring.adapters("zalo", "sms")) == 1

    first, fallback = _rows(sessions)
    assert (first.id, first.status, first.via) == (original, OUTBOX_REROUTED, None)
    assert "-230" in (first.last_error or "") and "zalo_transaction" in (first.last_error or "")
    assert (fallback.status, fallback.via, fallback.fallback_of_id) == (
        OUTBOX_SENT,
        "zalo_transaction",
        original,
    )
    assert fallback.idempotency_key == f"fallback:{original}:zalo_transaction"
    assert (fallback.channel, fallback.recipient, fallback.report_id, fallback.kind) == (
        "zalo",
        USER,
        report,
        "report_update",
    )
    assert fallback.payload == first.payload
    assert providers.zalo_delivered() == ["/v3.0/oa/message/transaction"]  # once
    card = providers.zalo.message_calls()[-1].json["message"]["attachment"]["payload"]
    assert UPDATE.text in [e.get("content") for e in card["elements"]]
    assert providers.sms.calls == []
    assert await _dispatch(sessions, wiring.adapters("zalo", "sms")) == 0  # nothing twice


async def test_the_whole_zalo_chain_ends_in_one_sms_without_diacritics(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring
) -> None:
    report = _citizen(sessions, "zalo", USER, PHONE)
    [original] = _queue(sessions, "zalo", USER, report)
    providers.zalo.refuse("cs", -230)
    providers.zalo.refuse("transaction", -232)  # no interaction within the year either
    providers.zalo.refuse("zns", -118)  # the phone has no Zalo account

    assert await _dispatch(sessions, wiring.adapters("zalo+zns", "sms")) == 1

    assert _chain(sessions) == [
        (OUTBOX_REROUTED, None, "zalo", USER),
        (OUTBOX_REROUTED, "zalo_transaction", "zalo", USER),
        (OUTBOX_REROUTED, "zalo_zns", "zalo", PHONE),
        (OUTBOX_SENT, "sms", "sms", PHONE),
    ]
    rows = _rows(sessions)
    assert [r.fallback_of_id for r in rows] == [None, original, rows[1].id, rows[2].id]
    assert [r.report_id for r in rows] == [report] * 4
    assert [c.json["phone"] for c in providers.zalo.zns_calls()] == ["84912345678"]
    assert providers.zalo_delivered() == []
    [(to, text)] = providers.sms_texts()
    assert to == "84912345678"
    assert text == without_diacritics(text) and "Phan anh PA-2026-000123" in text


async def test_zns_reaches_the_phone_given_in_the_report(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring
) -> None:
    report = _citizen(sessions, "zalo", USER, phone=None)
    _queue(sessions, "zalo", USER, report)
    providers.zalo.refuse("cs", -230)
    providers.zalo.refuse("transaction", -232)

    assert await _dispatch(sessions, wiring.adapters("zalo+zns", "sms")) == 1

    assert [(s, v) for s, v, _, _ in _chain(sessions)] == [
        (OUTBOX_REROUTED, None),
        (OUTBOX_REROUTED, "zalo_transaction"),
        (OUTBOX_SENT, "zalo_zns"),
    ]
    [call] = providers.zalo.zns_calls()
    assert call.json["phone"] == "84987654321"
    assert call.json["template_data"] == {"noi_dung": UPDATE.text}
    assert providers.sms.calls == []


async def test_a_citizen_who_blocked_the_oa_skips_the_transaction_card(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring
) -> None:
    report = _citizen(sessions, "zalo", USER, PHONE)
    _queue(sessions, "zalo", USER, report)
    providers.zalo.refuse("cs", -227)  # banned or inactive: no message type will do

    assert await _dispatch(sessions, wiring.adapters("zalo", "sms")) == 1

    assert [(s, v) for s, v, _, _ in _chain(sessions)] == [
        (OUTBOX_REROUTED, None),
        (OUTBOX_SENT, "sms"),
    ]
    assert [c.path for c in providers.zalo.message_calls()] == ["/v3.0/oa/message/cs"]
    assert len(providers.sms.calls) == 1


@pytest.mark.parametrize("refusal", ["blocked", "chat_not_found"])
async def test_a_telegram_citizen_who_blocked_the_bot_gets_each_update_by_sms_in_order(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring, refusal: str
) -> None:
    report = _citizen(sessions, "telegram", CHAT, PHONE)
    first, second = _queue(sessions, "telegram", CHAT, report, n=2)
    for _ in range(2):
        if refusal == "blocked":
            providers.telegram.block_next()
        else:
            providers.telegram.chat_not_found_next()

    assert await _dispatch(sessions, wiring.adapters("telegram", "sms")) == 2

    rows = _rows(sessions)
    assert [(r.status, r.via, r.fallback_of_id) for r in rows] == [
        (OUTBOX_REROUTED, None, None),
        (OUTBOX_REROUTED, None, None),
        (OUTBOX_SENT, "sms", first),
        (OUTBOX_SENT, "sms", second),
    ]
    reason = (
        "Blocked: Forbidden: bot was blocked by the user"
        if refusal == "blocked"
        else ("ChatNotFound: Chat not found")
    )
    assert [r.last_error for r in rows[:2]] == [f"{reason} → sms"] * 2
    texts = [text for _, text in providers.sms_texts()]
    assert len(texts) == 2 and "(0)" in texts[0] and "(1)" in texts[1]
    assert all(text == without_diacritics(text) for text in texts)
    assert providers.telegram.calls_to("sendMessage") and all(
        c.params["chat_id"] == CHAT for c in providers.telegram.calls_to("sendMessage")
    )
    assert await _dispatch(sessions, wiring.adapters("telegram", "sms")) == 0


async def test_without_a_phone_the_message_is_dead_with_the_reason(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring
) -> None:
    with sessions.begin() as session:
        session.add(
            OutboxMessage(
                idempotency_key="k",
                channel="telegram",
                recipient=CHAT,
                kind="reply",
                payload=UPDATE.model_dump(mode="json"),
                next_attempt_at=START,
                created_at=START,
            )
        )
    providers.telegram.block_next()
    assert await _dispatch(sessions, wiring.adapters("telegram", "sms")) == 0
    [row] = _rows(sessions)
    assert row.status == OUTBOX_DEAD
    assert row.last_error is not None
    assert row.last_error.endswith("no phone number known for this citizen")
    assert providers.sms.calls == []


async def test_without_a_next_route_the_message_is_dead_with_the_reason(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring
) -> None:
    report = _citizen(sessions, "telegram", CHAT, PHONE)
    _queue(sessions, "telegram", CHAT, report)
    providers.telegram.block_next()
    assert await _dispatch(sessions, wiring.adapters("telegram")) == 0  # no SMS sender
    [row] = _rows(sessions)
    assert row.status == OUTBOX_DEAD
    assert (row.last_error or "").endswith("no fallback route configured after telegram")


async def test_zalo_window_chain_stops_dead_when_nothing_is_left(
    sessions: sessionmaker[Session], providers: Providers, wiring: Wiring
) -> None:
    report = _citizen(sessions, "zalo", USER, phone=None)
    with sessions.begin() as session:
        session.get_one(Report, report).reporter_phone = None
    _queue(sessions, "zalo", USER, report)
    providers.zalo.refuse("cs", -230)
    providers.zalo.refuse("transaction", -232)
    assert await _dispatch(sessions, wiring.adapters("zalo+zns", "sms")) == 0
    assert [(s, v) for s, v, _, _ in _chain(sessions)] == [
        (OUTBOX_REROUTED, None),
        (OUTBOX_DEAD, "zalo_transaction"),
    ]
    assert (_rows(sessions)[1].last_error or "").endswith("no phone number known for this citizen")
    assert providers.zalo.zns_calls() == [] and providers.sms.calls == []


def test_rerouted_rows_are_never_claimed_again(
    sessions: sessionmaker[Session], providers: Providers, token_file: Path
) -> None:
    """A rerouted message is done: only its fallback is pending (checked on the database)."""
    report = _citizen(sessions, "telegram", CHAT, PHONE)
    _queue(sessions, "telegram", CHAT, report)
    providers.telegram.block_next()
    providers.sms.answer_next(503, b"busy")  # the SMS fallback waits for its retry

    async def run() -> None:
        wiring = Wiring(providers, token_file)
        try:
            await _dispatch(sessions, wiring.adapters("telegram", "sms"))
            await _dispatch(sessions, wiring.adapters("telegram", "sms"))
        finally:
            await wiring.aclose()

    asyncio.run(run())
    assert [(s, v) for s, v, _, _ in _chain(sessions)] == [
        (OUTBOX_REROUTED, None),
        (OUTBOX_PENDING, "sms"),
    ]
    assert len(providers.telegram.calls_to("sendMessage")) == 1
