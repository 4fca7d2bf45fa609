"""Optimistic concurrency: every resource has `version`; a stale `If-Match` is a 412."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import stale_version


def check(stored: Mapping[str, Any] | int, expected: int | None) -> int:
    """The stored version (of a document, or the version itself), or 412 when If-Match names another one."""
    current = stored if isinstance(stored, int) else int(stored.get("version", 1))
    if expected is not None and expected != current:
        raise stale_version(current)
    return current
