"""What a file really is, read from its first bytes: the media allowlist and its refusals.

Owns the list of media the gateway accepts (photos, short videos, voice notes and other
audio) and the base of the media error family. The extension in a URL and the provider's
Content-Type are never consulted: a citizen's "photo" is whatever its magic bytes say.

Hand-written because it is a few dozen signatures for a closed allowlist; python-magic
would need libmagic on every host and would recognise thousands of types we then have to
refuse anyway. Anything not positively recognised is refused, so an unknown format fails
closed. Executables, archives, PDFs and markup (HTML, SVG, XML: script in the browser of
a staff member) get a named refusal only to make the error message useful.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MediaKind = Literal["image", "video", "audio"]

SNIFF_BYTES = 64
"""How many leading bytes `sniff` needs; callers streaming a download may stop early."""


class MediaError(Exception):
    """Base of every error the media package raises on purpose."""


class UnsupportedMedia(MediaError):
    """The bytes are not a photo, video or audio recording the gateway accepts."""

    def __init__(self, detected: str) -> None:
        super().__init__(f"unsupported media: {detected}")
        self.detected = detected


@dataclass(frozen=True)
class Sniffed:
    kind: MediaKind
    mime: str
    extension: str


JPEG = Sniffed("image", "image/jpeg", "jpg")
PNG = Sniffed("image", "image/png", "png")
GIF = Sniffed("image", "image/gif", "gif")
WEBP = Sniffed("image", "image/webp", "webp")
HEIC = Sniffed("image", "image/heic", "heic")
AVIF = Sniffed("image", "image/avif", "avif")
MP4 = Sniffed("video", "video/mp4", "mp4")
MOV = Sniffed("video", "video/quicktime", "mov")
THREE_GP = Sniffed("video", "video/3gpp", "3gp")
THREE_G2 = Sniffed("video", "video/3gpp2", "3g2")
WEBM = Sniffed("video", "video/webm", "webm")
M4A = Sniffed("audio", "audio/mp4", "m4a")
AAC = Sniffed("audio", "audio/aac", "aac")
MP3 = Sniffed("audio", "audio/mpeg", "mp3")
OGG = Sniffed("audio", "audio/ogg", "ogg")
OPUS = Sniffed("audio", "audio/ogg", "opus")
AMR = Sniffed("audio", "audio/amr", "amr")
AMR_WB = Sniffed("audio", "audio/amr-wb", "awb")
WAV = Sniffed("audio", "audio/wav", "wav")

ACCEPTED: tuple[Sniffed, ...] = (
    JPEG, PNG, GIF, WEBP, HEIC, AVIF, MP4, MOV, THREE_GP, THREE_G2, WEBM,
    M4A, AAC, MP3, OGG, OPUS, AMR, AMR_WB, WAV,
)  # fmt: skip
"""Every type `sniff` can return."""

MIME_BY_EXTENSION = {s.extension: s.mime for s in ACCEPTED}

# ISO base media file format (MP4 family): the major brand of the `ftyp` box decides.
_FTYP_BRANDS: dict[bytes, Sniffed] = {
    **dict.fromkeys((b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"), HEIC),
    **dict.fromkeys((b"avif", b"avis"), AVIF),
    b"qt  ": MOV,
    **dict.fromkeys((b"M4A ", b"M4B "), M4A),
    **dict.fromkeys((b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42"), MP4),
    **dict.fromkeys((b"avc1", b"dash", b"M4V ", b"MSNV", b"NDAS", b"F4V "), MP4),
}
# QuickTime files written without an `ftyp` box start with one of these atoms.
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide")

_REFUSED_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "Windows executable"),
    (b"\x7fELF", "ELF executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O or Java class"),
    (b"\xfe\xed\xfa\xce", "Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"#!", "script"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "zip archive"),
    (b"PK\x05\x06", "zip archive"),
    (b"Rar!", "rar archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\xd0\xcf\x11\xe0", "OLE document"),
)


def sniff(data: bytes | bytearray) -> Sniffed:
    """Identify `data` (its first `SNIFF_BYTES` are enough) or raise `UnsupportedMedia`."""
    head = bytes(data[:SNIFF_BYTES])
    found = _image(head) or _container(head) or _audio(head)
    if found is not None:
        return found
    raise UnsupportedMedia(_refusal(head))


def _image(head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def _container(head: bytes) -> Sniffed | None:
    box = head[4:8]
    if box == b"ftyp" and len(head) >= 12:
        brand = head[8:12]
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
        if brand.startswith(b"3gp") or brand.startswith(b"3ge") or brand.startswith(b"3gg"):
            return THREE_GP
        if brand.startswith(b"3g2"):
            return THREE_G2
        return None
    if box in _QUICKTIME_ATOMS and int.from_bytes(head[:4], "big") >= 8:
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head:
        return WEBM
    return None


def _audio(head: bytes) -> Sniffed | None:
    if head.startswith(b"#!AMR-WB\n"):
        return AMR_WB
    if head.startswith(b"#!AMR\n"):
        return AMR
    if head.startswith(b"OggS"):
        return OPUS if head[28:36] == b"OpusHead" else OGG
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"ID3") and len(head) >= 10:
        return MP3
    return _mpeg_frame(head)


def _mpeg_frame(head: bytes) -> Sniffed | None:
    """A bare MPEG audio frame header: ADTS (AAC) or MPEG-1/2 layer III (MP3)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0b11
    if head[1] & 0xF6 == 0xF0:  # 12-bit sync, layer 00: ADTS
        return AAC if (head[2] >> 2) & 0x0F < 13 else None
    version = (head[1] >> 3) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    if layer == 1 and version != 1 and bitrate not in (0, 15) and rate != 3:
        return MP3
    return None


def _refusal(head: bytes) -> str:
    for prefix, name in _REFUSED_PREFIXES:
        if head.startswith(prefix):
            return name
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        if b"<svg" in text:
            return "SVG"
        return "HTML or XML"
    if not head:
        return "empty file"
    return "unknown format"
