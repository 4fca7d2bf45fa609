"""Deployment options shared by every function: region, memory, secrets."""

from __future__ import annotations

from typing import Any

from core.settings import REGION

_MEMORY_NAMES = {256: "MB_256", 512: "MB_512", 1024: "GB_1", 2048: "GB_2"}


def https_options(*, secrets: tuple[str, ...] = (), memory_mb: int = 256, timeout_sec: int = 60) -> dict[str, Any]:
    """Keyword arguments for `https_fn.on_request`."""
    from firebase_functions import options

    return {
        "region": REGION,
        "memory": getattr(options.MemoryOption, _MEMORY_NAMES[memory_mb]),
        "timeout_sec": timeout_sec,
        "secrets": list(secrets) or None,
        "invoker": "public",
    }
