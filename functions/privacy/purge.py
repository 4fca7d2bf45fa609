"""Finding and deleting documents in batches: whole subtrees, or everything a query matches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from core import clients

BATCH_SIZE = 400  # under Firestore's 500 writes per batch


def subtree(ref: Any) -> Iterator[Any]:
    """Every document under ref's subcollections (depth first), then ref itself."""
    for collection in ref.collections():
        for child in collection.list_documents():
            yield from subtree(child)
    yield ref


def delete_refs(refs: Iterable[Any]) -> int:
    """Delete documents in batches of BATCH_SIZE; returns how many were deleted (or absent)."""
    db = clients.db()
    batch, pending, total = db.batch(), 0, 0
    for ref in refs:
        batch.delete(ref)
        pending += 1
        if pending == BATCH_SIZE:
            batch.commit()
            total += pending
            batch, pending = db.batch(), 0
    if pending:
        batch.commit()
        total += pending
    return total


def delete_matching(query: Any, *, max_batches: int = 10_000) -> int:
    """Delete every document query matches, a batch at a time (ids only are read)."""
    total = 0
    for _ in range(max_batches):
        refs = [snapshot.reference for snapshot in query.select([]).limit(BATCH_SIZE).stream()]
        if not refs:
            break
        total += delete_refs(refs)
        if len(refs) < BATCH_SIZE:
            break
    return total
