"""The report page's "Tin nhắn gửi công dân": every message of the report and its delivery state."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from backend.db import make_session_factory, unit_of_work
from backend.notifications.models import OutboxMessage
from backend.reports.models import Report
from backend.settings import Settings
from bot.messages import Reply
from tests.console.conftest import LoginAs
from tests.console.test_inbox import add_report

PHONE = "+84912345678"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def report_id(engine: Engine, code: str) -> int:
    with make_session_factory(engine)() as session:
        found = session.scalar(select(Report.id).where(Report.code == code))
        assert found is not None
        return found


def add_message(
    engine: Engine,
    *,
    text: str,
    channel: str = "zalo",
    recipient: str = "zalo-user-123456",
    report: int | None = None,
    status: str = "pending",
    at: datetime = T0,
    **fields: Any,
) -> int:
    """One outbox row as the dispatcher would have left it; returns its id."""
    with unit_of_work(make_session_factory(engine)) as session:
        row = OutboxMessage(
            idempotency_key=f"{channel}:{recipient}:{text}:{at.isoformat()}",
            channel=channel,
            recipient=recipient,
            report_id=report,
            kind="status",
            payload=Reply(text=text).model_dump(mode="json"),
            status=status,
            attempts=fields.pop("attempts", 0),
            next_attempt_at=at,
            created_at=at,
        )
        for key, value in fields.items():
            setattr(row, key, value)
        session.add(row)
        session.flush()
        return row.id


def deliveries_section(page: str) -> str:
    match = re.search(r'<section class="card" id="deliveries".*?</section>', page, re.S)
    assert match, "no deliveries section on the report page"
    return match.group(0)


def rows(section: str) -> list[tuple[str, str]]:
    """(status, visible text of the row) for each message, in display order."""
    found = re.findall(
        r'<li class="delivery[^"]*"[^>]*data-status="(\w+)">(.*?)</li>', section, re.S
    )
    return [(status, htmllib.unescape(re.sub(r"<[^>]+>", " ", body))) for status, body in found]


def test_each_message_shows_its_channel_text_and_delivery_state(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings)
    rid = report_id(engine, code)
    other = report_id(engine, add_report(engine, console_settings))
    add_message(
        engine,
        text=f"Đã tiếp nhận phản ánh {code}",
        report=rid,
        status="sent",
        attempts=1,
        sent_at=T0 + timedelta(minutes=2),
    )
    add_message(
        engine,
        text=f"Đang xử lý, cần gấp xin gọi {PHONE}",
        channel="telegram",
        report=rid,
        at=T0 + timedelta(hours=1),
        attempts=2,
        last_error="Transient: provider busy",
    )
    add_message(
        engine,
        text="Đã có kết quả",
        channel="sms",
        report=rid,
        status="dead",
        at=T0 + timedelta(hours=2),
        attempts=1,
        last_error=f"BadRequest: số {PHONE} không nhận tin",
    )
    add_message(engine, text="Tin của phản ánh khác", report=other, status="dead")

    page = login_as("intake").get(f"/console/reports/{code}")
    assert page.status_code == 200
    shown = rows(deliveries_section(page.text))
    assert [s for s, _ in shown] == ["sent", "pending", "dead"]  # oldest first, only this report
    sent, waiting, dead = (text for _, text in shown)
    assert "Zalo" in sent and f"Đã tiếp nhận phản ánh {code}" in sent  # its own code readable
    assert "Đã gửi" in sent and "23/11/2026 08:02" in sent
    assert "Telegram" in waiting and "Đang chờ gửi" in waiting and "provider busy" in waiting
    assert "SMS" in dead and "Gửi thất bại" in dead and "không nhận tin" in dead
    assert PHONE not in page.text  # masked in texts and reasons like any personal data
    assert "Tin của phản ánh khác" not in page.text
    section = deliveries_section(page.text)
    assert re.findall(r'class="attempts">(\d+)<', section) == ["1", "2", "1"]


def test_message_text_is_escaped(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings)
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    add_message(
        engine, text=attack, report=report_id(engine, code), status="dead", last_error=attack
    )
    page = login_as("intake").get(f"/console/reports/{code}").text
    section = deliveries_section(page)
    assert "<script>alert" not in section and "<img src=x" not in section
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in section


def test_a_report_without_messages_says_so(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings)
    section = deliveries_section(login_as("intake").get(f"/console/reports/{code}").text)
    assert "Chưa có tin nhắn nào gửi công dân" in section


def test_rerouted_messages_and_their_fallbacks(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings)
    rid = report_id(engine, code)
    first = add_message(
        engine,
        text="Kết quả xử lý",
        report=rid,
        status="rerouted",
        attempts=1,
        last_error="OutsideWindow: ngoài thời gian tương tác",
    )
    zns = add_message(
        engine,
        text="Kết quả xử lý",
        recipient=PHONE,
        report=rid,
        status="rerouted",
        at=T0 + timedelta(minutes=1),
        attempts=1,
        fallback_of_id=first,
        via="zalo_zns",
    )
    add_message(
        engine,
        text="Ket qua xu ly",
        channel="sms",
        recipient=PHONE,
        report=rid,
        status="sent",
        at=T0 + timedelta(minutes=5),
        attempts=1,
        sent_at=T0 + timedelta(minutes=6),
        fallback_of_id=zns,
        via="sms",
    )
    shown = rows(deliveries_section(login_as("intake").get(f"/console/reports/{code}").text))
    assert [s for s, _ in shown] == ["rerouted", "rerouted", "sent"]
    assert "Đã chuyển kênh khác" in shown[0][1] and "ngoài thời gian tương tác" in shown[0][1]
    assert "gửi lại qua" not in shown[0][1]
    assert "gửi lại qua Zalo ZNS" in shown[1][1] and "Đã chuyển kênh khác" in shown[1][1]
    assert "gửi lại qua SMS" in shown[2][1] and "Đã gửi" in shown[2][1]
