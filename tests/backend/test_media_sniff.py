"""`sniff`: real headers are recognised by their bytes, everything else is refused by name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.media import UnsupportedMedia, sniff
from tests.backend.media_helpers import REAL_HEADERS

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
