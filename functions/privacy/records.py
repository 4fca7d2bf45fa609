"""Stored documents as plain, machine-readable JSON values, and the people they name."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from core import clients, tenancy
from core.jsonutil import to_json

FORMER_MEMBER = "Former member"
# Fields whose value is a member's uid: the export names these people.
PERSON_FIELDS = (
    "authorId",
    "actorId",
    "assigneeId",
    "agentId",
    "ownerId",
    "leadOwnerId",
    "createdBy",
    "updatedBy",
    "by",
    "uploadedBy",
    "sentBy",
)


def plain(value: Any) -> Any:
    """A Firestore value as JSON: times as RFC 3339, geo points as {lat, lng}, references as paths."""
    if isinstance(value, datetime):
        return to_json(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "latitude") and hasattr(value, "longitude"):
        return {"lat": value.latitude, "lng": value.longitude}
    if hasattr(value, "path") and hasattr(value, "id") and hasattr(value, "parent"):
        return str(value.path)
    return value


def document(snapshot: Any) -> dict[str, Any]:
    """A snapshot as {"id": ..., **fields} in plain JSON."""
    return {"id": snapshot.id, **plain(snapshot.to_dict() or {})}


def people_named(items: list[dict[str, Any]]) -> set[str]:
    """Every uid named in PERSON_FIELDS of items, including nested optIns and sub-records."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in PERSON_FIELDS and isinstance(item, str) and item:
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(items)
    return found


def people(org_id: str, uids: set[str]) -> dict[str, dict[str, Any]]:
    """uid -> {name, formerMember}: deleted or unknown members are shown as a former member."""
    if not uids:
        return {}
    ordered = sorted(uids)
    snapshots = clients.db().get_all([tenancy.member_ref(org_id, uid) for uid in ordered])
    found = {snapshot.id: snapshot.to_dict() or {} for snapshot in snapshots if snapshot.exists}
    result: dict[str, dict[str, Any]] = {}
    for uid in ordered:
        member = found.get(uid)
        if member is None or member.get("deleted"):
            result[uid] = {"name": FORMER_MEMBER, "formerMember": True}
        else:
            result[uid] = {"name": str(member.get("name", "")), "formerMember": False}
    return result
