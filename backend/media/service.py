"""The media step: pending attachments become stored media, or fail with a reason.

Owns an attachment's intake state (`pending` → `stored` | `failed`). A report is created
with its attachments `pending`, holding what the provider gave: a URL (Zalo CDN, Twilio
MediaUrl or recording, a web-chat upload already in our store) or a Telegram file id. The
pipeline then runs `MediaIntake` rounds after the webhook has been acknowledged:

1. claim a few due attachments, oldest first (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
   several workers never take the same row), count the attempt and lease the row for
   `lease` — the claim commits at once, so no transaction (and on SQLite no write lock)
   stays open during the downloads, and a worker that dies mid-download only delays the
   row until its lease ends;
2. fetch and `ingest` each one concurrently: a Telegram file id becomes a URL through the
   Telegram adapter's `file_url` (the URL carries the bot token: it is never logged nor
   stored), Twilio hosts get the account's basic auth, a URL of our own store is read
   back from the store (a web-chat upload), anything else is downloaded as it is;
3. record the outcome in one short transaction per attachment: `stored` with the key,
   thumbnail, size, hash and the sniffed kind and type; a transient failure stays
   `pending` until a later round (exponential backoff, `max_attempts` in all); a permanent
   one (too large, not a photo/video/audio, refused URL, 4xx) becomes `failed` with the
   reason. A photo whose EXIF has a position proposes it as the report's location when
   the report has none yet (a location the citizen gave is never overwritten), with a
   `location_from_photo` timeline event.

The database functions take the session first and flush only; `MediaIntake` owns the
units of work around them, like the inbox processor does. `MediaPolicy()`,
`DEFAULT_MEDIA_ROOT` and `default_store()` are the defaults used until the deployment
passes its own (a local folder `var/media`, 10 MB, images/video/audio, 5 attempts).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import unit_of_work, utcnow
from backend.logs import mask_pii
from backend.media import (
    DownloadFailed,
    GpsPoint,
    LocalMediaStore,
    MediaError,
    MediaLimits,
    MediaStore,
    StoredMedia,
    StoreUnavailable,
    ingest,
)
from backend.media.download import Resolver, system_resolver
from backend.media.store import KEY_PATTERN
from backend.reports.models import Attachment, Report, ReportEvent
from channels.base import ChannelError, RateLimited, Transient

log = logging.getLogger(__name__)

PENDING, STORED, FAILED = "pending", "stored", "failed"
DEFAULT_MEDIA_ROOT = Path("var/media")
_BOT_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
_KEY_AT_END = re.compile(KEY_PATTERN.pattern + r"$")


def default_store() -> LocalMediaStore:
    """The default media store: a local folder, `DEFAULT_MEDIA_ROOT`, served at /media."""
    return LocalMediaStore(DEFAULT_MEDIA_ROOT, base_url="/media")


@dataclass(frozen=True)
class MediaPolicy:
    """How the media step works; the defaults hold until the settings provide their own."""

    limits: MediaLimits = field(default_factory=MediaLimits)
    batch: int = 4  # attachments claimed per round, fetched concurrently
    max_attempts: int = 5
    lease: timedelta = timedelta(minutes=5)  # longer than one download's total timeout
    retry_base: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(hours=1)
    twilio_hosts: tuple[str, ...] = ("twilio.com",)  # these hosts and their subdomains

    def retry_at(self, attempts: int, now: datetime) -> datetime:
        delay = min(self.retry_max, self.retry_base * (1 << min(max(0, attempts - 1), 20)))
        return now + delay

    def is_twilio(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.twilio_hosts)


@dataclass(frozen=True)
class Claim:
    """One attachment taken for this round: what is needed to fetch it."""

    id: int
    url: str | None
    provider_ref: str | None
    attempts: int


@dataclass(frozen=True)
class Failure:
    reason: str
    transient: bool


@runtime_checkable
class FileLocator(Protocol):
    """An adapter that turns a provider file id into a download URL (Telegram)."""

    async def file_url(self, file_id: str) -> str: ...


@runtime_checkable
class MediaAuth(Protocol):
    """An adapter whose media URLs need basic auth (Twilio)."""

    def media_auth(self) -> tuple[str, str]: ...


# ---------------------------------------------------------------- database (flush only)


def claim_pending(session: Session, *, now: datetime, policy: MediaPolicy) -> list[Claim]:
    """Take up to `policy.batch` due attachments, oldest first, and lease them."""
    rows = session.scalars(
        select(Attachment)
        .where(
            Attachment.status == PENDING,
            or_(Attachment.next_attempt_at.is_(None), Attachment.next_attempt_at <= now),
        )
        .order_by(Attachment.id)
        .limit(policy.batch)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + policy.lease
    session.flush()
    return [Claim(r.id, r.url, r.provider_ref, r.attempts) for r in rows]


def record_stored(
    session: Session, *, attachment_id: int, media: StoredMedia, now: datetime
) -> bool:
    """Mark the attachment stored; propose the photo's position. False if no longer pending."""
    row = session.get(Attachment, attachment_id, with_for_update=True)
    if row is None or row.status != PENDING:
        return False
    row.status, row.error, row.next_attempt_at = STORED, None, None
    row.storage_key, row.thumbnail_key = media.key, media.thumbnail_key
    row.sha256, row.size_bytes = media.sha256, media.size
    row.kind, row.mime_type = media.kind, media.mime
    if media.gps is not None:
        propose_location(
            session, report_id=row.report_id, gps=media.gps, attachment_id=row.id, now=now
        )
    session.flush()
    return True


