"""The report counters in Firestore: server-only day documents, sharded, applied once per event.

`orgs/{orgId}/reportDays/{day}-{shard}`: `{day, shard, dims {cellKey: Dims}, cells {cellKey: {metric: n}}}`,
one document per organization day and shard. An event's increments all go to the shard its id hashes to, so
a burst (a 10,000-row import, a portal's burst) spreads over SHARDS documents per day instead of queueing on
one; a read sums the shards. Once a day is over the nightly check folds its shards into shard 0 (`compact`).
A range of days is read in queries on `day` of at most WINDOW_DAYS days, billed one read per stored document
(one for a window with none): one per folded day, at most SHARDS for today and yesterday, whatever the number
of leads.

Once per event (core.once): the increments and a marker `orgs/{orgId}/reportEvents/{hash of the event id}` are
one batch whose marker is created, so a redelivered event commits nothing.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from core import clients, once, tenancy, transactions
from core.ids import sha256_hex
from reports.counting import Cells, Dims

log = logging.getLogger("justo")

# 32: the 50-user load test (bench/README.md) put 3.7 writes/s (60 s) and 4.7/s (10 s) on one organization
# day's shards together while CPU-bound on 2 cores, i.e. 0.9-1.2/s on each of 4 and at most 0.2-0.5/s on each
# of 32; an unstarved 50-seat team or an import goes faster. The nightly check folds a finished day's shards
# into one (`compact`), so only the last two days cost up to SHARDS reads each.
SHARDS = 32
FOLD_ATTEMPTS = 8  # a finished day is rarely written; a fold losing this often to late events leaves the shards
BATCH_LIMIT = 450  # Firestore's 500 writes per batch, with room for the marker
WINDOW_DAYS = 31  # days per query of a report's read: a year is 12 short streams, not one long one


def cell_key(dims: Dims) -> str:
    """The stored key of a cell's dimensions (a hash: member and source ids never become field paths)."""
    return sha256_hex("cell", json.dumps(dims.document(), sort_keys=True))[:16]


def shard_of(event_id: str) -> int:
    """The shard an event's increments go to."""
    return int(sha256_hex("shard", event_id)[:8], 16) % SHARDS


def days_ref(org_id: str) -> Any:
    """The organization's counter documents."""
    return tenancy.org_ref(org_id).collection("reportDays")


def day_ref(org_id: str, day: str, shard: int) -> Any:
    """One day's shard."""
    return days_ref(org_id).document(f"{day}-{shard}")


def marker_ref(org_id: str, event_id: str) -> Any:
    """The marker of an applied event."""
    return tenancy.org_ref(org_id).collection("reportEvents").document(sha256_hex("report-event", event_id)[:32])


def _by_day(cells: Cells) -> dict[str, dict[str, tuple[Dims, Counter[str]]]]:
    out: dict[str, dict[str, tuple[Dims, Counter[str]]]] = {}
    for (day, dims), counts in cells.items():
        out.setdefault(day, {})[cell_key(dims)] = (dims, counts)
    return out


def day_writes(cells: Cells) -> list[tuple[str, dict[str, Any]]]:
    """(day, merge-set document with Increment transforms) per day the cells touch."""
    from google.cloud import firestore

    writes = []
    for day, keyed in sorted(_by_day(cells).items()):
        writes.append(
            (
                day,
                {
                    "day": day,
                    "dims": {key: dims.document() for key, (dims, _) in keyed.items()},
                    "cells": {
                        key: {metric: firestore.Increment(n) for metric, n in counts.items()}
                        for key, (_, counts) in keyed.items()
                    },
                },
            )
        )
    return writes


def apply(org_id: str, event_id: str, cells: Cells, *, shard: int | None = None) -> bool:
    """Add the cells' counts once for this event; False when the event was applied before (or adds nothing)."""
    if not cells:
        return False
    writes = day_writes(cells)
    if len(writes) > BATCH_LIMIT:  # a lead document holds at most 100 dated entries: never in practice
        raise ValueError(f"one event touches {len(writes)} days")
    index = shard_of(event_id) if shard is None else shard
    return once.commit(
        marker_ref(org_id, event_id),
        [(day_ref(org_id, day, index), {**document, "shard": index}) for day, document in writes],
    )


def compact(org_id: str, day: str) -> int:
    """Fold a finished day's shards into shard 0 in one transaction, so a report over past days reads one
    document per day; the number of shard documents removed. An increment racing it waits for it or lands
    after it in a shard (re)created by its merge-set: reads sum every shard of a day, so none is lost."""
    from google.cloud import firestore

    query = days_ref(org_id).where(filter=clients.where("day", "==", day))
    target = day_ref(org_id, day, 0)

    @firestore.transactional
    def fold(transaction: Any) -> int:
        shards = list(transaction.get(query))
        others = [s for s in shards if s.reference.path != target.path]
        if not others:
            return 0
        cells: Cells = {}
        for snapshot in shards:
            add_document(cells, snapshot.to_dict() or {})
        keyed = _by_day(cells).get(day, {})
        transaction.set(
            target,
            {
                "day": day,
                "shard": 0,
                "dims": {key: dims.document() for key, (dims, _) in keyed.items()},
                "cells": {key: dict(counts) for key, (_, counts) in keyed.items()},
            },
        )
        for snapshot in others:
            transaction.delete(snapshot.reference)
        return len(others)

    try:
        removed: int = fold(clients.db().transaction(max_attempts=FOLD_ATTEMPTS))
    except Exception as error:
        # writers kept winning, or a read inside the fold aborted by a writer's lock: the fold is not worth
        # contending for (transactions.run's rounds), so the shards wait for the next night
        if not transactions.lost(error):
            raise
        log.warning("report shards of %s %s not folded: busy", org_id, day)  # reads still sum every shard
        return 0
    return removed


def read(org_id: str, first: str, last: str) -> Cells:
    """The summed cells of the days first..last (inclusive, "YYYY-MM-DD"): a read per stored shard, in queries
    of at most WINDOW_DAYS days, so no single stream outlives its deadline on a year of large day documents."""
    cells: Cells = {}
    for start, end in _windows(date.fromisoformat(first), date.fromisoformat(last)):
        query = (
            days_ref(org_id)
            .where(filter=clients.where("day", ">=", start.isoformat()))
            .where(filter=clients.where("day", "<=", end.isoformat()))
        )
        for snapshot in query.stream():
            add_document(cells, snapshot.to_dict() or {})
    return cells


def _windows(first: date, last: date) -> list[tuple[date, date]]:
    """first..last cut into consecutive inclusive windows of at most WINDOW_DAYS days."""
    out = []
    while first <= last:
        end = min(last, first + timedelta(days=WINDOW_DAYS - 1))
        out.append((first, end))
        first = end + timedelta(days=1)
    return out


def add_document(cells: Cells, document: Mapping[str, Any]) -> None:
    """Add one stored shard's cells into `cells`."""
    day = document.get("day")
    stored_dims = document.get("dims") or {}
    if not isinstance(day, str) or not isinstance(stored_dims, Mapping):
        return
    for key, counts in (document.get("cells") or {}).items():
        if not isinstance(counts, Mapping):
            continue
        dims = Dims.of(stored_dims.get(key))
        target = cells.setdefault((day, dims), Counter())
        for metric, n in counts.items():
            if isinstance(n, int) and not isinstance(n, bool):
                target[metric] += n
