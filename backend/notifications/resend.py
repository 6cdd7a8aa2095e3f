"""Staff sending dead letters again: a dead outbox message goes back to the queue, audited.

A dead-lettered message (refused or unreachable, or out of retries) is put back as
if it had just been written: pending, no attempts, due now, nobody's claim. The
dispatcher then sends it like any other message, in order with the citizen's
other waiting messages. The reason it died is cleared from the row and kept in the
audit log entry (`outbox_resend`), one entry per message, with who and from where.

Only intake staff (tiếp nhận) and administrators may do this; the functions here
refuse anyone else with `Forbidden`, whatever the route does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict, Forbidden, NotFound
from backend.notifications.models import OUTBOX_DEAD, OUTBOX_PENDING, OutboxMessage
from backend.reports.workflow import Role
from backend.staff.service import audit

RESEND_ROLES = frozenset({Role.INTAKE, Role.ADMIN})
AUDIT_ACTION = "outbox_resend"
BULK_LIMIT = 500  # messages per "send all again": a bounded transaction


def may_resend(role: Role) -> bool:
    return role in RESEND_ROLES


def _check_role(role: Role) -> None:
    if not may_resend(role):
        raise Forbidden("Chỉ cán bộ tiếp nhận và quản trị được gửi lại tin nhắn.")


def _requeue(
    session: Session,
    row: OutboxMessage,
    *,
    actor_id: int,
    now: datetime,
    client_ip: str | None,
    bulk: bool,
) -> None:
    detail: dict[str, Any] = {
        "message_id": row.id,
        "channel": row.channel,
        "attempts": row.attempts,
        "last_error": row.last_error,  # already masked by the dispatcher
        "bulk": bulk,
    }
    row.status = OUTBOX_PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.claimed_until = row.claimed_by = None
    row.last_error = None
    audit(
        session,
        actor_id=actor_id,
        action=AUDIT_ACTION,
        now=now,
        report_id=row.report_id,
        client_ip=client_ip,
        detail=detail,
    )


def resend(
    session: Session,
    *,
    message_id: int,
    actor_id: int,
    role: Role,
    now: datetime,
    client_ip: str | None = None,
) -> OutboxMessage:
    """Put one dead message back in the queue; Conflict if it is not dead (any more)."""
    _check_role(role)
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        raise NotFound("Không tìm thấy tin nhắn.")
    if row.status != OUTBOX_DEAD:
        raise Conflict("Tin nhắn này không ở trạng thái gửi thất bại.")
    _requeue(session, row, actor_id=actor_id, now=now, client_ip=client_ip, bulk=False)
    session.flush()
    return row


def resend_dead(
    session: Session,
    *,
    actor_id: int,
    role: Role,
    now: datetime,
    channel: str | None = None,
    client_ip: str | None = None,
    limit: int = BULK_LIMIT,
) -> int:
    """Put the dead messages (of one channel, or all) back in the queue, oldest first, at
    most `limit` of them; returns how many."""
    _check_role(role)
    stmt = select(OutboxMessage).where(OutboxMessage.status == OUTBOX_DEAD)
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    rows = session.scalars(stmt.order_by(OutboxMessage.id).limit(limit).with_for_update()).all()
    for row in rows:
        _requeue(session, row, actor_id=actor_id, now=now, client_ip=client_ip, bulk=True)
    session.flush()
    return len(rows)
