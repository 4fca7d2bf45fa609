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


def phone_tokens(e164: str, national: str, *, masked: bool = False) -> set[str]:
    """Prefixes (3+ digits) of the national number and of the number with its country code; the two full
    numbers only where the organization masks numbers."""
    tokens: set[str] = set()
    for number in (digits(national), digits(e164)):
        first = len(number) if masked else PHONE_PREFIX_MIN
        for end in range(first, len(number) + 1):
            tokens.add(_token("p", number[:end]))
    return tokens


def lead_tokens(name: str, phones: list[tuple[str, str]], *, masked: bool = False) -> list[str]:
    """All tokens of a lead: its name and its phones given as (e164, national), masked as phone_tokens."""
    tokens = name_tokens(name)
    for e164, national in phones:
        tokens |= phone_tokens(e164, national, masked=masked)
    return sorted(tokens)


def query_token(q: str) -> str:
    """The one token a search string looks up: phone digits when it is a number, else a name prefix."""
    text = q.strip()
    if re.fullmatch(r"[\d\s()+-]+", text) and len(digits(text)) >= PHONE_PREFIX_MIN:
        return _token("p", digits(text))
    return _token("n", _fold(text)[:NAME_PREFIX_MAX])
