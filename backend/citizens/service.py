"""Finding the citizen behind a channel identity, and remembering their contact details."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.citizens.models import ChannelIdentity, Citizen
from backend.conversations.models import Conversation
from backend.reports.models import Report


def citizen_for(
    session: Session, *, channel: str, external_id: str, now: datetime, name: str | None = None
) -> Citizen:
    identity = session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
        )
    )
    if identity is not None:
        return identity.citizen
    citizen = Citizen(name=name, created_at=now, updated_at=now)
    citizen.identities.append(
        ChannelIdentity(channel=channel, external_id=external_id, display_name=name, created_at=now)
    )
    session.add(citizen)
    session.flush()
    return citizen


def remember_contact(
    session: Session, *, citizen: Citizen, name: str | None, phone: str | None, now: datetime
) -> Citizen:
    """Store the contact details; a phone already known links this person's channels.

    A caller who phoned the hotline and later writes on Zalo with the same
    number is one citizen: the newer record's identities, conversations and
    reports move to the older one, which is returned.
    """
    if phone:
        existing = session.scalar(
            select(Citizen)
            .where(Citizen.phone == phone, Citizen.id != citizen.id)
            .order_by(Citizen.id)
        )
        if existing is not None:
            citizen = _merge_into(session, source=citizen, target=existing)
        citizen.phone = phone
    if name:
        citizen.name = name
    if name or phone:
        citizen.updated_at = now
        session.flush()
    return citizen


def _merge_into(session: Session, *, source: Citizen, target: Citizen) -> Citizen:
    for model in (ChannelIdentity, Conversation, Report):
        session.execute(
            update(model).where(model.citizen_id == source.id).values(citizen_id=target.id)
        )
    session.flush()
    session.expire_all()  # relationships loaded before the move are stale
    session.delete(source)
    return target
