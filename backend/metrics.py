"""Prometheus metrics at /metrics: the outbox and open reports read from the database at
scrape time, and a counter of webhook requests by channel and HTTP status.

Gauges (read from the database when scraped, so every process reports the same):

- `paht_outbox_pending_messages{channel}`: messages waiting to be sent (queue depth);
- `paht_outbox_oldest_pending_age_seconds{channel}`: age of the oldest of them (0: none);
  (the outbox gauges report 0 for the known channels rather than leaving them out)
- `paht_outbox_dead_messages{channel}`: dead letters (refused, unreachable, out of retries);
- `paht_reports_open{status}`: reports not yet closed, by workflow status;
- `paht_metrics_database_up`: 1 when the queries above answered, 0 when the database did not.

Counter, kept in memory by each process: `paht_webhook_requests_total{channel,status}`,
every request to a provider webhook (/channels/...), the web chat's REST webhook and
/chat/... endpoints, by the HTTP status it was answered with. Each `paht serve`
process exposes its own counts, so scrape every instance (and run each with one
uvicorn worker), or set PROMETHEUS_MULTIPROC_DIR to an empty directory before
starting `paht serve --workers N`: the workers then share their counts through files
there and any of them exposes the sum (prometheus-client's multiprocess mode).

/metrics needs no credentials unless `[metrics] token` (PAHT_METRICS__TOKEN) is set;
then the scraper sends `Authorization: Bearer <token>`. See docs/deploy.md.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.db import utcnow
from backend.notifications.models import OUTBOX_DEAD, OUTBOX_PENDING, OutboxMessage
from backend.reports.models import Report
from backend.reports.stats import CHANNEL_LABELS
from backend.reports.workflow import OPEN_STATUSES
from backend.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["ops"])

WEBHOOK_CHANNELS = frozenset({"zalo", "telegram", "sms", "voice"})  # /channels/<name>/...
WEB_PREFIXES = ("/webhooks/rest/", "/chat/")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
KNOWN_CHANNELS = frozenset(CHANNEL_LABELS)  # outbox gauges report 0 rather than nothing


def webhook_channel(path: str) -> str | None:
    """The channel label of a webhook path; None for paths that are not counted."""
    if path.startswith("/channels/"):
        name = path.split("/")[2]
        return name if name in WEBHOOK_CHANNELS else "other"
    if path.startswith(WEB_PREFIXES):
        return "web"
    return None


class Metrics:
    """One app's in-process metrics: the webhook request counter."""

    def __init__(self) -> None:
        self.webhook_requests = Counter(
            "paht_webhook_requests",
            "Webhook and web chat requests, by channel and HTTP status.",
            ["channel", "status"],
            registry=None,  # registered per scrape, so several apps (tests) can coexist
        )

    def count_webhook(self, channel: str, status: int) -> None:
        self.webhook_requests.labels(channel=channel, status=str(status)).inc()


class WebhookCounter:
    """ASGI middleware counting webhook requests by the status they were answered with
    (an unhandled exception counts as 500)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = webhook_channel(scope["path"]) if scope["type"] == "http" else None
        if channel is None:
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.metrics.count_webhook(channel, status)


class DatabaseCollector(Collector):
    """Outbox and report gauges, queried when scraped."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions, self.clock = sessions, clock

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("paht_metrics_database_up", "1 if the database answered the scrape.")
        try:
            with self.sessions() as session:
                families = self._families(session, self.clock())
        except SQLAlchemyError:
            log.exception("metrics: database query failed")
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [*families, up]

    def _families(self, session: Session, now: datetime) -> list[Metric]:
        pending = GaugeMetricFamily(
            "paht_outbox_pending_messages",
            "Messages to citizens waiting to be sent.",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "paht_outbox_oldest_pending_age_seconds",
            "Age of the oldest message still waiting to be sent.",
            labels=["channel"],
        )
        dead = GaugeMetricFamily(
            "paht_outbox_dead_messages", "Dead-lettered messages to citizens.", labels=["channel"]
        )
        counts: dict[str, dict[str, float]] = {c: {} for c in KNOWN_CHANNELS}
        waiting = select(
            OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at)
        ).where(OutboxMessage.status == OUTBOX_PENDING)
        for channel, count, first in session.execute(waiting.group_by(OutboxMessage.channel)):
            age = max(0.0, (now - first).total_seconds()) if first else 0.0
            counts.setdefault(channel, {}).update(pending=count, oldest=age)
        dead_counts = select(OutboxMessage.channel, func.count()).where(
            OutboxMessage.status == OUTBOX_DEAD
        )
        for channel, count in session.execute(dead_counts.group_by(OutboxMessage.channel)):
            counts.setdefault(channel, {})["dead"] = count
        for channel, found in sorted(counts.items()):  # known channels at 0: series never vanish
            pending.add_metric([channel], found.get("pending", 0))
            oldest.add_metric([channel], found.get("oldest", 0))
            dead.add_metric([channel], found.get("dead", 0))
        reports = GaugeMetricFamily(
            "paht_reports_open", "Reports not yet closed, by status.", labels=["status"]
        )
        open_counts = select(Report.status, func.count()).where(Report.status.in_(OPEN_STATUSES))
        for status, count in session.execute(open_counts.group_by(Report.status)):
            reports.add_metric([status], count)
        return [pending, oldest, dead, reports]


def scrape_registry(request: Request) -> CollectorRegistry:
    """What one scrape shows: the database gauges and this process's (or all workers') counts."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(request.app.state.sessions, utcnow))
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(request.app.state.metrics.webhook_requests)
    return registry


def _authorized(request: Request, settings: Settings) -> bool:
    token = settings.metrics.token
    if token is None:
        return True
    sent = request.headers.get("authorization", "")
    scheme, _, value = sent.partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text exposition; `Authorization: Bearer` when `[metrics] token` is set."""
    if not _authorized(request, request.app.state.settings):
        return Response(
            "unauthorized\n",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
            media_type="text/plain",
        )
    body = generate_latest(scrape_registry(request))
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def install(app: FastAPI) -> None:
    """Add /metrics and the webhook counter to the app."""
    app.state.metrics = Metrics()
    app.add_middleware(WebhookCounter, metrics=app.state.metrics)
    app.include_router(router)
