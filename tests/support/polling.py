"""Waiting for what the emulators do in the background (triggers, Cloud Tasks) to show."""

from __future__ import annotations

import time
from typing import Any


def wait_for(what: Any, timeout: float = 45.0) -> Any:
    """The first truthy result of `what()`, polled every half second; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("timed out waiting")
