"""Adding and changing members: unique emails, seats, and sessions ended on every role, team or active change."""

from __future__ import annotations

import contextlib
from typing import Any

from auth.service import EMAIL_INDEX, email_key, normalize_email, revoke_sessions
from core import audit, clients, clock, pagination, tenancy
from core.caller import Caller
from core.errors import ApiError, forbidden, invalid, not_found, precondition
from core.ids import new_id
from core.versioning import check
from members.models import MemberCreate, MemberListQuery, MemberUpdate


def _team_exists(transaction: Any, org_id: str, team_id: str | None) -> None:
    if team_id is None:
        return
    ref = tenancy.org_ref(org_id).collection("teams").document(team_id)
    if not ref.get(transaction=transaction).exists:
        raise invalid("teamId", "no such team")


def add_member(*, org_id: str, actor: str | None, data: MemberCreate, uid: str | None = None) -> dict[str, Any]:
    """Add a member in one transaction: email unique across the platform, a free seat, the team exists."""
    from google.cloud import firestore

    db = clients.db()
    org_ref = tenancy.org_ref(org_id)
    index_ref = db.collection(EMAIL_INDEX).document(email_key(str(data.email)))
    uid = uid or new_id("u_")
    now = clock.now()
    member = {
        "uid": uid,
        "orgId": org_id,
        "email": normalize_email(str(data.email)),
        "name": data.name,
        "role": data.role,
        "teamId": data.team_id,
        "active": True,
        "version": 1,
        "createdAt": now,
        "updatedAt": now,
        "lastLoginAt": None,
        "sessionsValidAfter": None,
    }

    @firestore.transactional
    def apply(transaction: Any) -> None:
        org = org_ref.get(transaction=transaction)
        if not org.exists:
            raise not_found("Organization")
        if index_ref.get(transaction=transaction).exists:
            raise ApiError("ALREADY_EXISTS", "A member with this email exists", fields={"email": "already a member"})
        _team_exists(transaction, org_id, data.team_id)
        seats, used = int(org.get("seats")), int(org.to_dict().get("activeMembers", 0))
        if used >= seats:
            raise precondition(f"All {seats} seats are taken; deactivate a member or buy more seats")
        transaction.create(org_ref.collection("members").document(uid), member)
        transaction.create(index_ref, {"orgId": org_id, "uid": uid})
        transaction.update(org_ref, {"activeMembers": used + 1})

    apply(db.transaction())
    tenancy.cache.forget(org_ref.path)
    audit.record(org_id, "member.added", actor=actor, target=uid, role=data.role, teamId=data.team_id)
    return member


def update_member(*, caller: Caller, uid: str, data: MemberUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a member; a role, team or active change updates its claims and ends its sessions."""
    from google.cloud import firestore

    changes = data.model_dump(exclude_unset=True, by_alias=True)
    for key in ("name", "role", "active"):
        if key in changes and changes[key] is None:
            raise invalid(key, "must not be null")
    if uid == caller.uid and ({"role", "active"} & changes.keys()):
        raise precondition("You cannot change your own role or deactivate yourself; ask another admin")
    db = clients.db()
    org_ref = tenancy.org_ref(caller.org_id)
    ref = org_ref.collection("members").document(uid)

    @firestore.transactional
    def apply(transaction: Any) -> tuple[dict[str, Any], bool]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise not_found("Member")
        member = snapshot.to_dict() or {}
        if member.get("deleted"):
            raise not_found("Member")  # an erased account stays a "former member" stub, never reactivated
        version = check(member, if_match)
        if "teamId" in changes and changes["teamId"] != member.get("teamId"):
            _team_exists(transaction, caller.org_id, changes["teamId"])
        org = org_ref.get(transaction=transaction).to_dict() or {}
        head = audit.read_head(transaction, caller.org_id)
        used = int(org.get("activeMembers", 0))
        if changes.get("active") is True and not member.get("active"):
            if used >= int(org.get("seats", 0)):
                raise precondition("No free seat to reactivate this member")
            transaction.update(org_ref, {"activeMembers": used + 1})
        elif changes.get("active") is False and member.get("active"):
            transaction.update(org_ref, {"activeMembers": max(0, used - 1)})
        sessions_change = any(
            key in changes and changes[key] != member.get(key) for key in ("role", "teamId", "active")
        )
        member.update(changes, version=version + 1, updatedAt=clock.now())
        transaction.set(ref, member)
        audit.append_in(
            transaction,
            caller.org_id,
            head,
            "member.changed",
            actor=caller.uid,
            target=uid,
            fields=sorted(changes),
            role=member.get("role"),
            teamId=member.get("teamId"),
            active=member.get("active"),
        )
        return member, sessions_change

    member, sessions_change = apply(db.transaction())
    tenancy.cache.forget(org_ref.path)
    if sessions_change:
        _update_claims(member)
        revoke_sessions(org_id=caller.org_id, uid=uid)
        member = ref.get().to_dict() or member
    return member


def _update_claims(member: dict[str, Any]) -> None:
    """Keep the Auth user's custom claims in step with the member record."""
    from firebase_admin import auth

    claims = {"orgId": member["orgId"], "role": member["role"], "teamId": member.get("teamId")}
    with contextlib.suppress(auth.UserNotFoundError):  # never logged in: claims are set at first login
        auth.set_custom_user_claims(member["uid"], claims, app=clients.firebase_app())


def get_member(*, caller: Caller, uid: str) -> dict[str, Any]:
    """One member; admins see all, managers their team, others only themselves."""
    snapshot = tenancy.member_ref(caller.org_id, uid).get()
    if not snapshot.exists:
        raise not_found("Member")
    member = snapshot.to_dict() or {}
    if not (
        caller.is_admin or uid == caller.uid or (caller.role == "manager" and member.get("teamId") == caller.team_id)
    ):
        raise forbidden("You may not see this member")
    return member


def list_members(*, caller: Caller, query: MemberListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of members, newest first: admins all, managers their team's."""
    if caller.is_admin:
        team_id = query.team_id
    elif caller.role == "manager":
        if query.team_id not in (None, caller.team_id):
            raise forbidden("Managers list only their own team")
        team_id = caller.team_id
    else:
        raise forbidden("Only admins and managers list members")
    ref: Any = tenancy.org_ref(caller.org_id).collection("members")
    if team_id is not None:
        ref = ref.where(filter=clients.where("teamId", "==", team_id))
    if query.role is not None:
        ref = ref.where(filter=clients.where("role", "==", query.role))
    snapshots, cursor = pagination.page(ref, order_field="createdAt", limit=query.limit, cursor=query.cursor)
    return [s.to_dict() or {} for s in snapshots], cursor


def me(*, caller: Caller) -> dict[str, Any]:
    """The caller's profile, permissions and organization."""
    member = tenancy.load_member(caller.org_id, caller.uid) or {}
    return {
        **member,
        "permissions": sorted(caller.permissions),
        "org": {
            "id": caller.org_id,
            "name": caller.org.get("name", ""),
            "subscriptionEndsAt": caller.org.get("subscriptionEndsAt"),
        },
    }
