"""Where media bytes live: the `MediaStore` port, a local folder, and an S3-compatible bucket.

Keys are content addresses, `ab/cd/<sha256>.<ext>`: the same photo sent twice is stored
once, and a key is only ever one the store itself produced. `check_key` accepts that
exact shape and nothing else (no `..`, no absolute path, no separator tricks, no unknown
extension), and `LocalMediaStore.resolve` additionally refuses symlinks under the root
and checks that the resolved path is still inside it, so neither staff nor citizens can
name a file outside the media root. Because keys are shared by identical content,
deleting one is the caller's decision (reference-count or keep). `serving_headers` is
what the app's media route must send with a file (sniffed type, nosniff, sandbox CSP).

`LocalMediaStore` writes atomically (temporary file in the same directory, fsync, rename)
in a worker thread. `S3MediaStore` speaks the S3 REST API (PUT/GET/DELETE, presigned GET
URLs) over the injected httpx client with a small hand-written AWS Signature V4 — async,
no extra dependency, and it works with AWS, MinIO, Cloudflare R2, Ceph or Viettel/VNPT
object storage alike; boto3 would block the event loop and bring ~80 MB along for three
calls. The signer is checked against AWS's published examples in the tests.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx

from backend.media.sniff import ACCEPTED, MIME_BY_EXTENSION, MediaError, MediaKind

KEY_PATTERN = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\.([a-z0-9]{2,5})")
KIND_BY_EXTENSION: dict[str, MediaKind] = {s.extension: s.kind for s in ACCEPTED}


class InvalidKey(MediaError):
    """Not a key this store could have produced; never touches the filesystem."""


class MissingMedia(MediaError):
    """No object under this key."""


class StoreUnavailable(MediaError):
    """The storage backend failed; `transient` failures are worth retrying."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class MediaStore(Protocol):
    async def put(self, data: bytes, *, kind: MediaKind, ext: str) -> str:
        """Store `data`; return its key (idempotent: same bytes, same key)."""
        ...

    async def read(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def url_for(self, key: str) -> str:
        """Where a browser may fetch the object (a route, a presigned or public URL)."""
        ...


def content_key(data: bytes, *, kind: MediaKind, ext: str) -> str:
    if KIND_BY_EXTENSION.get(ext) != kind:
        raise InvalidKey(f"extension {ext!r} is not accepted for {kind}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"


def check_key(key: str) -> str:
    """Return `key` if it has exactly the content-address shape; raise InvalidKey otherwise."""
    match = KEY_PATTERN.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise InvalidKey("malformed media key")
    first, second, digest, ext = match.groups()
    if digest[:2] != first or digest[2:4] != second or ext not in KIND_BY_EXTENSION:
        raise InvalidKey("malformed media key")
    return key


def serving_headers(key: str) -> dict[str, str]:
    """Response headers for serving `key` to a browser from the app's media route.

    The type comes from the sniffed extension; the browser may not second-guess it, nor
    run anything in it; content-addressed bytes never change, so caches may keep them.
    """
    ext = check_key(key).rsplit(".", 1)[1]
    return {
        "Content-Type": MIME_BY_EXTENSION[ext],
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=31536000, immutable",
    }


class LocalMediaStore:
    """Media under one directory; `url_for` points at the app's own media route."""

    def __init__(self, root: Path, *, base_url: str = "/media") -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve(strict=True)
        self.base_url = base_url.rstrip("/")

    def resolve(self, key: str) -> Path:
        """The file for `key`, guaranteed inside the root and reached without symlinks."""
        parts = check_key(key).split("/")
        path = self.root
        for part in parts:
            path = path / part
            if path.is_symlink():
                raise InvalidKey("media path contains a symlink")
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKey("media path escapes the root")
        return path

    async def put(self, data: bytes, *, kind: MediaKind, ext: str) -> str:
        key = content_key(data, kind=kind, ext=ext)
        await asyncio.to_thread(self._write, key, data)
        return key

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, key)

    async def delete(self, key: str) -> None:
        path = self.resolve(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    def url_for(self, key: str) -> str:
        return f"{self.base_url}/{check_key(key)}"

    def _write(self, key: str, data: bytes) -> None:
        path = self.resolve(key)
        if path.is_file():
            return  # content-addressed: already stored
        path.parent.mkdir(parents=True, exist_ok=True)
        path = self.resolve(key)  # the directories just made are real ones
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)

    def _read(self, key: str) -> bytes:
        path = self.resolve(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError as exc:
            raise MissingMedia("no media under this key") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InvalidKey("media path is a symlink") from exc
            raise
        with os.fdopen(fd, "rb") as handle:
            return handle.read()


def _fsync_dir(directory: Path) -> None:
    with suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class SigV4:
    """AWS Signature Version 4 for one access key, region and service."""

    access_key: str
    secret_key: str = field(repr=False)
    region: str
    service: str = "s3"

    def sign(
        self,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        payload_sha256: str,
        now: datetime,
    ) -> dict[str, str]:
        """`headers` plus x-amz-date, x-amz-content-sha256 and Authorization."""
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        signed = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
        signed |= {"x-amz-date": stamp, "x-amz-content-sha256": payload_sha256}
        signed["host"] = url.netloc.decode("ascii")
        names = ";".join(sorted(signed))
        canonical = "\n".join(
            [method, _path(url), _query(url.params.multi_items())]
            + [f"{name}:{signed[name]}" for name in sorted(signed)]
            + ["", names, payload_sha256]
        )
        scope, signature = self._signature(stamp, canonical)
        authorization = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}"
        )
        extra = {"x-amz-date": stamp, "x-amz-content-sha256": payload_sha256}
        return {**headers, **extra, "Authorization": authorization}

    def presign(self, url: httpx.URL, *, expires: int, now: datetime) -> str:
        """A GET URL valid for `expires` seconds, signed in its query string."""
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        params = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"{self.access_key}/{self._scope(stamp)}"),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        query = _query([*url.params.multi_items(), *params])
        host = url.netloc.decode("ascii")
        canonical = f"GET\n{_path(url)}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
        _, signature = self._signature(stamp, canonical)
        base = str(url.copy_with(query=None))
        return f"{base}?{query}&X-Amz-Signature={signature}"

    def _scope(self, stamp: str) -> str:
        return f"{stamp[:8]}/{self.region}/{self.service}/aws4_request"

    def _signature(self, stamp: str, canonical: str) -> tuple[str, str]:
        scope = self._scope(stamp)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
        key = f"AWS4{self.secret_key}".encode()
        for part in (stamp[:8], self.region, self.service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return scope, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _path(url: httpx.URL) -> str:
    return quote(url.path or "/", safe="/-_.~")


def _query(items: Iterable[tuple[str, str]]) -> str:
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in items)
    return "&".join(f"{k}={v}" for k, v in pairs)


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # https://s3.ap-southeast-1.amazonaws.com, http://minio:9000, ...
    bucket: str
    region: str
    access_key: str
    secret_key: str = field(repr=False)
    prefix: str = ""  # e.g. "paht/media/"
    url_ttl: int = 3600  # seconds a presigned URL stays valid
    public_base_url: str | None = None  # a CDN in front of the bucket: no presigning
    path_style: bool = True  # False: the endpoint is the bucket's own host (virtual-hosted)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"([a-z0-9][a-z0-9._-]*/)*", self.prefix):
            raise ValueError("S3 prefix must be lower-case path segments ending in '/'")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", self.bucket):
            raise ValueError("invalid S3 bucket name")


