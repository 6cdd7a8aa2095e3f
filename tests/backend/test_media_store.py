"""The media stores: the local content-addressed store and the S3-compatible one.

Keys are checked before any path or URL is built; the S3 store runs against a fake that
recomputes every SigV4 signature, as S3 does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.media import (
    InvalidKey,
    LocalMediaStore,
    MissingMedia,
    S3Config,
    S3MediaStore,
    StoreUnavailable,
)
from backend.media.store import SigV4, check_key, serving_headers
from tests.backend.media_helpers import JPEG
from tests.fakes.server import serve

# ---------------------------------------------------------------- local store


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media", base_url="/media/")


async def test_local_store_is_content_addressed_and_idempotent(store: LocalMediaStore) -> None:
    digest = hashlib.sha256(JPEG).hexdigest()
    key = await store.put(JPEG, kind="image", ext="jpg")
    assert key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert await store.put(JPEG, kind="image", ext="jpg") == key
    assert await store.read(key) == JPEG
    assert store.url_for(key) == f"/media/{key}"
    assert serving_headers(key)["Content-Type"] == "image/jpeg"
    assert serving_headers(key)["X-Content-Type-Options"] == "nosniff"
    assert [p.name for p in store.root.rglob("*") if p.is_file()] == [f"{digest}.jpg"]
    await store.delete(key)
    await store.delete(key)  # already gone: fine
    with pytest.raises(MissingMedia):
        await store.read(key)


async def test_local_store_refuses_extensions_outside_the_allowlist(store: LocalMediaStore) -> None:
    for kind, ext in [("image", "html"), ("image", "svg"), ("audio", "jpg"), ("image", "../x")]:
        with pytest.raises(InvalidKey):
            await store.put(b"<svg/>", kind=kind, ext=ext)  # type: ignore[arg-type]


async def test_a_failed_write_leaves_nothing_behind(
    store: LocalMediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        await store.put(JPEG, kind="image", ext="jpg")
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


DIGEST = hashlib.sha256(b"x").hexdigest()
GOOD_KEY = f"{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}.jpg"


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        f"/{GOOD_KEY}",
        f"{DIGEST[:2]}/{DIGEST[2:4]}/../../../{DIGEST}.jpg",
        f"{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}.jpg/..",
        f"{DIGEST[:2]}\\{DIGEST[2:4]}\\{DIGEST}.jpg",
        f"00/00/{DIGEST}.jpg",  # prefix does not match the hash
        f"{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}.html",
        f"{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST.upper()}.jpg",
        GOOD_KEY + "\n",
        GOOD_KEY + "\x00.png",
        GOOD_KEY.replace(".", "\uff0e"),  # fullwidth dot
        "",
        "%2e%2e/%2e%2e/etc/passwd",
    ],
)
async def test_store_keys_cannot_escape_the_root(store: LocalMediaStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.resolve(key)
    with pytest.raises(InvalidKey):
        await store.read(key)
    with pytest.raises(InvalidKey):
        store.url_for(key)


async def test_store_refuses_symlinks_under_the_root(
    store: LocalMediaStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"{DIGEST}.jpg").write_bytes(b"secret")
    (store.root / DIGEST[:2]).mkdir()
    (store.root / DIGEST[:2] / DIGEST[2:4]).symlink_to(outside)
    with pytest.raises(InvalidKey, match="symlink"):
        await store.read(GOOD_KEY)
    with pytest.raises(InvalidKey):
        await store.put(b"x", kind="image", ext="jpg")
    assert (outside / f"{DIGEST}.jpg").read_bytes() == b"secret"

    (store.root / DIGEST[:2] / DIGEST[2:4]).unlink()
    (store.root / DIGEST[:2] / DIGEST[2:4]).mkdir()
    (store.root / GOOD_KEY).symlink_to(outside / f"{DIGEST}.jpg")
    with pytest.raises(InvalidKey):
        await store.read(GOOD_KEY)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120) | st.from_regex(r"[0-9a-f./\\]{1,90}", fullmatch=True))
def test_any_key_is_refused_or_inside_the_root(store: LocalMediaStore, key: str) -> None:
    try:
        path = store.resolve(key)
    except InvalidKey:
        return
    assert path.resolve().is_relative_to(store.root) and check_key(key) == key


# ---------------------------------------------------------------- S3-compatible store

AWS = SigV4("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1")
AWS_DAY = datetime(2013, 5, 24, tzinfo=UTC)
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def test_sigv4_matches_the_aws_documentation_examples() -> None:
    """The examples of AWS's "Signature Version 4 (S3)" pages, signatures verbatim."""
    get = AWS.sign(
        "GET",
        httpx.URL("https://examplebucket.s3.amazonaws.com/test.txt"),
        {"Range": "bytes=0-9"},
        EMPTY_SHA,
        AWS_DAY,
    )
    assert get["Authorization"].endswith(
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    body = b"Welcome to Amazon S3."
    put = AWS.sign(
        "PUT",
        httpx.URL("https://examplebucket.s3.amazonaws.com/test$file.text"),
        {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"},
        hashlib.sha256(body).hexdigest(),
        AWS_DAY,
    )
    assert put["Authorization"].endswith(
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )
    url = AWS.presign(
        httpx.URL("https://examplebucket.s3.amazonaws.com/test.txt"), expires=86400, now=AWS_DAY
    )
    assert url.endswith(
        "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )


def fake_s3(signer: SigV4) -> tuple[Starlette, dict[str, Any]]:
    """An S3 endpoint that checks every signature the way S3 does, by recomputing it."""
    state: dict[str, Any] = {"objects": {}, "down": False}

    def authorised(request: Request, body: bytes) -> bool:
        url = httpx.URL(str(request.url))
        if "X-Amz-Signature" in request.query_params:
            stamp = datetime.strptime(request.query_params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
            expires = int(request.query_params["X-Amz-Expires"])
            bare = url.copy_with(query=None)
            expected = signer.presign(bare, expires=expires, now=stamp.replace(tzinfo=UTC))
            return str(url) == expected
        auth = request.headers.get("authorization", "")
        names = auth.partition("SignedHeaders=")[2].partition(",")[0].split(";")
        stamp = datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
        payload = request.headers["x-amz-content-sha256"]
        keep = {n: request.headers[n] for n in names if n not in ("host", "x-amz-date")}
        keep.pop("x-amz-content-sha256", None)
        resigned = signer.sign(request.method, url, keep, payload, stamp.replace(tzinfo=UTC))
        return payload == hashlib.sha256(body).hexdigest() and resigned["Authorization"] == auth

    async def obj(request: Request) -> Response:
        body = await request.body()
        if state["down"]:
            return Response(status_code=503)
        if not authorised(request, body):
            return Response("SignatureDoesNotMatch", status_code=403)
        path = request.url.path
        if request.method == "PUT":
            state["objects"][path] = (body, request.headers["content-type"])
            return Response()
        if request.method == "DELETE":
            state["objects"].pop(path, None)
            return Response(status_code=204)
        if path not in state["objects"]:
            return Response("NoSuchKey", status_code=404)
        data, content_type = state["objects"][path]
        return Response(data, media_type=content_type)

    routes = [Route("/{path:path}", obj, methods=["GET", "PUT", "DELETE"])]
    return Starlette(routes=routes), state


S3 = S3Config(
    "http://127.0.0.1:9", "paht-media", "ap-southeast-1", "minio-access", "minio-secret-key",
    prefix="reports/",
)  # fmt: skip


async def test_s3_store_round_trip_against_a_signature_checking_fake() -> None:
    app, state = fake_s3(SigV4(S3.access_key, S3.secret_key, S3.region))
    with serve(app) as endpoint:
        config = dataclasses.replace(S3, endpoint=endpoint)
        async with httpx.AsyncClient() as client:
            s3 = S3MediaStore(config, client=client)
            key = await s3.put(JPEG, kind="image", ext="jpg")
            assert check_key(key) == key and await s3.read(key) == JPEG
            assert state["objects"][f"/paht-media/reports/{key}"] == (JPEG, "image/jpeg")
            presigned = await client.get(s3.url_for(key))  # what a browser would do
            assert presigned.status_code == 200 and presigned.content == JPEG
            await s3.delete(key)
            with pytest.raises(MissingMedia):
                await s3.read(key)


async def test_s3_store_errors() -> None:
    app, state = fake_s3(SigV4(S3.access_key, S3.secret_key, S3.region))
    with serve(app) as endpoint:
        async with httpx.AsyncClient() as client:
            wrong = dataclasses.replace(S3, endpoint=endpoint, secret_key="not-the-secret")
            with pytest.raises(StoreUnavailable) as refused:
                await S3MediaStore(wrong, client=client).put(JPEG, kind="image", ext="jpg")
            assert not refused.value.transient  # 403: retrying will not help
            state["down"] = True
            s3 = S3MediaStore(dataclasses.replace(S3, endpoint=endpoint), client=client)
            with pytest.raises(StoreUnavailable) as down:
                await s3.put(JPEG, kind="image", ext="jpg")
            assert down.value.transient
            with pytest.raises(InvalidKey):
                await s3.read("../other-bucket/x.jpg")
    assert "minio-secret-key" not in repr(S3)


async def test_s3_url_shapes() -> None:
    config = dataclasses.replace(S3, public_base_url="https://cdn.example/m/")
    async with httpx.AsyncClient() as client:
        url = S3MediaStore(config, client=client).url_for(GOOD_KEY)
    assert url == f"https://cdn.example/m/{GOOD_KEY}"
    hosted = dataclasses.replace(
        S3, endpoint="https://paht-media.s3.amazonaws.com", path_style=False
    )
    async with httpx.AsyncClient() as client:
        hosted_url = S3MediaStore(hosted, client=client).object_url(GOOD_KEY)
    assert str(hosted_url) == f"https://paht-media.s3.amazonaws.com/reports/{GOOD_KEY}"
    with pytest.raises(ValueError, match="prefix"):
        dataclasses.replace(S3, prefix="../")