def record_failure(
    session: Session, *, attachment_id: int, failure: Failure, now: datetime, policy: MediaPolicy
) -> str | None:
    """Schedule a retry or mark the attachment failed; returns the new status."""
    row = session.get(Attachment, attachment_id, with_for_update=True)
    if row is None or row.status != PENDING:
        return None
    if failure.transient and row.attempts < policy.max_attempts:
        row.error, row.next_attempt_at = failure.reason, policy.retry_at(row.attempts, now)
    else:
        prefix = f"gave up after {row.attempts} attempts: " if failure.transient else ""
        row.status, row.error, row.next_attempt_at = FAILED, prefix + failure.reason, None
    session.flush()
    return row.status


def propose_location(
    session: Session, *, report_id: int, gps: GpsPoint, attachment_id: int, now: datetime
) -> bool:
    """Set the report's position from a photo, unless it already has one."""
    report = session.get(Report, report_id, with_for_update=True)
    if report is None or report.lat is not None or report.lon is not None:
        return False
    report.lat, report.lon, report.updated_at = gps.lat, gps.lon, now
    session.add(
        ReportEvent(
            report_id=report.id,
            kind="location_from_photo",
            actor="system:media",
            data={"attachment_id": attachment_id, "lat": gps.lat, "lon": gps.lon},
            created_at=now,
        )
    )
    return True


# ---------------------------------------------------------------- the step


