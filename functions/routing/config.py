"""The organization's routing configuration: one server-only document, `orgs/{orgId}/config/routing`.

Read tolerantly (`RoutingSettings.of` never raises: a missing or bad value is its default), written only by
`PATCH /org/routing`, which validates every rule against the organization's teams and members.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core import audit, clients, clock, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, invalid
from core.versioning import check
from routing import hours
from routing.models import RoutingUpdate

DEFAULT_MINUTES = 15
DEFAULT_MAX_REASSIGNMENTS = 2
DEFAULT_HOURS = {"start": "09:00", "end": "19:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}
METHODS = ("round-robin", "weighted", "least-open")


def ref(org_id: str) -> Any:
    """The routing configuration's document."""
    return tenancy.org_ref(org_id).collection("config").document("routing")


@dataclass(frozen=True, slots=True)
class Rule:
    """A stored rule, typed."""

    name: str
    match: Mapping[str, Any]
    team_id: str | None
    member_ids: tuple[str, ...]
    method: str
    weights: Mapping[str, int]

    def matches(self, lead: Mapping[str, Any]) -> bool:
        """Whether a lead document (camelCase fields) meets every condition of the rule."""
        match = self.match
        if match.get("sourceIds") is not None and lead.get("sourceId") not in match["sourceIds"]:
            return False
        if match.get("sources") is not None and lead.get("source") not in match["sources"]:
            return False
        if match.get("projectIds") is not None and lead.get("projectId") not in match["projectIds"]:
            return False
        if match.get("cities") is not None:
            city = str((lead.get("location") or {}).get("city") or "").strip().casefold()
            if city not in {str(c).strip().casefold() for c in match["cities"]}:
                return False
        if match.get("configurations") is not None and not set(lead.get("configurations") or ()) & set(
            match["configurations"]
        ):
            return False
        budget = lead.get("budget") or {}
        low, high = budget.get("min"), budget.get("max")
        top, bottom = high if high is not None else low, low if low is not None else high
        if match.get("budgetMin") is not None and (top is None or top < match["budgetMin"]):
            return False
        return match.get("budgetMax") is None or (bottom is not None and bottom <= match["budgetMax"])

    @classmethod
    def of(cls, value: Any) -> Rule | None:
        """A stored rule, or None when it is not one (skipped rather than failing every create)."""
        if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
            return None
        target: Mapping[str, Any] = value["assignTo"] if isinstance(value.get("assignTo"), Mapping) else {}
        members = tuple(str(uid) for uid in target.get("memberIds") or () if isinstance(uid, str))
        team = target.get("teamId") if isinstance(target.get("teamId"), str) else None
        if not team and not members:
            return None
        method = str(value["method"]) if value.get("method") in METHODS else "round-robin"
        weights: Mapping[str, Any] = value["weights"] if isinstance(value.get("weights"), Mapping) else {}
        return cls(
            name=value["name"],
            match=dict(value.get("match") or {}) if isinstance(value.get("match"), Mapping) else {},
            team_id=team,
            member_ids=members,
            method=method,
            weights={str(k): int(v) for k, v in weights.items() if isinstance(v, int) and v > 0},
        )


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    """The routing configuration as routing uses it."""

    rules: tuple[Rule, ...] = ()
    first_contact_minutes: int = DEFAULT_MINUTES
    max_reassignments: int = DEFAULT_MAX_REASSIGNMENTS
    working_hours: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    version: int = 0

    @classmethod
    def of(cls, document: Mapping[str, Any] | None) -> RoutingSettings:
        """The settings of a stored document (None: the defaults)."""
        document = document or {}
        minutes = document.get("firstContactMinutes")
        reassignments = document.get("maxReassignments")
        stored_hours = document.get("workingHours")
        try:
            hours_map = dict(stored_hours)  # type: ignore[arg-type]
            hours.WorkingHours.parse(hours_map["start"], hours_map["end"], hours_map["days"])
        except (TypeError, KeyError, ValueError):
            hours_map = dict(DEFAULT_HOURS)
        version = document.get("version")
        return cls(
            rules=tuple(rule for rule in map(Rule.of, document.get("rules") or ()) if rule is not None),
            first_contact_minutes=_count(minutes, DEFAULT_MINUTES),
            max_reassignments=_count(reassignments, DEFAULT_MAX_REASSIGNMENTS),
            working_hours=hours_map,
            version=_count(version, 0),
        )

    @property
    def window(self) -> hours.WorkingHours:
        """The working window, typed."""
        stored = self.working_hours
        return hours.WorkingHours.parse(stored["start"], stored["end"], stored["days"])

    def rule_for(self, lead: Mapping[str, Any]) -> Rule | None:
        """The first rule the lead matches, or None (the default rotation)."""
        return next((rule for rule in self.rules if rule.matches(lead)), None)


