"""Calling the real HTTPS functions in-process, as the Functions runtime would (flask requests)."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any


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
    from flask import Flask, request

    from registry import EMULATOR_ONLY, FUNCTIONS

    location, _, query = path.partition("?")
    function_name, _, rest = location.lstrip("/").partition("/")
    sub_path = "/" + rest
    module = (FUNCTIONS | EMULATOR_ONLY)[function_name]
    function = getattr(importlib.import_module(module), function_name)
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    app = Flask("test")
    kwargs: dict[str, Any] = {"method": method, "headers": all_headers, "query_string": query}
    if json_body is not None:
        kwargs["json"] = json_body
    elif data is not None:
        kwargs["data"] = data
        kwargs["content_type"] = content_type or "application/octet-stream"
    with app.test_request_context(sub_path, **kwargs):
        response = function(request)
    text = response.get_data(as_text=True)
    try:
        body = json.loads(text) if text and response.mimetype == "application/json" else text
    except json.JSONDecodeError:
        body = text
    return Response(response.status_code, body, dict(response.headers), text)
