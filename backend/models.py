"""Imports every model module so that `Base.metadata` is complete (Alembic, tests)."""

from backend.channels.models import InboxMessage
from backend.channels.token_models import ZaloOAuthState, ZaloTokenRow
from backend.citizens.models import ChannelIdentity, Citizen
from backend.clusters.models import REPORT_POSITION_INDEX, DuplicateCandidate
from backend.conversations.models import Conversation, ConversationEvent, InboundMessage
from backend.db import Base
from backend.notifications.models import OutboxMessage
from backend.open311.models import Open311Key, Open311Request
from backend.portal.models import PUBLIC_INDEXES, TITLE_SEARCH_INDEX
from backend.reports.models import Attachment, Correction, DailyCounter, Report, ReportEvent
from backend.staff.models import AuditEntry, LoginFailure, StaffSession, StaffUser
from backend.webhooks_out.models import WebhookDelivery

__all__ = [
    "PUBLIC_INDEXES",
    "REPORT_POSITION_INDEX",
    "TITLE_SEARCH_INDEX",
    "Attachment",
    "AuditEntry",
    "Base",
    "ChannelIdentity",
    "Citizen",
    "Conversation",
    "ConversationEvent",
    "Correction",
    "DailyCounter",
    "DuplicateCandidate",
    "InboundMessage",
    "InboxMessage",
    "LoginFailure",
    "Open311Key",
    "Open311Request",
    "OutboxMessage",
    "Report",
    "ReportEvent",
    "StaffSession",
    "StaffUser",
    "WebhookDelivery",
    "ZaloOAuthState",
    "ZaloTokenRow",
]
