"""Staff accounts and authentication: password hashing, accounts, rate-limited login,
browser sessions and the audit log.

Passwords are argon2id hashes (argon2-cffi); a hash made with older parameters is
replaced at the next successful login. Login failures are stored per username and
per client address; once either reaches `console.login_max_failures` within
`console.login_window_minutes`, logins are refused before the password is even
checked. A browser session is a random token in the cookie whose SHA-256 is stored,
with its own CSRF token. Services flush, never commit.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.errors import Conflict, DomainError, NotFound
from backend.reports.workflow import Role
from backend.settings import Settings
from backend.staff.models import AuditEntry, LoginFailure, StaffSession, StaffUser

SESSION_COOKIE = "paht_session"
USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,64}$")
MIN_PASSWORD_LENGTH = 10
UNIT_ROLES = frozenset({Role.SPECIALIST, Role.LEADER})  # roles that must belong to a unit

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("no such user: the timing stays the same")


class LoginRefused(DomainError):
    """Wrong username or password, or an inactive account (the message does not say which)."""

    status_code = 401

    def __init__(self) -> None:
        super().__init__("Tên đăng nhập hoặc mật khẩu không đúng.")


class TooManyAttempts(DomainError):
    """Too many recent failures for this username or this address; retry in `minutes`."""

    status_code = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.")
        self.minutes = minutes


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalize_username(username: str) -> str:
    return username.strip().lower()


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    password: str,
    role: str,
    unit_id: str | None,
    settings: Settings,
    now: datetime,
) -> StaffUser:
    """A new active account; raises DomainError (Conflict for a taken username)."""
    username = normalize_username(username)
    if not USERNAME_PATTERN.match(username):
        raise DomainError(
            "Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, số, "
            "dấu chấm, gạch dưới, gạch ngang."
        )
    full_name = " ".join(full_name.split())
    if not 2 <= len(full_name) <= 120:
        raise DomainError("Họ và tên phải có từ 2 đến 120 ký tự.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
    try:
        staff_role = Role(role)
    except ValueError:
        raise DomainError("Vai trò không hợp lệ.") from None
    unit_id = (unit_id or "").strip() or None
    if unit_id is None and staff_role in UNIT_ROLES:
        raise DomainError("Chuyên viên và lãnh đạo phải thuộc một đơn vị.")
    if unit_id is not None and settings.unit(unit_id) is None:
        raise DomainError("Đơn vị không tồn tại.")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Conflict(f"Tên đăng nhập “{username}” đã được sử dụng.")
    user = StaffUser(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=staff_role.value,
        unit_id=unit_id,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[StaffUser]:
    """Every account, active ones first, then by username."""
    query = select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)
    return list(session.scalars(query))


def deactivate_user(session: Session, *, user_id: int, actor_id: int) -> StaffUser:
    """Lock an account and end its sessions at once; nobody may lock their own account."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.")
    if user.id == actor_id:
        raise Conflict("Không thể khóa tài khoản của chính mình.")
    user.active = False
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.flush()
    return user


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    client_ip: str,
    settings: Settings,
    now: datetime,
) -> StaffUser:
    """The account for these credentials, or LoginRefused / TooManyAttempts.

    The limit is checked first, so a right password is refused too while it lasts.
    Each refusal is recorded; a success clears that username's failures.
    """
    username = normalize_username(username)[:64]
    window = timedelta(minutes=settings.console.login_window_minutes)
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - window))
    locked_until = _locked_until(
        session, username=username, client_ip=client_ip, settings=settings, now=now
    )
    if locked_until is not None:
        raise TooManyAttempts(max(1, math.ceil((locked_until - now).total_seconds() / 60)))
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        session.add(LoginFailure(username=username, client_ip=client_ip, created_at=now))
        session.flush()
        raise LoginRefused()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    session.flush()
    return user


def _locked_until(
    session: Session, *, username: str, client_ip: str, settings: Settings, now: datetime
) -> datetime | None:
    """When the later of the two limits (username, address) lifts, or None if neither holds."""
    limit = settings.console.login_max_failures
    since = now - timedelta(minutes=settings.console.login_window_minutes)
    ends: list[datetime] = []
    for column, value in ((LoginFailure.username, username), (LoginFailure.client_ip, client_ip)):
        recent = select(LoginFailure.created_at).where(
            column == value, LoginFailure.created_at > since
        )
        count = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
        if count >= limit:
            # The limit lifts when the failure that made the count reach it leaves the window.
            nth = session.scalar(
                recent.order_by(LoginFailure.created_at.desc()).offset(limit - 1).limit(1)
            )
            if nth is not None:
                ends.append(nth + timedelta(minutes=settings.console.login_window_minutes))
    return max(ends) if ends else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, *, user: StaffUser, settings: Settings, now: datetime
) -> tuple[str, StaffSession]:
    """A new browser session: (raw cookie token, stored row). The user's expired ones go."""
    session.execute(
        delete(StaffSession).where(StaffSession.user_id == user.id, StaffSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=settings.console.session_hours),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_session(
    session: Session, *, token: str, now: datetime
) -> tuple[StaffUser, StaffSession] | None:
    """The account and session behind a cookie token; None if unknown, expired or inactive."""
    if not token:
        return None
    found = session.execute(
        select(StaffUser, StaffSession)
        .join(StaffSession, StaffSession.user_id == StaffUser.id)
        .where(StaffSession.token_hash == _token_hash(token))
    ).first()
    if found is None:
        return None
    user, staff_session = found
    if staff_session.expires_at <= now or not user.active:
        return None
    return user, staff_session


def end_session(session: Session, *, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
    session.flush()


def audit(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    now: datetime,
    report_id: int | None = None,
    client_ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record who did `action` (view_pii, user_add, login...), when and from where."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        report_id=report_id,
        client_ip=client_ip[:64] if client_ip else None,
        detail=detail,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry
