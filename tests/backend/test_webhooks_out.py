"""Outgoing webhooks on both databases: events written in the transaction of the change,
delivered signed to a fake receiver on 127.0.0.1, retried after a failure, dead after the
last attempt, and free of personal data."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.channels.pipeline import Pipeline
from backend.conversations.ports import reopen
from backend.conversations.service import ChatContext, bot_config
from backend.db import make_session_factory, unit_of_work
from backend.reports.actions import ActionInput, perform
from backend.reports.models import Report
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.reports.workflow import Action, Role
from backend.settings import ConfigError, Settings
from backend.webhooks_out import events, signing
from backend.webhooks_out.models import DEAD, DELIVERED, PENDING, WebhookDelivery
from backend.webhooks_out.sender import RetryPolicy, WebhookSender, deliver_once
from nlu import Nlu
from tests.backend.test_actions import _staff
from tests.conftest import make_settings
from tests.fakes.server import serve

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SECRET = "bi-mat-webhook-0123456789"
PHONE = "+84912345678"
NAME = "Nguyễn Văn Phản Ánh"
CONTENT = "Ổ gà lớn trước nhà số 12 Trần Hưng Đạo, gọi tôi 0912345678"


@dataclass
class Receiver:
    """A fake receiving system: records each request, answers the queued statuses, then 200."""

    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            raw = await request.body()
            with self.lock:
                self.calls.append((dict(request.headers), raw))
                status = self.statuses.pop(0) if self.statuses else 200
            return Response(status_code=status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    fake = Receiver()
    with serve(fake.app()) as base:
        yield fake, f"{base}/hook"


def hooked(database_url: str, url: str, **extra: Any) -> Settings:
    return make_settings(
        database_url=database_url, webhooks=[{"url": url, "secret": SECRET, **extra}]
    )


def add_report(sessions: sessionmaker[Session], settings: Settings) -> str:
    with unit_of_work(sessions) as session:
        report = create_report(
            session,
            data=ReportCreate(
                content=CONTENT,
                category="giao_thong",
                channel="zalo",
                reporter_name=NAME,
                reporter_phone=PHONE,
                commune_code="31153",
                commune_name="Phường Long Châu",
                lat=9.928,
                lon=105.747,
                location_detail="nhà số 12",
            ),
            settings=settings,
            now=NOW,
        )
        return report.code


def rows(sessions: sessionmaker[Session]) -> list[WebhookDelivery]:
    with sessions() as session:
        found = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        session.expunge_all()
        return found


def test_events_are_written_with_the_change_or_not_at_all(
    engine: Engine, database_url: str
) -> None:
    settings = hooked(database_url, "http://127.0.0.1:9/hook")
    sessions = make_session_factory(engine)
    with pytest.raises(RuntimeError), unit_of_work(sessions) as session:
        create_report(
            session,
            data=ReportCreate(content=CONTENT, channel="zalo"),
            settings=settings,
            now=NOW,
        )
        assert len(session.scalars(select(WebhookDelivery)).all()) == 1
        raise RuntimeError("the unit of work fails")
    assert rows(sessions) == []  # rolled back with the report
    code = add_report(sessions, settings)
    with unit_of_work(sessions) as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        intake = _staff(session, settings, "tiepnhan", Role.INTAKE, None)
        comment = ActionInput(comment="Đã gọi xác minh")
        for action, data in ((Action.COMMENT, comment), (Action.ASSIGN, ActionInput())):
            perform(
                session,
                report=report,
                action=action,
                actor=intake,
                data=data,
                settings=settings,
                now=NOW,
            )
    created, changed = rows(sessions)  # the comment changed no status: no event
    assert (created.event, created.status, created.report_code) == ("report.created", PENDING, code)
    assert changed.event == "report.status_changed"
    assert changed.payload["change"] == {"from_status": "received", "to_status": "assigned"}
    assert changed.payload["report"]["status"] == "assigned"
    assert changed.event_id != created.event_id


def test_no_endpoint_no_event_and_subscriptions_are_respected(
    engine: Engine, database_url: str
) -> None:
    sessions = make_session_factory(engine)
    add_report(sessions, make_settings(database_url=database_url))
    assert rows(sessions) == []
    add_report(sessions, hooked(database_url, "http://x/h", events=["report.status_changed"]))
    assert rows(sessions) == []


async def test_delivered_signed_without_personal_data(
    engine: Engine, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    fake, url = receiver
    settings = hooked(database_url, url)
    sessions = make_session_factory(engine)
    code = add_report(sessions, settings)
    async with httpx.AsyncClient() as client:
        sent = await deliver_once(
            sessions, endpoints=settings.webhooks, client=client, clock=lambda: NOW
        )
    assert sent == 1 and len(fake.calls) == 1
    headers, raw = fake.calls[0]
    assert signing.verify(SECRET, raw, headers["x-paht-signature"])
    assert not signing.verify("another-secret-0123456789", raw, headers["x-paht-signature"])
    event = json.loads(raw)
    assert headers["x-paht-event-id"] == event["id"] and headers["x-paht-event"] == event["type"]
    assert headers["x-paht-timestamp"] == str(int(NOW.timestamp()))
    assert event["type"] == "report.created" and event["report"]["code"] == code
    assert event["report"]["public_url"] is None  # not published: no public page yet
    assert event["report"]["commune_name"] == "Phường Long Châu"
    text = raw.decode()
    for personal in (PHONE, "0912345678", NAME, "Ổ gà", "nhà số 12", "9.928", "105.747"):
        assert personal not in text
    assert {"content", "reporter_phone", "reporter_name", "lat", "lon"}.isdisjoint(event["report"])
    (row,) = rows(sessions)
    assert (row.status, row.attempts, row.delivered_at) == (DELIVERED, 1, NOW)
    async with httpx.AsyncClient() as client:  # nothing left to send
        assert await deliver_once(sessions, endpoints=settings.webhooks, client=client) == 0


async def test_a_failure_is_retried_later_with_the_same_event_id(
    engine: Engine, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    fake, url = receiver
    fake.statuses = [500]
    settings = hooked(database_url, url)
    sessions = make_session_factory(engine)
    add_report(sessions, settings)
    async with httpx.AsyncClient() as client:
        assert await deliver_once(
            sessions, endpoints=settings.webhooks, client=client, clock=lambda: NOW
        )
        (row,) = rows(sessions)
        assert (row.status, row.attempts, row.last_error) == (PENDING, 1, "HTTP 500")
        assert row.next_attempt_at > NOW and row.claimed_by is None
        # not due yet: nothing is sent
        assert not await deliver_once(
            sessions, endpoints=settings.webhooks, client=client, clock=lambda: NOW
        )
        later = NOW + timedelta(hours=1)
        assert await deliver_once(
            sessions, endpoints=settings.webhooks, client=client, clock=lambda: later
        )
    (row,) = rows(sessions)
    assert (row.status, row.attempts) == (DELIVERED, 2)
    (first_headers, first_raw), (again_headers, again_raw) = fake.calls
    assert first_raw == again_raw
    assert first_headers["x-paht-event-id"] == again_headers["x-paht-event-id"]


async def test_dead_after_the_last_attempt_or_when_the_endpoint_is_gone(
    engine: Engine, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    fake, url = receiver
    fake.statuses = [500, 503]
    settings = hooked(database_url, url)
    sessions = make_session_factory(engine)
    add_report(sessions, settings)
    policy = RetryPolicy(base_delay=0.0, max_attempts=2)
    async with httpx.AsyncClient() as client:
        for _ in range(2):
            await deliver_once(sessions, endpoints=settings.webhooks, client=client, policy=policy)
        (row,) = rows(sessions)
        assert (row.status, row.attempts, row.last_error) == (DEAD, 2, "HTTP 503")
        add_report(sessions, settings)
        await deliver_once(sessions, endpoints=[], client=client)
    gone = rows(sessions)[1]
    assert (gone.status, gone.last_error) == (DEAD, "endpoint no longer configured")
    assert len(fake.calls) == 2


async def test_the_sender_runs_with_the_pipeline(
    engine: Engine, database_url: str, receiver: tuple[Receiver, str], nlu: Nlu
) -> None:
    fake, url = receiver
    settings = hooked(database_url, url)
    sessions = make_session_factory(engine)
    sender = WebhookSender(sessions, settings.webhooks, idle_seconds=0.05)
    ctx = ChatContext(settings=settings, nlu=nlu, bot=bot_config(settings))
    pipeline = Pipeline(sessions, ctx, {}, idle_seconds=0.05, companions=[sender])
    add_report(sessions, settings)
    pipeline.start()
    try:
        for _ in range(200):
            if rows(sessions)[0].status == DELIVERED:
                break
            await asyncio.sleep(0.05)
    finally:
        await pipeline.stop()
    assert rows(sessions)[0].status == DELIVERED and len(fake.calls) == 1


def test_the_public_url_is_the_portal_page_once_published() -> None:
    settings = make_settings(public_base_url="https://paht.example.gov.vn/")
    report = Report(code="202611230001", published=False)
    assert events.public_url(settings, report) is None
    report.published = True
    assert events.public_url(settings, report) == (
        "https://paht.example.gov.vn/cong-dong/202611230001"
    )


def test_webhook_settings_refuse_short_secrets_and_unknown_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match=r"webhooks\.0\.secret"):
        make_settings(webhooks=[{"url": "https://x.vn/h", "secret": "changeme"}])
    with pytest.raises(ConfigError, match=r"webhooks\.0\.events"):
        make_settings(webhooks=[{"url": "https://x.vn/h", "secret": SECRET, "events": ["x"]}])
    monkeypatch.setenv("PAHT_WEBHOOKS", json.dumps([{"url": "https://x.vn/h", "secret": SECRET}]))
    (endpoint,) = make_settings().webhooks
    assert endpoint.secret.get_secret_value() == SECRET and SECRET not in repr(endpoint)


def test_a_citizen_reopening_a_report_is_a_status_change(engine: Engine, database_url: str) -> None:
    settings = hooked(database_url, "http://127.0.0.1:9/hook")
    sessions = make_session_factory(engine)
    code = add_report(sessions, settings)
    with unit_of_work(sessions) as session:
        report = session.scalars(select(Report).where(Report.code == code)).one()
        report.status = "completed"  # as if answered and closed
        session.flush()
        reopen(session, report=report, channel="zalo", settings=settings, now=NOW)
    change = rows(sessions)[-1]
    assert change.event == "report.status_changed"
    assert change.payload["change"] == {"from_status": "completed", "to_status": "assigned"}
