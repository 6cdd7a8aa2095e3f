"""Open311 API keys: created once (shown once), stored as SHA-256, revoked, verified.

Keys are 32 random bytes (URL-safe base64) behind a `paht311_` prefix, so a plain
SHA-256 is enough: there is nothing to brute-force that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import DomainError, Forbidden, NotFound
from backend.open311.models import Open311Key, Open311Request

PREFIX = "paht311_"
SHOWN_CHARS = 12
BAD_KEY = "api_key không hợp lệ hoặc đã bị thu hồi."


class RateLimited(DomainError):
    status_code = 429


@dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    key: str  # the only time the plain key exists


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_key(session: Session, *, name: str, now: datetime) -> NewKey:
    name = name.strip()
    if not name or len(name) > 120:
        raise DomainError("Tên khách Open311 phải có từ 1 đến 120 ký tự.")
    key = PREFIX + secrets.token_urlsafe(32)
    row = Open311Key(name=name, key_hash=digest(key), prefix=key[:SHOWN_CHARS], created_at=now)
    session.add(row)
    session.flush()
    return NewKey(row.id, name, key)


def list_keys(session: Session) -> list[Open311Key]:
    return list(session.scalars(select(Open311Key).order_by(Open311Key.id)))


def revoke_key(session: Session, *, key_id: int, now: datetime) -> Open311Key:
    row = session.get(Open311Key, key_id)
    if row is None:
        raise NotFound(f"Không có khóa Open311 số {key_id}.")
    row.revoked_at = row.revoked_at or now
    session.flush()
    return row


def verify(session: Session, *, key: str | None) -> Open311Key:
    """The live key row for `key`; Forbidden (403) for a missing, unknown or revoked key."""
    if not key or not key.startswith(PREFIX) or len(key) > 100:
        raise Forbidden(BAD_KEY)
    wanted = digest(key)
    row = session.scalar(select(Open311Key).where(Open311Key.key_hash == wanted))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, wanted):
        raise Forbidden(BAD_KEY)
    return row


def check_rate(session: Session, *, key: Open311Key, limit: int, now: datetime) -> None:
    """At most `limit` accepted requests per key in any minute (429 beyond)."""
    recent = session.scalar(
        select(func.count())
        .select_from(Open311Request)
        .where(
            Open311Request.key_id == key.id,
            Open311Request.created_at > now - timedelta(minutes=1),
        )
    )
    if (recent or 0) >= limit:
        raise RateLimited("Gửi quá nhiều yêu cầu trong một phút, vui lòng thử lại sau.")