class S3MediaStore:
    """Media in an S3-compatible bucket, path-style addressing, through an httpx client."""

    def __init__(
        self,
        config: S3Config,
        *,
        client: httpx.AsyncClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.client = client
        self.clock = clock
        self.signer = SigV4(config.access_key, config.secret_key, config.region)

    def object_url(self, key: str) -> httpx.URL:
        base = self.config.endpoint.rstrip("/")
        bucket = f"/{self.config.bucket}" if self.config.path_style else ""
        return httpx.URL(f"{base}{bucket}/{self.config.prefix}{check_key(key)}")

    async def put(self, data: bytes, *, kind: MediaKind, ext: str) -> str:
        key = content_key(data, kind=kind, ext=ext)
        headers = {"Content-Type": MIME_BY_EXTENSION[ext]}
        await self._send("PUT", key, headers, data)
        return key

    async def read(self, key: str) -> bytes:
        response = await self._send("GET", key, {}, b"")
        return response.content

    async def delete(self, key: str) -> None:
        with suppress(MissingMedia):
            await self._send("DELETE", key, {}, b"")

    def url_for(self, key: str) -> str:
        if self.config.public_base_url:
            return f"{self.config.public_base_url.rstrip('/')}/{check_key(key)}"
        url = self.object_url(key)
        return self.signer.presign(url, expires=self.config.url_ttl, now=self.clock())

    async def _send(
        self, method: str, key: str, headers: dict[str, str], body: bytes
    ) -> httpx.Response:
        url = self.object_url(key)
        digest = hashlib.sha256(body).hexdigest()
        signed = self.signer.sign(method, url, headers, digest, self.clock())
        try:
            response = await self.client.request(method, url, headers=signed, content=body or None)
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"S3 {method} failed: {type(exc).__name__}", transient=True
            ) from exc
        if response.status_code == 404:
            raise MissingMedia("no media under this key")
        if response.status_code >= 300:
            transient = response.status_code in (408, 429) or response.status_code >= 500
            raise StoreUnavailable(
                f"S3 {method} answered {response.status_code}", transient=transient
            )
        return response
