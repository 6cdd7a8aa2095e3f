"""The staff workflow: statuses, roles, actions and the table of allowed transitions.

Pure: no database, no clock. `backend.reports.actions` applies a transition to a
stored report after `authorize` has said yes; the console asks `allowed_actions`
which buttons to show. One table decides both, so what a button offers is what
the server accepts. Refusals belong to the domain error family (backend.errors),
so the app and the console map them like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backend import errors


class Status(StrEnum):
    RECEIVED = "received"
    CLASSIFIED = "classified"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING_APPROVAL = "pending_approval"
    COMPLETED = "completed"
    REJECTED = "rejected"
    MERGED = "merged"


LABELS: dict[Status, str] = {
    Status.RECEIVED: "Mới tiếp nhận",
    Status.CLASSIFIED: "Đã phân loại, xác minh",
    Status.ASSIGNED: "Đã chuyển xử lý",
    Status.IN_PROGRESS: "Đang xử lý",
    Status.PENDING_APPROVAL: "Chờ phê duyệt",
    Status.COMPLETED: "Hoàn thành",
    Status.REJECTED: "Từ chối",
    Status.MERGED: "Đã gộp với phản ánh khác",
}

OPEN_STATUSES = frozenset(
    {
        Status.RECEIVED,
        Status.CLASSIFIED,
        Status.ASSIGNED,
        Status.IN_PROGRESS,
        Status.PENDING_APPROVAL,
    }
)
CLOSED_STATUSES = frozenset({Status.COMPLETED, Status.REJECTED, Status.MERGED})


class Role(StrEnum):
    INTAKE = "intake"  # tiếp nhận (IOC): sees every report, classifies and routes
    SPECIALIST = "specialist"  # chuyên viên: handles its unit's reports, drafts answers
    LEADER = "leader"  # lãnh đạo: approves or returns its unit's answers
    ADMIN = "admin"  # quản trị: accounts; reads everything, changes no report


ROLE_LABELS: dict[Role, str] = {
    Role.INTAKE: "Tiếp nhận",
    Role.SPECIALIST: "Chuyên viên",
    Role.LEADER: "Lãnh đạo",
    Role.ADMIN: "Quản trị",
}

# Roles that work across every unit; the others see only their own unit's reports.
PROVINCE_WIDE = frozenset({Role.INTAKE, Role.ADMIN})


class Action(StrEnum):
    CLASSIFY = "classify"  # confirm or correct the category (and the place)
    RELOCATE = "relocate"  # correct the place only
    ASSIGN = "assign"  # route to the responsible unit
    ACCEPT = "accept"  # the unit starts handling it
    SAVE_DRAFT = "save_draft"
    SUBMIT = "submit"  # send the drafted answer for approval
    APPROVE = "approve"  # publish the answer and send it to the citizen
    RETURN = "return"  # trả bước trước, with a comment
    REJECT = "reject"  # not valid / spam / not our competence, with a reason
    MERGE = "merge"  # a duplicate of another report
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    REOPEN = "reopen"  # the citizen says it is not fixed
    COMMENT = "comment"


ACTION_LABELS: dict[Action, str] = {
    Action.CLASSIFY: "Xác nhận phân loại",
    Action.RELOCATE: "Sửa địa điểm",
    Action.ASSIGN: "Chuyển xử lý",
    Action.ACCEPT: "Nhận xử lý",
    Action.SAVE_DRAFT: "Lưu dự thảo",
    Action.SUBMIT: "Trình phê duyệt",
    Action.APPROVE: "Phê duyệt và gửi trả lời",
    Action.RETURN: "Trả bước trước",
    Action.REJECT: "Từ chối",
    Action.MERGE: "Gộp phản ánh trùng",
    Action.REQUEST_EXTENSION: "Xin gia hạn",
    Action.APPROVE_EXTENSION: "Duyệt gia hạn",
    Action.DENY_EXTENSION: "Không duyệt gia hạn",
    Action.REOPEN: "Mở lại",
    Action.COMMENT: "Ghi chú",
}

# Actions that must carry a comment (the reason is recorded and, for a rejection, sent).
NEEDS_COMMENT = frozenset({Action.RETURN, Action.REJECT, Action.REQUEST_EXTENSION, Action.COMMENT})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    to: Status | None  # None: the status stays (the action changes something else)


def _r(*roles: Role, to: Status | None = None) -> Rule:
    return Rule(frozenset(roles), to)


S, R = Status, Role
_HANDLERS = (R.SPECIALIST, R.LEADER)
_OPEN_IN_UNIT = (S.ASSIGNED, S.IN_PROGRESS, S.PENDING_APPROVAL)

TRANSITIONS: dict[tuple[Action, Status], Rule] = {
    (Action.CLASSIFY, S.RECEIVED): _r(R.INTAKE, to=S.CLASSIFIED),
    (Action.CLASSIFY, S.CLASSIFIED): _r(R.INTAKE),
    **{(Action.RELOCATE, s): _r(R.INTAKE) for s in (S.RECEIVED, S.CLASSIFIED)},
    **{(Action.RELOCATE, s): _r(R.INTAKE, *_HANDLERS) for s in (S.ASSIGNED, S.IN_PROGRESS)},
    (Action.ASSIGN, S.RECEIVED): _r(R.INTAKE, to=S.ASSIGNED),
    (Action.ASSIGN, S.CLASSIFIED): _r(R.INTAKE, to=S.ASSIGNED),
    (Action.ASSIGN, S.ASSIGNED): _r(R.INTAKE),  # re-route before the unit starts
    (Action.ACCEPT, S.ASSIGNED): _r(*_HANDLERS, to=S.IN_PROGRESS),
    (Action.SAVE_DRAFT, S.IN_PROGRESS): _r(*_HANDLERS),
    (Action.SUBMIT, S.IN_PROGRESS): _r(*_HANDLERS, to=S.PENDING_APPROVAL),
    (Action.APPROVE, S.PENDING_APPROVAL): _r(R.LEADER, to=S.COMPLETED),
    (Action.RETURN, S.PENDING_APPROVAL): _r(R.LEADER, to=S.IN_PROGRESS),
    (Action.RETURN, S.IN_PROGRESS): _r(*_HANDLERS, to=S.CLASSIFIED),
    (Action.RETURN, S.ASSIGNED): _r(*_HANDLERS, to=S.CLASSIFIED),
    (Action.RETURN, S.CLASSIFIED): _r(R.INTAKE, to=S.RECEIVED),
    (Action.REJECT, S.RECEIVED): _r(R.INTAKE, to=S.REJECTED),
    (Action.REJECT, S.CLASSIFIED): _r(R.INTAKE, to=S.REJECTED),
    **{(Action.REJECT, s): _r(R.LEADER, to=S.REJECTED) for s in _OPEN_IN_UNIT},
    (Action.MERGE, S.RECEIVED): _r(R.INTAKE, to=S.MERGED),
    (Action.MERGE, S.CLASSIFIED): _r(R.INTAKE, to=S.MERGED),
    **{(Action.REQUEST_EXTENSION, s): _r(*_HANDLERS) for s in (S.ASSIGNED, S.IN_PROGRESS)},
    **{(Action.APPROVE_EXTENSION, s): _r(R.LEADER) for s in _OPEN_IN_UNIT},
    **{(Action.DENY_EXTENSION, s): _r(R.LEADER) for s in _OPEN_IN_UNIT},
    (Action.REOPEN, S.COMPLETED): _r(R.INTAKE, R.LEADER, to=S.ASSIGNED),
    **{(Action.COMMENT, s): _r(R.INTAKE, *_HANDLERS) for s in S},
}


class Forbidden(errors.Forbidden):
    """This role may not take this action on this report (HTTP 403).

    `message` is what staff read; `reason` says why, for logs and tests."""

    def __init__(self, reason: str) -> None:
        super().__init__("Bạn không có quyền thực hiện thao tác này.")
        self.reason = reason


class NotAllowedNow(errors.Conflict):
    """The action does not apply to the report's current status (HTTP 409)."""

    def __init__(self, reason: str) -> None:
        super().__init__("Thao tác không phù hợp với trạng thái hiện tại của phản ánh.")
        self.reason = reason


