"""Adding and changing members: unique emails, seats, and sessions ended on every role, team or active change.

An email is a login, so it belongs to one organization on the platform. Adding one that another organization
holds answers exactly as a fresh add (201, the member stored, a seat taken): the admin learns nothing about
other organizations. The login index keeps pointing where it did, and the mailbox's owner, who alone may
learn it, is emailed why the address cannot sign in here (docs/sessions.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auth import sessions
from auth.service import EMAIL_INDEX, email_key, normalize_email
from core import audit, clients, clock, mail, pagination, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, forbidden, invalid, not_found, precondition
from core.ids import new_id
from core.versioning import check
from members.models import MemberCreate, MemberListQuery, MemberUpdate
from routing.models import AvailabilityBody


def _drain(org_id: str, uid: str) -> None:
    """Offer the member's queued leads to it now (the routing engine is imported by the routes that free a
    queue only, not at every cold start of the members function)."""
    from routing import queue

    queue.drain_for(org_id, uid)


def _team_exists(transaction: Any, org_id: str, team_id: str | None) -> None:
    if team_id is None:
        return
    ref = tenancy.org_ref(org_id).collection("teams").document(team_id)
    if not ref.get(transaction=transaction).exists:
        raise invalid("teamId", "no such team")


def member_document(*, org_id: str, uid: str, data: MemberCreate, now: datetime) -> dict[str, Any]:
    """A new member's stored document (also what bench/bigorg.py writes in bulk)."""
    return {
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


def add_member(*, org_id: str, actor: str | None, data: MemberCreate, uid: str | None = None) -> dict[str, Any]:
    """Add a member in one transaction: email unique in the organization, a free seat, the team exists.

    actor None is the platform (ops commands, the seed), which is told when another organization holds the email.
    """
    from google.cloud import firestore

    db = clients.db()
    org_ref = tenancy.org_ref(org_id)
    index_ref = db.collection(EMAIL_INDEX).document(email_key(str(data.email)))
    uid = uid or new_id("u_")
    member = member_document(org_id=org_id, uid=uid, data=data, now=clock.now())

    members = org_ref.collection("members")
    same_email = members.where(filter=clients.where("email", "==", member["email"])).limit(1)

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        org = org_ref.get(transaction=transaction)
        if not org.exists:
            raise not_found("Organization")
        if list(transaction.get(same_email)):  # the admin lists its own members: saying so reveals nothing
            raise ApiError("ALREADY_EXISTS", "A member with this email exists", fields={"email": "already a member"})
        held = index_ref.get(transaction=transaction)
        if held.exists and held.get("orgId") == org_id:
            raise ApiError("ALREADY_EXISTS", "A member with this email exists", fields={"email": "already a member"})
        held_elsewhere = bool(held.exists)
        if held_elsewhere and actor is None:  # a platform command (ops, seed): the operator may know, and must
            raise ApiError(  # not create an organization whose first admin cannot sign in
                "ALREADY_EXISTS", "This email signs in to another organization", fields={"email": "used elsewhere"}
            )
        _team_exists(transaction, org_id, data.team_id)
        seats, used = int(org.get("seats")), int(org.to_dict().get("activeMembers", 0))
        if used >= seats:
            raise precondition(f"All {seats} seats are taken; deactivate a member or buy more seats")
        transaction.create(members.document(uid), member)
        if not held_elsewhere:
            transaction.create(index_ref, {"orgId": org_id, "uid": uid})
        transaction.update(org_ref, {"activeMembers": used + 1})
        return held_elsewhere

    held_elsewhere = transactions.run(apply, db)
    tenancy.cache.forget(org_ref.path)
    audit.record(org_id, "member.added", actor=actor, target=uid, role=data.role, teamId=data.team_id)
    if held_elsewhere:
        _tell_the_mailbox(org_id, member)
    return member


def _tell_the_mailbox(org_id: str, member: dict[str, Any]) -> None:
    """Tell the owner of an address another organization holds why it cannot sign in here (only it may know)."""
    org_name = (tenancy.load_org(org_id) or {}).get("name", "an organization")
    mail.mailer().send(
        mail.Email(
            to=member["email"],
            subject=f"You were added to {org_name} on Justo Lead",
            text=(
                f"Hello {member['name']},\n\nAn administrator of {org_name} added this address to Justo Lead. "
                "It already signs in to another organization on Justo Lead, and an address signs in to one "
                f"organization only, so it cannot sign in to {org_name}.\nAsk {org_name}'s administrator to add "
                "another address for you, or ask your other organization to remove this one.\n"
            ),
            refs=(str(member["uid"]),),
        )
    )


def update_member(*, caller: Caller, uid: str, data: MemberUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a member; a role, team or active change ends its sessions in the same write and updates Auth.

    The member record is the one switch: its `active` and `sessionsValidAfter` stop the API and the Firestore
    listeners (firestore.rules read it). Then the Auth user follows (claims, disabled while inactive, refresh
    tokens revoked), idempotently, so repeating an `active` change after an Auth outage completes it.
    """
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
        # The organization (seats, activeMembers) is read only when the member's active flag really changes:
        # every other change leaves the seat count alone, so it needs no read of it (nor a lock on it).
        seat_change = "active" in changes and bool(changes["active"]) != bool(member.get("active"))
        org = (org_ref.get(transaction=transaction).to_dict() or {}) if seat_change else {}
        head = audit.read_head(transaction, caller.org_id)
        used = int(org.get("activeMembers", 0))
        if seat_change and changes["active"]:
            if used >= int(org.get("seats", 0)):
                raise precondition("No free seat to reactivate this member")
            transaction.update(org_ref, {"activeMembers": used + 1})
        elif seat_change:
            transaction.update(org_ref, {"activeMembers": max(0, used - 1)})
        sessions_change = any(
            key in changes and changes[key] != member.get(key) for key in ("role", "teamId", "active")
        )
        member.update(changes, version=version + 1, updatedAt=clock.now())
        if sessions_change:
            member["sessionsValidAfter"] = sessions.cutoff()  # in the same write: no moment with old claims
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

    member, sessions_change = transactions.run(apply, db)
    tenancy.cache.forget(org_ref.path)
    tenancy.cache.forget(ref.path)
    if sessions_change or "active" in changes:
        sessions.sync_auth_user(member, revoke=sessions_change)
    if {"active", "leave", "maxOpenLeads", "teamId", "role"} & changes.keys():
        _drain(caller.org_id, uid)  # reactivated, leave lifted, cap raised: queued leads may go now
    return member


def set_availability(*, caller: Caller, uid: str, data: AvailabilityBody) -> dict[str, Any]:
    """Set a member's routing state: its own, or (admin: anyone; manager: its team) another's. Back to
    available drains the queues the member can take from."""
    from google.cloud import firestore

    now = clock.now()
    if data.until is not None and data.until <= now:
        raise invalid("until", "must be in the future")
    if data.status == "available" and data.until is not None:
        raise invalid("until", "only away and off-duty end at a time")
    ref = tenancy.member_ref(caller.org_id, uid)
    state = {"status": data.status, "until": data.until, "updatedAt": now, "updatedBy": caller.uid}

    @firestore.transactional
    def apply(transaction: Any) -> None:
        snapshot = ref.get(transaction=transaction)
        member = (snapshot.to_dict() or {}) | {"uid": uid} if snapshot.exists else None
        if member is None or member.get("deleted"):
            raise not_found("Member")
        if uid != caller.uid and not (caller.role in {"admin", "manager"} and may_see(caller, member)):
            raise forbidden("You may set only your own availability")
        head = audit.read_head(transaction, caller.org_id)
        transaction.update(ref, {"availability": state, "updatedAt": now})
        audit.append_in(
            transaction, caller.org_id, head, "member.availability", actor=caller.uid, target=uid, status=data.status
        )

    transactions.run(apply)
    tenancy.cache.forget(ref.path)
    if data.status == "available":
        _drain(caller.org_id, uid)
    return state


def may_see(caller: Caller, member: dict[str, Any]) -> bool:
    """Whose records a caller may read: admins all, managers their own team's, everyone itself.

    A manager without a team manages nobody (a missing team is not a team that matches every teamless member).
    """
    if caller.is_admin or member.get("uid") == caller.uid:
        return True
    return caller.role == "manager" and caller.team_id is not None and member.get("teamId") == caller.team_id


def get_member(*, caller: Caller, uid: str) -> dict[str, Any]:
    """One member; admins see all, managers their team, others only themselves."""
    snapshot = tenancy.member_ref(caller.org_id, uid).get()
    if not snapshot.exists:
        raise not_found("Member")
    member = (snapshot.to_dict() or {}) | {"uid": snapshot.id}
    if not may_see(caller, member):
        raise forbidden("You may not see this member")
    return member


def list_members(*, caller: Caller, query: MemberListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of members, newest first: admins all, managers their team's."""
    if caller.is_admin:
        team_id = query.team_id
    elif caller.role == "manager" and caller.team_id is not None:
        if query.team_id not in (None, caller.team_id):
            raise forbidden("Managers list only their own team")
        team_id = caller.team_id
    elif caller.role == "manager":
        raise forbidden("A manager without a team lists no members; ask an admin to assign your team")
    else:
        raise forbidden("Only admins and managers list members")
    ref: Any = tenancy.org_ref(caller.org_id).collection("members")
    if team_id is not None:
        ref = ref.where(filter=clients.where("teamId", "==", team_id))
    if query.role is not None:
        ref = ref.where(filter=clients.where("role", "==", query.role))
    snapshots, cursor = pagination.page(ref, order_field="createdAt", limit=query.limit, cursor=query.cursor)
    members = [(s.to_dict() or {}) | {"uid": s.id} for s in snapshots]
    return [m for m in members if may_see(caller, m)], cursor


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
