"""Imports every model module so that `Base.metadata` is complete (Alembic, tests)."""

from backend.channels.models import InboxMessage
from backend.citizens.models import ChannelIdentity, Citizen
from backend.conversations.models import Conversation, ConversationEvent, InboundMessage
from backend.db import Base
from backend.notifications.models import OutboxMessage
from backend.reports.models import Attachment, Correction, DailyCounter, Report, ReportEvent
from backend.staff.models import AuditEntry, LoginFailure, StaffSession, StaffUser

__all__ = [
    "Attachment",
    "AuditEntry",
    "Base",
    "ChannelIdentity",
    "Citizen",
    "Conversation",
    "ConversationEvent",
    "Correction",
    "DailyCounter",
    "InboundMessage",
    "InboxMessage",
    "LoginFailure",
    "OutboxMessage",
    "Report",
    "ReportEvent",
    "StaffSession",
    "StaffUser",
]
