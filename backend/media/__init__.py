"""Citizen media intake: fetch or accept bytes, check what they are, store them, describe them.

`ingest` is the one entry point the rest of the backend needs: a provider URL (Zalo CDN,
Telegram file URL, Twilio MediaUrl) or bytes already in hand (a web upload) become a
`StoredMedia` — the stored key, what the bytes really are, their size and hash, a
metadata-free thumbnail for photos and the photo's EXIF position if it has one. Photos
are decoded (thumbnail) before anything is stored, so a corrupt image or a
decompression bomb is refused instead of kept. It runs after the webhook has been
acknowledged; its typed errors (`MediaError` and subclasses; `DownloadFailed.transient`
and `StoreUnavailable.transient` say whether a retry may help) tell the bot what to
answer the citizen.

The pieces: `sniff` (what the bytes are), `download` (the network), `images` (pixels and
EXIF), `store` (where bytes live). HEIC photos are accepted and stored as they are; they
get a thumbnail and GPS only where a HEIF plugin for Pillow is installed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from backend.media.download import (
    Downloaded,
    DownloadFailed,
    DownloadLimits,
    RefusedUrl,
    Resolver,
    TooLarge,
    download,
    system_resolver,
)
from backend.media.images import (
    CorruptImage,
    GpsPoint,
    ImageError,
    ImageLimits,
    ImageTooLarge,
    can_decode,
    make_thumbnail,
    read_gps,
)
from backend.media.sniff import MediaError, MediaKind, Sniffed, UnsupportedMedia, sniff
from backend.media.store import (
    InvalidKey,
    LocalMediaStore,
    MediaStore,
    MissingMedia,
    S3Config,
    S3MediaStore,
    StoreUnavailable,
    serving_headers,
)

__all__ = [
    "CorruptImage",
    "DownloadFailed",
    "DownloadLimits",
    "Downloaded",
    "GpsPoint",
    "ImageError",
    "ImageLimits",
    "ImageTooLarge",
    "InvalidKey",
    "LocalMediaStore",
    "MediaError",
    "MediaKind",
    "MediaLimits",
    "MediaStore",
    "MissingMedia",
    "RefusedUrl",
    "S3Config",
    "S3MediaStore",
    "Sniffed",
    "StoreUnavailable",
    "StoredMedia",
    "TooLarge",
    "UnsupportedMedia",
    "download",
    "ingest",
    "make_thumbnail",
    "read_gps",
    "serving_headers",
    "sniff",
]


@dataclass(frozen=True)
class MediaLimits:
    download: DownloadLimits = field(default_factory=DownloadLimits)
    images: ImageLimits = field(default_factory=ImageLimits)
    kinds: frozenset[MediaKind] = frozenset({"image", "video", "audio"})


@dataclass(frozen=True)
class StoredMedia:
    key: str
    kind: MediaKind
    mime: str
    size: int
    sha256: str
    thumbnail_key: str | None = None
    gps: GpsPoint | None = None


async def ingest(
    source: str | bytes,
    *,
    store: MediaStore,
    client: httpx.AsyncClient | None,
    limits: MediaLimits | None = None,
    auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver = system_resolver,
) -> StoredMedia:
    """Fetch (a URL) or take (bytes), check, thumbnail and store one media item."""
    limits = limits or MediaLimits()
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        if len(data) > limits.download.max_bytes:
            raise TooLarge(limits.download.max_bytes)
        media = sniff(data)
    else:
        if client is None:
            raise ValueError("a URL needs an httpx client")
        fetched = await download(
            source,
            client=client,
            limits=limits.download,
            auth=auth,
            headers=headers,
            resolver=resolver,
        )
        data, media = fetched.data, fetched.media
    if media.kind not in limits.kinds:
        raise UnsupportedMedia(f"{media.kind} is not accepted")
    thumbnail: bytes | None = None
    gps: GpsPoint | None = None
    if media.kind == "image" and can_decode(media.mime):
        thumbnail, gps = await asyncio.to_thread(_describe, data, limits.images)
    key = await store.put(data, kind=media.kind, ext=media.extension)
    thumbnail_key = await store.put(thumbnail, kind="image", ext="jpg") if thumbnail else None
    digest = hashlib.sha256(data).hexdigest()
    return StoredMedia(key, media.kind, media.mime, len(data), digest, thumbnail_key, gps)


def _describe(data: bytes, limits: ImageLimits) -> tuple[bytes, GpsPoint | None]:
    return make_thumbnail(data, limits), read_gps(data, limits)
