"""Logging in as the app does, through the real `auth` handler and the Auth emulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devtools.inproc import call
from tests.support.outbox import latest_code


@dataclass(frozen=True)
class Login:
    """What a login hands the app: the verify body, its custom token and the ID token signed in with it."""

    body: dict[str, Any]
    custom_token: str
    id_token: str


def sign_in(custom_token: str, auth_host: str) -> Any:
    """signInWithCustomToken at the Auth emulator, as the app calls it; the raw httpx response."""
    import httpx

    return httpx.post(
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=any",
        json={"token": custom_token, "returnSecureToken": True},
        timeout=30,
    )


def exchange(custom_token: str, auth_host: str) -> str:
    """The ID token of a custom token (the sign-in must succeed)."""
    response = sign_in(custom_token, auth_host)
    response.raise_for_status()
    return str(response.json()["idToken"])


def login(email: str, auth_host: str, *, client: str | None = None) -> Login:
    """Request a code, read it from the outbox, verify it, sign in with the custom token."""
    headers = {"X-Forwarded-For": client} if client else None
    assert call("POST", "/auth/otp/request", json_body={"email": email}, headers=headers).status == 202
    body = {"email": email, "code": latest_code(email)}
    verified = call("POST", "/auth/otp/verify", json_body=body, headers=headers)
    assert verified.status == 200, verified.body
    custom = str(verified.body["customToken"])
    return Login(verified.body, custom, exchange(custom, auth_host))
