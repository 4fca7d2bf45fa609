"""What every provider client shares: the error a call ends in, retries with backoff, and scrubbed reasons.

5xx answers, timeouts and connection errors are retryable; anything else fails at once with the provider's
reason, which is stored and shown, so it never carries a phone number."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

USER_AGENT = "JustoLead/1.0"


class ProviderError(Exception):
    """A call the provider refused or that never got through; reason is safe to store and show."""

    def __init__(self, reason: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status  # the provider's HTTP status, when it answered


def with_retries(
    attempt: Callable[[], Any], *, attempts: int, backoff_sec: float, sleep: Callable[[float], None] = time.sleep
) -> Any:
    """Run attempt until it succeeds or fails for good; retryable failures wait backoff * 2^n between tries."""
    for number in range(attempts):
        try:
            return attempt()
        except ProviderError as error:
            if not error.retryable or number == attempts - 1:
                raise
        sleep(backoff_sec * (2**number))
    raise ProviderError("no attempt was made")  # pragma: no cover - attempts >= 1


def reason(status: int, payload: Any) -> str:
    """A short reason from a provider's error body (Plivo `error`, Graph `error.message`)."""
    detail = ""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            detail = str(error.get("message") or error.get("code") or "")
        elif error:
            detail = str(error)
    return f"provider refused ({status}){': ' + scrub(detail)[:200] if detail else ''}"


def scrub(text: str) -> str:
    """A provider's text without phone numbers (reasons are stored and shown to agents)."""
    return re.sub(r"\+?\d[\d -]{6,}\d", "[number]", text)


def call_json(
    method: str, url: str, *, headers: dict[str, str], timeout: float, content: bytes | None = None, empty: Any = None
) -> Any:
    """One HTTP call to a provider: 2xx -> its JSON (`empty` when it has none), 5xx or a timeout -> a retryable
    ProviderError, any other status -> a final one naming the provider's reason."""
    import httpx

    try:
        response = httpx.request(method, url, headers=headers, content=content, timeout=timeout)
    except httpx.TimeoutException as error:
        raise ProviderError("provider timed out", retryable=True) from error
    except httpx.TransportError as error:
        raise ProviderError("provider unreachable", retryable=True) from error
    if response.status_code >= 500:
        raise ProviderError(f"provider error {response.status_code}", retryable=True, status=response.status_code)
    try:
        payload = response.json()
    except ValueError:
        payload = empty
    if response.status_code >= 300:
        raise ProviderError(reason(response.status_code, payload), status=response.status_code)
    return payload
