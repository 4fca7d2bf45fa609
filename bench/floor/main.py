"""The cold-start floor of this SDK stack: the least an HTTPS function can be that verifies a Firebase ID
token and reads one Firestore document. Every deployed function is measured against it (bench.run)."""

from __future__ import annotations

import json
import os
from typing import Any

import firebase_admin
from firebase_admin import auth, credentials, firestore
from firebase_functions import https_fn


class _Anonymous(credentials.Base):
    """Emulator credentials (the same trap as core.clients: no default credentials on the emulators)."""

    def get_credential(self) -> Any:
        """Anonymous Google credentials."""
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()


_app: firebase_admin.App | None = None


def _lazy_app() -> firebase_admin.App:
    global _app
    if _app is None:
        project = os.environ.get("GCLOUD_PROJECT", "demo-justo")
        _app = firebase_admin.initialize_app(_Anonymous(), {"projectId": project})
    return _app


@https_fn.on_request()
def floor(req: https_fn.Request) -> https_fn.Response:
    """Verify the bearer token, read the caller's member document, answer it."""
    token = (req.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
    try:
        claims = auth.verify_id_token(token, app=_lazy_app())
    except ValueError:
        return https_fn.Response(status=401)
    path = f"orgs/{claims.get('orgId')}/members/{claims['uid']}"
    snapshot = firestore.client(_lazy_app()).document(path).get()
    body = json.dumps({"exists": snapshot.exists, "uid": claims["uid"]})
    return https_fn.Response(body, status=200, content_type="application/json")
