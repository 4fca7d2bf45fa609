"""The report day shards under a burst: events applied from many threads at once, some delivered twice or three
times (one after the other and at the same moment), count exactly once each and spread over every shard; the
nightly fold into one document loses nothing that races it."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from reports import counters
from reports.counting import Cells, Dims

pytestmark = pytest.mark.service

ORG = "shards"
DAY = "2026-11-30"
MEMBERS = [f"u{i}" for i in range(12)]


def _cells(rng: random.Random) -> Cells:
    """What one event adds: a lead for one member and source, sometimes a call too."""
    dims = Dims(team=rng.choice(["north", "south"]), member=rng.choice(MEMBERS), source=rng.choice(["web", "meta"]))
    counts = Counter({"leads": 1})
    if rng.random() < 0.5:
        counts["calls"] = rng.randint(1, 3)
    return {(DAY, dims): counts}


def _events(count: int, seed: int) -> list[tuple[str, Cells]]:
    rng = random.Random(seed)
    return [(f"evt-{seed}-{n}", _cells(rng)) for n in range(count)]


def _expected(events: list[tuple[str, Cells]]) -> Cells:
    total: Cells = {}
    for _, cells in events:
        for key, counts in cells.items():
            total.setdefault(key, Counter()).update(counts)
    return total


def _deliveries(events: list[tuple[str, Cells]], seed: int) -> list[Callable[[], bool]]:
    """Every event once, a third of them again (shuffled, so some redeliveries run at the same moment)."""
    rng = random.Random(seed)
    jobs = [(event_id, cells) for event_id, cells in events]
    jobs += [job for job in events if rng.random() < 0.34]
    jobs += [job for job in events if rng.random() < 0.1]  # a third delivery for some
    rng.shuffle(jobs)
    return [_delivery(event_id, cells) for event_id, cells in jobs]


def _delivery(event_id: str, cells: Cells) -> Callable[[], bool]:
    return lambda: counters.apply(ORG, event_id, cells)


def _parallel(jobs: list[Callable[[], Any]], threads: int = 12) -> list[Any]:
    """Run the jobs on `threads` threads; their results (an exception is a result)."""
    results: list[Any] = []
    lock = threading.Lock()
    queue = list(jobs)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                job = queue.pop()
            try:
                outcome = job()
            except Exception as error:  # noqa: BLE001  # a crash is a result to assert on, not a lost thread
                outcome = error
            with lock:
                results.append(outcome)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    return results


def _shards() -> dict[str, dict[str, Any]]:
    from core import clients

    query = counters.days_ref(ORG).where(filter=clients.where("day", "==", DAY))
    return {snapshot.id: snapshot.to_dict() or {} for snapshot in query.stream()}


def _clean(cells: Cells) -> Cells:
    """Cells without zero counts (Counter equality treats a stored 0 as absent anyway)."""
    return {key: Counter({m: n for m, n in counts.items() if n}) for key, counts in cells.items()}


def test_a_burst_with_redeliveries_counts_each_event_once_over_every_shard(db: Any) -> None:
    events = _events(400, seed=1)
    results = _parallel(_deliveries(events, seed=2))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for r in results if r is True) == len(events)  # each event applied once, the rest refused
    assert _clean(counters.read(ORG, DAY, DAY)) == _clean(_expected(events))
    stored = _shards()
    assert len(stored) == counters.SHARDS  # the burst spread over every shard, none left out
    # no shard took much more than its share: each document sees about (event rate / SHARDS) writes
    share = len(events) / counters.SHARDS
    assert max(_events_per_shard(events).values()) <= 2 * share + 3


def _events_per_shard(events: list[tuple[str, Cells]]) -> Counter[int]:
    return Counter(counters.shard_of(event_id) for event_id, _ in events)


def test_the_fold_racing_a_burst_loses_nothing_and_leaves_one_document(db: Any) -> None:
    first, second = _events(120, seed=3), _events(120, seed=4)
    assert not [r for r in _parallel(_deliveries(first, seed=5)) if isinstance(r, Exception)]
    folds: list[Callable[[], Any]] = [lambda: counters.compact(ORG, DAY) for _ in range(4)]
    results = _parallel(folds + _deliveries(second, seed=6))
    assert not [repr(r) for r in results if isinstance(r, Exception)]  # a fold losing to the burst gives up quietly
    assert _clean(counters.read(ORG, DAY, DAY)) == _clean(_expected(first + second))
    counters.compact(ORG, DAY)
    assert list(_shards()) == [f"{DAY}-0"]
    assert _clean(counters.read(ORG, DAY, DAY)) == _clean(_expected(first + second))
    # a late event after the fold lands in a shard again and is counted once, redelivered or not
    late = _events(6, seed=7)
    assert not [r for r in _parallel(_deliveries(late, seed=8)) if isinstance(r, Exception)]
    assert _clean(counters.read(ORG, DAY, DAY)) == _clean(_expected(first + second + late))
    landed = len(_shards()) - 1
    assert landed >= 1 and counters.compact(ORG, DAY) == landed
    assert list(_shards()) == [f"{DAY}-0"]
    assert _clean(counters.read(ORG, DAY, DAY)) == _clean(_expected(first + second + late))
