"""Webhook signatures: Meta's X-Hub-Signature-256, Plivo's V3 scheme, and our email provider's HMAC.

Every comparison goes through core.ids.same (bytes, constant time): a header is whatever the sender put in it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
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


def email_signature(secret: str, body: bytes) -> str:
    """X-Justo-Signature of an email event: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
