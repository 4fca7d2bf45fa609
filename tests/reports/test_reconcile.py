"""The nightly check on the emulator: a clean day has no difference; a corrupted counter is fixed and counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bench import reports_data
from core import clock, tenancy
from reports import counters, reconcile
from tests.support.factory import make_org

pytestmark = pytest.mark.service

ORG = "rec"
END = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)
DAYS = [date(2026, 11, 30) - timedelta(days=n) for n in range(1, 9)]


@pytest.fixture
def world(db: Any) -> Iterator[reports_data.World]:
    """An organization of 20 leads over 8 days, counted through the triggers' code (some events twice)."""
    previous = clock.install(clock.FixedClock(END))
    try:
        make_org(ORG, teams=())
        built = reports_data.generate(ORG, 20, days=8, end=END, seed=21)
        reports_data.write_setup(built)
        reports_data.write_records(built)
        reports_data.replay(built, redeliver=0.3)
        yield built
    finally:
        clock.install(previous)


def test_after_the_triggers_every_day_checks_clean(world: reports_data.World) -> None:
    assert [reconcile.check_day(ORG, day) for day in DAYS] == [0] * len(DAYS)
    stored = tenancy.org_ref(ORG).collection("reportChecks").document(DAYS[0].isoformat()).get().to_dict() or {}
    assert stored["differences"] == 0 and stored["cells"] > 0


def test_a_corrupted_counter_is_fixed_and_counted_then_the_next_run_finds_nothing(world: reports_data.World) -> None:
    day = DAYS[2].isoformat()
    truth = counters.read(ORG, day, day)
    shards = list(counters.days_ref(ORG).where(filter=_where_day(day)).stream())
    assert shards, "the generated day has no counters"
    document = shards[0].to_dict() or {}
    key, cell = next(iter(document["cells"].items()))
    metric = next(iter(cell))
    cell = {**cell, metric: cell[metric] + 5, "calls": cell.get("calls", 0) - 2, "bogus": 7}
    shards[0].reference.update({f"cells.{key}": cell})
    assert counters.read(ORG, day, day) != truth
    assert reconcile.check_day(ORG, DAYS[2]) == (3 if metric != "calls" else 2)
    assert counters.read(ORG, day, day) == truth  # Counter equality reads a fixed metric left at 0 as absent
    assert reconcile.check_day(ORG, DAYS[2]) == 0
    check = tenancy.org_ref(ORG).collection("reportChecks").document(day).get().to_dict() or {}
    assert check["differences"] == 0


def _where_day(day: str) -> Any:
    from core import clients

    return clients.where("day", "==", day)


def test_the_check_folds_a_days_shards_into_one_document_keeping_every_count(world: reports_data.World) -> None:
    day = DAYS[1].isoformat()
    before = counters.read(ORG, day, day)
    assert len(list(counters.days_ref(ORG).where(filter=_where_day(day)).stream())) > 1, "the replay used one shard"
    assert reconcile.check_day(ORG, DAYS[1]) == 0
    assert [s.id for s in counters.days_ref(ORG).where(filter=_where_day(day)).stream()] == [f"{day}-0"]
    assert counters.read(ORG, day, day) == before
    assert reconcile.check_day(ORG, DAYS[1]) == 0  # folded once: the next check finds the same figures
