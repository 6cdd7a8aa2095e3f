"""Report statuses and their Vietnamese labels (the staff workflow issue adds the transitions)."""

from __future__ import annotations

from enum import StrEnum


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


def label(status: str) -> str:
    try:
        return LABELS[Status(status)]
    except ValueError:
        return status
