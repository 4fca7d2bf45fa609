"""Identifiers and keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable


def new_id(prefix: str = "") -> str:
    """A random, URL-safe, unguessable id (20 characters after the prefix)."""
    return prefix + secrets.token_urlsafe(15)


def sha256_hex(*parts: str) -> str:
    """A stable hex digest of the parts, for document ids that must not reveal what they name."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 of value under key, hex: how secrets such as OTP codes are stored."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def keyed_hasher(key: str, prefix: str) -> Callable[[str], hmac.HMAC]:
    """A factory of HMAC-SHA256 objects under key already fed prefix: `keyed_hasher(k, p)(v).hexdigest()` equals
    `keyed_hash(k, p + v)`, the key schedule and the prefix hashed once instead of per value."""
    base = hmac.new(key.encode(), prefix.encode(), hashlib.sha256)

    def start(value: str) -> hmac.HMAC:
        digest = base.copy()
        digest.update(value.encode())
        return digest

    return start


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings as UTF-8 bytes (any text, even a lone surrogate, compares:
    hmac.compare_digest on str raises TypeError for non-ASCII)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))
