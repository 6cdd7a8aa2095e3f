"""Thumbnails and EXIF GPS: upright, small, stripped; bombs and hostile bytes raise typed errors."""

from __future__ import annotations

import contextlib
import io
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.ExifTags import GPS

from backend.media import (
    CorruptImage,
    ImageLimits,
    ImageTooLarge,
    MediaError,
    UnsupportedMedia,
    make_thumbnail,
    read_gps,
)
from backend.media.images import gps_point
from tests.backend.media_helpers import (
    HOAN_KIEM,
    JPEG,
    REAL_HEADERS,
    gps_exif,
    gps_fix,
    image_bytes,
    photo,
    png_claiming,
    wav_bytes,
)


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
    point = gps_point(gps_fix(lat, lat_ref, lon, lon_ref))
    assert point is not None
    assert (point.lat, point.lon) == pytest.approx(expected, abs=1e-5)


GARBAGE_GPS: dict[str, dict[int, Any]] = {
    "empty": {},
    "no refs": {GPS.GPSLatitude: (21.0, 1.0, 0.0), GPS.GPSLongitude: (105.0, 0.0, 0.0)},
    "swapped refs": gps_fix(lat_ref="E", lon_ref="N"),
    "lat > 90": gps_fix(lat=(95.0,)),
    "minutes 75": gps_fix(lat=(21.0, 75.0, 0.0)),
    "zero denominator": gps_fix(lat=((21, 0), (1, 1), (0, 1))),
    "null island": gps_fix(lat=(0.0,), lon=(0.0,)),
    "strings": gps_fix(lat="21.0", lon="105"),
    "nan": gps_fix(lat=(float("nan"),)),
    "negative": gps_fix(lat=(-21.0,)),
    "four parts": gps_fix(lat=(1, 2, 3, 4)),
    "void fix": {**gps_fix(), GPS.GPSStatus: "V"},
    "unknown ref": gps_fix(lat_ref="Q"),
}


@pytest.mark.parametrize("name", GARBAGE_GPS)
def test_garbage_gps_gives_none(name: str) -> None:
    assert gps_point(GARBAGE_GPS[name]) is None
    assert gps_point(gps_fix()) == (21.0, 105.0)


def test_no_gps_in_photos_without_it_or_in_non_photos() -> None:
    assert read_gps(JPEG) is None
    assert read_gps(REAL_HEADERS["amr (Zalo voice)"][0]) is None
    assert read_gps(b"<html>") is None


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
