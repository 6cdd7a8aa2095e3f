"""Media fixtures built in code, shared by the `test_media_*` modules.

Every fixture is generated here (Pillow for images, `wave` for WAV, the first bytes of
real files for containers Pillow cannot write), so no binary lives in the repository.
The fake provider is a small Starlette app the download tests serve on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import io
import struct
import wave
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PIL import ExifTags, Image
from PIL.ExifTags import GPS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from backend.media import DownloadLimits
from tests.fakes.server import serve

# ---------------------------------------------------------------- images, sound and headers


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    mode = "RGBA" if fmt == "PNG" else "P" if fmt == "GIF" else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, "green").save(out, fmt, **save)
    return out.getvalue()


def gps_fix(
    lat: Any = (21.0,), lat_ref: Any = "N", lon: Any = (105.0,), lon_ref: Any = "E"
) -> dict[int, Any]:
    """The GPS IFD of a photo's EXIF; the defaults are a valid fix near Hanoi."""
    return {GPS.GPSLatitude: lat, GPS.GPSLatitudeRef: lat_ref, GPS.GPSLongitude: lon,
            GPS.GPSLongitudeRef: lon_ref}  # fmt: skip


def gps_exif(lat: Any, lat_ref: Any, lon: Any, lon_ref: Any, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = gps_fix(lat, lat_ref, lon, lon_ref)
    return exif


HOAN_KIEM = ((21.0, 1.0, 42.5), "N", (105.0, 51.0, 12.3), "E")  # 21.028472, 105.853417


def photo(orientation: int = 1, size: tuple[int, int] = (1200, 800)) -> bytes:
    """A JPEG with GPS at Hoan Kiem: left half red, right half blue, as the camera held it."""
    image = Image.new("RGB", size, "red")
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))  # left red, right blue
    out = io.BytesIO()
    image.save(out, "JPEG", exif=gps_exif(*HOAN_KIEM, orientation=orientation), quality=90)
    return out.getvalue()


def provider_photo(*, gps: bool = False, size: tuple[int, int] = (640, 480)) -> bytes:
    """An orange JPEG as a provider would hand it over, with or without GPS at Hoan Kiem."""
    exif = Image.Exif()
    if gps:
        exif[ExifTags.IFD.GPSInfo] = gps_fix(*HOAN_KIEM)
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, "JPEG", exif=exif)
    return out.getvalue()


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

# ---------------------------------------------------------------- the fake provider

LOCAL = DownloadLimits(allowed_networks=("127.0.0.1/32",))


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


@contextmanager
def serve_provider() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The fake provider twice (two origins) and what it saw."""
    app, seen = fake_provider()
    with serve(app) as first, serve(app) as second:
        yield first, second, seen
