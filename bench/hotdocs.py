"""Per-document write rates over a load run: every write the emulator reports to collection-group listeners,
counted in sliding windows.

A listener sees each committed change of a document with its update time; two writes to one document that
land between two snapshots of the stream arrive as one change, so the counts are a lower bound (exact for
documents written less often than the stream delivers). Counters whose value moves by one per write
(rotation counts) are checked against their exact deltas by bench.loadcheck.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

# Collections written on the hot paths (some exist only after the first write, so they are named up front).
KNOWN = (
    "orgs",
    "leads",
    "leadKeys",
    "private",
    "history",
    "notes",
    "calls",
    "visits",
    "captures",
    "openLeads",
    "leadTallies",
    "counts",
    "rotation",
    "reportDays",
    "reportEvents",
    "members",
    "audit",
    "auditHead",
    "notifications",
    "outbox",
    "idempotency",
    "activity",
    "throttles",
)
BURST_WINDOW = 10.0  # seconds: the peak a burst puts on a document
SUSTAINED_WINDOW = 60.0  # seconds: what "sustained" means here (Firestore's guidance is ~1 write/s per document)


def max_in_window(times: Iterable[float], window: float) -> int:
    """The most events in any window of `window` seconds (half-open), over sorted or unsorted times."""
    ordered, best, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def rates(times: list[float], duration: float) -> dict[str, Any]:
    """Writes, mean rate over the run, and the peak rate in the burst and sustained windows (writes/s)."""
    # a window longer than the run is the run: a 30 s run cannot show a 60 s rate above its own mean
    sustained = min(SUSTAINED_WINDOW, max(duration, BURST_WINDOW))
    return {
        "writes": len(times),
        "meanPerSecond": round(len(times) / duration, 3) if duration > 0 else None,
        "peakPerSecond10s": round(max_in_window(times, BURST_WINDOW) / BURST_WINDOW, 2),
        "peakPerSecond60s": round(max_in_window(times, sustained) / sustained, 2),
    }


def top(writes: dict[str, list[float]], duration: float, count: int = 12) -> list[dict[str, Any]]:
    """The `count` documents with the highest sustained peak, then burst peak, each with its rates."""
    rows = [{"document": path, **rates(times, duration)} for path, times in writes.items()]
    rows.sort(key=lambda row: (row["peakPerSecond60s"], row["peakPerSecond10s"], row["writes"]), reverse=True)
    return rows[:count]


def pattern(path: str) -> str:
    """A document path with its ids replaced by their kind: `orgs/demo/openLeads/u1` -> `orgs/*/openLeads/*`."""
    parts = path.split("/")
    return "/".join(part if index % 2 == 0 else "*" for index, part in enumerate(parts))


class Watch:
    """Collection-group listeners recording (document path, update time) of every change after `since`."""

    def __init__(self, db: Any, groups: Iterable[str], since: datetime) -> None:
        self._db, self._since = db, since.timestamp()
        self._groups = sorted(set(groups))
        self._lock = threading.Lock()
        self._seen: set[tuple[str, float]] = set()
        self.writes: dict[str, list[float]] = defaultdict(list)
        self._watches: list[Any] = []

    def _on(self, _docs: Any, changes: Any, _read_time: Any) -> None:
        for change in changes:
            if change.type.name == "REMOVED":
                continue
            snapshot = change.document
            moment = snapshot.update_time.timestamp() if snapshot.update_time is not None else None
            if moment is None or moment < self._since:
                continue
            key = (snapshot.reference.path, moment)
            with self._lock:
                if key not in self._seen:
                    self._seen.add(key)
                    self.writes[key[0]].append(moment)

    def start(self) -> Watch:
        """Open one listener per collection group."""
        for group in self._groups:
            self._watches.append(self._db.collection_group(group).on_snapshot(self._on))
        return self

    def stop(self) -> dict[str, list[float]]:
        """Close the listeners; the writes seen, by document path."""
        for watch in self._watches:
            watch.unsubscribe()
        self._watches.clear()
        with self._lock:
            return {path: sorted(times) for path, times in self.writes.items()}


def groups_of(db: Any, org_id: str) -> set[str]:
    """The collection ids to watch: the known hot-path ones and whatever the organization and top level hold."""
    found = set(KNOWN)
    found.update(collection.id for collection in db.collections())
    found.update(collection.id for collection in db.document(f"orgs/{org_id}").collections())
    for lead in db.collection(f"orgs/{org_id}/leads").limit(3).stream():
        found.update(collection.id for collection in lead.reference.collections())
    return found
