"""Calling the real HTTPS functions in-process with as little harness as possible: one Flask app for the run
(tests.support.http.call builds one per call), a request context per call as the Functions runtime has."""

from __future__ import annotations

import importlib
import json
from functools import cache, lru_cache
from typing import Any

from tests.support.http import Response


@lru_cache(maxsize=1)
def _app() -> Any:
    from flask import Flask

    return Flask("bench")


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
    """Call `/function/sub/path?query` through the deployed function object (same signature as the tests')."""
    from flask import request

    location, _, query = path.partition("?")
    name, _, rest = location.lstrip("/").partition("/")
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
        response = _function(name)(request)
    text = response.get_data(as_text=True)
    body: Any = text
    if text and response.mimetype == "application/json":
        body = json.loads(text)
    return Response(response.status_code, body, dict(response.headers), text)