class MediaIntake:
    """Runs media rounds: claim, fetch and ingest concurrently, record each outcome."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        adapters: Mapping[str, object],
        store: MediaStore | None = None,
        client: httpx.AsyncClient | None = None,
        policy: MediaPolicy | None = None,
        resolver: Resolver = system_resolver,
        twilio_auth: tuple[str, str] | None = None,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self.factory, self.adapters = factory, adapters
        self.policy = policy or MediaPolicy()
        self.resolver = resolver
        self._store, self._client = store, client
        self._owns_client = client is None
        self._twilio_auth = twilio_auth
        self.on_progress = on_progress
        self._task: asyncio.Task[int] | None = None

    @property
    def store(self) -> MediaStore:
        if self._store is None:
            self._store = default_store()
        return self._store

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # No proxies from the environment: downloads connect to the checked address.
            self._client = httpx.AsyncClient(trust_env=False)
        return self._client

    async def run_round(self, now: datetime) -> int:
        """One round; returns how many attachments were stored or failed for good."""
        claims = await asyncio.to_thread(self._claim, now)
        if not claims:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(c) for c in claims))
        return await asyncio.to_thread(self._record, list(zip(claims, outcomes, strict=True)), now)

    def tick(self) -> int:
        """Start a round in the background unless one runs; return the last round's work.

        The pipeline calls this so that a slow download never holds back the replies.
        """
        done = 0
        if self._task is not None and self._task.done():
            task, self._task = self._task, None
            if not task.cancelled():
                if task.exception() is not None:
                    log.error("media round failed", exc_info=task.exception())
                else:
                    done = task.result()
        if self._task is None:
            self._task = asyncio.create_task(self.run_round(utcnow()), name="paht-media")
            self._task.add_done_callback(self._finished)
        return done

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _finished(self, task: asyncio.Task[int]) -> None:
        worked = not task.cancelled() and task.exception() is None and task.result() > 0
        if worked and self.on_progress is not None:
            self.on_progress()

    def _claim(self, now: datetime) -> list[Claim]:
        with unit_of_work(self.factory) as session:
            return claim_pending(session, now=now, policy=self.policy)

    def _record(self, results: Sequence[tuple[Claim, StoredMedia | Failure]], now: datetime) -> int:
        finished = 0
        for claim, outcome in results:
            with unit_of_work(self.factory) as session:
                if isinstance(outcome, StoredMedia):
                    finished += record_stored(
                        session, attachment_id=claim.id, media=outcome, now=now
                    )
                    continue
                status = record_failure(
                    session, attachment_id=claim.id, failure=outcome, now=now, policy=self.policy
                )
                finished += status == FAILED
                log.warning("attachment %d not stored (%s): %s", claim.id, status, outcome.reason)
        return finished

    async def _attempt(self, claim: Claim) -> StoredMedia | Failure:
        try:
            return await self._ingest(claim)
        except (DownloadFailed, StoreUnavailable) as exc:
            return Failure(_reason(exc), transient=exc.transient)
        except MediaError as exc:  # too large, not accepted, corrupt, missing
            return Failure(_reason(exc), transient=False)
        except (RateLimited, Transient) as exc:
            return Failure(_reason(exc), transient=True)
        except ChannelError as exc:  # the provider refused the file id
            return Failure(_reason(exc), transient=False)
        except Exception as exc:  # a bug or an unforeseen library error: retry, capped
            # No traceback for Telegram files: a library message could quote the token URL.
            trace = exc if claim.url else None
            log.error("attachment %d: unexpected %s", claim.id, type(exc).__name__, exc_info=trace)
            return Failure(_reason(exc), transient=True)

    async def _ingest(self, claim: Claim) -> StoredMedia:
        store, limits = self.store, self.policy.limits
        if claim.url:
            own = self._own_key(claim.url)
            if own is not None:  # a web-chat upload: already in the store
                return await ingest(await store.read(own), store=store, client=None, limits=limits)
            url = claim.url
        elif claim.provider_ref:
            url = await self._telegram_url(claim.provider_ref)
        else:
            raise MediaError("attachment has neither a URL nor a file id")
        auth = self._twilio_credentials() if self.policy.is_twilio(url) else None
        return await ingest(
            url, store=store, client=self.client, limits=limits, auth=auth, resolver=self.resolver
        )

    def _own_key(self, url: str) -> str | None:
        match = _KEY_AT_END.search(urlsplit(url).path)
        if match is None:
            return None
        key = match.group(0)
        try:
            ours = self.store.url_for(key)
        except MediaError:
            return None
        return key if ours.split("?", 1)[0] == url.split("?", 1)[0] else None

    async def _telegram_url(self, file_id: str) -> str:
        adapter = self.adapters.get("telegram")
        if not isinstance(adapter, FileLocator):
            raise DownloadFailed("no Telegram adapter to resolve the file id", transient=True)
        return await adapter.file_url(file_id)

    def _twilio_credentials(self) -> tuple[str, str] | None:
        if self._twilio_auth is not None:
            return self._twilio_auth
        for adapter in self.adapters.values():
            if isinstance(adapter, MediaAuth):
                return adapter.media_auth()
        return None


def _reason(exc: BaseException) -> str:
    """What went wrong, fit for the database and the logs: no bot token, no phone number."""
    text = _BOT_TOKEN.sub("bot<token>", f"{type(exc).__name__}: {exc}")
    return mask_pii(text)[:500]
