"""End to end on the Emulator Suite: log in with the emailed code and call the API as the app does."""

from __future__ import annotations

import re

import httpx
import pytest

from devtools import stack

pytestmark = pytest.mark.e2e


def _code(base: str, email: str) -> str:
    outbox = httpx.get(f"{base}/dev/outbox", params={"to": email}, timeout=30).json()["items"]
    found = re.search(r"\b(\d{6})\b", outbox[0]["subject"])
    assert found, outbox
    return found.group(1)


def _id_token(custom_token: str) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{stack.PORTS['auth']}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=any",
        json={"token": custom_token, "returnSecureToken": True},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["idToken"])


@pytest.mark.parametrize(
    "email, role",
    [
        ("admin@demo.example.com", "admin"),
        ("manager@demo.example.com", "manager"),
        ("agent1@demo.example.com", "agent"),
        ("agent2@demo.example.com", "agent"),
        ("agent3@demo.example.com", "agent"),
        ("rm@demo.example.com", "rm"),
        ("admin@acme.example.com", "admin"),
        ("agent1@acme.example.com", "agent"),
    ],
)
def test_every_seeded_active_member_logs_in_and_reads_its_profile(suite: str, email: str, role: str) -> None:
    assert httpx.post(f"{suite}/auth/otp/request", json={"email": email}, timeout=30).status_code == 202
    verified = httpx.post(f"{suite}/auth/otp/verify", json={"email": email, "code": _code(suite, email)}, timeout=30)
    assert verified.status_code == 200, verified.text
    token = _id_token(verified.json()["customToken"])
    me = httpx.get(f"{suite}/members/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email and me.json()["role"] == role


@pytest.mark.parametrize("email", ["former@demo.example.com", "admin@lapsed.example.com", "nobody@demo.example.com"])
def test_deactivated_lapsed_and_unknown_get_202_and_no_code(suite: str, email: str) -> None:
    assert httpx.post(f"{suite}/auth/otp/request", json={"email": email}, timeout=30).status_code == 202
    assert httpx.get(f"{suite}/dev/outbox", params={"to": email}, timeout=30).json()["items"] == []
    guess = httpx.post(f"{suite}/auth/otp/verify", json={"email": email, "code": "123456"}, timeout=30)
    assert guess.status_code == 401


def test_missing_token_is_401_through_the_emulator(suite: str) -> None:
    response = httpx.get(f"{suite}/members/me", timeout=30)
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHENTICATED"
