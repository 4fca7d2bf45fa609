"""What an accepted file really is, from its leading bytes: one check per allowed type, and none is skipped.

The declared Content-Type is the client's word; these checks are ours. A type without a check here is
refused (`matches` answers False), so adding a type to `models.CONTENT_TYPES` without its check fails closed.
"""

from __future__ import annotations

from collections.abc import Callable

HEAD_BYTES = 256  # enough for every signature below, including a HEIF `ftyp` box's list of brands
HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})  # HEIF containers: HEIC only with an HEVC brand listed


def _jpeg(head: bytes, size: int) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _png(head: bytes, size: int) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _pdf(head: bytes, size: int) -> bool:
    return head.startswith(b"%PDF-")


def _webp(head: bytes, size: int) -> bool:
    """RIFF....WEBP, whose RIFF length is the file's own (an HTML page cannot start like that)."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return False
    return int.from_bytes(head[4:8], "little") + 8 == size


def _heic(head: bytes, size: int) -> bool:
    """An ISO-BMFF `ftyp` box first, whose major brand is HEVC-coded HEIF (or generic HEIF listing one)."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    box = int.from_bytes(head[:4], "big")
    major = head[8:12]
    if major in HEVC_BRANDS:
        return True
    if major not in GENERIC_HEIF_BRANDS:
        return False
    compatible = [head[offset : offset + 4] for offset in range(16, min(box, len(head)) - 3, 4)]
    return any(brand in HEVC_BRANDS for brand in compatible)


CHECKS: dict[str, Callable[[bytes, int], bool]] = {
    "image/jpeg": _jpeg,
    "image/png": _png,
    "image/webp": _webp,
    "image/heic": _heic,
    "application/pdf": _pdf,
}


def matches(content_type: str, head: bytes, size: int) -> bool:
    """True when the file's first bytes (and size) are those of the declared type; False for a type with no check."""
    check = CHECKS.get(content_type)
    return check is not None and check(head, size)
