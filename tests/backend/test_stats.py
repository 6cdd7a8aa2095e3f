"""Dashboard statistics on a known set of reports, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.db import make_session_factory, unit_of_work
from backend.reports.models import Report
from backend.reports.stats import Count, Stats, compute_stats
from backend.reports.workflow import Actor, Role
from backend.settings import Settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 in Vietnam
NOV_1, NOV_23 = date(2026, 11, 1), date(2026, 11, 23)
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
PH, LC = "Phường Phước Hậu", "Phường Long Châu"

# code suffix: (unit, category, channel, commune, status, created, due, hours to complete, rating)
REPORTS = {
    "A": ("so_xay_dung", "giao_thong", "zalo", PH, "completed", T0, T0 + 48 * H, 24, 3),
    "B": ("so_xay_dung", "giao_thong", "web", PH, "completed", T0, T0 + 24 * H, 48, 1),
    "C": ("so_xay_dung", "xay_dung", "zalo", PH, "in_progress", T0, T0 + 24 * H, None, None),
    "I": ("so_xay_dung", "giao_thong", "web", PH, "completed", T0, T0 + 48 * H, 96, None),
    "D": ("ubnd_long_chau", "trat_tu_do_thi", "telegram", LC, "completed", T0, T0 + 24 * H, 12, 2),
    "E": ("ubnd_long_chau", "trat_tu_do_thi", "zalo", LC, "completed", T0, T0 + 6 * H, 6, None),
    "F": ("ubnd_long_chau", "trat_tu_do_thi", "zalo", LC, "received", T0, NOW + 48 * H, None, None),
    # 31/10 17:30 UTC is 1/11 00:30 in Vietnam: inside a range starting on 1/11.
    "G": (None, None, "web", None, "received", datetime(2026, 10, 31, 17, 30, tzinfo=UTC),
          NOW + 9 * H, None, None),
    # 31/10 16:30 UTC is 31/10 23:30 in Vietnam: outside it.
    "H": ("so_xay_dung", "giao_thong", "zalo", PH, "completed",
          datetime(2026, 10, 31, 16, 30, tzinfo=UTC), NOW, 1, 3),
}  # fmt: skip


def _add_reports(session: Session) -> None:
    for i, (suffix, row) in enumerate(REPORTS.items()):
        unit, category, channel, commune, status, created, due, hours, rating = row
        session.add(
            Report(
                code=f"20261102{i:04d}",
                title=f"Phản ánh {suffix}",
                content="Nội dung",
                category=category,
                status=status,
                unit_id=unit,
                channel=channel,
                commune_name=commune,
                due_at=due,
                created_at=created,
                updated_at=created,
                completed_at=created + hours * H if hours is not None else None,
                rating=rating,
            )
        )


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        _add_reports(session)
    with factory() as session:
        yield session


def _stats(
    session: Session,
    settings: Settings,
    viewer: Actor,
    date_from: date | None = NOV_1,
    date_to: date | None = NOV_23,
) -> Stats:
    return compute_stats(
        session, viewer=viewer, date_from=date_from, date_to=date_to, settings=settings, now=NOW
    )


def _counts(stats_counts: tuple[Count, ...]) -> dict[str, int]:
    return {c.label: c.count for c in stats_counts}


def test_province_wide_counts(session: Session, settings: Settings) -> None:
    stats = _stats(session, settings, Actor(Role.ADMIN, None))
    assert stats.total == 8  # H was created before the range
    assert _counts(stats.by_category) == {
        "Giao thông": 3,
        "Trật tự đô thị": 3,
        "Xây dựng": 1,
        "Chưa phân loại": 1,
    }
    assert _counts(stats.by_status) == {"Hoàn thành": 5, "Mới tiếp nhận": 2, "Đang xử lý": 1}
    assert _counts(stats.by_channel) == {"Zalo": 4, "Web": 3, "Telegram": 1}
    assert _counts(stats.by_commune) == {PH: 4, LC: 3, "Chưa xác định": 1}
    assert _counts(stats.by_unit) == {
        "Sở Xây dựng": 4,
        "UBND phường Long Châu": 3,
        "Chưa chuyển đơn vị": 1,
    }
    assert [c.count for c in stats.by_category] == [3, 3, 1, 1]  # largest first


def test_on_time_rate_per_unit_ranked(session: Session, settings: Settings) -> None:
    stats = _stats(session, settings, Actor(Role.INTAKE, None))
    ranked = [(u.unit_id, u.received, u.completed, u.on_time, u.open_overdue) for u in stats.units]
    assert ranked == [
        ("ubnd_long_chau", 3, 2, 2, 0),
        ("so_xay_dung", 4, 3, 1, 1),  # B and I late; C open past its deadline
        (None, 1, 0, 0, 0),
    ]
    assert [u.on_time_rate for u in stats.units] == [1.0, pytest.approx(1 / 3), None]
    assert stats.completed == 5 and stats.on_time == 3 and stats.open_overdue == 1
    assert stats.on_time_rate == pytest.approx(0.6)


def test_handling_time_mean_and_median(session: Session, settings: Settings) -> None:
    stats = _stats(session, settings, Actor(Role.ADMIN, None))
    # 6, 12, 24, 48, 96 hours
    assert stats.mean_hours == pytest.approx(37.2, abs=0.01)
    assert stats.median_hours == pytest.approx(24, abs=0.01)


def test_satisfaction_distribution(session: Session, settings: Settings) -> None:
    stats = _stats(session, settings, Actor(Role.ADMIN, None))
    assert [(c.key, c.label, c.count) for c in stats.satisfaction] == [
        ("3", "Rất hài lòng", 1),
        ("2", "Hài lòng", 1),
        ("1", "Chưa hài lòng", 1),
        (None, "Chưa đánh giá", 2),
    ]
    assert stats.satisfied_share == pytest.approx(2 / 3)


def test_commune_leader_sees_only_its_commune(session: Session, settings: Settings) -> None:
    stats = _stats(session, settings, Actor(Role.LEADER, "ubnd_long_chau"))
    assert stats.total == 3
    assert _counts(stats.by_category) == {"Trật tự đô thị": 3}
    assert _counts(stats.by_commune) == {LC: 3}
    assert [u.unit_id for u in stats.units] == ["ubnd_long_chau"]
    assert stats.mean_hours == pytest.approx(9, abs=0.01)
    assert stats.median_hours == pytest.approx(9, abs=0.01)  # even count: mean of 6 and 12
    assert [c.count for c in stats.satisfaction] == [0, 1, 0, 1]
    assert stats.satisfied_share == 1.0


def test_date_range_uses_local_calendar_days(session: Session, settings: Settings) -> None:
    admin = Actor(Role.ADMIN, None)
    first_day = _stats(session, settings, admin, NOV_1, NOV_1)
    assert first_day.total == 1 and _counts(first_day.by_channel) == {"Web": 1}
    october = _stats(session, settings, admin, date(2026, 10, 1), date(2026, 10, 31))
    assert october.total == 1 and october.completed == 1
    assert october.median_hours == pytest.approx(1, abs=0.01)
    assert _stats(session, settings, admin, None, None).total == 9


def test_nothing_to_count(session: Session, settings: Settings) -> None:
    stats = _stats(session, settings, Actor(Role.SPECIALIST, "so_y_te"))
    assert stats.total == 0 and stats.units == () and stats.by_status == ()
    assert stats.mean_hours is None and stats.median_hours is None
    assert stats.satisfied_share is None and stats.on_time_rate is None
    assert [c.count for c in stats.satisfaction] == [0, 0, 0, 0]
