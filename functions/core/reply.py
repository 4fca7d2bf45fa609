"""What a handler answers, a value of its own so the router's middlewares (idempotency) need not import it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.secrets import Secret


@dataclass
class Reply:
    """What a handler answers: a JSON body (or raw text), a status and headers. `sealed`: top-level body fields
    that are secrets shown once (field -> the secret sealing them): an idempotency record keeps them only sealed."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    stream: Iterable[str] | None = None
    sealed: Mapping[str, Secret] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of a list (API.md's `{items, nextCursor}`): the router validates each item against the
    route's declared `items=` model."""

    items: Sequence[Any]
    next_cursor: str | None = None
