"""Media intake: sniffing, safe download, the stores, thumbnails and EXIF GPS, `ingest`.

Every fixture is generated here (Pillow for images, `wave` for WAV, the first bytes of
real files for containers Pillow cannot write), so no binary lives in the repository.
Downloads run against a small Starlette app on 127.0.0.1; DNS is a dictionary.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import io
import os
import socket
import struct
import wave
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image
from PIL.ExifTags import GPS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from backend.media import (
    CorruptImage,
    DownloadFailed,
    DownloadLimits,
    ImageLimits,
    ImageTooLarge,
    InvalidKey,
    LocalMediaStore,
    MediaError,
    MediaLimits,
    MissingMedia,
    RefusedUrl,
    S3Config,
    S3MediaStore,
    StoreUnavailable,
    TooLarge,
    UnsupportedMedia,
    download,
    ingest,
    make_thumbnail,
    read_gps,
    sniff,
)
from backend.media.download import is_public, system_resolver
from backend.media.images import gps_point
from backend.media.store import SigV4, check_key, serving_headers
from tests.fakes.server import serve

# ---------------------------------------------------------------- fixtures built in code


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    mode = "RGBA" if fmt == "PNG" else "P" if fmt == "GIF" else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, "green").save(out, fmt, **save)
    return out.getvalue()


def gps_exif(lat: Any, lat_ref: Any, lon: Any, lon_ref: Any, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        GPS.GPSLatitudeRef: lat_ref,
        GPS.GPSLatitude: lat,
        GPS.GPSLongitudeRef: lon_ref,
        GPS.GPSLongitude: lon,
    }
    return exif


HOAN_KIEM = ((21.0, 1.0, 42.5), "N", (105.0, 51.0, 12.3), "E")  # 21.028472, 105.853417


def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def ogg_page(codec_header: bytes) -> bytes:
    # "OggS", version, BOS flag, granule, serial, sequence, CRC, 1 segment of 19 bytes.
    return b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(8) + b"\x01\x13" + codec_header


JPEG = image_bytes("JPEG")
REAL_HEADERS = {  # first bytes of files from phones, ffmpeg and voice recorders
    "jpeg": (JPEG, "image/jpeg", "jpg"),
    "png": (image_bytes("PNG"), "image/png", "png"),
    "gif": (image_bytes("GIF"), "image/gif", "gif"),
    "webp": (image_bytes("WEBP"), "image/webp", "webp"),
    "avif": (image_bytes("AVIF"), "image/avif", "avif"),
    "heic (iPhone)": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic", "heic"),
    "mp4 (ffmpeg)": (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41",
                     "video/mp4", "mp4"),
    "mp4 (Android)": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42", "video/mp4", "mp4"),
    "mov (iPhone)": (b"\x00\x00\x00\x14ftypqt  \x20\x05\x03\x00qt  \x00\x00\x00\x08wide",
                     "video/quicktime", "mov"),
    "mov (no ftyp)": (b"\x00\x00\x00\x08wide\x00\x01\x00\x00mdat", "video/quicktime", "mov"),
    "3gp": (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00isom3gp4", "video/3gpp", "3gp"),
    "webm": (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm",
             "video/webm", "webm"),
    "m4a": (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom", "audio/mp4", "m4a"),
    "mp3 (ID3)": (b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE\x00\x00\x00\x0f", "audio/mpeg", "mp3"),
    "mp3 (frame)": (b"\xff\xfb\x90\x64\x00\x00\x00\x00", "audio/mpeg", "mp3"),
    "aac (ADTS)": (b"\xff\xf1\x50\x80\x02\x1f\xfc\x21", "audio/aac", "aac"),
    "ogg opus (Telegram voice)": (ogg_page(b"OpusHead\x01\x01"), "audio/ogg", "opus"),
    "ogg vorbis": (ogg_page(b"\x01vorbis\x00\x00"), "audio/ogg", "ogg"),
    "amr (Zalo voice)": (b"#!AMR\n\x3c\x48\xf5\x1f\x96\x66\x79\xe1", "audio/amr", "amr"),
    "amr-wb": (b"#!AMR-WB\n\x04\x10\x20", "audio/amr-wb", "awb"),
    "wav": (wav_bytes(), "audio/wav", "wav"),
}  # fmt: skip
REFUSED = {
    "windows exe": (b"MZ\x90\x00\x03\x00\x00\x00", "Windows executable"),
    "elf": (b"\x7fELF\x02\x01\x01\x00", "ELF executable"),
    "shell script": (b"#!/bin/sh\nrm -rf /\n", "script"),
    "html": (b"<!DOCTYPE html><html><script>alert(1)</script>", "HTML or XML"),
    "html after BOM": (b"\xef\xbb\xbf\n  <html><body>", "HTML or XML"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">', "SVG"),
    "svg with xml prolog": (b'<?xml version="1.0"?>\n<svg onload="x()">', "SVG"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "PDF"),
    "zip / docx / apk": (b"PK\x03\x04\x14\x00\x06\x00", "zip archive"),
    "gzip": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
    "empty": (b"", "empty file"),
    "text": (b"hello, this is not a photo", "unknown format"),
    "matroska (not webm)": (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", "unknown format"),
    "unknown ftyp brand (Canon raw)": (
        b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01",
        "unknown format",
    ),
    "avi": (b"RIFF\x00\x10\x00\x00AVI LIST", "unknown format"),
}


@pytest.mark.parametrize("name", REAL_HEADERS)
def test_sniff_recognises_real_headers(name: str) -> None:
    data, mime, extension = REAL_HEADERS[name]
    found = sniff(data)
    assert (found.mime, found.extension) == (mime, extension)
    assert found.kind == mime.split("/")[0]


@pytest.mark.parametrize("name", REFUSED)
def test_sniff_refuses_everything_else(name: str) -> None:
    data, detected = REFUSED[name]
    with pytest.raises(UnsupportedMedia) as error:
        sniff(data)
    assert error.value.detected == detected


@given(st.binary(max_size=256))
def test_sniff_of_arbitrary_bytes_only_raises_unsupported(data: bytes) -> None:
    try:
        found = sniff(data)
    except UnsupportedMedia:
        return
    assert found.kind in ("image", "video", "audio")


# ---------------------------------------------------------------- download


def fake_provider() -> tuple[Starlette, dict[str, Any]]:
    seen: dict[str, Any] = {"hits": 0, "sent": 0, "auth": []}

    async def photo(request: Request) -> Response:
        seen["auth"].append(request.headers.get("authorization"))
        seen["host"] = request.headers.get("host")
        return Response(JPEG, media_type="image/jpeg")

    async def twilio(request: Request) -> Response:
        expected = "Basic " + base64.b64encode(b"ACsid:token").decode()
        if request.headers.get("authorization") != expected:
            return Response(status_code=401)
        return Response(JPEG, media_type="image/jpeg")

    async def endless(request: Request) -> StreamingResponse:
        async def chunks() -> Any:
            yield JPEG[:64]
            while not await request.is_disconnected() and seen["sent"] < 64 * 1024 * 1024:
                seen["sent"] += 65536
                yield bytes(65536)

        return StreamingResponse(chunks(), media_type="image/jpeg")

    async def slow(request: Request) -> StreamingResponse:
        async def drip() -> Any:
            for byte in JPEG:
                await asyncio.sleep(0.05)
                yield bytes([byte])

        return StreamingResponse(drip())

    async def loop(request: Request) -> Response:
        seen["hits"] += 1
        return RedirectResponse("/loop", status_code=302)

    async def hop(request: Request) -> Response:
        left = int(request.path_params["n"])
        return RedirectResponse(f"/hop/{left - 1}" if left > 1 else "/photo", status_code=301)

    def fixed(body: bytes, media_type: str, status: int = 200, **headers: str) -> Route:
        async def endpoint(request: Request) -> Response:
            return Response(body, status_code=status, media_type=media_type, headers=headers)

        return Route("/" + media_type.replace("/", "-") + f"-{status}", endpoint)

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def declared_huge(request: Request) -> StreamingResponse:
        async def body() -> Any:
            yield JPEG

        headers = {"content-length": str(50 * 1024 * 1024)}
        return StreamingResponse(body(), media_type="image/jpeg", headers=headers)

    routes = [
        Route("/photo", photo),
        Route("/twilio", twilio),
        Route("/endless", endless),
        Route("/slow", slow),
        Route("/loop", loop),
        Route("/hop/{n}", hop),
        Route("/redirect", redirect),
        Route("/declared-huge", declared_huge),
        fixed(b"<html><script>alert(1)</script></html>", "image/jpeg"),  # lies: HTML
        fixed(image_bytes("PNG"), "text/plain"),  # lies the other way: a real PNG
        fixed(b"oops", "text/plain", 500),
        fixed(b"gone", "text/html", 404),
        fixed(b"slow down", "text/html", 429),
    ]
    return Starlette(routes=routes), seen


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The fake provider twice (two origins) and what it saw."""
    app, seen = fake_provider()
    with serve(app) as first, serve(app) as second:
        yield first, second, seen


