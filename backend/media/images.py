"""Photos: bounded decoding, thumbnails for staff and public pages, EXIF GPS for the location.

Owns everything that decodes pixels or reads EXIF, with Pillow. Citizen photos are
untrusted input to a large C parser, so: Pillow only gets the one format the bytes were
sniffed as (`Image.open(formats=...)`, no exotic plugin ever sees them); the pixel count is
checked from the header before anything is decoded (`max_pixels`, below Pillow's own
decompression-bomb threshold, which stays untouched as a global); JPEGs decode at reduced
scale (`draft`) so a 50-megapixel photo costs a fraction of its full size; and everything
Pillow raises on a malformed file becomes `CorruptImage`.

Thumbnails are JPEG, at most `thumbnail_px` on the long side, turned upright from the EXIF
orientation and written without any metadata (no EXIF, GPS, ICC or comments): they are
what may be shown outside the staff console. Originals keep their EXIF as evidence.

GPS is read from the EXIF GPS IFD and turned into decimal degrees; anything missing,
void (GPSStatus "V"), out of range, divided by zero or at exactly 0,0 gives None, never
an error — it only proposes a location the citizen then confirms.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from io import BytesIO
from typing import Any, NamedTuple

from PIL import ExifTags, Image
from PIL.ExifTags import GPS

from backend.media.sniff import MediaError, UnsupportedMedia, sniff

PILLOW_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,  # some plugins report a bad header this way
    ValueError,
    EOFError,
    struct.error,
    LookupError,
    TypeError,
    ArithmeticError,
    MemoryError,
    RuntimeError,  # the AVIF decoder reports broken files this way
    Image.DecompressionBombError,
)
"""What Pillow may raise on hostile bytes; all of it means "not a usable image"."""

_GPS_READ_ERRORS: tuple[type[BaseException], ...] = (MediaError, *PILLOW_ERRORS)
_FORMATS: dict[str, list[str]] = {
    "image/jpeg": ["JPEG"],
    "image/png": ["PNG"],
    "image/gif": ["GIF"],
    "image/webp": ["WEBP"],
    "image/avif": ["AVIF"],
    "image/heic": ["HEIF"],  # only with a plugin such as pillow-heif registered
}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageError(MediaError):
    """The bytes were sniffed as an image but cannot be used as one."""


class CorruptImage(ImageError):
    """Pillow cannot decode the image."""


class ImageTooLarge(ImageError):
    """Too many pixels to decode safely (a decompression bomb, or simply too big)."""


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int = 50_000_000
    thumbnail_px: int = 320
    thumbnail_quality: int = 80


class GpsPoint(NamedTuple):
    lat: float
    lon: float


def can_decode(mime: str) -> bool:
    """True if this Pillow can decode `mime` (HEIC needs a plugin)."""
    formats = _FORMATS.get(mime)
    if not formats:
        return False
    Image.init()
    return all(name in Image.OPEN for name in formats)


def make_thumbnail(data: bytes, limits: ImageLimits | None = None) -> bytes:
    """A metadata-free upright JPEG thumbnail; raise UnsupportedMedia or an ImageError."""
    limits = limits or ImageLimits()
    box = (limits.thumbnail_px, limits.thumbnail_px)
    with _open(data, limits) as image:
        try:
            orientation = _orientation(image)
            image.draft(None, box)  # JPEG: decode at 1/2, 1/4 or 1/8 scale
            small = _usable_mode(image)
            small.thumbnail(box, Image.Resampling.LANCZOS)
            if orientation in _TRANSPOSE:
                small = small.transpose(_TRANSPOSE[orientation])
            out = BytesIO()
            _flatten(small).save(out, "JPEG", quality=limits.thumbnail_quality, optimize=True)
        except PILLOW_ERRORS as exc:
            raise CorruptImage(f"cannot decode image: {type(exc).__name__}") from exc
    return out.getvalue()


def read_gps(data: bytes, limits: ImageLimits | None = None) -> GpsPoint | None:
    """The photo's EXIF position in decimal degrees, or None."""
    try:
        with _open(data, limits or ImageLimits()) as image:
            gps = dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))
    except _GPS_READ_ERRORS:
        return None
    return gps_point(gps)


def gps_point(gps: dict[int, Any]) -> GpsPoint | None:
    """Decimal degrees from a raw EXIF GPS IFD (tag number → value), or None."""
    if _text(gps.get(GPS.GPSStatus)) == "V":
        return None
    lat = _coordinate(gps.get(GPS.GPSLatitude), gps.get(GPS.GPSLatitudeRef), "NS")
    lon = _coordinate(gps.get(GPS.GPSLongitude), gps.get(GPS.GPSLongitudeRef), "EW")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 or lat == lon == 0:
        return None
    return GpsPoint(round(lat, 7), round(lon, 7))


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    media = sniff(data)
    if media.kind != "image" or not can_decode(media.mime):
        raise UnsupportedMedia(f"{media.mime} (no image decoder)")
    try:
        image = Image.open(BytesIO(data), formats=_FORMATS[media.mime])
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("image has too many pixels") from exc
    except PILLOW_ERRORS as exc:
        raise CorruptImage(f"cannot read image: {type(exc).__name__}") from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > limits.max_pixels:
        image.close()
        raise ImageTooLarge(f"image is {width}x{height} pixels, limit {limits.max_pixels}")
    return image


def _orientation(image: Image.Image) -> int:
    value = image.getexif().get(ExifTags.Base.Orientation)
    return value if isinstance(value, int) else 1


def _usable_mode(image: Image.Image) -> Image.Image:
    """A mode Pillow can resize and save as JPEG (after flattening)."""
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if image.mode in ("P", "PA"):
        return image.convert("RGBA")
    if image.mode == "F":
        return image.convert("L")
    if image.mode == "I" or image.mode.startswith("I;"):
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return image.convert("RGB")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB or L; transparency composited onto white."""
    if image.mode not in ("RGBA", "LA"):
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip("\x00 ").upper() if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, tuple) and len(value) == 2:
        num, den = (_number(v) for v in value)
        return num / den if num is not None and den else None
    try:
        number = float(value)  # type: ignore[arg-type]  # int, float, IFDRational
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _coordinate(value: object, ref: object, hemispheres: str) -> float | None:
    """Degrees, minutes, seconds (1 to 3 rationals) and a hemisphere → signed degrees."""
    hemisphere = _text(ref)[:1]
    if not hemisphere or hemisphere not in hemispheres or not isinstance(value, tuple | list):
        return None
    numbers = [n for n in map(_number, value) if n is not None and n >= 0]
    if not 1 <= len(numbers) == len(value) <= 3:
        return None
    degrees, minutes, seconds = (*numbers, 0.0, 0.0)[:3]
    if minutes >= 60 or seconds >= 60:
        return None
    total = degrees + minutes / 60 + seconds / 3600
    return -total if hemisphere in "SW" else total
