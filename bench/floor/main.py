"""The cold-start floor of this SDK stack: the least an HTTPS function can be that verifies a Firebase ID
token and reads one Firestore document. Every deployed function is measured against it (bench.run).

`floorvalidated` is the same answering through a pydantic model, as every function of ours validates what it
answers: how low a JSON API that validates can start on this stack (bench.coldstart --instructions). It
imports pydantic in its first request, so the floor's own start is untouched.
"""

from __future__ import annotations

import functools
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


def _caller_member(req: https_fn.Request) -> tuple[dict[str, Any], Any] | None:
    """The bearer token's claims and the caller's member document; None when the token is not valid."""
    token = (req.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
    try:
        claims = auth.verify_id_token(token, app=_lazy_app())
    except ValueError:
        return None
    path = f"orgs/{claims.get('orgId')}/members/{claims['uid']}"
    return claims, firestore.client(_lazy_app()).document(path).get()


@https_fn.on_request()
def floor(req: https_fn.Request) -> https_fn.Response:
    """Verify the bearer token, read the caller's member document, answer it."""
    found = _caller_member(req)
    if found is None:
        return https_fn.Response(status=401)
    claims, snapshot = found
    body = json.dumps({"exists": snapshot.exists, "uid": claims["uid"]})
    return https_fn.Response(body, status=200, content_type="application/json")


@functools.cache
def _answer_model() -> Any:
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, StringConstraints

    class Answer(BaseModel):
        """The reply, validated as core.http's router validates every reply against its declared model."""

        model_config = ConfigDict(extra="forbid")

        exists: bool
        uid: Annotated[str, StringConstraints(min_length=1, max_length=128)]
        name: str | None = None

    return Answer


@https_fn.on_request()
def floorvalidated(req: https_fn.Request) -> https_fn.Response:
    """The floor's work, its answer validated and serialized by a pydantic model."""
    found = _caller_member(req)
    if found is None:
        return https_fn.Response(status=401)
    claims, snapshot = found
    name = (snapshot.to_dict() or {}).get("name")
    answer = _answer_model().model_validate({"exists": snapshot.exists, "uid": claims["uid"], "name": name})
    return https_fn.Response(answer.model_dump_json(), status=200, content_type="application/json")
