"""Duplicate clusters on both databases: which new reports join an open cluster, what their
citizen is told, and staff confirming (a workflow merge) or dismissing a candidate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from backend.citizens.models import Citizen
from backend.clusters import service
from backend.clusters.models import CANDIDATE, CONFIRMED, DISMISSED, DuplicateCandidate
from backend.conversations.models import Conversation
from backend.db import make_session_factory
from backend.errors import Conflict
from backend.notifications.models import OutboxMessage
from backend.reports import workflow
from backend.reports.models import Report
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.reports.workflow import Action, Role, Status
from backend.settings import DuplicateSettings, Settings
from tests.backend.test_actions import NOW, World, _staff, act

LAT, LON = 9.9280, 105.7470
POTHOLE = "Ổ gà rất lớn giữa đường Trần Hưng Đạo trước chợ, xe máy té liên tục"
POTHOLE_AGAIN = "O ga lon giua duong Tran Hung Dao truoc cho, nhieu xe may bi te"
TREE = "Cây xanh bị đổ chắn ngang lối vào trường tiểu học sau cơn mưa"
FLOOD = "Đường Trần Hưng Đạo ngập nước sau mưa"  # same street, another problem


@pytest.fixture
def world(engine: Engine, settings: Settings) -> Iterator[World]:
    """Staff of test_actions.py: intake, a specialist and a leader of so_xay_dung, and the
    leader of ubnd_long_chau."""
    with make_session_factory(engine)() as session:
        yield World(
            session,
            settings,
            _staff(session, settings, "tiepnhan", Role.INTAKE, "van_phong_ubnd"),
            _staff(session, settings, "chuyenvien", Role.SPECIALIST, "so_xay_dung"),
            _staff(session, settings, "lanhdao", Role.LEADER, "so_xay_dung"),
            _staff(session, settings, "lanhdao_xa", Role.LEADER, "ubnd_long_chau"),
        )


def file(
    w: World, content: str, *, at: datetime = NOW, user: str | None = None, **fields: Any
) -> Report:
    """A citizen's report (through a telegram conversation when `user` is given)."""
    conversation_id = None
    if user is not None:
        citizen = Citizen(name="Dân")
        w.session.add(citizen)
        w.session.flush()
        conversation = Conversation(
            channel="telegram", external_user_id=user, citizen_id=citizen.id
        )
        w.session.add(conversation)
        w.session.flush()
        conversation_id = conversation.id
    fields.setdefault("category", "giao_thong")
    data = ReportCreate(
        content=content, channel="telegram", conversation_id=conversation_id, **fields
    )
    return create_report(w.session, data=data, settings=w.settings, now=at)


def candidate_of(w: World, report: Report) -> DuplicateCandidate | None:
    return w.session.scalar(
        select(DuplicateCandidate).where(DuplicateCandidate.report_id == report.id)
    )


def messages_to(w: World, user: str) -> list[str]:
    rows = w.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == user).order_by(OutboxMessage.id)
    )
    return [m.payload["text"] for m in rows]


def test_a_near_similar_report_joins_the_open_cluster_and_its_citizen_is_told(
    world: World,
) -> None:
    first = file(world, POTHOLE, at=NOW - timedelta(days=2), lat=LAT, lon=LON, user="tg-a")
    second = file(world, POTHOLE_AGAIN, lat=LAT + 0.0009, lon=LON, user="tg-b")  # ~100 m
    found = candidate_of(world, second)
    assert found is not None
    assert (found.cluster_report_id, found.status) == (first.id, CANDIDATE)
    assert found.distance_m is not None and 80 < found.distance_m < 120
    assert found.score >= world.settings.duplicates.min_score
    told = messages_to(world, "tg-b")
    assert len(told) == 1
    assert f"mã {first.code}" in told[0] and f"({second.code})" in told[0]
    assert "vẫn nhận kết quả theo mã của mình" in told[0]
    assert messages_to(world, "tg-a") == []  # the first reporter hears nothing of it
    assert candidate_of(world, first) is None


def test_same_commune_without_coordinates_is_enough(world: World) -> None:
    first = file(world, POTHOLE, at=NOW - timedelta(hours=5), commune_code="31153")
    second = file(world, POTHOLE_AGAIN, commune_code="31153")
    found = candidate_of(world, second)
    assert found is not None and found.cluster_report_id == first.id
    assert found.distance_m is None


