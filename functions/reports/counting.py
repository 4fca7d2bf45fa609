"""What each record contributes to the report counters: pure functions of a document, no reads.

A counter cell is one organization day (in its time zone) and one combination of dimensions (team, member,
source, sourceId, project). Every record (a lead, a call, a message, a visit) contributes a fixed set of
increments computed from the document alone (`lead`, `call`, `message`, `visit`), so a trigger applies
`delta(before, after)`: what the write added minus what it took away. Reassigning a lead moves its figures to
the new owner, archiving it takes them away, a call whose outcome arrives later updates its cell. The
nightly reconciliation sums the same contributions over the records of a day, so both agree by construction
on what is counted; docs/reports.md defines every metric.

Medians are kept as histograms over fixed buckets (`BOUNDS`): a cell holds `fc:<bucket>` (first-contact
seconds) and `days:<stage>:<bucket>` (seconds spent in a stage) counts, and a median is the lower bound of
the bucket holding the lower median, exact to within one bucket (25 %).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

BOOKED = "booked"


def _bounds() -> tuple[int, ...]:
    """0, 1, then a 25 % geometric progression of whole seconds up to about two years."""
    out = {0, 1}
    value = 1.0
    while value < 2 * 365 * 86400:
        value *= 1.25
        out.add(int(value))
    return tuple(sorted(out))


BOUNDS = _bounds()


def bucket(seconds: float) -> int:
    """The histogram bucket of a duration (negative durations, a clock skew, count as 0)."""
    return max(0, bisect_right(BOUNDS, max(0.0, seconds)) - 1)


def median_of(histogram: Mapping[int, int]) -> int | None:
    """The lower bound of the bucket holding the lower median of a histogram; None when it is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = (total + 1) // 2
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return BOUNDS[index]
    return None  # pragma: no cover - rank <= total


