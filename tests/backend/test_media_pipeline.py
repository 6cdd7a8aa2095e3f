"""`ingest`, before any database: sniff, download, store, thumbnail and GPS in one call."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from backend.media import (
    CorruptImage,
    ImageTooLarge,
    LocalMediaStore,
    MediaLimits,
    TooLarge,
    UnsupportedMedia,
    ingest,
)
from backend.media.store import check_key
from tests.backend.media_helpers import (
    LOCAL,
    REAL_HEADERS,
    photo,
    png_claiming,
    serve_provider,
    wav_bytes,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media", base_url="/media/")


async def test_ingest_a_photo_with_gps(store: LocalMediaStore) -> None:
    data = photo(orientation=6)
    stored = await ingest(data, store=store, client=None)
    assert stored.key == check_key(stored.key) and await store.read(stored.key) == data
    assert (stored.kind, stored.mime, stored.size) == ("image", "image/jpeg", len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.gps is not None and stored.gps.lat == pytest.approx(21.028472, abs=1e-6)
    assert stored.thumbnail_key is not None
    thumb = Image.open(io.BytesIO(await store.read(stored.thumbnail_key)))
    assert thumb.size == (213, 320)


async def test_ingest_downloads_audio_without_a_thumbnail(store: LocalMediaStore) -> None:
    with serve_provider() as (first, _, _):
        async with httpx.AsyncClient() as client:
            stored = await ingest(
                f"{first}/photo", store=store, client=client, limits=MediaLimits(download=LOCAL)
            )
    assert stored.mime == "image/jpeg" and stored.thumbnail_key is not None
    amr = REAL_HEADERS["amr (Zalo voice)"][0]
    voice = await ingest(amr, store=store, client=None)
    assert (voice.kind, voice.mime, voice.thumbnail_key, voice.gps) == (
        "audio",
        "audio/amr",
        None,
        None,
    )
    heic = await ingest(REAL_HEADERS["heic (iPhone)"][0], store=store, client=None)
    assert heic.key.endswith(".heic") and heic.thumbnail_key is None  # no HEIF decoder here


async def test_ingest_refuses_before_storing_anything(store: LocalMediaStore) -> None:
    only_photos = MediaLimits(kinds=frozenset({"image"}))
    with pytest.raises(UnsupportedMedia):
        await ingest(wav_bytes(), store=store, client=None, limits=only_photos)
    with pytest.raises(CorruptImage):
        await ingest(photo()[:3000], store=store, client=None)
    with pytest.raises(ImageTooLarge):
        await ingest(png_claiming(8000, 8000), store=store, client=None)
    with pytest.raises(TooLarge):
        await ingest(bytes(11 * 1024 * 1024), store=store, client=None)
    with pytest.raises(UnsupportedMedia):
        await ingest(b"<svg onload=alert(1)>", store=store, client=None)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []
