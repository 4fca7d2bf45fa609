"""Every allowed attachment type has a content check, and each check accepts its own files only."""

from __future__ import annotations

import pytest

from attachments import content
from attachments.models import CONTENT_TYPES, AttachmentCreate

pytestmark = pytest.mark.unit


def _webp(payload: bytes = b"VP8 " + b"\x00" * 40) -> bytes:
    body = b"WEBP" + payload
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    box = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(box)).to_bytes(4, "big") + b"ftyp" + box + b"\x00\x00\x00\x20meta" + b"\x00" * 40


GENUINE: dict[str, list[bytes]] = {
    "image/jpeg": [b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, b"\xff\xd8\xff\xe1\x00\x18Exif" + b"\x00" * 64],
    "image/png": [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64],
    "image/webp": [_webp(), _webp(b"VP8L" + b"\x01" * 90)],
    "image/heic": [_ftyp(b"heic", b"mif1", b"heic"), _ftyp(b"heix", b"mif1"), _ftyp(b"mif1", b"mif1", b"heic")],
    "application/pdf": [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 64],
}
HOSTILE: list[bytes] = [
    b"<!doctype html><script>alert(document.cookie)</script>",
    b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    b"PK\x03\x04" + b"\x00" * 64,  # a zip (docx, apk)
    b"MZ\x90\x00" + b"\x00" * 64,  # a Windows executable
    b"",
    b"RIFF\x00\x00\x00\x00WEBP<html>",  # WebP magic whose RIFF length is not the file's
    _ftyp(b"avif", b"mif1", b"miaf"),  # AVIF is HEIF, not HEIC
    _ftyp(b"mif1", b"mif1", b"avif"),
    b"GIF89a" + b"\x00" * 64,
    b" %PDF-1.7",
]


def test_every_allowed_type_has_a_check_and_genuine_samples() -> None:
    """A type added to the API without a content check (or without samples here) fails this test."""
    assert set(CONTENT_TYPES) == set(content.CHECKS) == set(GENUINE)
    declared = AttachmentCreate.model_json_schema(by_alias=True)["properties"]["contentType"]
    assert set(declared["enum"]) == set(CONTENT_TYPES)


@pytest.mark.parametrize("declared", CONTENT_TYPES)
def test_each_type_accepts_its_own_files_and_nothing_else(declared: str) -> None:
    for actual, samples in GENUINE.items():
        for sample in samples:
            head = sample[: content.HEAD_BYTES]
            assert content.matches(declared, head, len(sample)) is (actual == declared), (declared, actual, sample)
    for sample in HOSTILE:
        assert not content.matches(declared, sample[: content.HEAD_BYTES], len(sample)), (declared, sample)


def test_a_type_without_a_check_is_refused() -> None:
    assert not content.matches("text/html", b"<html>", 6)
    assert not content.matches("image/gif", b"GIF89a", 6)
