"""Cursor pagination: a page reads at most `limit` documents; the cursor is opaque to clients."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from core.errors import ApiError, invalid
from core.jsonutil import parse_client_json
from core.models import ApiModel, valid_doc_id

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


MAX_CURSOR_LENGTH = 2000  # what encode_cursor issues is far shorter


def decode_cursor(cursor: str) -> tuple[Any, str]:
    """(order value, document id) of a cursor this API issued, or 400 naming `cursor`: the id must be one
    Firestore can hold and the value one it can compare (a time, text, a 64-bit number, a bool or null)."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = parse_client_json(base64.urlsafe_b64decode(padded.encode("ascii")), root="cursor")
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not valid_doc_id(payload["id"]):
            raise ValueError("no document id")
        value = _order_value(payload)
    except (ValueError, TypeError, OverflowError, ApiError) as error:  # binascii.Error, UnicodeError: ValueErrors
        raise invalid("cursor", "not a cursor this API issued") from error
    return value, payload["id"]


def _order_value(payload: dict[str, Any]) -> Any:
    if "t" in payload:
        moment = datetime.fromisoformat(str(payload["t"]))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)  # OverflowError past year 9999 in UTC
    value = payload.get("v")
    if value is None or isinstance(value, bool | int | float):  # parse_client_json bounded the numbers
        return value
    if isinstance(value, str) and len(value.encode()) <= 1500:
        return value
    raise ValueError("not an order value")


def _valid_cursor(cursor: str) -> str:
    decode_cursor(cursor)
    return cursor


# Checked when the query is read, so a forged cursor is a 400 naming `cursor` before any read.
Cursor = Annotated[str, StringConstraints(max_length=MAX_CURSOR_LENGTH), AfterValidator(_valid_cursor)]


class PageQuery(ApiModel):
    """`?limit=&cursor=`."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size, 1-200")
    cursor: Cursor | None = Field(None, description="Opaque cursor from the previous page's nextCursor")


def encode_cursor(value: Any, doc_id: str) -> str:
    """An opaque cursor after (order value, document id)."""
    payload = {"t": value.isoformat(), "id": doc_id} if isinstance(value, datetime) else {"v": value, "id": doc_id}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


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
