"""Finding the citizen behind a channel identity, and remembering their contact details."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.citizens.models import ChannelIdentity, Citizen


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
) -> None:
    if name:
        citizen.name = name
    if phone:
        citizen.phone = phone
    if name or phone:
        citizen.updated_at = now
        session.flush()
