"""The workflow service on both databases: what each staff action does to a report, the NLU
corrections it records and what the citizen is told (refusals: test_authz_matrix.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from backend.citizens.models import Citizen
from backend.conversations.models import Conversation
from backend.db import make_session_factory
from backend.errors import Conflict, DomainError
from backend.notifications.models import OutboxMessage
from backend.reports import workflow
from backend.reports.actions import ActionInput, perform, rate
from backend.reports.models import Correction, Report, ReportEvent
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.reports.workflow import Action, Role, Status
from backend.settings import Settings
from backend.staff.deps import Staff
from backend.staff.models import StaffUser
from bot.messages import Reply
from tests.backend.test_workflow import parse_rating

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 in Vietnam
LATER = NOW + timedelta(hours=2)


# --- database fixtures --------------------------------------------------------------------


@dataclass
class World:
    session: Session
    settings: Settings
    intake: Staff
    specialist: Staff
    leader: Staff
    commune_leader: Staff


@pytest.fixture
def world(engine: Engine, settings: Settings) -> Iterator[World]:
    with make_session_factory(engine)() as session:
        people = {
            name: _staff(session, settings, name, role, unit)
            for name, role, unit in [
                ("tiepnhan", Role.INTAKE, "van_phong_ubnd"),
                ("chuyenvien", Role.SPECIALIST, "so_xay_dung"),
                ("lanhdao", Role.LEADER, "so_xay_dung"),
                ("lanhdao_xa", Role.LEADER, "ubnd_long_chau"),
            ]
        }
        yield World(session, settings, *people.values())


def _staff(
    session: Session, settings: Settings, username: str, role: Role, unit_id: str | None
) -> Staff:
    user = StaffUser(
        username=username, full_name=username, password_hash="x", role=role, unit_id=unit_id
    )
    session.add(user)
    session.flush()
    return Staff.of(user, settings=settings, csrf_token="")


def new_report(
    w: World, *, channel: str = "telegram", user: str | None = "tg-1", **fields: Any
) -> Report:
    """A citizen's report as the bot files it, with the conversation it came from."""
    conversation_id = None
    if user is not None:
        citizen = Citizen(name="Dân")
        w.session.add(citizen)
        w.session.flush()
        conversation = Conversation(channel=channel, external_user_id=user, citizen_id=citizen.id)
        w.session.add(conversation)
        w.session.flush()
        conversation_id = conversation.id
    data = ReportCreate(
        **{
            "content": "Ổ gà lớn trước chợ, xe máy té liên tục",
            "category": "giao_thong",
            "location_raw": "trước chợ Long Châu",
            "channel": channel,
            "conversation_id": conversation_id,
            **fields,
        }
    )
    return create_report(w.session, data=data, settings=w.settings, now=NOW)


def act(w: World, report: Report, action: Action, who: Staff, **data: Any) -> Report:
    return perform(
        w.session,
        report=report,
        action=action,
        actor=who,
        data=ActionInput(**data),
        settings=w.settings,
        now=LATER,
    )


