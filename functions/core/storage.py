"""Cloud Storage access (attachments, lead imports): v4 signed URLs (IAM signBlob in production, a local key)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from core import settings


def emulator_host() -> str | None:
    """The Storage emulator's base URL, when one is configured."""
    host = os.environ.get("STORAGE_EMULATOR_HOST", "").strip()
    if not host:
        return None
    return host if host.startswith("http") else f"http://{host}"


@lru_cache(maxsize=1)
def _client() -> Any:
    from google.cloud import storage  # type: ignore[attr-defined,unused-ignore]

    config = settings.get()
    if emulator_host():
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=config.project_id, credentials=AnonymousCredentials())
    return storage.Client(project=config.project_id)


def bucket() -> Any:
    """The attachments bucket."""
    return _client().bucket(settings.get().bucket)


def reset() -> None:
    """Forget the client (tests that switch emulators)."""
    _client.cache_clear()


@lru_cache(maxsize=1)
def _local_signer() -> Any:
    """A service-account key generated for this process: the emulator does not check signatures."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": settings.get().project_id,
        "private_key_id": "local",
        "private_key": pem,
        "client_email": f"local-signer@{settings.get().project_id}.iam.gserviceaccount.com",
        "client_id": "0",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return service_account.Credentials.from_service_account_info(info)


def signed_url(
    object_path: str,
    *,
    method: str,
    minutes: int,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
    generation: int | None = None,
) -> str:
    """A v4 signed URL for one object and method; `headers` are signed too (the request must send them),
    `generation` pins a GET to that generation of the object."""
    blob = bucket().blob(object_path)
    options: dict[str, Any] = {"version": "v4", "expiration": timedelta(minutes=minutes), "method": method}
    if content_type:
        options["content_type"] = content_type
    if headers:
        options["headers"] = dict(headers)
    if generation is not None:
        options["generation"] = generation
    host = emulator_host()
    if host:
        options |= {"credentials": _local_signer(), "api_access_endpoint": host}
    else:
        # The function's own service account signs through IAM signBlob: no key file anywhere.
        import google.auth
        from google.auth.transport.requests import Request

        credentials, _ = google.auth.default()
        credentials.refresh(Request())
        email = getattr(credentials, "service_account_email", None)
        options |= {"service_account_email": email, "access_token": credentials.token}
    return str(blob.generate_signed_url(**options))


def upload_headers(*, content_type: str, size_bytes: int) -> dict[str, str]:
    """The headers an upload URL is signed with: the declared type, exactly the declared length, and
    create-only (generation 0), so the URL can neither store more than declared nor overwrite a stored file."""
    return {
        "Content-Type": content_type,
        "x-goog-content-length-range": f"{size_bytes},{size_bytes}",
        "x-goog-if-generation-match": "0",
    }


@dataclass(frozen=True)
class Stored:
    """What Cloud Storage holds at a path: the live generation's size, type and number."""

    size: int
    content_type: str
    generation: int


def stat(object_path: str) -> Stored | None:
    """The stored object's live generation, or None when nothing was uploaded."""
    blob = bucket().get_blob(object_path)
    if blob is None:
        return None
    return Stored(int(blob.size or 0), str(blob.content_type or ""), int(blob.generation or 0))


def head(object_path: str, length: int, *, generation: int) -> bytes:
    """The first bytes of one generation of the object (refused by Cloud Storage once it is replaced)."""
    data: bytes = (
        bucket().blob(object_path).download_as_bytes(start=0, end=max(0, length - 1), if_generation_match=generation)
    )
    return data


def read(object_path: str, *, generation: int) -> bytes:
    """One whole generation of the object."""
    data: bytes = bucket().blob(object_path).download_as_bytes(if_generation_match=generation)
    return data


def write(object_path: str, data: bytes, *, content_type: str) -> Stored:
    """Store bytes the server itself received (create-only: an existing object is kept); the stored generation."""
    from google.api_core.exceptions import PreconditionFailed

    blob = bucket().blob(object_path)
    try:
        blob.upload_from_string(data, content_type=content_type, if_generation_match=0)
    except PreconditionFailed:
        blob = bucket().get_blob(object_path)  # a retry after the first upload landed
        if blob is None:
            raise
    return Stored(int(blob.size or len(data)), str(blob.content_type or content_type), int(blob.generation or 0))


def delete(object_path: str, *, generation: int | None = None) -> None:
    """Remove the object (only that generation when given) if it exists."""
    from google.api_core.exceptions import NotFound, PreconditionFailed

    with contextlib.suppress(NotFound, PreconditionFailed):
        bucket().blob(object_path).delete(if_generation_match=generation)
