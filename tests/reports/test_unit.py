"""The reports' pure parts: buckets and medians, contributions and their deltas, periods, and that matplotlib is
imported by no function at import time."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApiError
from reports import counters, counting, figures, service, weekly
from reports.counting import BOUNDS, Dims, bucket, exact_median_bucketed, median_of
from reports.models import ReportQuery

pytestmark = pytest.mark.unit

IST = ZoneInfo("Asia/Kolkata")
AT = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # 01:30 on the 21st in IST


@given(st.lists(st.floats(min_value=0, max_value=4e7, allow_nan=False), min_size=1, max_size=60))
def test_the_histogram_median_is_the_bucket_of_the_exact_lower_median(values: list[float]) -> None:
    histogram = Counter(bucket(v) for v in values)
    assert median_of(histogram) == exact_median_bucketed(values)
    lower = sorted(values)[(len(values) - 1) // 2]
    assert BOUNDS[bucket(lower)] <= lower and (lower - BOUNDS[bucket(lower)]) <= max(1.0, 0.25 * lower)


def test_an_empty_histogram_or_buckets_emptied_by_moves_have_no_median() -> None:
    assert median_of({}) is None and exact_median_bucketed([]) is None
    assert figures._histogram({"fc:3": 0, "fc:4": 1, "calls": 2}, "fc:") == {4: 1}


def _lead(**fields: Any) -> dict[str, Any]:
    return {
        "stage": "contacted",
        "source": "website",
        "sourceId": "src",
        "projectId": "p1",
        "assigneeId": "a1",
        "teamId": "north",
        "createdAt": AT,
        "stageHistory": [{"stage": "new", "at": AT}, {"stage": "contacted", "at": AT + timedelta(hours=5)}],
        "assignmentHistory": [{"assigneeId": "a1", "at": AT, "reason": "round-robin"}],
        "firstContactAt": AT + timedelta(hours=1),
        "firstContactSeconds": 3600,
    } | fields


def test_a_lead_counts_on_its_days_in_the_organization_zone() -> None:
    cells = counting.lead(_lead(), IST)
    dims = Dims("north", "a1", "website", "src", "p1")
    day = cells[("2026-11-21", dims)]
    assert day["leads"] == day["contacted"] == day["entered:new"] == day["entered:contacted"] == 1
    assert day["next:new:contacted"] == 1 and day[f"fc:{bucket(3600)}"] == 1 and day[f"days:new:{bucket(5 * 3600)}"]
    assert day["assigned"] == day["slaMet"] == 1


def test_reassigning_moves_every_figure_to_the_new_owner_and_archiving_takes_them_away() -> None:
    before = _lead()
    history = [*before["assignmentHistory"], {"assigneeId": "a2", "at": AT + timedelta(days=1), "reason": "sla"}]
    after = _lead(assigneeId="a2", teamId="south", assignmentHistory=history)
    change = counting.delta(counting.lead(before, IST), counting.lead(after, IST))
    old, new = Dims("north", "a1", "website", "src", "p1"), Dims("south", "a2", "website", "src", "p1")
    assert (
        change[("2026-11-21", old)]["leads"] == -1
        and change[("2026-11-21", Dims("south", "a1", "website", "src", "p1"))]["slaMet"] == 0
    )
    assert change[("2026-11-21", new)]["leads"] == 1
    assert change[("2026-11-22", new)]["assigned"] == 1
    assert counting.delta(counting.lead(after, IST), counting.lead({**after, "archived": True}, IST)) == {
        key: Counter({m: -n for m, n in counts.items()}) for key, counts in counting.lead(after, IST).items()
    }


def test_a_delivery_receipt_after_sent_changes_nothing_counted() -> None:
    sent = {
        "leadId": "l1",
        "direction": "outbound",
        "sentBy": "a1",
        "teamId": "north",
        "status": "sent",
        "createdAt": AT,
    }
    context = counting.LeadContext()
    assert (
        counting.delta(counting.message(sent, context, IST), counting.message({**sent, "status": "read"}, context, IST))
        == {}
    )
    assert counting.message({**sent, "status": "failed"}, context, IST) == {}


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)), st.integers(min_value=0, max_value=400))
def test_a_period_is_read_in_windows_that_cover_each_day_once(first: date, span: int) -> None:
    last = first + timedelta(days=span)
    windows = counters._windows(first, last)
    days = [start + timedelta(days=i) for start, end in windows for i in range((end - start).days + 1)]
    assert days == [first + timedelta(days=i) for i in range(span + 1)]
    assert all((end - start).days < counters.WINDOW_DAYS for start, end in windows)
    assert len(windows) == -(-(span + 1) // counters.WINDOW_DAYS)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-10", "to": "2026-11-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
    ],
)
def test_a_period_that_is_not_one_is_a_400_naming_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as raised:
        service.period(ReportQuery.model_validate(params), date(2026, 11, 30))
    assert raised.value.status == 400 and field in (raised.value.fields or {})


def test_the_default_period_is_the_seven_days_to_today_and_366_days_are_allowed() -> None:
    assert service.period(ReportQuery.model_validate({}), date(2026, 11, 30)) == (
        date(2026, 11, 24),
        date(2026, 11, 30),
    )
    year = ReportQuery.model_validate({"from": "2025-11-30", "to": "2026-11-30"})
    assert service.period(year, date(2026, 11, 30)) == (date(2025, 11, 30), date(2026, 11, 30))


def test_no_function_but_the_weekly_email_imports_matplotlib_at_import_time() -> None:
    root = Path(__file__).resolve().parents[2]
    script = (
        "import sys, importlib; sys.path.insert(0, 'functions');"
        "from registry import FUNCTIONS, EMULATOR_ONLY;"
        "[importlib.import_module(m) for m in {**FUNCTIONS, **EMULATOR_ONLY}.values()];"
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_the_chart_is_a_png_drawn_with_matplotlib() -> None:
    rows = [{"stage": s, "entered": n} for s, n in (("new", 12), ("contacted", 7), ("booked", 2))]
    png = weekly.chart_png(rows)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000


def test_an_inline_attachment_is_a_related_part_of_the_html_with_its_content_id() -> None:
    from core import mail

    chart = mail.Attachment("funnel.png", "image/png", b"\x89PNG-bytes", content_id="funnel")
    email = mail.Email(to="m@example.com", subject="S", text="t", html="<img src='cid:funnel'>", attachments=(chart,))
    message = mail.build_message(email, "Justo <noreply@example.com>")
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<funnel>" and image.get_payload(decode=True) == b"\x89PNG-bytes"
    related = [part for part in message.walk() if part.get_content_type() == "multipart/related"]
    assert related and image in list(related[0].iter_parts())


@given(st.text(min_size=1, max_size=12))
def test_events_spread_evenly_over_the_shards_whatever_their_ids(prefix: str) -> None:
    # each report day document sees (event rate / SHARDS) writes: only if no shard takes more than its share
    from reports import counters

    events = 20 * counters.SHARDS
    per_shard = Counter(counters.shard_of(f"{prefix}{n}") for n in range(events))
    assert set(per_shard) == set(range(counters.SHARDS))
    assert max(per_shard.values()) <= 3 * events / counters.SHARDS
