"""The console's outbox page: dead letters listed, sent again by intake or admin staff, audited."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Engine, select

from backend.db import make_session_factory
from backend.notifications.dispatcher import dispatch_once
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from backend.staff.models import AuditEntry
from channels.base import ChannelAdapter
from tests.backend.test_push_pipeline import FakeAdapter
from tests.conftest import make_settings
from tests.console.conftest import LoginAs
from tests.console.test_deliveries import PHONE, add_message, report_id
from tests.console.test_inbox import add_report

ERROR = f"Unreachable: người dùng {PHONE} đã chặn OA"


@pytest.fixture
def console_settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url, console={"page_size": 5})


def _row(engine: Engine, message_id: int) -> OutboxMessage:
    with make_session_factory(engine)() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        session.expunge(row)
        return row


def _listed(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="d-\w+" data-message-id="(\d+)"', page)]


def test_dead_letters_are_listed_with_report_masked_recipient_and_error(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings)
    dead = add_message(
        engine,
        text="Phản ánh đã được giải quyết",
        recipient=PHONE,
        channel="sms",
        report=report_id(engine, code),
        status="dead",
        attempts=1,
        last_error=ERROR,
    )
    add_message(engine, text="Đã gửi xong", status="sent")
    page = login_as("intake").get("/console/outbox")
    assert page.status_code == 200
    assert _listed(page.text) == [dead]  # dead letters by default, nothing else
    assert f'href="/console/reports/{code}"' in page.text
    assert "Phản ánh đã được giải quyết" in page.text and "đã chặn OA" in page.text
    assert PHONE not in page.text  # neither as recipient nor inside the error
    assert "+8491•••••78" in page.text
    assert "Gửi lại tất cả" in page.text and f"/console/outbox/{dead}/resend" in page.text
    assert '<a href="/console/outbox">Tin nhắn gửi đi</a>' in page.text  # in the nav
    sent_view = login_as("admin").get("/console/outbox", params={"status": "sent"})
    assert len(_listed(sent_view.text)) == 1 and "/resend" not in sent_view.text


def test_resend_makes_it_pending_and_the_dispatcher_then_sends_it(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings)
    rid = report_id(engine, code)
    dead = add_message(
        engine,
        text="Kết quả xử lý",
        channel="fake",
        report=rid,
        status="dead",
        attempts=8,
        last_error=ERROR,
    )
    intake = login_as("intake")
    response = intake.post(
        f"/console/outbox/{dead}/resend", data={"csrf_token": intake.csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    row = _row(engine, dead)
    assert (row.status, row.attempts, row.claimed_by, row.last_error) == ("pending", 0, None, None)
    assert row.next_attempt_at > datetime.now(UTC) - timedelta(minutes=1)
    with make_session_factory(engine)() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "outbox_resend"))
        assert entry is not None
        assert (entry.actor_id, entry.report_id) == (intake.user_id, rid)  # type: ignore[attr-defined]
        assert entry.detail is not None and "đã chặn OA" in entry.detail["last_error"]
    assert "Đã đưa tin nhắn vào hàng chờ gửi lại" in intake.get(response.headers["location"]).text

    adapter = FakeAdapter()
    factory = make_session_factory(engine)
    adapters = {"fake": cast(ChannelAdapter, adapter)}
    sent = asyncio.run(dispatch_once(factory, adapters, clock=lambda: datetime.now(UTC)))
    assert sent == 1 and [o.payload["text"] for o in adapter.sent] == ["Kết quả xử lý"]
    assert _row(engine, dead).status == "sent"
    report_page = intake.get(f"/console/reports/{code}").text
    assert 'data-status="sent"' in report_page


def test_resend_all_sends_again_the_filtered_channels_dead_letters(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    zalo = [add_message(engine, text=f"zalo {i}", status="dead") for i in range(7)]
    sms = add_message(engine, text="sms", channel="sms", status="dead")
    admin = login_as("admin")
    first = admin.get("/console/outbox", params={"channel": "zalo"})
    second = admin.get("/console/outbox", params={"channel": "zalo", "page": "2"})
    assert _listed(first.text) + _listed(second.text) == sorted(zalo, reverse=True)  # 5 a page
    assert "Trang 1/2" in first.text

    response = admin.post(
        "/console/outbox/resend-all",
        data={"csrf_token": admin.csrf, "channel": "zalo"},
        follow_redirects=True,
    )
    assert "Đã đưa 7 tin nhắn vào hàng chờ gửi lại" in response.text
    assert {_row(engine, i).status for i in zalo} == {"pending"}
    assert _row(engine, sms).status == "dead"
    with make_session_factory(engine)() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox_resend"))
        assert sorted(e.detail["message_id"] for e in entries if e.detail) == zalo


def test_other_roles_are_refused(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    dead = add_message(engine, text="x", status="dead")
    for role in ("specialist", "leader"):
        client = login_as(role)
        refused = client.get("/console/outbox", headers={"accept": "text/html"})
        assert refused.status_code == 403
        assert "Hộp thư" in refused.text and 'href="/console/outbox"' not in refused.text  # nav
        posted = client.post(f"/console/outbox/{dead}/resend", data={"csrf_token": client.csrf})
        assert posted.status_code == 403
        bulk = client.post("/console/outbox/resend-all", data={"csrf_token": client.csrf})
        assert bulk.status_code == 403
    assert _row(engine, dead).status == "dead"


def test_resend_requires_the_csrf_token_and_a_dead_message(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    dead = add_message(engine, text="x", status="dead")
    sent = add_message(engine, text="y", status="sent")
    intake = login_as("intake")
    assert intake.post(f"/console/outbox/{dead}/resend").status_code == 403
    forged = intake.post(f"/console/outbox/{dead}/resend", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert intake.post("/console/outbox/resend-all", data={}).status_code == 403
    assert _row(engine, dead).status == "dead"
    again = intake.post(f"/console/outbox/{sent}/resend", data={"csrf_token": intake.csrf})
    assert again.status_code == 409 and _row(engine, sent).status == "sent"
    missing = intake.post("/console/outbox/999999/resend", data={"csrf_token": intake.csrf})
    assert missing.status_code == 404
