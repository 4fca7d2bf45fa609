"""Finding a phone number's hidden digits in any text an agent could be shown, whatever its formatting."""

from __future__ import annotations

import json
import re
from typing import Any

# Ids, hashes, tokens and signed URLs: long runs that hold a letter can never be a phone number's digits,
# and their random digits would otherwise match by chance.
OPAQUE = re.compile(r"[A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*")
# What people and providers put between a number's digits: +91 98473-81956, (984) 738.1956, 98473&nbsp;81956.
SEPARATORS = re.compile(r"(?:[\s\-.()/+]|\\u00a0|&nbsp;)+")
WINDOW = 5  # a mask shows 2 + 2 digits: any 5 consecutive digits of a 10-digit number include hidden ones


def windows(national: str, size: int = WINDOW) -> set[str]:
    """Every run of `size` consecutive digits of a number."""
    return {national[start : start + size] for start in range(len(national) - size + 1)}


def flatten(value: Any) -> str:
    """A value (a document, a body, a text) as one string with opaque tokens and digit separators removed."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    text = OPAQUE.sub(lambda found: found.group() if found.group().isdigit() else " ", text)
    return SEPARATORS.sub("", text)


def found(value: Any, secrets: dict[str, str]) -> list[str]:
    """The labels of the secret numbers (label -> national digits) of which value shows hidden digits."""
    flat = flatten(value)
    return sorted(label for label, national in secrets.items() if any(w in flat for w in windows(national)))
