"""The four reports computed from summed counter cells: pure, so the API, the weekly email and the tests share it.

`Scope` narrows cells to what the caller may see and the filters asked for; every figure is a sum of cell
counts (or a median of summed histograms), definitions in docs/reports.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.counting import BOOKED, Cells, Dims, median_of


@dataclass(frozen=True)
class Scope:
    """Which cells count: each set field must match the cell's dimension."""

    team: str | None = None
    member: str | None = None
    project: str | None = None
    source_id: str | None = None

    def admits(self, dims: Dims) -> bool:
        """True when the cell is within the scope."""
        return (
            (self.team is None or dims.team == self.team)
            and (self.member is None or dims.member == self.member)
            and (self.project is None or dims.project == self.project)
            and (self.source_id is None or dims.source_id == self.source_id)
        )


def pct(part: int, whole: int) -> float | None:
    """part / whole x 100 to one decimal; None without a whole."""
    return round(100.0 * part / whole, 1) if whole else None


def _total(cells: Cells, scope: Scope) -> Counter[str]:
    total: Counter[str] = Counter()
    for (_, dims), counts in cells.items():
        if scope.admits(dims):
            total.update(counts)
    return total


def _histogram(counts: Mapping[str, int], prefix: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for metric, n in counts.items():
        if metric.startswith(prefix):
            tail = metric[len(prefix) :]
            if tail.isdigit() and n:  # a bucket a reassigned lead left holds 0
                out[int(tail)] = out.get(int(tail), 0) + n
    return out


def funnel(cells: Cells, scope: Scope, stages: Sequence[str]) -> list[dict[str, Any]]:
    """Per stage of the order: entered, convertedToNext, conversionPct, medianDaysInStage."""
    total = _total(cells, scope)
    rows = []
    for index, stage in enumerate(stages):
        later = set(stages[index + 1 :])
        entered = total.get(f"entered:{stage}", 0)
        converted = sum(total.get(f"next:{stage}:{after}", 0) for after in later)
        median = median_of(_histogram(total, f"days:{stage}:"))
        rows.append(
            {
                "stage": stage,
                "entered": entered,
                "convertedToNext": converted,
                "conversionPct": pct(converted, entered),
                "medianDaysInStage": None if median is None else round(median / 86400, 2),
            }
        )
    return rows


def sources(cells: Cells, scope: Scope, *, by_source_id: bool) -> list[dict[str, Any]]:
    """One row per lead source (or per (source, capture source)) with any figure, most leads first."""
    groups: dict[tuple[str | None, str | None], Counter[str]] = {}
    for (_, dims), counts in cells.items():
        if scope.admits(dims):
            key = (dims.source, dims.source_id if by_source_id else None)
            groups.setdefault(key, Counter()).update(counts)
    rows = []
    for (source, source_id), total in groups.items():
        row = {
            "source": source,
            "sourceId": source_id,
            "leads": total.get("leads", 0),
            "enquiredAgain": total.get("enquiredAgain", 0),
            "contacted": total.get("contacted", 0),
            "visitsCompleted": total.get("vCompleted", 0),
            "booked": total.get("bookedLeads", 0),
            "conversionPct": pct(total.get("bookedLeads", 0), total.get("leads", 0)),
            "medianFirstContactSeconds": median_of(_histogram(total, "fc:")),
        }
        if any(row[k] for k in ("leads", "enquiredAgain", "contacted", "visitsCompleted", "booked")):
            rows.append(row)
    rows.sort(key=lambda r: (-int(r["leads"] or 0), str(r["source"] or ""), str(r["sourceId"] or "")))
    return rows


AGENT_FIGURES = ("assigned", "calls", "sent", "vScheduled", "vCompleted", "vCancelled", f"entered:{BOOKED}")


def agents(cells: Cells, scope: Scope, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per member with any figure, by name."""
    groups: dict[str, Counter[str]] = {}
    for (_, dims), counts in cells.items():
        if dims.member is not None and scope.admits(dims):
            groups.setdefault(dims.member, Counter()).update(counts)
    rows = []
    for uid, total in groups.items():
        if not any(total.get(k, 0) for k in AGENT_FIGURES) and not _histogram(total, "fc:"):
            continue
        rows.append(
            {
                "uid": uid,
                "name": names.get(uid, ""),
                "leadsAssigned": total.get("assigned", 0),
                "medianFirstContactSeconds": median_of(_histogram(total, "fc:")),
                "slaMetPct": pct(total.get("slaMet", 0), total.get("assigned", 0)),
                "calls": total.get("calls", 0),
                "talkTimeSec": total.get("talkSec", 0),
                "connectedPct": pct(total.get("connected", 0), total.get("calls", 0)),
                "messagesSent": total.get("sent", 0),
                "visitsScheduled": total.get("vScheduled", 0),
                "visitsCompleted": total.get("vCompleted", 0),
                "visitsCancelled": total.get("vCancelled", 0),
                "bookings": total.get(f"entered:{BOOKED}", 0),
            }
        )
    rows.sort(key=lambda r: (r["name"], r["uid"]))
    return rows


def visits(cells: Cells, scope: Scope) -> dict[str, Any]:
    """Visits scheduled, completed, cancelled; check-ins within radius; bookings per completed visit."""
    total = _total(cells, scope)
    return {
        "scheduled": total.get("vScheduled", 0),
        "completed": total.get("vCompleted", 0),
        "cancelled": total.get("vCancelled", 0),
        "checkinsWithinRadiusPct": pct(total.get("checkinsWithin", 0), total.get("checkins", 0)),
        "visitToBookingPct": pct(total.get(f"entered:{BOOKED}", 0), total.get("vCompleted", 0)),
    }


COLUMNS: dict[str, tuple[str, ...]] = {
    "funnel": ("stage", "entered", "convertedToNext", "conversionPct", "medianDaysInStage"),
    "sources": (
        "source",
        "sourceId",
        "leads",
        "enquiredAgain",
        "contacted",
        "visitsCompleted",
        "booked",
        "conversionPct",
        "medianFirstContactSeconds",
    ),
    "agents": (
        "uid",
        "name",
        "leadsAssigned",
        "medianFirstContactSeconds",
        "slaMetPct",
        "calls",
        "talkTimeSec",
        "connectedPct",
        "messagesSent",
        "visitsScheduled",
        "visitsCompleted",
        "visitsCancelled",
        "bookings",
    ),
    "visits": ("scheduled", "completed", "cancelled", "checkinsWithinRadiusPct", "visitToBookingPct"),
}


def csv_lines(report: str, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The report's CSV: a header row then one line per row (through core.csvout)."""
    from core import csvout

    columns = COLUMNS[report]
    return [csvout.line(columns), *(csvout.line(row.get(c) for c in columns) for row in rows)]
