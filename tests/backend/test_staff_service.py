"""Staff accounts: argon2 hashes, account rules, login rate limiting, sessions, demo accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_session_factory, unit_of_work
from backend.errors import Conflict, DomainError
from backend.settings import Settings
from backend.staff import cli, service
from backend.staff.demo import DEMO_PASSWORD, seed_demo_staff
from backend.staff.models import AuditEntry, LoginFailure, StaffUser
from tests.conftest import make_settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PASSWORD = "mat-khau-du-dai"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def add_user(
    sessions: sessionmaker[Session], settings: Settings, username: str = "chuyenvien", **kw: object
) -> int:
    args: dict[str, object] = {
        "full_name": "Nguyễn Văn A",
        "password": PASSWORD,
        "role": "specialist",
        "unit_id": "dien_luc",
        **kw,
    }
    with unit_of_work(sessions) as session:
        user = service.create_user(
            session,
            username=username,
            settings=settings,
            now=NOW,
            **args,  # type: ignore[arg-type]
        )
        return user.id


def login(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    username: str = "chuyenvien",
    password: str = PASSWORD,
    ip: str = "10.0.0.1",
    at: datetime = NOW,
) -> StaffUser:
    """One login attempt in its own transaction, committed even when refused (like the route)."""
    with sessions() as session:
        try:
            return service.authenticate(
                session,
                username=username,
                password=password,
                client_ip=ip,
                settings=settings,
                now=at,
            )
        finally:
            session.commit()


def test_password_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    hashed = service.hash_password("mật khẩu có dấu 123")
    assert hashed.startswith("$argon2id$")
    assert "mật khẩu" not in hashed
    assert service.verify_password(hashed, "mật khẩu có dấu 123")
    assert not service.verify_password(hashed, "mat khau co dau 123")
    assert not service.verify_password("not a hash", "mật khẩu có dấu 123")


def test_account_rules(engine: Engine, sessions: sessionmaker[Session], settings: Settings) -> None:
    add_user(sessions, settings, username="Chuyenvien ")  # stored lower-case, trimmed
    with pytest.raises(Conflict, match="đã được sử dụng"):
        add_user(sessions, settings, username="chuyenvien")
    bad = [
        ({"username": "ab"}, "Tên đăng nhập"),
        ({"username": "nguyễn"}, "Tên đăng nhập"),
        ({"password": "ngan-qua"}, "ít nhất 10"),
        ({"role": "superuser"}, "Vai trò"),
        ({"unit_id": None}, "phải thuộc một đơn vị"),
        ({"unit_id": "khong_co"}, "Đơn vị không tồn tại"),
    ]
    for change, message in bad:
        kw = {"username": "moi.nguoi", **change}
        with pytest.raises(DomainError, match=message):
            add_user(sessions, settings, **kw)  # type: ignore[arg-type]
    add_user(sessions, settings, username="quantri", role="admin", unit_id=None)
    add_user(sessions, settings, username="tiep-nhan_1", role="intake", unit_id="van_phong_ubnd")
    with sessions() as session:
        assert [u.username for u in service.list_users(session)] == [
            "chuyenvien",
            "quantri",
            "tiep-nhan_1",
        ]


def test_login_records_time_and_refuses_wrong_or_inactive_alike(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    user_id = add_user(sessions, settings)
    assert login(sessions, settings, username=" ChuyenVien").id == user_id
    with pytest.raises(service.LoginRefused) as wrong:
        login(sessions, settings, password="sai-mat-khau")
    with pytest.raises(service.LoginRefused) as unknown:
        login(sessions, settings, username="khong.co.ai")
    admin_id = add_user(sessions, settings, username="quantri", role="admin", unit_id=None)
    with unit_of_work(sessions) as session:
        service.deactivate_user(session, user_id=user_id, actor_id=admin_id)
    with pytest.raises(service.LoginRefused) as inactive:
        login(sessions, settings)
    assert wrong.value.message == unknown.value.message == inactive.value.message
    with sessions() as session:
        user = session.get(StaffUser, user_id)
        assert user is not None and user.last_login_at == NOW
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 3


def test_outdated_hash_is_replaced_at_login(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    user_id = add_user(sessions, settings)
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with unit_of_work(sessions) as session:
        session.get_one(StaffUser, user_id).password_hash = weak
    login(sessions, settings)
    with sessions() as session:
        stored = session.get_one(StaffUser, user_id).password_hash
    assert stored != weak and service.verify_password(stored, PASSWORD)


def test_username_is_limited_even_with_the_right_password_until_the_window_passes(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    add_user(sessions, settings)
    limit, window = settings.console.login_max_failures, settings.console.login_window_minutes
    for i in range(limit):  # each from another address: only the username is counted
        with pytest.raises(service.LoginRefused):
            login(
                sessions,
                settings,
                password="sai-mat-khau",
                ip=f"10.0.1.{i}",
                at=NOW + timedelta(minutes=i),
            )
    later = NOW + timedelta(minutes=limit)
    with pytest.raises(service.TooManyAttempts) as limited:
        login(sessions, settings, ip="10.9.9.9", at=later)
    # Lifted when the oldest of those failures (at NOW) is `window` old.
    assert limited.value.minutes == window - limit
    assert f"sau {limited.value.minutes} phút" in limited.value.message
    # The first failure leaves the window: one slot again, and the right password works.
    assert login(sessions, settings, at=NOW + timedelta(minutes=window, seconds=1))


def test_address_is_limited_across_usernames(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    add_user(sessions, settings)
    for i in range(settings.console.login_max_failures):
        with pytest.raises(service.LoginRefused):
            login(sessions, settings, username=f"doan.mo{i}", ip="10.0.0.66")
    with pytest.raises(service.TooManyAttempts):
        login(sessions, settings, ip="10.0.0.66")
    assert login(sessions, settings, ip="10.0.0.67")  # another address is not affected


def test_success_clears_the_username_failures(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    add_user(sessions, settings)
    limit = settings.console.login_max_failures
    for _ in range(limit - 1):
        with pytest.raises(service.LoginRefused):
            login(sessions, settings, password="sai-mat-khau", ip="10.0.2.1")
    login(sessions, settings, ip="10.0.2.2")
    with pytest.raises(service.LoginRefused):
        login(sessions, settings, password="sai-mat-khau", ip="10.0.2.3")
    assert login(sessions, settings, ip="10.0.2.3")  # counting started again at the success


def test_session_lifecycle(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    user_id = add_user(sessions, settings)
    with unit_of_work(sessions) as session:
        user = session.get_one(StaffUser, user_id)
        token, row = service.start_session(session, user=user, settings=settings, now=NOW)
        assert row.token_hash != token and len(row.csrf_token) >= 32
    expiry = NOW + timedelta(hours=settings.console.session_hours)
    with sessions() as session:
        found = service.resolve_session(session, token=token, now=expiry - timedelta(seconds=1))
        assert found is not None and found[0].id == user_id
        assert service.resolve_session(session, token=token, now=expiry) is None
        assert service.resolve_session(session, token=token + "x", now=NOW) is None
    with unit_of_work(sessions) as session:  # an account switched off by other means
        session.get_one(StaffUser, user_id).active = False
    with sessions() as session:
        assert service.resolve_session(session, token=token, now=NOW) is None
    with unit_of_work(sessions) as session:
        session.get_one(StaffUser, user_id).active = True
    with unit_of_work(sessions) as session:
        service.end_session(session, token=token)
    with sessions() as session:
        assert service.resolve_session(session, token=token, now=NOW) is None


def test_inactive_user_loses_live_sessions(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    user_id = add_user(sessions, settings)
    admin_id = add_user(sessions, settings, username="quantri", role="admin", unit_id=None)
    with unit_of_work(sessions) as session:
        user = session.get_one(StaffUser, user_id)
        token, _ = service.start_session(session, user=user, settings=settings, now=NOW)
    with unit_of_work(sessions) as session, pytest.raises(Conflict):
        service.deactivate_user(session, user_id=admin_id, actor_id=admin_id)
    with unit_of_work(sessions) as session:
        service.deactivate_user(session, user_id=user_id, actor_id=admin_id)
        service.audit(
            session,
            actor_id=admin_id,
            action="user_deactivate",
            now=NOW,
            detail={"user_id": user_id},
        )
    with sessions() as session:
        assert service.resolve_session(session, token=token, now=NOW) is None
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.actor_id, entry.action, entry.detail) == (
            admin_id,
            "user_deactivate",
            {"user_id": user_id},
        )


def test_demo_accounts_are_idempotent_and_refused_in_production(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(sessions) as session:
        first = seed_demo_staff(session, settings=settings, now=NOW)
    with unit_of_work(sessions) as session:
        assert seed_demo_staff(session, settings=settings, now=NOW) == []
    assert {a.username for a in first} == {
        "tiepnhan",
        "chuyenvien.dienluc",
        "lanhdao.dienluc",
        "chuyenvien.phuochau",
        "lanhdao.phuochau",
        "quantri",
    }
    leader = login(sessions, settings, username="lanhdao.phuochau", password=DEMO_PASSWORD)
    assert (leader.role, leader.unit_id) == ("leader", "ubnd_phuoc_hau")
    production = settings.model_copy(update={"env": "production"})
    with sessions() as session, pytest.raises(RuntimeError):
        seed_demo_staff(session, settings=production, now=NOW)


def test_demo_accounts_skip_units_the_deployment_lacks(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    fewer = settings.model_copy(
        update={"units": [u for u in settings.units if u.id != "ubnd_phuoc_hau"]}
    )
    with unit_of_work(sessions) as session:
        created = seed_demo_staff(session, settings=fewer, now=NOW)
    assert "chuyenvien.phuochau" not in {a.username for a in created}
    assert "tiepnhan" in {a.username for a in created}


def test_cli_adds_and_lists_accounts(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "get_settings", lambda: make_settings(database_url=database_url))
    runner = CliRunner()
    args = [
        "add",
        "--username",
        "lanhdao",
        "--full-name",
        "Lê Thị Hoa",
        "--role",
        "leader",
        "--unit",
        "dien_luc",
    ]
    result = runner.invoke(cli.user, args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    again = runner.invoke(cli.user, [*args, "--password-stdin"], input=f"{PASSWORD}\n")
    assert again.exit_code != 0 and "đã được sử dụng" in again.output
    listed = runner.invoke(cli.user, ["list"])
    assert "lanhdao\tLê Thị Hoa\tleader\tCông ty Điện lực Vĩnh Long\tactive" in listed.output
    with make_session_factory(engine)() as session:
        assert session.scalars(select(AuditEntry.action)).all() == ["user_add"]
