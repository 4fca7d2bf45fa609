"""Cloud Storage for privacy work: deleting a lead's objects and short-lived download links for exports.

google-cloud-storage is imported only here, lazily: the other privacy routes never load it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from core import clock, settings

DOWNLOAD_TTL = timedelta(minutes=15)


def _emulator_host() -> str:
    host = os.environ.get("STORAGE_EMULATOR_HOST", "").strip()
    if host and not host.startswith("http"):
        host = f"http://{host}"
    return host


@lru_cache(maxsize=1)
def bucket() -> Any:
    """The project's bucket (the Storage emulator's when STORAGE_EMULATOR_HOST is set)."""
    import google.cloud.storage as storage

    config = settings.get()
    if _emulator_host():
        from google.auth.credentials import AnonymousCredentials

        client = storage.Client(project=config.project_id, credentials=AnonymousCredentials())
    else:
        client = storage.Client(project=config.project_id)
    return client.bucket(config.bucket)


def reset() -> None:
    """Forget the cached client (tests that start another emulator)."""
    bucket.cache_clear()


def names_under(prefix: str) -> list[str]:
    """Names of every object under a prefix."""
    return [blob.name for blob in bucket().list_blobs(prefix=prefix)]


def delete_objects(paths: Iterable[str]) -> int:
    """Delete objects by name; an object already gone is fine. Returns how many existed."""
    from google.api_core.exceptions import NotFound

    deleted = 0
    for path in sorted(set(paths)):
        with contextlib.suppress(NotFound):
            bucket().blob(path).delete()
            deleted += 1
    return deleted


@lru_cache(maxsize=1)
def _local_signer() -> Any:
    """Emulator only: a throwaway service-account key to sign URLs (the emulator checks no signature)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    project = settings.get().project_id
    return service_account.Credentials.from_service_account_info(
        {
            "type": "service_account",
            "client_email": f"local-signer@{project}.iam.gserviceaccount.com",
            "private_key": pem,
            "token_uri": "https://oauth2.googleapis.com/token",
            "project_id": project,
        }
    )


def download_url(path: str, ttl: timedelta = DOWNLOAD_TTL, *, generation: int | None = None) -> tuple[str, datetime]:
    """A v4 signed GET URL for one object (that generation only, when given) and when it expires."""
    blob = bucket().blob(path)
    expires_at = clock.now() + ttl
    host = _emulator_host()
    if host:
        url = blob.generate_signed_url(
            version="v4",
            expiration=ttl,
            method="GET",
            credentials=_local_signer(),
            api_access_endpoint=host,
            generation=generation,
        )
    else:
        import google.auth
        from google.auth.transport.requests import Request

        credentials, _ = google.auth.default()
        credentials.refresh(Request())
        url = blob.generate_signed_url(
            version="v4",
            expiration=ttl,
            method="GET",
            service_account_email=getattr(credentials, "service_account_email", None),
            access_token=credentials.token,
            generation=generation,
        )
    return str(url), expires_at
