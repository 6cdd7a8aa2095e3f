"""Imports every model module so that `Base.metadata` is complete (Alembic, tests)."""

from backend.channels.models import InboxMessage
from backend.citizens.models import ChannelIdentity, Citizen
from backend.conversations.models import Conversation, ConversationEvent, InboundMessage
from backend.db import Base
from backend.notifications.models import OutboxMessage
from backend.reports.models import Attachment, DailyCounter, Report, ReportEvent

__all__ = [
    "Attachment",
    "Base",
    "ChannelIdentity",
    "Citizen",
    "Conversation",
    "ConversationEvent",
    "DailyCounter",
    "InboundMessage",
    "InboxMessage",
    "OutboxMessage",
    "Report",
    "ReportEvent",
]