LOCAL = DownloadLimits(allowed_networks=("127.0.0.1/32",))


async def resolve_table(host: str, port: int) -> list[str]:
    table = {
        "media.test": ["127.0.0.1"],
        "cdn.test": ["203.0.113.9", "93.184.216.34"],
        "public.test": ["93.184.216.34"],
        "rebind.test": ["93.184.216.34", "10.0.0.7"],
        "loopback.test": ["127.0.0.1"],
        "v6loop.test": ["::1"],
    }
    if host not in table:
        raise socket.gaierror(socket.EAI_NONAME, "unknown host")
    return table[host]


async def fetch(url: str, limits: DownloadLimits = LOCAL, **kwargs: Any) -> Any:
    # A client that would follow redirects by itself: `download` must not let it.
    async with httpx.AsyncClient(follow_redirects=True) as client:
        return await download(url, client=client, limits=limits, resolver=resolve_table, **kwargs)


async def test_download_a_photo_by_name_pins_the_checked_address(provider: Any) -> None:
    first, _, seen = provider
    port = httpx.URL(first).port
    got = await fetch(f"http://media.test:{port}/photo")
    assert got.data == JPEG and got.media.mime == "image/jpeg" and got.host == "media.test"
    assert seen["host"] == f"media.test:{port}"  # connected to 127.0.0.1, Host kept


