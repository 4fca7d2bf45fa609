"""Search tokens stored on leads (`searchTokens`, queried with array-contains, so newest-first order holds).

Tokens are keyed hashes, never the text: in an organization that masks numbers the lead document must not
reveal a phone number, and prefixes of it would.
"""

from __future__ import annotations

import re
import unicodedata

from core import secrets
from core.ids import keyed_hash
from leads.phones import digits

NAME_PREFIX_MAX = 20
PHONE_PREFIX_MIN = 3


def _token(kind: str, value: str) -> str:
    return keyed_hash(secrets.value(secrets.SEARCH_KEY), f"lead-search:{kind}:{value}")[:20]


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text
    return re.sub(r"\s+", " ", folded.lower()).strip()


def name_tokens(name: str) -> set[str]:
    """Prefixes of the whole name and of each word."""
    folded = _fold(name)
    tokens: set[str] = set()
    for part in [folded, *folded.split(" ")]:
        for end in range(1, min(len(part), NAME_PREFIX_MAX) + 1):
            tokens.add(_token("n", part[:end]))
    return tokens


def phone_tokens(e164: str, national: str) -> set[str]:
    """Prefixes (3+ digits) of the national number and of the number with its country code."""
    tokens: set[str] = set()
    for number in (digits(national), digits(e164)):
        for end in range(PHONE_PREFIX_MIN, len(number) + 1):
            tokens.add(_token("p", number[:end]))
    return tokens


def lead_tokens(name: str, phones: list[tuple[str, str]]) -> list[str]:
    """All tokens of a lead: its name and its phones given as (e164, national)."""
    tokens = name_tokens(name)
    for e164, national in phones:
        tokens |= phone_tokens(e164, national)
    return sorted(tokens)


def query_token(q: str) -> str:
    """The one token a search string looks up: phone digits when it is a number, else a name prefix."""
    text = q.strip()
    if re.fullmatch(r"[\d\s()+-]+", text) and len(digits(text)) >= PHONE_PREFIX_MIN:
        return _token("p", digits(text))
    return _token("n", _fold(text)[:NAME_PREFIX_MAX])
