"""Turning stored Firestore values into API JSON: camelCase keys stay, datetimes become RFC 3339."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.clock import rfc3339


def to_json(value: Any) -> Any:
    """Recursively convert datetimes (and Firestore timestamps) to RFC 3339 strings."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value
