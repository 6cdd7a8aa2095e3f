"""The media step on SQLite and PostgreSQL: pending attachments → stored or failed.

Provider media come from a small Starlette app on 127.0.0.1 (`tests/fakes/server.py`),
allowed through the download limits' `allowed_networks`; photos are made with Pillow.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.db import unit_of_work
from backend.media import DownloadLimits, LocalMediaStore, MediaLimits
from backend.media.service import FAILED, PENDING, STORED, MediaIntake, MediaPolicy, claim_pending
from backend.media.store import check_key
from backend.reports.models import Attachment, Report
from backend.reports.schemas import MediaIn, ReportCreate
from backend.reports.service import create_report
from backend.settings import Settings
from tests.backend.media_helpers import provider_photo
from tests.fakes.server import serve

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CAP = 256 * 1024
POLICY = MediaPolicy(
    limits=MediaLimits(download=DownloadLimits(max_bytes=CAP, allowed_networks=("127.0.0.1/32",))),
    max_attempts=3,
)
TOKEN = "123456:SECRET-bot-token"


PHOTO, GPS_PHOTO = provider_photo(), provider_photo(gps=True)


def fake_provider() -> tuple[Starlette, dict[str, int]]:
    hits: dict[str, int] = {}

    def fixed(path: str, body: bytes, media_type: str = "image/jpeg") -> Route:
        async def endpoint(request: Request) -> Response:
            return Response(body, media_type=media_type)

        return Route(path, endpoint)

    async def flaky(request: Request) -> Response:
        name = request.path_params["name"]
        hits[name] = hits.get(name, 0) + 1
        if hits[name] == 1:
            return Response(b"oops", status_code=500, media_type="text/plain")
        return Response(PHOTO, media_type="image/jpeg")

    async def broken(request: Request) -> Response:
        return Response(b"oops", status_code=503, media_type="text/plain")

    async def twilio(request: Request) -> Response:
        expected = "Basic " + base64.b64encode(b"AC123:twilio-token").decode()
        if request.headers.get("authorization") != expected:
            return Response(b"", status_code=401)
        return Response(PHOTO, media_type="image/jpeg")

    async def telegram(request: Request) -> Response:
        if request.path_params["path"] != "photos/file_7.jpg":
            return Response(b"", status_code=404)
        return Response(GPS_PHOTO, media_type="application/octet-stream")

    routes = [
        fixed("/photo.jpg", PHOTO),
        fixed("/gps.jpg", GPS_PHOTO),
        fixed("/big.jpg", b"\xff\xd8\xff\xe0" + bytes(2 * CAP)),
        fixed("/page.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        Route("/flaky/{name}", flaky),
        Route("/broken", broken),
        Route("/2010-04-01/Accounts/AC123/Messages/MM1/Media/ME1", twilio),
        Route(f"/file/bot{TOKEN}/{{path:path}}", telegram),
    ]
    return Starlette(routes=routes), hits


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    app, _ = fake_provider()
    with serve(app) as base:
        yield base


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


class FakeTelegram:
    def __init__(self, base: str) -> None:
        self.base = base

    async def file_url(self, file_id: str) -> str:
        return f"{self.base}/file/bot{TOKEN}/photos/{file_id}.jpg"


class FakeTwilio:
    def media_auth(self) -> tuple[str, str]:
        return "AC123", "twilio-token"


def add_report(
    sessions: sessionmaker[Session], settings: Settings, *media: MediaIn, **fields: Any
) -> int:
    data = ReportCreate(
        content="Ổ gà lớn trước cổng chợ", channel="zalo", media=list(media), **fields
    )
    with unit_of_work(sessions) as session:
        return create_report(session, data=data, settings=settings, now=NOW).id


def attachments(sessions: sessionmaker[Session], report_id: int) -> list[Attachment]:
    with sessions() as session:
        query = select(Attachment).where(Attachment.report_id == report_id).order_by(Attachment.id)
        return list(session.scalars(query))


def image(url: str | None = None, ref: str | None = None) -> MediaIn:
    return MediaIn(kind="image", url=url, provider_ref=ref)


@dataclass(frozen=True)
class Bench:
    """What a test of the media step drives: the database, the settings, a store, a client."""

    sessions: sessionmaker[Session]
    settings: Settings
    store: LocalMediaStore
    http: httpx.AsyncClient

    def add_report(self, *media: MediaIn, **fields: Any) -> int:
        return add_report(self.sessions, self.settings, *media, **fields)

    def attachments(self, report_id: int) -> list[Attachment]:
        return attachments(self.sessions, report_id)

    def report(self, report_id: int) -> Report:
        with self.sessions() as session:
            found = session.get(Report, report_id)
            assert found is not None
            _ = found.events
            return found

    def intake(self, policy: MediaPolicy = POLICY, **adapters: object) -> MediaIntake:
        return MediaIntake(
            self.sessions, adapters=adapters, store=self.store, client=self.http, policy=policy
        )


@pytest.fixture
def bench(
    sessions: sessionmaker[Session],
    settings: Settings,
    store: LocalMediaStore,
    http: httpx.AsyncClient,
) -> Bench:
    return Bench(sessions, settings, store, http)


# ---------------------------------------------------------------- the media step


async def test_pending_url_is_stored_with_thumbnail_and_hash(bench: Bench, provider: str) -> None:
    report_id = bench.add_report(image(f"{provider}/photo.jpg"))
    assert [a.status for a in bench.attachments(report_id)] == [PENDING]

    assert await bench.intake().run_round(NOW) == 1

    [stored] = bench.attachments(report_id)
    assert (stored.status, stored.error, stored.attempts) == (STORED, None, 1)
    assert stored.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert (stored.size_bytes, stored.mime_type, stored.kind) == (len(PHOTO), "image/jpeg", "image")
    assert stored.storage_key == check_key(stored.storage_key or "")
    assert await bench.store.read(stored.storage_key) == PHOTO
    assert stored.thumbnail_key is not None
    thumbnail = Image.open(io.BytesIO(await bench.store.read(stored.thumbnail_key)))
    assert max(thumbnail.size) == 320
    assert bench.report(report_id).lat is None  # no EXIF position in this photo
    assert await bench.intake().run_round(NOW) == 0  # nothing left to do


async def test_photo_position_is_proposed_only_when_the_report_has_none(
    bench: Bench, provider: str
) -> None:
    without = bench.add_report(image(f"{provider}/gps.jpg"))
    given = bench.add_report(image(f"{provider}/gps.jpg"), lat=10.25, lon=105.97)

    assert await bench.intake().run_round(NOW) == 2

    proposed = bench.report(without)
    assert proposed.lat == pytest.approx(21.028472, abs=1e-6)
    assert proposed.lon == pytest.approx(105.853417, abs=1e-6)
    [event] = [e for e in proposed.events if e.kind == "location_from_photo"]
    assert event.actor == "system:media" and event.data is not None
    assert event.data["attachment_id"] == bench.attachments(without)[0].id
    kept = bench.report(given)
    assert (kept.lat, kept.lon) == (10.25, 105.97)
    assert [e.kind for e in kept.events] == ["created"]


async def test_too_large_and_html_fail_with_a_reason(bench: Bench, provider: str) -> None:
    report_id = bench.add_report(
        image(f"{provider}/big.jpg"),
        image(f"{provider}/page.jpg"),
        image("http://10.0.0.7/photo.jpg"),
        image("/media/not-a-key.jpg"),
    )

    assert await bench.intake().run_round(NOW) == 4

    big, page, private, relative = bench.attachments(report_id)
    assert all(a.status == FAILED and a.attempts == 1 for a in (big, page, private, relative))
    assert "TooLarge" in (big.error or "") and f"{CAP} bytes" in (big.error or "")
    assert "UnsupportedMedia" in (page.error or "") and "HTML" in (page.error or "")
    assert "RefusedUrl" in (private.error or "") and "non-public" in (private.error or "")
    assert "RefusedUrl" in (relative.error or "")
    assert all(a.storage_key is None for a in (big, page, private, relative))
    assert [p for p in bench.store.root.rglob("*") if p.is_file()] == []


async def test_server_error_is_retried_later_then_stored(bench: Bench, provider: str) -> None:
    report_id = bench.add_report(image(f"{provider}/flaky/{uuid.uuid4().hex}"))
    step = bench.intake()

    assert await step.run_round(NOW) == 0
    [waiting] = bench.attachments(report_id)
    assert (waiting.status, waiting.attempts) == (PENDING, 1)
    assert "answered 500" in (waiting.error or "")
    assert waiting.next_attempt_at == NOW + POLICY.retry_base

    assert await step.run_round(NOW + timedelta(seconds=5)) == 0  # not due yet
    assert bench.attachments(report_id)[0].attempts == 1

    assert await step.run_round(NOW + POLICY.retry_base) == 1
    [stored] = bench.attachments(report_id)
    assert (stored.status, stored.attempts, stored.error) == (STORED, 2, None)
    assert stored.sha256 == hashlib.sha256(PHOTO).hexdigest()


async def test_transient_failures_give_up_after_the_last_attempt(
    bench: Bench, provider: str
) -> None:
    report_id = bench.add_report(image(f"{provider}/broken"))
    step = bench.intake()
    later = NOW
    for _ in range(POLICY.max_attempts - 1):
        assert await step.run_round(later) == 0
        later += POLICY.retry_max
    assert await step.run_round(later) == 1
    [failed] = bench.attachments(report_id)
    assert failed.status == FAILED and failed.attempts == POLICY.max_attempts
    assert (failed.error or "").startswith(f"gave up after {POLICY.max_attempts} attempts: ")
    assert "answered 503" in (failed.error or "")


async def test_telegram_file_ids_and_twilio_media_use_the_adapters(
    bench: Bench, provider: str
) -> None:
    twilio_url = f"{provider}/2010-04-01/Accounts/AC123/Messages/MM1/Media/ME1"
    report_id = bench.add_report(image(ref="file_7"), image(ref="file_8"), image(twilio_url))
    policy = MediaPolicy(limits=POLICY.limits, twilio_hosts=("127.0.0.1",))
    step = bench.intake(policy, telegram=FakeTelegram(provider), sms=FakeTwilio())

    assert await step.run_round(NOW) == 3

    telegram, missing, twilio = bench.attachments(report_id)
    assert telegram.status == STORED and telegram.sha256 == hashlib.sha256(GPS_PHOTO).hexdigest()
    assert missing.status == FAILED and "answered 404" in (missing.error or "")
    assert "SECRET" not in (missing.error or "")  # the file URL carries the bot token
    assert twilio.status == STORED and twilio.sha256 == hashlib.sha256(PHOTO).hexdigest()


async def test_without_a_telegram_adapter_a_file_id_waits(bench: Bench) -> None:
    report_id = bench.add_report(image(ref="file_7"))
    assert await bench.intake().run_round(NOW) == 0
    [waiting] = bench.attachments(report_id)
    assert waiting.status == PENDING and "no Telegram adapter" in (waiting.error or "")


def test_claims_are_oldest_first_capped_and_leased(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    report_id = add_report(sessions, settings, *(image(f"http://x.test/{i}") for i in range(6)))
    ids = [a.id for a in attachments(sessions, report_id)]
    policy = MediaPolicy(batch=4)
    with unit_of_work(sessions) as session:
        first = claim_pending(session, now=NOW, policy=policy)
    with unit_of_work(sessions) as session:
        second = claim_pending(session, now=NOW, policy=policy)
    with unit_of_work(sessions) as session:
        third = claim_pending(session, now=NOW, policy=policy)
    assert [c.id for c in first] == ids[:4] and [c.id for c in second] == ids[4:]
    assert third == []  # leased, not yet due again
    with unit_of_work(sessions) as session:
        again = claim_pending(session, now=NOW + policy.lease, policy=policy)
    assert [(c.id, c.attempts) for c in again] == [(i, 2) for i in ids[:4]]


def test_concurrent_claims_skip_locked_rows_on_postgres(
    engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE instead")
    add_report(sessions, settings, *(image(f"http://x.test/{i}") for i in range(3)))
    policy = MediaPolicy(batch=2)
    with sessions() as first, sessions() as second:
        mine = claim_pending(first, now=NOW, policy=policy)  # row locks held, not committed
        theirs = claim_pending(second, now=NOW, policy=policy)
        assert {c.id for c in mine}.isdisjoint(c.id for c in theirs)
        assert len(mine) == 2 and len(theirs) == 1
        first.rollback()
        second.rollback()
