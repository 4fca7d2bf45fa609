"""Webhook signatures: Meta's X-Hub-Signature-256, Plivo's V3 scheme and SendGrid's signed event webhook (ECDSA).

Every comparison goes through core.ids.same (bytes, constant time): a header is whatever the sender put in it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from core.ids import same


def hub_signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid_hub_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when header is the body's signature under the app secret."""
    return bool(header) and same(hub_signature(secret, body), str(header).strip())


def plivo_v3_base(method: str, url: str, params: Mapping[str, str]) -> str:
    """The string Plivo signs: the URL with its query sorted, then (POST) the form params sorted by key."""
    base, _, query = url.partition("?")
    pairs = sorted(parse_qsl(query, keep_blank_values=True), key=lambda kv: kv[0])
    sorted_query = "&".join(f"{key}={value}" for key, value in pairs)
    if method.upper() == "GET":
        return f"{base}?{sorted_query}" if sorted_query else base
    body = "".join(f"{key}{params[key]}" for key in sorted(params))
    return f"{base}?{sorted_query + '.' if sorted_query else ''}{body}"


def plivo_v3_signature(auth_token: str, method: str, url: str, params: Mapping[str, str], nonce: str) -> str:
    """X-Plivo-Signature-V3: base64 HMAC-SHA256 of `<signed string>.<nonce>` under the auth token."""
    message = f"{plivo_v3_base(method, url, params)}.{nonce}".encode("utf-8", "surrogatepass")
    return base64.b64encode(hmac.new(auth_token.encode(), message, hashlib.sha256).digest()).decode()


def valid_plivo_signature(
    auth_token: str, method: str, url: str, params: Mapping[str, str], nonce: str | None, header: str | None
) -> bool:
    """True when one of the comma-separated signatures in header matches."""
    if not header or not nonce:
        return False
    expected = plivo_v3_signature(auth_token, method, url, params, nonce)
    return any(same(expected, candidate.strip()) for candidate in header.split(","))


SENDGRID_MAX_AGE_SEC = 600  # a signed batch older than this is a replay (SendGrid signs each attempt as it posts)
SENDGRID_MAX_SKEW_SEC = 60  # a timestamp this far ahead is a clock's drift; further is refused


def valid_sendgrid_signature(
    public_key_b64: str, timestamp: str | None, body: bytes, signature_b64: str | None, *, now: float
) -> bool:
    """True when signature_b64 (X-Twilio-Email-Event-Webhook-Signature: base64 DER ECDSA) is the P-256/SHA-256
    signature of the timestamp header's value followed by the raw body, under the base64 SPKI verification key
    SendGrid shows, and the timestamp is no older than SENDGRID_MAX_AGE_SEC."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if not timestamp or not signature_b64 or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if not -SENDGRID_MAX_SKEW_SEC <= now - int(timestamp) <= SENDGRID_MAX_AGE_SEC:
        return False
    key = sendgrid_public_key(public_key_b64)
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
        key.verify(signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


@lru_cache(maxsize=4)
def sendgrid_public_key(public_key_b64: str) -> Any:
    """The verification key as SendGrid shows it (base64 DER SubjectPublicKeyInfo, PEM armour tolerated)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    armour = ("-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----")
    text = "".join(public_key_b64.replace(armour[0], "").replace(armour[1], "").split())
    key = load_der_public_key(base64.b64decode(text, validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("the SendGrid verification key must be an ECDSA P-256 public key")
    return key
