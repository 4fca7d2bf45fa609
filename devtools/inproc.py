"""Calling the real HTTPS functions in-process, as the Functions runtime would (flask requests).

One Flask app for the process and a request context per call. It lives outside tests/ so the HTTP tests and
the benchmarks (bench/) share it without bench importing test code."""

from __future__ import annotations

import base64
import importlib
import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

PROJECT = "demo-justo"


@dataclass
class Response:
    """What the app would receive."""

    status: int
    body: Any
    headers: dict[str, str]
    text: str

    @property
    def error(self) -> dict[str, Any]:
        """The error object of an error body."""
        return dict(self.body["error"])


@cache
def _app() -> Any:
    from flask import Flask

    return Flask("inprocess")


@cache
def _function(name: str) -> Any:
    from registry import EMULATOR_ONLY, FUNCTIONS

    return getattr(importlib.import_module((FUNCTIONS | EMULATOR_ONLY)[name]), name)


def call(
    method: str,
    path: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    data: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    content_type: str | None = None,
) -> Response:
    """Call `/function/sub/path?query` through the deployed function object."""
    from flask import request

    location, _, query = path.partition("?")
    function_name, _, rest = location.lstrip("/").partition("/")
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {"method": method, "headers": all_headers, "query_string": query}
    if json_body is not None:
        kwargs["json"] = json_body
    elif data is not None:
        kwargs["data"] = data
        kwargs["content_type"] = content_type or "application/octet-stream"
    with _app().test_request_context("/" + rest, **kwargs):
        response = _function(function_name)(request)
    text = response.get_data(as_text=True)
    try:
        body = json.loads(text) if text and response.mimetype == "application/json" else text
    except json.JSONDecodeError:
        body = text
    return Response(response.status_code, body, dict(response.headers), text)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def id_token(uid: str, claims: dict[str, Any], *, iat: int | None = None) -> str:
    """An unsigned Firebase ID token of the kind the Auth emulator issues."""
    issued = int(time.time()) - 5 if iat is None else iat
    payload = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "sub": uid,
        "user_id": uid,
        "iat": issued,
        "auth_time": issued,
        "exp": issued + 3600,
        "firebase": {"sign_in_provider": "custom", "identities": {}},
        **claims,
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
