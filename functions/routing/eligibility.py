"""Who may be routed a lead now, from the member record and its open-lead count.

Eligible: active, of a routable role (agents: rms work booked leads after the sale, managers and admins
hand work out rather than take the rotation), available (or an away/off-duty state whose `until` has
passed), on no leave period containing now, and holding fewer open leads than `maxOpenLeads` (no cap when
unset). Open leads are the unarchived ones in a stage other than booked or lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

ROUTABLE_ROLES = frozenset({"agent"})
CLOSED_STAGES = frozenset({"booked", "lost"})


def is_open(stage: str | None, *, archived: bool) -> bool:
    """Whether a lead counts against its assignee's `maxOpenLeads`."""
    return not archived and stage not in CLOSED_STAGES


def _state(member: Mapping[str, Any]) -> Mapping[str, Any]:
    state = member.get("availability")
    return state if isinstance(state, Mapping) else {}


def _instant(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def available(member: Mapping[str, Any], now: datetime) -> bool:
    """The member's own state allows routing now (no state set is available)."""
    state = _state(member)
    if state.get("status", "available") == "available":
        return True
    until = _instant(state.get("until"))
    return until is not None and until <= now


def on_leave(member: Mapping[str, Any], now: datetime) -> bool:
    """Whether a leave period of the member contains now."""
    for period in member.get("leave") or ():
        start, end = _instant(period.get("from")), _instant(period.get("to"))
        if start is not None and end is not None and start <= now < end:
            return True
    return False


def cap(member: Mapping[str, Any]) -> int | None:
    """The member's cap on open leads, None when unset."""
    value = member.get("maxOpenLeads")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def on_duty(member: Mapping[str, Any], now: datetime) -> bool:
    """Everything but the open-lead cap: active, routable, available, not on leave."""
    return (
        member.get("active") is True
        and member.get("role") in ROUTABLE_ROLES
        and not member.get("deleted")
        and available(member, now)
        and not on_leave(member, now)
    )


def eligible(member: Mapping[str, Any], now: datetime, open_leads: int) -> bool:
    """Whether routing may give the member one more lead now."""
    limit = cap(member)
    return on_duty(member, now) and (limit is None or open_leads < limit)
