"""Sealing a secret that must be kept for a while but never stored in clear (a capture source's key in the
idempotency record of its create, replayed to a retry): AES-256-GCM under a key derived (HKDF-SHA256) from a
Secret Manager secret, the text bound to where it is stored (`context`, the associated data), so a sealed value
copied elsewhere does not open."""

from __future__ import annotations

import base64
import os

from core import secrets

VERSION = "v1"
_INFO = b"justo seal v1"


def _key(secret: secrets.Secret) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + b" " + secret.name.encode())
    return derive.derive(secrets.value(secret).encode())


def seal(secret: secrets.Secret, plaintext: str, *, context: str) -> str:
    """plaintext encrypted and authenticated under the secret's derived key, bound to context."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret)).encrypt(nonce, plaintext.encode(), context.encode())
    return VERSION + "." + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret: secrets.Secret, sealed: str, *, context: str) -> str | None:
    """The plaintext of a sealed value; None when it does not open (another secret or context, or tampered)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    version, _, blob = sealed.partition(".")
    if version != VERSION:
        return None
    try:
        raw = base64.urlsafe_b64decode(blob.encode())
        return AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except (InvalidTag, ValueError):
        return None