def outbox(w: World) -> list[OutboxMessage]:
    return list(w.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def snapshot(w: World, report: Report) -> tuple[dict[str, Any], int, int, int]:
    w.session.flush()
    columns = {c.key: getattr(report, c.key) for c in inspect(Report).column_attrs}
    count = w.session.scalar(select(func.count()).select_from(ReportEvent)) or 0
    corrections = w.session.scalar(select(func.count()).select_from(Correction)) or 0
    return columns, count, corrections, len(outbox(w))


def to_status(w: World, report: Report, status: Status) -> Report:
    """Walk a fresh report along the happy path up to `status`."""
    path = [
        (Status.ASSIGNED, Action.ASSIGN, w.intake, {}),
        (Status.IN_PROGRESS, Action.ACCEPT, w.specialist, {}),
        (Status.PENDING_APPROVAL, Action.SUBMIT, w.specialist, {"answer": "<p>Đã vá.</p>"}),
        (Status.COMPLETED, Action.APPROVE, w.leader, {}),
    ]
    for reached, action, who, data in path:
        if report.status == status:
            break
        act(w, report, action, who, **data)
        assert report.status == reached
    assert report.status == status
    return report


# --- the lifecycle ------------------------------------------------------------------------


def test_lifecycle_from_correction_to_rating(world: World, engine: Engine) -> None:
    w = world
    report = new_report(w, public_consent=True)
    code = report.code

    act(w, report, Action.CLASSIFY, w.intake, category="cay_xanh")
    correction = w.session.scalars(select(Correction)).one()
    assert (correction.kind, correction.old_value, correction.new_value) == (
        "category",
        "giao_thong",
        "cay_xanh",
    )
    assert correction.text == report.content and correction.actor_id == w.intake.id
    assert report.category_source == "staff"
    # cay_xanh has 5 working days from Monday 23/11 → Monday 30/11 17:00 local.
    assert report.due_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert outbox(w) == []

    act(w, report, Action.ASSIGN, w.intake)
    assert report.status == Status.ASSIGNED and report.unit_id == "so_xay_dung"
    [assigned] = outbox(w)
    assert (assigned.channel, assigned.recipient) == ("telegram", "tg-1")
    assert assigned.report_id == report.id
    told = Reply.model_validate(assigned.payload).text
    assert code in told and "Sở Xây dựng" in told and "30/11/2026" in told

    act(w, report, Action.ACCEPT, w.specialist)
    act(w, report, Action.SAVE_DRAFT, w.specialist, answer="<p>Đã vá</p><script>x()</script>")
    assert report.assignee_id == w.specialist.id and report.answer_draft == "<p>Đã vá</p>"
    act(w, report, Action.SUBMIT, w.specialist, answer="<p>Đã vá ổ gà.</p><ul><li>Xong</li></ul>")
    act(w, report, Action.RETURN, w.leader, comment="Ghi rõ ngày hoàn thành")
    assert report.status == Status.IN_PROGRESS
    assert report.answer_draft == "<p>Đã vá ổ gà.</p><ul><li>Xong</li></ul>"  # kept
    act(w, report, Action.SUBMIT, w.specialist)  # the kept draft is enough
    assert len(outbox(w)) == 1  # the unit's internal steps tell the citizen nothing

    act(w, report, Action.APPROVE, w.leader)
    assert report.status == Status.COMPLETED and report.published is True
    assert report.answer == report.answer_draft and report.completed_at == LATER
    answer = Reply.model_validate(outbox(w)[-1].payload)
    assert "Đã vá ổ gà.\n- Xong" in answer.text and code in answer.text
    assert [b.title for b in answer.buttons] == ["Rất hài lòng", "Hài lòng", "Chưa hài lòng"]
    assert [parse_rating(b.payload) for b in answer.buttons] == [(code, 3), (code, 2), (code, 1)]
    assert answer.buttons[0].payload == f"/rate_very_good:{code}"

    rate(w.session, report=report, score=1, comment="Vẫn còn ổ gà nhỏ", now=LATER)
    rate(w.session, report=report, score=2, comment=None, now=LATER)
    w.session.commit()

    with make_session_factory(engine)() as fresh:
        stored = fresh.scalars(select(Report)).one()
        assert (stored.status, stored.rating, stored.rating_comment) == ("completed", 2, None)
        events = [(e.kind, e.actor, e.from_status, e.to_status) for e in stored.events]
    assert events == [
        ("created", "citizen:telegram", None, "received"),
        ("classify", "staff:tiepnhan", "received", "classified"),
        ("assign", "staff:tiepnhan", "classified", "assigned"),
        ("accept", "staff:chuyenvien", "assigned", "in_progress"),
        ("save_draft", "staff:chuyenvien", "in_progress", None),
        ("submit", "staff:chuyenvien", "in_progress", "pending_approval"),
        ("return", "staff:lanhdao", "pending_approval", "in_progress"),
        ("submit", "staff:chuyenvien", "in_progress", "pending_approval"),
        ("approve", "staff:lanhdao", "pending_approval", "completed"),
        ("rate", "citizen:telegram", None, None),
        ("rate", "citizen:telegram", None, None),
    ]


def test_unpublished_answer_without_consent(world: World) -> None:
    report = to_status(world, new_report(world), Status.COMPLETED)
    assert report.published is False and report.answer == "<p>Đã vá.</p>"


def test_confirming_the_nlu_category_is_no_correction(world: World) -> None:
    report = new_report(world)
    act(world, report, Action.CLASSIFY, world.intake, category="giao_thong")
    assert report.status == Status.CLASSIFIED and report.category_source == "nlu"
    assert world.session.scalars(select(Correction)).all() == []


def test_reclassifying_an_urgent_report_keeps_the_hours_deadline(world: World) -> None:
    report = new_report(world, urgent=True)
    act(world, report, Action.CLASSIFY, world.intake, category="dat_dai")  # 15 working days
    assert report.due_at == NOW + timedelta(hours=world.settings.urgent_deadline_hours)


def test_relocation_is_a_correction_and_reroutes_to_the_commune(world: World) -> None:
    w = world
    report = new_report(w, category="trat_tu_do_thi", commune_name="Phường Phước Hậu")
    assert report.unit_id == "ubnd_xa"
    act(
        w, report, Action.RELOCATE, w.intake, commune_name="Phường Long Châu", lat=10.25, lon=105.97
    )
    correction = w.session.scalars(select(Correction)).one()
    assert (correction.kind, correction.text) == ("location", "trước chợ Long Châu")
    assert (correction.old_value, correction.new_value) == ("Phường Phước Hậu", "Phường Long Châu")
    assert (report.commune_name, report.lat, report.lon) == ("Phường Long Châu", 10.25, 105.97)
    assert report.unit_id == "ubnd_long_chau"
    act(w, report, Action.ASSIGN, w.intake)
    assert report.unit_id == "ubnd_long_chau"
    assert "UBND phường Long Châu" in Reply.model_validate(outbox(w)[0].payload).text
    # The commune's leader now handles it; the department's leader no longer sees it.
    act(w, report, Action.COMMENT, w.commune_leader, comment="Đã giao tổ trật tự")
    with pytest.raises(workflow.Forbidden):
        act(w, report, Action.COMMENT, w.leader, comment="?")


def test_manual_assignment_overrides_routing(world: World) -> None:
    report = new_report(world)
    act(world, report, Action.ASSIGN, world.intake, unit_id="so_y_te")
    assert report.unit_id == "so_y_te"
    assert "Sở Y tế" in Reply.model_validate(outbox(world)[0].payload).text


# --- side exits ---------------------------------------------------------------------------


def test_rejection_reason_reaches_a_hotline_caller_by_sms(world: World) -> None:
    w = world
    report = new_report(w, channel="voice", user="CA123", reporter_phone="+84912345678")
    act(w, report, Action.REJECT, w.intake, comment="Không thuộc thẩm quyền của tỉnh")
    assert report.status == Status.REJECTED
    [sms] = outbox(w)
    assert (sms.channel, sms.recipient) == ("sms", "+84912345678")
    text = Reply.model_validate(sms.payload).text
    assert "Không thuộc thẩm quyền của tỉnh" in text and report.code in text


def test_a_citizen_who_cannot_be_reached_is_not_messaged(world: World) -> None:
    report = new_report(world, channel="voice", user=None)
    act(world, report, Action.REJECT, world.intake, comment="Tin nhắn rác")
    assert report.status == Status.REJECTED and outbox(world) == []
    assert report.events[-1].comment == "Tin nhắn rác"


def test_merged_reporters_hear_every_update(world: World) -> None:
    w = world
    first = new_report(w, user="tg-first")
    second = new_report(w, user="tg-second")
    third = new_report(w, channel="zalo", user="zl-third")
    act(w, third, Action.MERGE, w.intake, target_code=second.code)  # third → second
    act(w, second, Action.MERGE, w.intake, target_code=first.code)  # second (+ third) → first
    assert (second.status, second.merged_into_id, third.merged_into_id) == (
        "merged",
        first.id,
        second.id,
    )
    told = [(m.recipient, Reply.model_validate(m.payload).text) for m in outbox(w)]
    assert told[0][0] == "zl-third" and second.code in told[0][1]
    # Merging `second` tells its reporter and the one already merged into it.
    assert [r for r, _ in told[1:]] == ["tg-second", "zl-third"]
    assert all(first.code in text for _, text in told[1:])

    to_status(w, first, Status.COMPLETED)
    answers = [m for m in outbox(w) if "Kết quả xử lý" in Reply.model_validate(m.payload).text]
    assert [(m.channel, m.recipient, m.report_id) for m in answers] == [
        ("telegram", "tg-first", first.id),
        ("telegram", "tg-second", second.id),
        ("zalo", "zl-third", third.id),
    ]
    # Only the report's own citizen rates it; the others are told the result.
    assert [len(Reply.model_validate(m.payload).buttons) for m in answers] == [3, 0, 0]
    assert len({m.idempotency_key for m in outbox(w)}) == len(outbox(w))


@pytest.mark.parametrize(
    ("target", "error"),
    [("self", DomainError), ("rejected", Conflict), ("merged", Conflict)],
)
def test_merge_needs_a_live_other_report(world: World, target: str, error: type) -> None:
    w = world
    report = new_report(w)
    other = new_report(w, user="tg-2")
    if target == "rejected":
        act(w, other, Action.REJECT, w.intake, comment="Trùng lặp")
    if target == "merged":
        act(w, other, Action.MERGE, w.intake, target_code=new_report(w, user="tg-3").code)
    code = report.code if target == "self" else other.code
    before = snapshot(w, report)
    with pytest.raises(error):
        act(w, report, Action.MERGE, w.intake, target_code=code)
    assert snapshot(w, report) == before


# --- extensions and reopening --------------------------------------------------------------


def test_extension_moves_the_deadline_in_working_days(world: World) -> None:
    w = world
    report = to_status(w, new_report(w), Status.IN_PROGRESS)
    # Due Thursday 23/04/2026 17:00; 27/04 (Giỗ Tổ) is a holiday in paht.toml.
    report.due_at = datetime(2026, 4, 23, 10, 0, tzinfo=UTC)
    messages = len(outbox(w))
    act(w, report, Action.REQUEST_EXTENSION, w.specialist, extension_days=3, comment="Chờ vật tư")
    assert (report.extension_days, report.extension_reason) == (3, "Chờ vật tư")
    with pytest.raises(Conflict):
        act(w, report, Action.REQUEST_EXTENSION, w.leader, extension_days=5, comment="Thêm")
    assert report.extension_days == 3
    assert len(outbox(w)) == messages  # a request is internal

    act(w, report, Action.APPROVE_EXTENSION, w.leader)
    # Fri 24, (Sat, Sun, holiday Mon 27), Tue 28, Wed 29 → 29/04/2026 17:00 local.
    assert report.due_at == datetime(2026, 4, 29, 10, 0, tzinfo=UTC)
    assert report.extension_days is None and report.extension_reason is None
    text = Reply.model_validate(outbox(w)[-1].payload).text
    assert "29/04/2026" in text and report.code in text

    act(w, report, Action.REQUEST_EXTENSION, w.specialist, extension_days=2, comment="Mưa")
    messages = len(outbox(w))
    act(w, report, Action.DENY_EXTENSION, w.leader, comment="Không đủ lý do")
    assert report.extension_days is None and len(outbox(w)) == messages
    assert report.due_at == datetime(2026, 4, 29, 10, 0, tzinfo=UTC)


def test_reopen_restarts_the_deadline_from_now(world: World) -> None:
    w = world
    report = to_status(w, new_report(w), Status.COMPLETED)
    reopen_at = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # Friday
    perform(
        w.session,
        report=report,
        action=Action.REOPEN,
        actor=w.intake,
        data=ActionInput(comment="Người dân báo ổ gà vẫn còn"),
        settings=w.settings,
        now=reopen_at,
    )
    assert report.status == Status.ASSIGNED and report.reopened_count == 1
    assert report.completed_at is None
    # giao_thong: 10 working days from Friday 04/12 → Friday 18/12 17:00 local.
    assert report.due_at == datetime(2026, 12, 18, 10, 0, tzinfo=UTC)
    text = Reply.model_validate(outbox(w)[-1].payload).text
    assert "mở lại" in text and "18/12/2026" in text
    to_status(w, report, Status.COMPLETED)  # the unit takes it up again
    assert report.completed_at == LATER


def test_rating_only_a_completed_report(world: World) -> None:
    report = to_status(world, new_report(world), Status.PENDING_APPROVAL)
    with pytest.raises(DomainError):
        rate(world.session, report=report, score=3, comment=None, now=LATER)
    act(world, report, Action.APPROVE, world.leader)
    with pytest.raises(DomainError):
        rate(world.session, report=report, score=4, comment=None, now=LATER)
    assert report.rating is None
    rate(world.session, report=report, score=3, comment="Cảm ơn", now=LATER)
    assert (report.rating, report.rating_comment, report.rated_at) == (3, "Cảm ơn", LATER)


def test_event_records_what_changed(world: World) -> None:
    report = new_report(world)
    act(world, report, Action.CLASSIFY, world.intake, category="y_te", comment="Sai lĩnh vực")
    event = report.events[-1]
    assert (event.actor_id, event.comment) == (world.intake.id, "Sai lĩnh vực")
    assert event.data is not None
    assert event.data["category"] == ["giao_thong", "y_te"]
    assert event.data["unit_id"] == ["so_xay_dung", "so_y_te"]  # provisional routing follows
