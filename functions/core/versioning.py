"""Optimistic concurrency: every resource has `version`; a stale `If-Match` is a 412."""

from __future__ import annotations

from typing import Any

from core.errors import stale_version


def check(stored: dict[str, Any], expected: int | None) -> int:
    """The stored version, or 412 when the caller's If-Match names another one."""
    current = int(stored.get("version", 1))
    if expected is not None and expected != current:
        raise stale_version(current)
    return current
