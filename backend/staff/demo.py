"""Demo staff accounts for `make run`: one per role, in the demo deployment's units.

Idempotent (existing usernames are skipped) and refused in production, since every
account shares the published DEMO_PASSWORD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.reports.workflow import Role
from backend.settings import Settings
from backend.staff import service
from backend.staff.models import StaffUser

DEMO_PASSWORD = "demo-paht-2026"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    unit_id: str | None
    password: str = DEMO_PASSWORD


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("tiepnhan", "Trần Thị Thu", Role.INTAKE, "van_phong_ubnd"),
    DemoAccount("chuyenvien.dienluc", "Nguyễn Văn Minh", Role.SPECIALIST, "dien_luc"),
    DemoAccount("lanhdao.dienluc", "Phạm Quốc Hùng", Role.LEADER, "dien_luc"),
    DemoAccount("chuyenvien.phuochau", "Võ Thị Lan", Role.SPECIALIST, "ubnd_phuoc_hau"),
    DemoAccount("lanhdao.phuochau", "Huỳnh Văn Phước", Role.LEADER, "ubnd_phuoc_hau"),
    DemoAccount("quantri", "Quản trị hệ thống", Role.ADMIN, None),
)


def seed_demo_staff(session: Session, *, settings: Settings, now: datetime) -> list[DemoAccount]:
    """Create the demo accounts that are missing; returns the ones created by this call.

    Accounts whose unit this deployment does not have are skipped.
    """
    if settings.env == "production":
        raise RuntimeError("demo accounts are refused in production (shared known password)")
    existing = set(session.scalars(select(StaffUser.username)))
    created: list[DemoAccount] = []
    for account in DEMO_ACCOUNTS:
        if account.username in existing:
            continue
        if account.unit_id is not None and settings.unit(account.unit_id) is None:
            continue
        service.create_user(
            session,
            username=account.username,
            full_name=account.full_name,
            password=account.password,
            role=account.role.value,
            unit_id=account.unit_id,
            settings=settings,
            now=now,
        )
        created.append(account)
    return created
