"""Cursor pagination: a page reads at most `limit` documents; the cursor is opaque to clients."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from pydantic import Field

from core.errors import invalid
from core.models import ApiModel

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(ApiModel):
    """`?limit=&cursor=`."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size, 1-200")
    cursor: str | None = Field(None, description="Opaque cursor from the previous page's nextCursor")


def encode_cursor(value: Any, doc_id: str) -> str:
    """An opaque cursor after (order value, document id)."""
    payload = {"t": value.isoformat(), "id": doc_id} if isinstance(value, datetime) else {"v": value, "id": doc_id}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, str]:
    """(order value, document id) of a cursor, or 400."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
        value = datetime.fromisoformat(payload["t"]) if "t" in payload else payload["v"]
        return value, str(payload["id"])
    except (ValueError, KeyError, TypeError) as error:
        raise invalid("cursor", "not a cursor this API issued") from error


def page(
    query: Any, *, order_field: str, limit: int, cursor: str | None, descending: bool = True
) -> tuple[list[Any], str | None]:
    """Run query ordered by order_field (then document id) for one page: (snapshots, nextCursor)."""
    from google.cloud.firestore import Query
    from google.cloud.firestore_v1.field_path import FieldPath

    direction = Query.DESCENDING if descending else Query.ASCENDING
    ordered = query.order_by(order_field, direction=direction).order_by(FieldPath.document_id(), direction=direction)
    if cursor:
        value, doc_id = decode_cursor(cursor)
        parent = getattr(query, "_parent", query)  # a Query's collection, or the collection itself
        ordered = ordered.start_after({order_field: value, FieldPath.document_id(): parent.document(doc_id)})
    snapshots = list(ordered.limit(limit).stream())
    next_cursor = None
    if len(snapshots) == limit:
        last = snapshots[-1]
        next_cursor = encode_cursor(last.get(order_field), last.id)
    return snapshots, next_cursor