@pytest.mark.parametrize(
    "case",
    [
        "far",
        "other_text",
        "same_street",
        "too_old",
        "closed",
        "merged",
        "other_category",
        "no_place",
        "disabled",
    ],
)
def test_no_candidate_when_it_is_not_the_same_open_recent_problem(world: World, case: str) -> None:
    where: dict[str, Any] = {"lat": LAT, "lon": LON}
    first = file(
        world,
        POTHOLE,
        at=NOW - (timedelta(days=8) if case == "too_old" else timedelta(days=1)),
        **({} if case == "no_place" else where),
    )
    if case == "closed":
        first.status = Status.COMPLETED
    if case == "merged":
        other = file(world, TREE, at=NOW - timedelta(days=3))
        first.status, first.merged_into_id = Status.MERGED, other.id
    if case == "disabled":
        world.settings = world.settings.model_copy(
            update={"duplicates": DuplicateSettings(enabled=False)}
        )
    again: dict[str, Any] = {"lat": LAT + 0.0009, "lon": LON}
    if case == "far":
        again = {"lat": LAT + 0.018, "lon": LON}  # ~2 km
    if case == "no_place":
        again = {}
    text = {"other_text": TREE, "same_street": FLOOD}.get(case, POTHOLE_AGAIN)
    category = "moi_truong" if case == "other_category" else "giao_thong"
    second = file(world, text, category=category, user="tg-b", **again)
    assert candidate_of(world, second) is None
    assert messages_to(world, "tg-b") == []


def test_a_candidate_of_a_cluster_brings_the_next_report_to_its_primary(world: World) -> None:
    first = file(world, POTHOLE, at=NOW - timedelta(days=3), commune_code="31153")
    second = file(world, POTHOLE_AGAIN, at=NOW - timedelta(days=1), commune_code="31153")
    third = file(world, POTHOLE_AGAIN + " nguy hiem", commune_code="31153")
    assert candidate_of(world, second).cluster_report_id == first.id  # type: ignore[union-attr]
    assert candidate_of(world, third).cluster_report_id == first.id  # type: ignore[union-attr]
    counts = service.duplicate_counts(world.session, report_ids=[first.id, second.id])
    assert counts == {first.id: 2}


def test_confirming_merges_and_the_reporter_hears_the_primarys_updates(world: World) -> None:
    first = file(world, POTHOLE, at=NOW - timedelta(days=1), lat=LAT, lon=LON, user="tg-a")
    second = file(world, POTHOLE_AGAIN, lat=LAT, lon=LON + 0.0005, user="tg-b")
    candidate = candidate_of(world, second)
    assert candidate is not None and service.cluster_size(world.session, first.id) == 1
    primary = service.confirm(
        world.session, candidate=candidate, actor=world.intake, settings=world.settings, now=NOW
    )
    assert primary.id == first.id
    assert (second.status, second.merged_into_id) == (Status.MERGED, first.id)
    assert (candidate.status, candidate.decided_by) == (CONFIRMED, world.intake.id)
    assert service.cluster_size(world.session, first.id) == 2
    assert any("đang được xử lý theo phản ánh mã" in t for t in messages_to(world, "tg-b"))
    act(world, first, Action.ASSIGN, world.intake)
    assert any("đã được chuyển đến" in t for t in messages_to(world, "tg-b"))
    with pytest.raises(Conflict):  # decided once
        service.confirm(
            world.session, candidate=candidate, actor=world.intake, settings=world.settings, now=NOW
        )


def test_dismissing_keeps_the_report_apart(world: World) -> None:
    first = file(world, POTHOLE, at=NOW - timedelta(days=1), commune_code="31153")
    second = file(world, POTHOLE_AGAIN, commune_code="31153")
    candidate = candidate_of(world, second)
    assert candidate is not None
    service.dismiss(world.session, candidate=candidate, actor=world.intake, now=NOW)
    assert candidate.status == DISMISSED and second.status == Status.RECEIVED
    assert second.merged_into_id is None
    assert [e.kind for e in second.events][-1] == service.NOT_DUPLICATE_EVENT
    assert service.duplicate_counts(world.session, report_ids=[first.id]) == {}
    assert service.cluster_of(world.session, report=second) is None


def test_only_staff_who_may_merge_or_see_the_report_decide(world: World) -> None:
    file(world, POTHOLE, at=NOW - timedelta(days=1), commune_code="31153")
    second = file(world, POTHOLE_AGAIN, commune_code="31153")
    second.unit_id = "so_xay_dung"
    candidate = candidate_of(world, second)
    assert candidate is not None
    other_unit = world.commune_leader  # ubnd_long_chau
    admin = _staff(world.session, world.settings, "quantri", Role.ADMIN, None)
    with pytest.raises(workflow.Forbidden):
        service.confirm(
            world.session, candidate=candidate, actor=other_unit, settings=world.settings, now=NOW
        )
    with pytest.raises(workflow.Forbidden):  # a specialist does not merge
        service.confirm(
            world.session,
            candidate=candidate,
            actor=world.specialist,
            settings=world.settings,
            now=NOW,
        )
    for who in (other_unit, admin):
        with pytest.raises(workflow.Forbidden):
            service.dismiss(world.session, candidate=candidate, actor=who, now=NOW)
    assert candidate.status == CANDIDATE and second.status == Status.RECEIVED
