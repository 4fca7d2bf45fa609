"""The benchmarks' own emulator: a Firestore jar on a free port (no fixed ports, so it never fights the
whole-suite stack other people run), the demo seed, and tokens for the seeded members."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
FUNCTIONS_PYTHON = FUNCTIONS / "venv" / "bin" / "python"
PROJECT = "demo-justo"
# Unsigned emulator ID tokens are accepted whenever an Auth emulator host is configured; nothing listens here.
NO_AUTH_EMULATOR = "127.0.0.1:9"

for path in (str(ROOT), str(FUNCTIONS)):
    if path not in sys.path:
        sys.path.insert(0, path)


def function_env(firestore_host: str) -> dict[str, str]:
    """Environment of a function process as the Functions emulator gives it (minus its port)."""
    return {
        "GCLOUD_PROJECT": PROJECT,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": NO_AUTH_EMULATOR,
        "FUNCTIONS_EMULATOR": "true",
        "JUSTO_ENV": "local",
        "FUNCTION_SIGNATURE_TYPE": "http",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "METADATA_SERVER_DETECTION": "none",
    }


def reset_process_state() -> None:
    """Forget clients, settings and cached documents built for another emulator or environment."""
    import firebase_admin

    from core import clients, settings, tenancy

    with contextlib.suppress(ValueError):
        firebase_admin.delete_app(firebase_admin.get_app())
    clients.firebase_app.cache_clear()
    clients.reset()
    settings.reset()
    tenancy.cache.clear()


@contextlib.contextmanager
def firestore() -> Iterator[str]:
    """A seeded Firestore emulator on a free port, wired into this process; yields host:port."""
    from devtools import emulators, seed

    emulator = emulators.firestore(rules=None).start()
    saved = dict(os.environ)
    try:
        os.environ.update({k: v for k, v in function_env(emulator.host).items() if k != "FUNCTION_SIGNATURE_TYPE"})
        os.environ.pop("FUNCTIONS_EMULATOR", None)
        reset_process_state()
        seed.seed()
        yield emulator.host
    finally:
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved)


def token(uid: str) -> str:
    """An emulator ID token for a seeded member, with the claims its record implies."""
    from devtools.inproc import id_token
    from devtools.seed import ORGS

    for org in ORGS:
        for member_uid, _email, _name, role, team, _active in org["members"]:
            if member_uid == uid:
                return id_token(uid, {"orgId": org["id"], "role": role, "teamId": team})
    raise KeyError(uid)


def has_function(name: str) -> bool:
    """True when the registry deploys a function of that name (features land while the harness exists)."""
    from registry import FUNCTIONS as DEPLOYED

    return name in DEPLOYED


def seeded_member(uid: str) -> dict[str, Any]:
    """The seed's tuple for uid as a mapping."""
    from devtools.seed import ORGS

    for org in ORGS:
        for member_uid, email, name, role, team, active in org["members"]:
            if member_uid == uid:
                return {
                    "orgId": org["id"],
                    "email": email,
                    "name": name,
                    "role": role,
                    "teamId": team,
                    "active": active,
                }
    raise KeyError(uid)


# The Node socket errors the Functions emulator answers with when it loses or cannot reach a function's worker.
EMULATOR_SOCKET_ERRORS = frozenset({"ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"})


def emulator_socket_error(body: str) -> bool:
    """True when a 5xx body is the Functions emulator's own `{"code": "ECONNRESET", "errno": ..., ...}` (its
    keys in any order), which our handlers never send: they answer API.md's `{"error": {...}}`."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "error" not in answer and answer.get("code") in EMULATOR_SOCKET_ERRORS
