"""Refusals: every role × every action × own/other unit × every status, then bad input.

`EXPECTED` is written out by hand from the process the issue describes, not read from
`workflow.TRANSITIONS`: if someone loosens the table, these tests say which cell changed.
Each case runs the real service on both databases; a refused action must leave the report
row, its timeline, the corrections and the outbox exactly as they were; so must an allowed
action whose input is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from backend.citizens.models import Citizen
from backend.conversations.models import Conversation
from backend.db import make_session_factory
from backend.errors import Conflict, DomainError, NotFound
from backend.notifications.models import OutboxMessage
from backend.reports import workflow
from backend.reports.actions import ActionInput, perform
from backend.reports.models import Correction, Report, ReportEvent
from backend.reports.workflow import Action, Actor, Role, Status
from backend.settings import Settings
from backend.staff.deps import Staff

A, S = Action, Status
IN, SP, LE, AD = Role.INTAKE, Role.SPECIALIST, Role.LEADER, Role.ADMIN
UNIT_STAFF = frozenset({SP, LE})
EVERYONE_WORKING = frozenset({IN, SP, LE})  # the admin manages accounts, never reports
IN_UNIT = (S.ASSIGNED, S.IN_PROGRESS, S.PENDING_APPROVAL)

# action → {status where it applies: (roles allowed, status afterwards; None = unchanged)}
EXPECTED: dict[Action, dict[Status, tuple[frozenset[Role], Status | None]]] = {
    # Intake (IOC) confirms or corrects the category, the place, and routes to a unit.
    A.CLASSIFY: {
        S.RECEIVED: (frozenset({IN}), S.CLASSIFIED),
        S.CLASSIFIED: (frozenset({IN}), None),
    },
    A.RELOCATE: {
        S.RECEIVED: (frozenset({IN}), None),
        S.CLASSIFIED: (frozenset({IN}), None),
        S.ASSIGNED: (EVERYONE_WORKING, None),  # the unit on the ground may correct the place
        S.IN_PROGRESS: (EVERYONE_WORKING, None),
    },
    A.ASSIGN: {
        S.RECEIVED: (frozenset({IN}), S.ASSIGNED),
        S.CLASSIFIED: (frozenset({IN}), S.ASSIGNED),
        S.ASSIGNED: (frozenset({IN}), None),  # re-routing before the unit starts
    },
    # The unit takes it up and drafts; its leader approves or sends it back.
    A.ACCEPT: {S.ASSIGNED: (UNIT_STAFF, S.IN_PROGRESS)},
    A.SAVE_DRAFT: {S.IN_PROGRESS: (UNIT_STAFF, None)},
    A.SUBMIT: {S.IN_PROGRESS: (UNIT_STAFF, S.PENDING_APPROVAL)},
    A.APPROVE: {S.PENDING_APPROVAL: (frozenset({LE}), S.COMPLETED)},
    A.RETURN: {
        S.PENDING_APPROVAL: (frozenset({LE}), S.IN_PROGRESS),
        S.IN_PROGRESS: (UNIT_STAFF, S.CLASSIFIED),  # not ours: back to intake
        S.ASSIGNED: (UNIT_STAFF, S.CLASSIFIED),
        S.CLASSIFIED: (frozenset({IN}), S.RECEIVED),
    },
    # Side exits: intake before routing, the unit's leader after.
    A.REJECT: {
        S.RECEIVED: (frozenset({IN}), S.REJECTED),
        S.CLASSIFIED: (frozenset({IN}), S.REJECTED),
        **{s: (frozenset({LE}), S.REJECTED) for s in IN_UNIT},
    },
    A.MERGE: {
        S.RECEIVED: (frozenset({IN}), S.MERGED),
        S.CLASSIFIED: (frozenset({IN}), S.MERGED),
    },
    A.REQUEST_EXTENSION: {
        S.ASSIGNED: (UNIT_STAFF, None),
        S.IN_PROGRESS: (UNIT_STAFF, None),
    },
    A.APPROVE_EXTENSION: {s: (frozenset({LE}), None) for s in IN_UNIT},
    A.DENY_EXTENSION: {s: (frozenset({LE}), None) for s in IN_UNIT},
    A.REOPEN: {S.COMPLETED: (frozenset({IN, LE}), S.ASSIGNED)},
    A.COMMENT: {s: (EVERYONE_WORKING, None) for s in Status},
}

FORBIDDEN, NOT_NOW = "403", "409"
HOME_UNIT = {IN: "van_phong_ubnd", AD: "van_phong_ubnd", SP: "so_xay_dung", LE: "so_xay_dung"}
OTHER_UNIT = "so_y_te"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def expected(action: Action, status: Status, role: Role, own_unit: bool) -> str | Status:
    """The status after the action, or FORBIDDEN (HTTP 403) / NOT_NOW (HTTP 409)."""
    if role not in (IN, AD) and not own_unit:
        return FORBIDDEN  # a unit never acts on, or learns the state of, another unit's report
    rules = EXPECTED[action]
    if status in rules:  # someone takes this action at this step: is it this role's job?
        roles, after = rules[status]
        return (after or status) if role in roles else FORBIDDEN
    # Nobody does this at this step: "not now" for a role that does it at another step.
    return NOT_NOW if any(role in roles for roles, _ in rules.values()) else FORBIDDEN


def test_the_expectation_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_authorize_matches_the_expectation(action: Action) -> None:
    for status in Status:
        for role in Role:
            for own in (True, False):
                actor = Actor(role, HOME_UNIT[role])
                unit = HOME_UNIT[role] if own else OTHER_UNIT
                want = expected(action, status, role, own)
                try:
                    got: str | Status = (
                        workflow.authorize(action, status=status, actor=actor, report_unit=unit)
                        or status
                    )
                except workflow.Forbidden:
                    got = FORBIDDEN
                except workflow.NotAllowedNow:
                    got = NOT_NOW
                assert got == want, (action, status, role, "own" if own else "other")


# --- the same matrix through the service, on both databases ------------------------------


@dataclass
class Bench:
    session: Session
    settings: Settings
    staff: dict[Role, Staff]
    conversation_id: int
    target: Report
    codes: Iterator[int]


@pytest.fixture
def bench(engine: Engine, settings: Settings) -> Iterator[Bench]:
    from backend.staff.models import StaffUser

    with make_session_factory(engine)() as session:
        staff = {}
        for role, unit in HOME_UNIT.items():
            user = StaffUser(
                username=f"u_{role}",
                full_name=str(role),
                password_hash="x",
                role=role,
                unit_id=unit,
            )
            session.add(user)
            session.flush()
            staff[role] = Staff.of(user, settings=settings, csrf_token="")
        citizen = Citizen(name="Dân")
        session.add(citizen)
        session.flush()
        conversation = Conversation(
            channel="telegram", external_user_id="tg-1", citizen_id=citizen.id
        )
        session.add(conversation)
        session.flush()
        codes = count(1)
        target = _report(session, conversation.id, Status.RECEIVED, "so_xay_dung", next(codes))
        session.flush()
        yield Bench(session, settings, staff, conversation.id, target, codes)


def _report(session: Session, conversation_id: int, status: Status, unit: str, n: int) -> Report:
    report = Report(
        code=f"20261123{n:04d}",
        title="Ổ gà trước chợ",
        content="Ổ gà lớn trước chợ, xe máy té liên tục",
        category="giao_thong",
        status=status.value,
        unit_id=unit,
        location_raw="trước chợ",
        channel="telegram",
        conversation_id=conversation_id,
        due_at=NOW + timedelta(days=14),
        answer_draft="<p>Đã vá ổ gà.</p>",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(report)
    return report


def _prepare(b: Bench, action: Action, status: Status, unit: str) -> Report:
    """A report in `status` with whatever the action needs to succeed when it is allowed."""
    report = _report(b.session, b.conversation_id, status, unit, next(b.codes))
    if action in (A.APPROVE_EXTENSION, A.DENY_EXTENSION):
        report.extension_days, report.extension_reason = 2, "Chờ vật tư"
    if status == S.COMPLETED:
        report.answer, report.completed_at = report.answer_draft, NOW
    if status == S.MERGED:
        report.merged_into_id = b.target.id
    b.session.flush()
    return report


def _valid_input(action: Action, report: Report, target: Report) -> ActionInput:
    return ActionInput(
        comment="Ghi chú kiểm tra",
        category="cay_xanh",
        commune_name="Phường Long Châu",
        unit_id=report.unit_id,
        answer="<p>Đã vá ổ gà.</p>",
        target_code=target.code,
        extension_days=2,
    )


def _state(b: Bench, report: Report) -> tuple[dict[str, Any], list[tuple[Any, ...]], int, int]:
    b.session.flush()
    row = {c.key: getattr(report, c.key) for c in inspect(Report).column_attrs}
    events = b.session.execute(
        select(ReportEvent.kind, ReportEvent.actor, ReportEvent.to_status).where(
            ReportEvent.report_id == report.id
        )
    ).all()
    outbox = b.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    corrections = b.session.scalar(select(func.count()).select_from(Correction)) or 0
    return row, [tuple(e) for e in events], outbox, corrections


def _run_case(b: Bench, action: Action, status: Status, role: Role, own: bool) -> str | None:
    """One cell of the matrix; a description of the mismatch, or None when it holds."""
    who = b.staff[role]
    report = _prepare(b, action, status, (who.unit_id or "") if own else OTHER_UNIT)
    before = _state(b, report)
    want = expected(action, status, role, own)
    try:
        perform(
            b.session,
            report=report,
            action=action,
            actor=who,
            data=_valid_input(action, report, b.target),
            settings=b.settings,
            now=NOW + timedelta(hours=1),
        )
    except (workflow.Forbidden, workflow.NotAllowedNow) as exc:
        got = FORBIDDEN if isinstance(exc, workflow.Forbidden) else NOT_NOW
        if got != want:
            return f"got {got}, expected {want}"
        after = _state(b, report)
        return None if after == before else f"refused ({got}) but something changed"
    if want in (FORBIDDEN, NOT_NOW):
        return f"allowed, expected {want}"
    events = _state(b, report)[1]
    if report.status != want or events[-1][:2] != (action.value, f"staff:{who.username}"):
        return f"allowed but status {report.status} / event {events[-1:]}, expected {want}"
    return None


@pytest.mark.parametrize("action", list(Action))
def test_every_role_every_unit_every_status(bench: Bench, action: Action) -> None:
    failures = []
    for status in Status:
        for role in Role:
            for own in (True, False):
                savepoint = bench.session.begin_nested()
                try:
                    problem = _run_case(bench, action, status, role, own)
                finally:
                    savepoint.rollback()
                if problem:
                    side = "own unit" if own else "other unit"
                    failures.append(f"{action} on {status} by {role} ({side}): {problem}")
    assert not failures, "\n".join(failures)


# --- allowed, but the input is wrong: refused the same way ---------------------------------

NO_DRAFT: dict[str, Any] = {"answer_draft": None}
PENDING: dict[str, Any] = {"extension_days": 2}  # a request already waits for the leader
RAIN = {"comment": "Chờ hết mưa"}
BAD_INPUT: list[tuple[Action, Status, Role, dict[str, Any], dict[str, Any], type[Exception]]] = [
    (A.CLASSIFY, S.RECEIVED, IN, {"category": "khong_co"}, {}, DomainError),
    (A.CLASSIFY, S.RECEIVED, IN, {}, {}, DomainError),
    (A.CLASSIFY, S.RECEIVED, IN, {"category": "y_te", "lat": 10.0, "lon": 140.0}, {}, DomainError),
    (A.RELOCATE, S.RECEIVED, IN, {}, {}, DomainError),
    (A.RELOCATE, S.ASSIGNED, SP, {"lat": 48.86, "lon": 2.35}, {}, DomainError),  # Paris
    (A.RELOCATE, S.IN_PROGRESS, LE, {"lat": 10.2}, {}, DomainError),
    (A.RELOCATE, S.RECEIVED, IN, {"commune_name": "x" * 121}, {}, DomainError),
    (A.ASSIGN, S.RECEIVED, IN, {"unit_id": "so_khong_co"}, {}, DomainError),
    (A.ASSIGN, S.RECEIVED, IN, {}, {"category": None}, DomainError),  # nothing to route by
    (A.REJECT, S.RECEIVED, IN, {"comment": "   "}, {}, DomainError),
    (A.RETURN, S.PENDING_APPROVAL, LE, {}, {}, DomainError),
    (A.COMMENT, S.COMPLETED, IN, {"comment": "x" * 4001}, {}, DomainError),
    (A.MERGE, S.RECEIVED, IN, {"target_code": "209901010001"}, {}, NotFound),
    (A.MERGE, S.CLASSIFIED, IN, {}, {}, DomainError),
    (A.SAVE_DRAFT, S.IN_PROGRESS, SP, {}, {}, DomainError),
    (A.SUBMIT, S.IN_PROGRESS, SP, {}, NO_DRAFT, DomainError),
    (A.SUBMIT, S.IN_PROGRESS, SP, {"answer": "<script>x()</script>"}, NO_DRAFT, DomainError),
    (A.APPROVE, S.PENDING_APPROVAL, LE, {}, {"answer_draft": "<p> </p>"}, DomainError),
    (A.REQUEST_EXTENSION, S.ASSIGNED, SP, {"extension_days": 31, **RAIN}, {}, DomainError),
    (A.REQUEST_EXTENSION, S.ASSIGNED, SP, {"extension_days": 0, **RAIN}, {}, DomainError),
    (A.REQUEST_EXTENSION, S.IN_PROGRESS, LE, {"extension_days": 3}, {}, DomainError),
    (A.REQUEST_EXTENSION, S.IN_PROGRESS, SP, {"extension_days": 3, **RAIN}, PENDING, Conflict),
    (A.APPROVE_EXTENSION, S.IN_PROGRESS, LE, {}, {"extension_days": None}, Conflict),
    (A.DENY_EXTENSION, S.ASSIGNED, LE, {}, {"extension_days": None}, Conflict),
]


@pytest.mark.parametrize(("action", "status", "role", "data", "fields", "error"), BAD_INPUT)
def test_bad_input_is_refused_and_changes_nothing(
    bench: Bench,
    action: Action,
    status: Status,
    role: Role,
    data: dict[str, Any],
    fields: dict[str, Any],
    error: type[Exception],
) -> None:
    who = bench.staff[role]
    report = _prepare(bench, action, status, "so_xay_dung")
    for name, value in fields.items():
        setattr(report, name, value)
    before = _state(bench, report)
    with pytest.raises(error) as refused:
        perform(
            bench.session,
            report=report,
            action=action,
            actor=who,
            data=ActionInput(**data),
            settings=bench.settings,
            now=NOW,
        )
    assert isinstance(refused.value, DomainError) and refused.value.message  # shown to staff
    assert _state(bench, report) == before
