"""Fallbacks: when a message cannot reach the citizen its way, the next way, recorded.

Owns the fallback chains and `reroute`, which the dispatcher calls in the
transaction that records the failure. The failed row becomes `rerouted` (its
`last_error` says why) and a new pending row carries the same report, kind and
payload by the next route: `fallback_of_id` = the failed row, `via` = the route,
idempotency key `fallback:<failed id>:<via>`. When no route is left (none
configured, or no phone number known) the row is dead with that reason.

Chains (route names are what `via` stores):

    zalo      "tư vấn" → zalo_transaction → zalo_zns → sms
    telegram  message  → sms

A refusal *outside the interaction window* (`OutsideWindow`: Zalo -230, -232)
moves to the next route, which may still be allowed (a "giao dịch" message, a
year after the last interaction). Any other `Unreachable` (blocked, no such
chat, account gone) means the citizen's account on that channel will not take
any message type, so it skips to the next route addressed to their phone. A
route is available when its adapter is configured and offers it (`routes` of
the Zalo adapter: ZNS only with a template id); unavailable ones are skipped.

The phone is the row's recipient when it already went by phone (ZNS → SMS);
otherwise that of the citizen linked to the channel identity (channel,
external id = recipient), else the report's `reporter_phone`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.citizens.models import ChannelIdentity, Citizen
from backend.notifications.models import (
    OUTBOX_DEAD,
    OUTBOX_PENDING,
    OUTBOX_REROUTED,
    OutboxMessage,
)
from backend.reports.models import Report
from channels.base import ChannelAdapter

SMS = "sms"


@dataclass(frozen=True)
class Route:
    via: str  # the route's name, stored in `outbox.via`
    channel: str  # the adapter that sends it
    by_phone: bool  # addressed to the citizen's phone rather than their channel id


CHAINS: dict[str, tuple[Route, ...]] = {
    "zalo": (
        Route("zalo", "zalo", by_phone=False),
        Route("zalo_transaction", "zalo", by_phone=False),
        Route("zalo_zns", "zalo", by_phone=True),
        Route(SMS, SMS, by_phone=True),
    ),
    "telegram": (
        Route("telegram", "telegram", by_phone=False),
        Route(SMS, SMS, by_phone=True),
    ),
}


def available_routes(adapters: Mapping[str, ChannelAdapter]) -> frozenset[str]:
    """Route names this deployment can send: each channel's own, and what adapters offer."""
    names = set(adapters)
    for adapter in adapters.values():
        names.update(getattr(adapter, "routes", ()))
    return frozenset(names)


def route_of(row: OutboxMessage) -> str:
    """The route a row takes: its `via`, or its channel's own for a first attempt."""
    return row.via or row.channel


def reroute(
    session: Session,
    row: OutboxMessage,
    *,
    error: str,
    window: bool,
    routes: Collection[str],
    now: datetime,
) -> OutboxMessage | None:
    """Send `row` by the next route: the new row (and `row` rerouted), or None (`row` dead).

    `window`: the refusal was about the interaction window, so the next route of any
    kind may do; otherwise only routes to the citizen's phone are tried.
    """
    chain = CHAINS.get(row.channel, ())
    current = next((i for i, r in enumerate(chain) if r.via == route_of(row)), None)
    if current is None:
        return _dead(row, error, f"no fallback for {route_of(row)} messages")
    candidates = [r for r in chain[current + 1 :] if (window or r.by_phone) and r.via in routes]
    if not candidates:
        return _dead(row, error, f"no fallback route configured after {route_of(row)}")
    phone = None
    if any(r.by_phone for r in candidates):
        phone = phone_for(session, row, by_phone=chain[current].by_phone)
    route = next((r for r in candidates if phone or not r.by_phone), None)
    if route is None:
        return _dead(row, error, "no phone number known for this citizen")
    to = phone if route.by_phone and phone else row.recipient
    return _write(session, row, route, to, error, now)


def phone_for(session: Session, row: OutboxMessage, *, by_phone: bool) -> str | None:
    if by_phone:
        return row.recipient
    citizen_phone = session.scalar(
        select(Citizen.phone)
        .join(ChannelIdentity, ChannelIdentity.citizen_id == Citizen.id)
        .where(ChannelIdentity.channel == row.channel, ChannelIdentity.external_id == row.recipient)
    )
    if citizen_phone:
        return citizen_phone
    if row.report_id is None:
        return None
    return session.scalar(select(Report.reporter_phone).where(Report.id == row.report_id))


def _write(
    session: Session, row: OutboxMessage, route: Route, to: str, error: str, now: datetime
) -> OutboxMessage:
    row.status = OUTBOX_REROUTED
    row.last_error = f"{error} → {route.via}"[:2000]
    key = f"fallback:{row.id}:{route.via}"
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    fallback = OutboxMessage(
        idempotency_key=key,
        channel=route.channel,
        recipient=to,
        report_id=row.report_id,
        kind=row.kind,
        payload=dict(row.payload),
        status=OUTBOX_PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        fallback_of_id=row.id,
        via=route.via,
    )
    session.add(fallback)
    session.flush()
    return fallback


def _dead(row: OutboxMessage, error: str, why: str) -> OutboxMessage | None:
    """Dead-letter `row` with the failure and why no fallback was possible; None."""
    row.status = OUTBOX_DEAD
    row.last_error = f"{error}; {why}"[:2000]
    return None
