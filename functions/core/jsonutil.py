"""JSON both ways: stored Firestore values into API JSON (camelCase keys stay, datetimes become RFC 3339), and
the JSON a client sends, read with bounds so that no body can make a handler fail."""

from __future__ import annotations

import json
import math
import re
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


# ---- reading JSON a client sent ----------------------------------------------------------------

MAX_DEPTH = 32  # the deepest API body is a few levels; webhook deliveries about 8
MAX_NUMBER_CHARS = 40  # longer numerals are refused before Python converts them (quadratic for huge ints)
_INT64 = (-(2**63), 2**63 - 1)
_CONTAINERS = (dict, list)
# a surrogate escape, or a surrogate encoded as UTF-8 (json.loads decodes bytes with "surrogatepass")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


class _OutOfRange:
    """Stands in for a number no field can hold (NaN, Infinity, 1e999, a 5,000-digit integer) until the
    walk below names where it was."""


_OUT_OF_RANGE = _OutOfRange()


def _int(numeral: str) -> int | _OutOfRange:
    if len(numeral) > MAX_NUMBER_CHARS:
        return _OUT_OF_RANGE
    value = int(numeral)
    return value if _INT64[0] <= value <= _INT64[1] else _OUT_OF_RANGE


def _float(numeral: str) -> float | _OutOfRange:
    value = float(numeral)
    return value if math.isfinite(value) else _OUT_OF_RANGE


def _constant(name: str) -> _OutOfRange:
    """NaN, Infinity and -Infinity: Python's json reads them, JSON has no such numbers."""
    return _OUT_OF_RANGE


def _unencodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _path(parts: tuple[str | int, ...], root: str) -> str:
    return ".".join(str(part) for part in parts) or root


def parse_client_json(data: bytes | str, *, root: str = "body") -> Any:
    """JSON a client sent, bounded: 400 naming where it nests deeper than MAX_DEPTH, holds a number no field
    can store (NaN, Infinity, 1e999, beyond 64 bits, more than MAX_NUMBER_CHARS characters) or text that is
    not Unicode (a lone surrogate); 400 on what is not JSON at all. Never any other exception."""
    from core.errors import invalid

    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    out_of_range = False

    def number(convert: Any) -> Any:
        def hook(numeral: str) -> Any:
            nonlocal out_of_range
            value = convert(numeral)
            out_of_range = out_of_range or value is _OUT_OF_RANGE
            return value

        return hook

    try:
        payload = json.loads(raw, parse_int=number(_int), parse_float=number(_float), parse_constant=number(_constant))
    except RecursionError:
        raise invalid(root, f"nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise invalid(root, "not valid JSON") from error
    # The walk costs time on big bodies: only when a hook saw a bad number, a surrogate escape is present,
    # or there are enough brackets to nest too deep.
    if out_of_range or _SURROGATE.search(raw):
        _walk(payload, root)
    elif raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        _check_depth(payload, root)
    return payload


def _check_depth(payload: Any, root: str) -> None:
    """400 naming the top-level field under which a parsed body nests deeper than MAX_DEPTH."""
    from core.errors import invalid

    level: list[tuple[str | int | None, Any]] = [(None, payload)]
    for _ in range(MAX_DEPTH):
        deeper: list[tuple[str | int | None, Any]] = []
        for top, value in level:
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
            deeper.extend((key if top is None else top, item) for key, item in items if isinstance(item, _CONTAINERS))
        if not deeper:
            return
        level = deeper
    raise invalid(root if level[0][0] is None else str(level[0][0]), f"nested more than {MAX_DEPTH} levels deep")


def _walk(payload: Any, root: str) -> None:
    """400 naming the first place a parsed body nests too deep, holds an out-of-range number or bad text."""
    from core.errors import invalid

    stack: list[tuple[tuple[str | int, ...], Any]] = [((), payload)]
    while stack:
        parts, value = stack.pop()
        if len(parts) >= MAX_DEPTH and isinstance(value, _CONTAINERS):
            raise invalid(_path(parts[:1], root), f"nested more than {MAX_DEPTH} levels deep")
        if value is _OUT_OF_RANGE:
            raise invalid(_path(parts, root), "a number out of range (finite, at most 64-bit integers)")
        if isinstance(value, str) and _unencodable(value):
            raise invalid(_path(parts, root), "not valid Unicode text (a lone surrogate)")
        if isinstance(value, dict):
            for key, item in value.items():
                if _unencodable(key):
                    raise invalid(_path(parts, root), "a key that is not valid Unicode text")
                stack.append(((*parts, key), item))
        elif isinstance(value, list):
            stack.extend(((*parts, index), item) for index, item in enumerate(value))