async def test_download_trusts_bytes_not_the_content_type(provider: Any) -> None:
    first, _, _ = provider
    with pytest.raises(UnsupportedMedia, match="HTML"):
        await fetch(f"{first}/image-jpeg-200")
    assert (await fetch(f"{first}/text-plain-200")).media.mime == "image/png"


async def test_download_aborts_a_stream_past_the_cap(provider: Any) -> None:
    first, _, seen = provider
    limits = DownloadLimits(max_bytes=256 * 1024, allowed_networks=("127.0.0.1/32",))
    with pytest.raises(TooLarge):
        await fetch(f"{first}/endless", limits)  # no Content-Length at all
    await asyncio.sleep(0.2)
    assert seen["sent"] < 64 * 1024 * 1024  # the endless body was abandoned, not drained


async def test_download_refuses_a_declared_size_past_the_cap_before_reading(
    provider: Any,
) -> None:
    first, _, _ = provider
    with pytest.raises(TooLarge):
        await fetch(f"{first}/declared-huge")


async def test_download_redirects_are_followed_three_times_at_most(provider: Any) -> None:
    first, _, seen = provider
    assert (await fetch(f"{first}/hop/3")).data == JPEG
    with pytest.raises(DownloadFailed, match="too many redirects") as error:
        await fetch(f"{first}/hop/4")
    assert not error.value.transient
    seen["hits"] = 0
    with pytest.raises(DownloadFailed, match="too many redirects"):
        await fetch(f"{first}/loop")
    assert seen["hits"] == 4


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.5/photo",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/photo",
        "http://v6loop.test:8080/photo",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
    ],
)
async def test_download_checks_every_redirect_target(provider: Any, target: str) -> None:
    first, _, _ = provider
    with pytest.raises(RefusedUrl):  # the fake itself is allowed, its redirect target is not
        await fetch(str(httpx.URL(f"{first}/redirect", params={"to": target})))


