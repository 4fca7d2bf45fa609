"""Search tokens stored on leads (`searchTokens`, queried with array-contains, so newest-first order holds).

Tokens are keyed hashes, never the text: in an organization that masks numbers the lead document must not
reveal a phone number, and prefixes of it would.

Where the organization masks numbers, a lead carries the tokens of its full numbers only (national, and
with the country code), never of their prefixes. A prefix token would be an oracle twice over: `?q=984`
answering whether the hidden digits start with 4, and the token itself, on the lead document the agent's
listener reads, compared with the tokens of a lead the agent created with a number of its choosing. With
full-number tokens only, a phone query finds a lead exactly when it names the whole number, which tells
nothing the number itself does not (and two leads never share a number: the contact keys are unique).
Everyone in such an organization searches phones by the full number; names keep their prefix search.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Callable

from core import secrets
from core.ids import keyed_hasher
from leads.phones import digits

NAME_PREFIX_MAX = 20
PHONE_PREFIX_MIN = 3


TOKEN_LENGTH = 20

# One HMAC state per search: the key is read and scheduled once, not for each of a lead's ~50 tokens.
Hasher = Callable[[str], hmac.HMAC]


def _hasher() -> Hasher:
    return keyed_hasher(secrets.value(secrets.SEARCH_KEY), "lead-search:")


def _token(hasher: Hasher, kind: str, value: str) -> str:
    return hasher(f"{kind}:{value}").hexdigest()[:TOKEN_LENGTH]


def _prefix_tokens(hasher: Hasher, kind: str, text: str, first: int, last: int) -> set[str]:
    """Tokens of text[:first] .. text[:last], feeding one running HMAC a character at a time: the digest of
    each prefix without rehashing the characters before it (UTF-8 of a concatenation is the concatenation)."""
    if last < first:
        return set()
    running = hasher(f"{kind}:{text[:first]}")
    tokens = {running.hexdigest()[:TOKEN_LENGTH]}
    for char in text[first:last]:
        running.update(char.encode())
        tokens.add(running.hexdigest()[:TOKEN_LENGTH])
    return tokens


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text
    return re.sub(r"\s+", " ", folded.lower()).strip()


def name_tokens(name: str, *, hasher: Hasher | None = None) -> set[str]:
    """Prefixes of the whole name and of each word."""
    hasher = hasher or _hasher()
    folded = _fold(name)
    tokens: set[str] = set()
    for part in [folded, *folded.split(" ")]:
        tokens |= _prefix_tokens(hasher, "n", part, 1, min(len(part), NAME_PREFIX_MAX))
    return tokens


def phone_tokens(e164: str, national: str, *, masked: bool = False, hasher: Hasher | None = None) -> set[str]:
    """Prefixes (3+ digits) of the national number and of the number with its country code; the two full
    numbers only where the organization masks numbers."""
    hasher = hasher or _hasher()
    tokens: set[str] = set()
    for number in (digits(national), digits(e164)):
        tokens |= _prefix_tokens(hasher, "p", number, len(number) if masked else PHONE_PREFIX_MIN, len(number))
    return tokens


def lead_tokens(name: str, phones: list[tuple[str, str]], *, masked: bool = False) -> list[str]:
    """All tokens of a lead: its name and its phones given as (e164, national), masked as phone_tokens."""
    hasher = _hasher()
    tokens = name_tokens(name, hasher=hasher)
    for e164, national in phones:
        tokens |= phone_tokens(e164, national, masked=masked, hasher=hasher)
    return sorted(tokens)


def query_token(q: str) -> str:
    """The one token a search string looks up: phone digits when it is a number, else a name prefix."""
    text = q.strip()
    if re.fullmatch(r"[\d\s()+-]+", text) and len(digits(text)) >= PHONE_PREFIX_MIN:
        return _token(_hasher(), "p", digits(text))
    return _token(_hasher(), "n", _fold(text)[:NAME_PREFIX_MAX])