@dataclass(frozen=True)
class Actor:
    """Who is acting: what the transition table needs to know about a staff member."""

    role: Role
    unit_id: str | None


def can_see(actor: Actor, report_unit: str | None) -> bool:
    """Province-wide roles see every report; the others only their own unit's."""
    if actor.role in PROVINCE_WIDE:
        return True
    return actor.unit_id is not None and actor.unit_id == report_unit


def authorize(
    action: Action, *, status: Status, actor: Actor, report_unit: str | None
) -> Status | None:
    """The status after `action`, or raise Forbidden / NotAllowedNow. Pure."""
    if not can_see(actor, report_unit):
        raise Forbidden("report outside the actor's unit")
    rule = TRANSITIONS.get((action, status))
    if rule is None:
        if any(a == action and actor.role in r.roles for (a, _), r in TRANSITIONS.items()):
            raise NotAllowedNow(f"{action} is not possible while the report is {status}")
        raise Forbidden(f"{actor.role} may not {action}")
    if actor.role not in rule.roles:
        raise Forbidden(f"{actor.role} may not {action} a {status} report")
    return rule.to


def allowed_actions(*, status: Status, actor: Actor, report_unit: str | None) -> list[Action]:
    """The actions to offer this actor on this report, in the table's order."""
    if not can_see(actor, report_unit):
        return []
    return [a for (a, s), rule in TRANSITIONS.items() if s == status and actor.role in rule.roles]


def label(status: str) -> str:
    try:
        return LABELS[Status(status)]
    except ValueError:
        return status