@pytest.mark.parametrize(
    ("path", "status", "transient"),
    [("/text-plain-500", 500, True), ("/text-html-429", 429, True), ("/text-html-404", 404, False)],
)
async def test_download_http_errors_say_whether_to_retry(
    provider: Any, path: str, status: int, transient: bool
) -> None:
    first, _, _ = provider
    with pytest.raises(DownloadFailed) as error:
        await fetch(first + path)
    assert (error.value.status, error.value.transient) == (status, transient)


async def test_download_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: nobody answers
        with pytest.raises(DownloadFailed) as error:
            await fetch(f"http://127.0.0.1:{port}/photo")
    assert error.value.transient and not isinstance(error.value, RefusedUrl)


async def test_download_total_deadline_stops_a_slow_drip(provider: Any) -> None:
    first, _, _ = provider
    limits = DownloadLimits(total_timeout=0.5, allowed_networks=("127.0.0.1/32",))
    with pytest.raises(DownloadFailed, match="timed out") as error:
        await fetch(f"{first}/slow", limits)
    assert error.value.transient


async def test_twilio_basic_auth_goes_to_the_original_origin_only(provider: Any) -> None:
    first, second, seen = provider
    with pytest.raises(DownloadFailed) as error:
        await fetch(f"{first}/twilio")
    assert error.value.status == 401
    assert (await fetch(f"{first}/twilio", auth=("ACsid", "token"))).data == JPEG

    seen["auth"].clear()
    away = str(httpx.URL(f"{first}/redirect", params={"to": f"{second}/photo"}))
    same = str(httpx.URL(f"{first}/redirect", params={"to": "/photo"}))
    await fetch(away, auth=("ACsid", "token"))  # e.g. Twilio → a signed storage URL
    await fetch(same, auth=("ACsid", "token"))
    assert seen["auth"][0] is None
    assert seen["auth"][1] == "Basic " + base64.b64encode(b"ACsid:token").decode()