def exact_median_bucketed(values: list[float]) -> int | None:
    """What `median_of` answers for these values: the lower bound of the lower median's bucket."""
    if not values:
        return None
    ordered = sorted(values)
    return BOUNDS[bucket(ordered[(len(ordered) - 1) // 2])]


@dataclass(frozen=True, order=True)
class Dims:
    """The dimensions of a counter cell (None: not known or not set)."""

    team: str | None = None
    member: str | None = None
    source: str | None = None
    source_id: str | None = None
    project: str | None = None

    def document(self) -> dict[str, str | None]:
        """The stored map."""
        return {
            "team": self.team,
            "member": self.member,
            "source": self.source,
            "sourceId": self.source_id,
            "project": self.project,
        }

    @classmethod
    def of(cls, stored: Any) -> Dims:
        """Dims of a stored map (tolerant)."""
        stored = stored if isinstance(stored, Mapping) else {}
        return cls(*(_str(stored.get(k)) for k in ("team", "member", "source", "sourceId", "project")))


# (day "YYYY-MM-DD", dims) -> metric -> count
Cells = dict[tuple[str, Dims], Counter[str]]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def day_of(at: Any, zone: ZoneInfo) -> str | None:
    """The organization's calendar day of an instant; None for a value that is not one."""
    if not isinstance(at, datetime):
        return None
    if at.tzinfo is None:
        from datetime import UTC

        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).date().isoformat()


class _Adder:
    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.cells: Cells = defaultdict(Counter)

    def add(self, at: Any, dims: Dims, metric: str, n: int = 1) -> None:
        day = day_of(at, self.zone)
        if day is not None and n:
            self.cells[(day, dims)][metric] += n


@dataclass(frozen=True)
class LeadContext:
    """What a call, message or visit takes from its lead: source, capture source and project."""

    source: str | None = None
    source_id: str | None = None
    project: str | None = None

    @classmethod
    def of(cls, lead: Mapping[str, Any] | None) -> LeadContext:
        """The context of a lead document (all None when the lead is gone)."""
        lead = lead or {}
        return cls(_str(lead.get("source")), _str(lead.get("sourceId")), _str(lead.get("projectId")))


def lead(document: Mapping[str, Any] | None, zone: ZoneInfo) -> Cells:
    """A lead's contributions; none for a purged, archived or merged-away lead."""
    from leads.store import stage_history

    out = _Adder(zone)
    if not document or document.get("archived") or document.get("mergedInto"):
        return out.cells
    dims = Dims(
        _str(document.get("teamId")),
        _str(document.get("assigneeId")),
        _str(document.get("source")),
        _str(document.get("sourceId")),
        _str(document.get("projectId")),
    )
    created = document.get("createdAt")
    history = stage_history(document)
    out.add(created, dims, "leads")
    if isinstance(document.get("firstContactAt"), datetime):
        out.add(created, dims, "contacted")
        seconds = document.get("firstContactSeconds")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            out.add(created, dims, f"fc:{bucket(seconds)}")
    if any(entry["stage"] == BOOKED for entry in history):
        out.add(created, dims, "bookedLeads")
    for enquiry in document.get("enquiries") or ():
        if isinstance(enquiry, Mapping):
            out.add(enquiry.get("at"), dims, "enquiredAgain")
    for index, entry in enumerate(history):
        out.add(entry["at"], dims, f"entered:{entry['stage']}")
        if index + 1 < len(history):
            following = history[index + 1]
            out.add(entry["at"], dims, f"next:{entry['stage']}:{following['stage']}")
            spent = (following["at"] - entry["at"]).total_seconds()
            out.add(entry["at"], dims, f"days:{entry['stage']}:{bucket(spent)}")
    assignments = [e for e in document.get("assignmentHistory") or () if isinstance(e, Mapping)]
    for index, assignment in enumerate(assignments):
        member = _str(assignment.get("assigneeId"))
        if member is None:
            continue  # queued: nobody's
        taken = index + 1 < len(assignments) and assignments[index + 1].get("reason") == "sla"
        by = Dims(dims.team, member, dims.source, dims.source_id, dims.project)
        out.add(assignment.get("at"), by, "assigned")
        out.add(assignment.get("at"), by, "slaMet", 0 if taken else 1)
    return out.cells


def _owned(record: Mapping[str, Any], member: Any, context: LeadContext, project: Any = None) -> Dims:
    return Dims(
        _str(record.get("teamId")),
        _str(member),
        context.source,
        context.source_id,
        _str(project) or context.project,
    )


def call(record: Mapping[str, Any] | None, context: LeadContext, zone: ZoneInfo) -> Cells:
    """A call log's contributions: one call by its agent on the day it started (logged or dialled)."""
    out = _Adder(zone)
    if not record or not record.get("agentId"):
        return out.cells  # an inbound call nobody took is nobody's call
    dims = _owned(record, record.get("agentId"), context)
    at = record.get("startedAt") or record.get("createdAt")
    out.add(at, dims, "calls")
    duration = record.get("durationSec")
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        out.add(at, dims, "talkSec", int(duration))
    if record.get("outcome") == "connected":
        out.add(at, dims, "connected")
    return out.cells


SENT = frozenset({"sent", "delivered", "read"})


def message(record: Mapping[str, Any] | None, context: LeadContext, zone: ZoneInfo) -> Cells:
    """A message's contributions: one sent by the member who sent it, once the provider took it."""
    out = _Adder(zone)
    if not record or record.get("direction") != "outbound" or not record.get("sentBy"):
        return out.cells
    if record.get("status") in SENT:
        out.add(record.get("createdAt"), _owned(record, record.get("sentBy"), context), "sent")
    return out.cells


def visit(record: Mapping[str, Any] | None, context: LeadContext, zone: ZoneInfo) -> Cells:
    """A site visit's contributions: scheduled (the day it was booked), completed, cancelled, checked in."""
    out = _Adder(zone)
    if not record:
        return out.cells
    dims = _owned(record, record.get("agentId"), context, record.get("projectId"))
    out.add(record.get("createdAt"), dims, "vScheduled")
    if record.get("status") == "completed":
        out.add(record.get("completedAt"), dims, "vCompleted")
    if record.get("status") == "cancelled":
        out.add(record.get("cancelledAt"), dims, "vCancelled")
    checkin = record.get("checkin")
    if isinstance(checkin, Mapping):
        out.add(checkin.get("at"), dims, "checkins")
        out.add(checkin.get("at"), dims, "checkinsWithin", int(checkin.get("withinRadius") is True))
    return out.cells


def delta(before: Cells, after: Cells) -> Cells:
    """after - before, keeping only the non-zero counts."""
    out: Cells = {}
    for key in set(before) | set(after):
        change = Counter(after.get(key, Counter()))
        change.subtract(before.get(key, Counter()))
        kept = Counter({metric: n for metric, n in change.items() if n})
        if kept:
            out[key] = kept
    return out


def merge(into: Cells, more: Cells) -> Cells:
    """Add `more` into `into` (in place) and return it."""
    for key, counts in more.items():
        into.setdefault(key, Counter()).update(counts)
    return into
