"""Who sees what, per API.md's role table: the one place the service layer asks."""

from __future__ import annotations

from typing import Any, Protocol

from core.caller import Caller

BOOKED = "booked"


class LeadLike(Protocol):
    """What visibility needs of a lead (leads.store.LeadRecord has it)."""

    @property
    def assignee_id(self) -> str | None:
        """The assigned member."""

    @property
    def team_id(self) -> str | None:
        """The assignee's team."""

    @property
    def stage(self) -> str:
        """The pipeline stage."""


def can_see_lead(caller: Caller, lead: LeadLike) -> bool:
    """admin: all; manager: its team's; agent: assigned to it; rm: as agent plus its team's booked leads."""
    if caller.role == "admin":
        return True
    if caller.role == "manager":
        return caller.team_id is not None and lead.team_id == caller.team_id
    if lead.assignee_id == caller.uid:
        return True
    return (
        caller.role == "rm" and caller.team_id is not None and lead.team_id == caller.team_id and lead.stage == BOOKED
    )


def can_see_record(caller: Caller, *, owner_id: str | None, team_id: str | None) -> bool:
    """Tasks, visits, calls and messages: admin all, manager its team's, others their own."""
    if caller.role == "admin":
        return True
    if caller.role == "manager":
        return caller.team_id is not None and team_id == caller.team_id
    return owner_id == caller.uid


def can_reach_member(caller: Caller, member: dict[str, Any]) -> bool:
    """Whom the caller may assign work to: admin anyone active, manager its team, others only itself."""
    if not member.get("active"):
        return False
    if caller.role == "admin":
        return True
    if caller.role == "manager":
        return caller.team_id is not None and member.get("teamId") == caller.team_id
    return member.get("uid") == caller.uid