def _count(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def load(org_id: str, *, transaction: Any = None) -> RoutingSettings:
    """The organization's routing settings (one read)."""
    snapshot = ref(org_id).get(transaction=transaction)
    return RoutingSettings.of(snapshot.to_dict() if snapshot.exists else None)


def view(settings: RoutingSettings, document: Mapping[str, Any] | None) -> dict[str, Any]:
    """The API's RoutingConfig."""
    stored = document or {}
    return {
        "rules": [rule for rule in stored.get("rules") or () if Rule.of(rule) is not None],
        "firstContactMinutes": settings.first_contact_minutes,
        "maxReassignments": settings.max_reassignments,
        "workingHours": dict(settings.working_hours),
        "version": max(settings.version, 1),
        "updatedAt": stored.get("updatedAt"),
    }


def get_config(*, caller: Caller) -> dict[str, Any]:
    """The routing configuration (admin)."""
    caller.require("settings.manage")
    snapshot = ref(caller.org_id).get()
    document = snapshot.to_dict() if snapshot.exists else None
    return view(RoutingSettings.of(document), document)


def _check_targets(org_id: str, rules: list[dict[str, Any]]) -> None:
    """400 naming the field for a team that does not exist or a member who is not an active one."""
    db = clients.db()
    team_ids = {rule["assignTo"]["teamId"] for rule in rules if rule["assignTo"].get("teamId")}
    teams = tenancy.org_ref(org_id).collection("teams")
    known_teams = {s.id for s in db.get_all([teams.document(t) for t in team_ids]) if s.exists} if team_ids else set()
    uids = {uid for rule in rules for uid in [*(rule["assignTo"].get("memberIds") or ()), *(rule.get("weights") or {})]}
    members = (
        {s.id: s.to_dict() or {} for s in db.get_all([tenancy.member_ref(org_id, u) for u in uids]) if s.exists}
        if uids
        else {}
    )
    for index, rule in enumerate(rules):
        target = rule["assignTo"]
        if target.get("teamId") and target["teamId"] not in known_teams:
            raise invalid(f"rules.{index}.assignTo.teamId", "no such team")
        for position, uid in enumerate(target.get("memberIds") or ()):
            if not members.get(uid, {}).get("active"):
                raise invalid(f"rules.{index}.assignTo.memberIds.{position}", "not an active member")
        for uid in rule.get("weights") or {}:
            if uid not in members:
                raise invalid(f"rules.{index}.weights.{uid}", "not a member")


def update_config(*, caller: Caller, data: RoutingUpdate, if_match: int | None) -> dict[str, Any]:
    """Change the routing configuration in a transaction; 412 on a stale If-Match; audited."""
    from google.cloud import firestore

    caller.require("settings.manage")
    # Only the top-level fields given change; inside a rule every field is stored, defaults included.
    full = data.model_dump(by_alias=True, mode="json")
    aliases = [RoutingUpdate.model_fields[name].alias or name for name in data.model_fields_set]
    changes = {alias: full[alias] for alias in aliases}
    for rule in changes.get("rules") or ():
        rule["match"] = {key: value for key, value in rule["match"].items() if value is not None}
        rule["assignTo"] = {key: value for key, value in rule["assignTo"].items() if value is not None}
    if "rules" in changes:
        _check_targets(caller.org_id, changes["rules"])
    now = clock.now()
    document_ref = ref(caller.org_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = document_ref.get(transaction=transaction)
        stored = snapshot.to_dict() if snapshot.exists else {}
        current = RoutingSettings.of(stored)
        version = check({"version": max(current.version, 1)}, if_match)
        head = audit.read_head(transaction, caller.org_id)
        merged = {
            "rules": stored.get("rules") or [],
            "firstContactMinutes": current.first_contact_minutes,
            "maxReassignments": current.max_reassignments,
            "workingHours": dict(current.working_hours),
            **changes,
            "version": version + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        transaction.set(document_ref, merged)
        audit.append_in(transaction, caller.org_id, head, "routing.changed", actor=caller.uid, fields=sorted(changes))
        return view(RoutingSettings.of(merged), merged)

    try:
        result: dict[str, Any] = transactions.run(apply)
    except ValueError as error:  # a transaction that kept meeting a concurrent change
        raise ApiError("UNAVAILABLE", "Concurrent change; retry", headers={"Retry-After": "1"}) from error
    return result
