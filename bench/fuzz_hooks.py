"""Schemathesis hooks for the bounded e2e fuzz run (SCHEMATHESIS_HOOKS=bench.fuzz_hooks).

KNOWN BUG, filtered here only: ids that Firestore refuses as document ids (`__main__`, `.`, `..`, empty, or
holding `/`) taken from a path or a body reach document paths unvalidated and answer 500 on about every
operation with an id. Until core validates ids in one place, the bounded run skips such cases so it can
catch every other 5xx and schema mismatch; `make fuzz` (bench.fuzz --long) runs without this filter.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis

_RESERVED = re.compile(r"^__.*__$")


def refused_by_firestore(value: Any) -> bool:
    """True for a string Firestore would refuse as a document id."""
    if not isinstance(value, str):
        return False
    return value in {"", ".", ".."} or "/" in value or bool(_RESERVED.match(value)) or len(value.encode()) > 1500


def _ids_in(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        return []
    found: list[Any] = []
    for key, value in body.items():
        if key.endswith("Id"):
            found.append(value)
        elif key.endswith("Ids") and isinstance(value, list):
            found.extend(value)
    return found


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Drop cases that carry an id Firestore refuses (the known bug above)."""
    values = list((case.path_parameters or {}).values()) + _ids_in(case.body)
    return not any(refused_by_firestore(value) for value in values)
