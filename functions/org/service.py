"""Organization settings and teams: reads for every member, changes by admins."""

from __future__ import annotations

from typing import Any

from core import audit, clients, clock, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, invalid, not_found
from core.ids import new_id
from core.org_settings import OrgSettings
from core.permissions import validate_overrides
from core.versioning import check
from org.models import OrgSettingsUpdate, TeamCreate, TeamUpdate


def current_settings(org: dict[str, Any]) -> dict[str, Any]:
    """The organization's settings over the defaults, with their version."""
    return OrgSettings.of(org).as_document() | {"version": _settings_version(org)}


def _settings_version(org: dict[str, Any]) -> int:
    version = org.get("settingsVersion", 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else 1


def get_settings(*, caller: Caller) -> dict[str, Any]:
    """The caller's organization's settings."""
    return current_settings(caller.org)


def update_settings(*, caller: Caller, data: OrgSettingsUpdate, if_match: int | None) -> dict[str, Any]:
    """Change settings in a transaction; 412 on a stale If-Match."""
    from google.cloud import firestore

    changes = data.model_dump(exclude_unset=True, by_alias=True)
    if "rolePermissions" in changes:
        problems = validate_overrides(changes["rolePermissions"] or {})
        if problems:
            raise ApiError("INVALID_ARGUMENT", next(iter(problems.values())), fields=problems)
    db = clients.db()
    ref = tenancy.org_ref(caller.org_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        org = ref.get(transaction=transaction).to_dict() or {}
        stored = {"version": _settings_version(org)}
        check(stored, if_match)
        # Read through OrgSettings: a bad stored value is written back as its default, never kept. Keys it
        # does not know (a feature's not yet typed) stay as they were: a PATCH changes only what it names.
        current = OrgSettings.of(org).as_document()
        merged = OrgSettings.untyped(org) | OrgSettings.of({"settings": current | changes}).as_document()
        transaction.update(
            ref, {"settings": merged, "settingsVersion": stored["version"] + 1, "updatedAt": clock.now()}
        )
        return current_settings({"settings": merged, "settingsVersion": stored["version"] + 1})

    result: dict[str, Any] = transactions.run(apply, db)
    tenancy.cache.forget(ref.path)
    audit.record(caller.org_id, "settings.changed", actor=caller.uid, fields=sorted(changes))
    return result


def _teams(org_id: str) -> Any:
    return tenancy.org_ref(org_id).collection("teams")


def _team_json(snapshot: Any) -> dict[str, Any]:
    return {"id": snapshot.id, **(snapshot.to_dict() or {})}


def _check_managers(org_id: str, manager_ids: list[str]) -> None:
    refs = [tenancy.member_ref(org_id, uid) for uid in manager_ids]
    for index, snapshot in enumerate(clients.db().get_all(refs) if refs else []):
        member = snapshot.to_dict() if snapshot.exists else None
        if not member or member.get("role") not in {"manager", "admin"}:
            raise invalid(f"managerIds.{index}", "not a manager of this organization")


def list_teams(*, caller: Caller) -> list[dict[str, Any]]:
    """Every team of the organization, by name."""
    return sorted((_team_json(s) for s in _teams(caller.org_id).stream()), key=lambda t: str(t.get("name", "")))


def create_team(*, caller: Caller, data: TeamCreate) -> dict[str, Any]:
    """Create a team; 409 when its id is taken."""
    from google.api_core.exceptions import AlreadyExists

    _check_managers(caller.org_id, data.manager_ids)
    now = clock.now()
    team_id = data.id or new_id("t_")
    document = {"name": data.name, "managerIds": data.manager_ids, "version": 1, "createdAt": now, "updatedAt": now}
    try:
        _teams(caller.org_id).document(team_id).create(document)
    except AlreadyExists:
        raise ApiError("ALREADY_EXISTS", "A team with this id exists", fields={"id": "taken"}) from None
    audit.record(caller.org_id, "team.created", actor=caller.uid, target=team_id)
    return {"id": team_id, **document}


def update_team(*, caller: Caller, team_id: str, data: TeamUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a team's name or managers."""
    from google.cloud import firestore

    changes = data.model_dump(exclude_unset=True, by_alias=True)
    if "managerIds" in changes:
        _check_managers(caller.org_id, changes["managerIds"] or [])
    db = clients.db()
    ref = _teams(caller.org_id).document(team_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise not_found("Team")
        team = snapshot.to_dict() or {}
        version = check(team, if_match)
        team.update(changes, version=version + 1, updatedAt=clock.now())
        transaction.set(ref, team)
        return {"id": team_id, **team}

    result: dict[str, Any] = transactions.run(apply, db)
    audit.record(caller.org_id, "team.changed", actor=caller.uid, target=team_id, fields=sorted(changes))
    return result
