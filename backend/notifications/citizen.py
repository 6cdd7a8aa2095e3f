"""Telling citizens what staff did to their report: one outbox message per reporter.

The message goes back where the citizen reported (their conversation's channel and user id);
a hotline caller, or a report without a conversation, gets an SMS at the reporter's phone.
Everyone whose report was merged into this one (directly or through another merged report)
gets the same update, without the buttons (they act on this report, not on theirs) and with
`others` if the caller has a variant for them. Each message is keyed by the event and
the recipient's report, so a retried transaction never sends twice. Nothing is sent here:
the dispatcher does that.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.models import Conversation
from backend.notifications.models import OutboxMessage
from backend.notifications.service import enqueue
from backend.notifications.wording import Notice
from backend.reports.models import Report, ReportEvent
from backend.reports.queries import merged_ids
from bot.messages import Button

KIND = "report_update"
SMS_CHANNEL = "sms"
VOICE_CHANNEL = "voice"


def notify(
    session: Session,
    *,
    report: Report,
    event: ReportEvent,
    notice: Notice,
    now: datetime,
    buttons: Iterable[Button] = (),
    others: Notice | None = None,
) -> list[OutboxMessage]:
    """Queue `notice` (and `buttons`) for the report's citizen, and an update for every reporter
    merged into it."""
    own = notice.reply(tuple(buttons)).model_dump(mode="json")
    theirs = (others or notice).reply().model_dump(mode="json")
    queued: list[OutboxMessage] = []
    for member in merged_group(session, report=report):
        target = recipient(session, report=member)
        if target is None:
            continue
        channel, to = target
        queued.append(
            enqueue(
                session,
                key=f"report-event:{event.id}:{member.id}",
                channel=channel,
                recipient=to,
                kind=KIND,
                payload=own if member.id == report.id else theirs,
                now=now,
                report_id=member.id,
            )
        )
    return queued


def recipient(session: Session, *, report: Report) -> tuple[str, str] | None:
    """(channel, recipient id) to reach this report's citizen, or None if they cannot be."""
    conversation = (
        session.get(Conversation, report.conversation_id) if report.conversation_id else None
    )
    if conversation is not None and conversation.channel != VOICE_CHANNEL:
        return conversation.channel, conversation.external_user_id
    if report.reporter_phone:
        return SMS_CHANNEL, report.reporter_phone
    return None


def merged_group(session: Session, *, report: Report) -> list[Report]:
    """The report, then every report merged into it, however deep, in id order per level."""
    ids = merged_ids(session, report_id=report.id)[1:]
    found = {r.id: r for r in session.scalars(select(Report).where(Report.id.in_(ids)))}
    return [report, *(found[i] for i in ids)]
