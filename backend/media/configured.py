"""The media store a deployment uses, built from its `[media]` settings.

`store = "local"` (the default) keeps media under `media.root`, served by the app's
/media route; `store = "s3"` keeps it in the `[media.s3]` bucket, and browsers fetch
it through presigned URLs (or the CDN of `public_base_url`). The settings have
already checked that an S3 choice is complete.
"""

from __future__ import annotations

import httpx

from backend.media.store import LocalMediaStore, MediaStore, S3Config, S3MediaStore
from backend.settings import MediaSettings, S3Settings

S3_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def s3_config(s3: S3Settings) -> S3Config:
    """The store's view of `[media.s3]`; raises ValueError when a required key is empty."""
    if missing := s3.missing():
        raise ValueError(f"media.s3 is incomplete: {', '.join(missing)}")
    assert s3.endpoint and s3.bucket and s3.region and s3.access_key and s3.secret_key
    return S3Config(
        endpoint=s3.endpoint,
        bucket=s3.bucket,
        region=s3.region,
        access_key=s3.access_key.get_secret_value(),
        secret_key=s3.secret_key.get_secret_value(),
        prefix=s3.prefix,
        url_ttl=s3.presign_seconds,
        public_base_url=s3.public_base_url,
        path_style=s3.path_style,
    )


class OwnS3MediaStore(S3MediaStore):
    """An S3 store with an HTTP client of its own, closed by `aclose` (the runtime's)."""

    def __init__(self, config: S3Config) -> None:
        super().__init__(config, client=httpx.AsyncClient(timeout=S3_TIMEOUT))

    async def aclose(self) -> None:
        await self.client.aclose()


def media_store_from(media: MediaSettings) -> MediaStore:
    """A new store for these settings; an S3 one must be closed with `aclose`."""
    if media.store == "s3":
        return OwnS3MediaStore(s3_config(media.s3))
    return LocalMediaStore(media.root, base_url="/media")