class NoNetwork(httpx.AsyncBaseTransport):
    """Records what would have been sent; answers with a JPEG."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(JPEG))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://127.1/x",  # shorthand, resolved by the system resolver
        "http://2130706433/x",  # 127.0.0.1 as one number
        "http://10.1.2.3/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",
        "http://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
        "http://224.0.0.1/x",
        "http://loopback.test/x",
        "http://rebind.test/x",  # one public and one private answer
        "ftp://public.test/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http:///nohost",
    ],
)
async def test_download_refuses_non_public_targets_without_connecting(url: str) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        if host in ("127.1", "2130706433"):
            return await system_resolver(host, port)  # numeric forms: no DNS query
        return await resolve_table(host, port)

    transport = NoNetwork()
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(RefusedUrl):
            await download(url, client=client, resolver=resolver)
    assert transport.requests == []


async def test_download_of_a_public_name_connects_to_the_checked_address() -> None:
    transport = NoNetwork()
    async with httpx.AsyncClient(transport=transport) as client:
        url = "https://public.test/media/abc?sig=1"
        got = await download(url, client=client, resolver=resolve_table)
        with pytest.raises(DownloadFailed) as error:
            await download("https://nowhere.test/x", client=client, resolver=resolve_table)
    assert got.data == JPEG and not error.value.transient
    (request,) = transport.requests
    assert request.url.host == "93.184.216.34" and request.url.path == "/media/abc"
    assert request.headers["host"] == "public.test"
    assert request.extensions["sni_hostname"] == "public.test"  # TLS still checks the name
    assert request.headers["accept-encoding"] == "identity"
    assert request.headers["connection"] == "close"  # never reused for another name


async def test_download_without_pinning_still_checks_addresses() -> None:
    transport = NoNetwork()
    limits = DownloadLimits(pin_addresses=False)  # behind an HTTP egress proxy
    async with httpx.AsyncClient(transport=transport) as client:
        await download(
            "https://public.test/a", client=client, limits=limits, resolver=resolve_table
        )
        with pytest.raises(RefusedUrl):
            await download(
                "https://rebind.test/a", client=client, limits=limits, resolver=resolve_table
            )
    (request,) = transport.requests
    assert request.url.host == "public.test" and "sni_hostname" not in request.extensions


async def test_download_counts_bytes_not_the_declared_length() -> None:
    def lying(request: httpx.Request) -> httpx.Response:
        body = httpx.ByteStream(JPEG[:64] + bytes(300_000))
        return httpx.Response(200, headers={"content-length": "100"}, stream=body)

    limits = DownloadLimits(max_bytes=256 * 1024)
    async with httpx.AsyncClient(transport=httpx.MockTransport(lying)) as client:
        with pytest.raises(TooLarge):
            await download(
                "http://public.test/x", client=client, limits=limits, resolver=resolve_table
            )


def test_is_public() -> None:
    from ipaddress import ip_address

    assert is_public(ip_address("93.184.216.34"))
    assert is_public(ip_address("2001:4860:4860::8888"))
    assert not is_public(ip_address("2002:7f00:1::"))  # 6to4 wrapping 127.0.0.1
    assert not is_public(ip_address("198.18.0.1"))


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


# ---------------------------------------------------------------- images


def photo(orientation: int = 1, size: tuple[int, int] = (1200, 800)) -> bytes:
    image = Image.new("RGB", size, "red")
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))  # left red, right blue
    out = io.BytesIO()
    image.save(out, "JPEG", exif=gps_exif(*HOAN_KIEM, orientation=orientation), quality=90)
    return out.getvalue()


def test_thumbnail_is_small_upright_and_without_metadata() -> None:
    thumb = Image.open(io.BytesIO(make_thumbnail(photo(orientation=6))))
    assert thumb.format == "JPEG" and thumb.size == (213, 320)  # turned a quarter
    top, bottom = (cast(tuple[int, ...], thumb.getpixel((106, y))) for y in (10, 310))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # left half is now on top
    assert not thumb.getexif() and "exif" not in thumb.info and "icc_profile" not in thumb.info
    assert read_gps(make_thumbnail(photo())) is None


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGBA", (900, 900), (0, 0, 0, 0)),  # transparency → white
        Image.new("P", (500, 40)),
        Image.new("I;16", (400, 400), 40000),
        Image.new("CMYK", (800, 600), (0, 255, 255, 0)),
        Image.new("1", (333, 333), 1),
    ],
    ids=["rgba", "palette", "16-bit", "cmyk", "bilevel"],
)
def test_thumbnails_of_unusual_modes(image: Image.Image) -> None:
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"
    out = io.BytesIO()
    image.save(out, fmt)
    thumb = Image.open(io.BytesIO(make_thumbnail(out.getvalue())))
    assert max(thumb.size) <= 320 and thumb.mode in ("RGB", "L")
    if image.mode == "RGBA":
        assert thumb.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "AVIF"])
def test_gps_from_exif_in_each_format(fmt: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, fmt, exif=gps_exif(*HOAN_KIEM))
    point = read_gps(out.getvalue())
    assert point is not None
    assert point.lat == pytest.approx(21.028472, abs=1e-6)
    assert point.lon == pytest.approx(105.853417, abs=1e-6)


@pytest.mark.parametrize(
    ("lat", "lat_ref", "lon", "lon_ref", "expected"),
    [
        ((33.0, 51.0, 54.0), "S", (151.0, 12.0, 36.0), "E", (-33.865, 151.21)),  # Sydney
        ((40.0, 26.0, 46.0), "N", (79.0, 58.0, 56.0), "W", (40.446111, -79.982222)),
        ((10.7769,), "N", (106.7009,), "E", (10.7769, 106.7009)),  # degrees only
        ((16.0, 3.5), b"N\x00", (108.0, 13.2), b"E\x00", (16.058333, 108.22)),  # bytes refs
        ((21.0, 1.0, 42.5), "n", (105.0, 51.0, 12.3), " e ", (21.028472, 105.853417)),
    ],
)
def test_gps_points(lat: Any, lat_ref: Any, lon: Any, lon_ref: Any, expected: Any) -> None:
    raw: dict[int, Any] = {GPS.GPSLatitude: lat, GPS.GPSLatitudeRef: lat_ref}
    raw |= {GPS.GPSLongitude: lon, GPS.GPSLongitudeRef: lon_ref}
    point = gps_point(raw)
    assert point is not None
    assert (point.lat, point.lon) == pytest.approx(expected, abs=1e-5)


def fix(
    lat: Any = (21.0,), lat_ref: Any = "N", lon: Any = (105.0,), lon_ref: Any = "E"
) -> dict[int, Any]:
    return {GPS.GPSLatitude: lat, GPS.GPSLatitudeRef: lat_ref, GPS.GPSLongitude: lon,
            GPS.GPSLongitudeRef: lon_ref}  # fmt: skip


GARBAGE_GPS: dict[str, dict[int, Any]] = {
    "empty": {},
    "no refs": {GPS.GPSLatitude: (21.0, 1.0, 0.0), GPS.GPSLongitude: (105.0, 0.0, 0.0)},
    "swapped refs": fix(lat_ref="E", lon_ref="N"),
    "lat > 90": fix(lat=(95.0,)),
    "minutes 75": fix(lat=(21.0, 75.0, 0.0)),
    "zero denominator": fix(lat=((21, 0), (1, 1), (0, 1))),
    "null island": fix(lat=(0.0,), lon=(0.0,)),
    "strings": fix(lat="21.0", lon="105"),
    "nan": fix(lat=(float("nan"),)),
    "negative": fix(lat=(-21.0,)),
    "four parts": fix(lat=(1, 2, 3, 4)),
    "void fix": {**fix(), GPS.GPSStatus: "V"},
    "unknown ref": fix(lat_ref="Q"),
}


@pytest.mark.parametrize("name", GARBAGE_GPS)
def test_garbage_gps_gives_none(name: str) -> None:
    assert gps_point(GARBAGE_GPS[name]) is None
    assert gps_point(fix()) == (21.0, 105.0)


def test_no_gps_in_photos_without_it_or_in_non_photos() -> None:
    assert read_gps(JPEG) is None
    assert read_gps(REAL_HEADERS["amr (Zalo voice)"][0]) is None
    assert read_gps(b"<html>") is None


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_decompression_bombs_are_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLarge):
        make_thumbnail(png_claiming(100_000, 100_000))  # Pillow's own hard limit
    with pytest.raises(ImageTooLarge):
        make_thumbnail(png_claiming(8000, 8000))  # 64 MP: over our 50 MP default
    small = ImageLimits(max_pixels=1_000_000)
    with pytest.raises(ImageTooLarge):
        make_thumbnail(image_bytes("PNG", (1200, 1000)), small)
    assert make_thumbnail(image_bytes("PNG", (1000, 1000)), small)


@pytest.mark.parametrize(
    "data",
    [
        photo()[:2000],  # truncated download
        b"\xff\xd8\xff\xe0" + bytes(200),
        b"\x89PNG\r\n\x1a\n" + bytes(40),
        b"GIF89a" + bytes(20),
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(20),
    ],
    ids=["truncated jpeg", "jpeg header only", "png garbage", "gif garbage", "webp garbage"],
)
def test_corrupt_images_raise_a_typed_error(data: bytes) -> None:
    with pytest.raises(CorruptImage):
        make_thumbnail(data)


def test_non_images_are_not_thumbnailed() -> None:
    for data in (wav_bytes(), REAL_HEADERS["heic (iPhone)"][0], b"<svg/>"):
        with pytest.raises(UnsupportedMedia):
            make_thumbnail(data)


SEEDS = [JPEG, photo(size=(64, 48))] + [image_bytes(f) for f in ("PNG", "GIF", "WEBP", "AVIF")]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt EXIF
@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=2048)
    | st.sampled_from(SEEDS).flatmap(
        lambda seed: st.tuples(
            st.just(seed), st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)))
        ).map(lambda pair: _mutate(*pair))
    )
)
def test_images_of_hostile_bytes_raise_only_typed_errors(data: bytes) -> None:
    with contextlib.suppress(MediaError):
        make_thumbnail(data)
    point = read_gps(data)
    assert point is None or (abs(point.lat) <= 90 and abs(point.lon) <= 180)


def _mutate(seed: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(seed)
    for index, value in edits:
        data[index] = value
    return bytes(data)


# ---------------------------------------------------------------- ingest


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


async def test_ingest_downloads_audio_without_a_thumbnail(
    provider: Any, store: LocalMediaStore
) -> None:
    first, _, _ = provider
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
