"""A member's own data: the export of everything kept about them, and account deletion.

Deletion is asked for by the member and completed by an admin. The member document stays as a
tombstone named "Former member" (no email, inactive), so every record the member authored or was
assigned keeps working; the Auth user, devices, feed, login index and sessions go.
"""

from __future__ import annotations

import contextlib
from typing import Any

from auth import sessions
from auth.service import CHALLENGES, EMAIL_INDEX, PER_EMAIL, email_key, normalize_email
from core import audit, clients, clock, notify, pagination, tenancy, transactions
from core.caller import Caller
from core.errors import invalid, not_found, precondition
from core.ids import sha256_hex
from core.push_tokens import token_ref
from privacy import purge, records

LOGIN_ACTIONS = ("login", "login.failed", "login.locked", "logout")
LOGIN_HISTORY_LIMIT = 500
EXPORT_FORMAT = "justo-account-export/1"
PRIVATE_MEMBER_FIELDS = ("sessionsValidAfter",)


def _user(uid: str) -> Any:
    return clients.db().collection("users").document(uid)


def export_self(*, caller: Caller) -> dict[str, Any]:
    """Everything kept about the caller: profile, membership, devices, notifications, login history."""
    return export_member(org_id=caller.org_id, uid=caller.uid, actor=caller.uid, org=caller.org)


def export_member(*, org_id: str, uid: str, actor: str, org: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything kept about a member (its own export, or an admin's answer to its access request)."""
    from google.cloud.firestore import Query

    if org is None:
        org = tenancy.load_org(org_id, fresh=True) or {}
    member = tenancy.member_ref(org_id, uid).get().to_dict() or {}
    profile = {k: v for k, v in records.plain(member).items() if k not in PRIVATE_MEMBER_FIELDS}
    team_name = None
    if member.get("teamId"):
        team = tenancy.org_ref(org_id).collection("teams").document(str(member["teamId"])).get()
        team_name = (team.to_dict() or {}).get("name") if team.exists else None
    trail = audit.entries_ref(org_id).where(filter=clients.where("actorId", "==", uid))
    logins = [
        {"action": s.get("action"), "at": records.plain(s.get("createdAt")), "details": records.plain(s.get("details"))}
        for s in trail.order_by("createdAt", direction=Query.DESCENDING).limit(LOGIN_HISTORY_LIMIT).stream()
        if s.get("action") in LOGIN_ACTIONS
    ]
    result = {
        "format": EXPORT_FORMAT,
        "exportedAt": clock.rfc3339(clock.now()),
        "profile": profile,
        "memberships": [
            {
                "orgId": org_id,
                "orgName": org.get("name", ""),
                "role": member.get("role"),
                "teamId": member.get("teamId"),
                "teamName": team_name,
                "active": member.get("active"),
                "since": records.plain(member.get("createdAt")),
            }
        ],
        "devices": [records.document(s) for s in _user(uid).collection("devices").stream()],
        "notifications": [records.document(s) for s in _user(uid).collection("notifications").stream()],
        "loginHistory": logins,
        "policy": {
            "acceptedVersion": member.get("acceptedPolicyVersion"),
            "acceptedAt": records.plain(member.get("acceptedPolicyAt")),
        },
    }
    action = "privacy.self.exported" if actor == uid else "privacy.member.exported"
    audit.record(org_id, action, actor=actor, target=uid)
    return result


def request_deletion(*, caller: Caller) -> dict[str, Any]:
    """Record the caller's request to delete its account and tell the admins (once)."""
    from google.cloud import firestore

    ref = tenancy.member_ref(caller.org_id, caller.uid)
    now = clock.now()

    @firestore.transactional
    def mark(transaction: Any) -> tuple[Any, bool]:
        member = ref.get(transaction=transaction).to_dict() or {}
        if member.get("deletionRequestedAt"):
            return member["deletionRequestedAt"], False
        transaction.update(ref, {"deletionRequestedAt": now, "deletionPending": True})
        return now, True

    requested_at, new = transactions.run(mark)
    tenancy.cache.forget(ref.path)
    if new:
        audit.record(caller.org_id, "account.deletion.requested", actor=caller.uid, target=caller.uid)
        record_own(caller=caller, kind="erasure", details="Account deletion asked for in the app")
        admins = tenancy.org_ref(caller.org_id).collection("members").where(filter=clients.where("role", "==", "admin"))
        for admin in admins.stream():
            if (admin.to_dict() or {}).get("active") and admin.id != caller.uid:
                notify.send(
                    notify.Push(
                        uid=admin.id,
                        kind="account-deletion-requested",
                        title="Account deletion requested",
                        body="A member asked for their account to be deleted. Reassign their work, then complete it.",
                        data={"uid": caller.uid},
                        refs=(caller.uid,),
                    ),
                    dedupe_key=f"account-deletion:{caller.org_id}:{caller.uid}",
                )
    return {"uid": caller.uid, "requestedAt": requested_at, "status": "pending"}


def pending_deletions(*, caller: Caller, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Members whose deletion request waits for an admin, oldest request first."""
    query = (
        tenancy.org_ref(caller.org_id).collection("members").where(filter=clients.where("deletionPending", "==", True))
    )
    snapshots, next_cursor = pagination.page(
        query, order_field="deletionRequestedAt", limit=limit, cursor=cursor, descending=False
    )
    items = []
    for snapshot in snapshots:
        member = snapshot.to_dict() or {}
        items.append(
            {
                "uid": snapshot.id,
                "name": member.get("name"),
                "role": member.get("role"),
                "teamId": member.get("teamId"),
                "requestedAt": member.get("deletionRequestedAt"),
                "status": "pending",
            }
        )
    return items, next_cursor


def complete_deletion(*, caller: Caller, uid: str) -> None:
    """Delete a member's account on its request: Auth user, sessions, devices, feed and login index go;
    the member document stays as a "Former member" tombstone so its records keep working."""
    from firebase_admin import auth
    from google.cloud import firestore

    if uid == caller.uid:
        raise precondition("You cannot delete your own account; ask another admin")
    _keep_an_admin(caller.org_id, uid)
    db = clients.db()
    org_ref = tenancy.org_ref(caller.org_id)
    ref = org_ref.collection("members").document(uid)
    snapshot = ref.get()
    member = (snapshot.to_dict() or {}) if snapshot.exists else {}
    if not member or member.get("deleted") is True:
        raise not_found("Member")
    if not member.get("deletionRequestedAt"):
        raise precondition("This member has not asked for account deletion")
    email = normalize_email(str(member.get("email") or ""))
    sessions.end_sessions(org_id=caller.org_id, uid=uid)
    with contextlib.suppress(auth.UserNotFoundError):
        auth.delete_user(uid, app=clients.firebase_app())

    @firestore.transactional
    def tombstone(transaction: Any) -> None:
        current = ref.get(transaction=transaction).to_dict() or {}
        org = org_ref.get(transaction=transaction).to_dict() or {}
        if current.get("active"):
            transaction.update(org_ref, {"activeMembers": max(0, int(org.get("activeMembers", 0)) - 1)})
        transaction.set(
            ref,
            {
                "uid": uid,
                "orgId": caller.org_id,
                "email": "",
                "name": records.FORMER_MEMBER,
                "role": current.get("role", "agent"),
                "teamId": current.get("teamId"),
                "active": False,
                "deleted": True,
                "deletedAt": clock.now(),
                "deletionPending": False,
                "version": int(current.get("version", 1)) + 1,
                "createdAt": current.get("createdAt", clock.now()),
                "updatedAt": clock.now(),
                "lastLoginAt": None,
                "sessionsValidAfter": current.get("sessionsValidAfter"),
            },
        )

    transactions.run(tombstone, db)
    tenancy.cache.forget(ref.path)
    tenancy.cache.forget(org_ref.path)
    _forget_person(uid, email)
    audit.record(caller.org_id, "member.deleted", actor=caller.uid, target=uid)


def correct_self(*, caller: Caller, name: str | None, phone: Any, fields: set[str]) -> dict[str, Any]:
    """The member corrects its own name or phone (normalized as leads' are); audited with the fields only."""
    from google.cloud import firestore

    from leads import phones

    changes: dict[str, Any] = {}
    if "name" in fields:
        changes["name"] = name
    if "phone" in fields:
        if phone is None:
            changes["phone"] = None
        else:
            parsed = phones.parse(
                phone.number,
                phone.country_code,
                default_country_code=caller.settings.default_country_code,
                field="phone.number",
            )
            changes["phone"] = {"countryCode": parsed.country_code, "number": parsed.national, "e164": parsed.e164}
    if not changes:
        raise invalid("body", "give name or phone")
    ref = tenancy.member_ref(caller.org_id, caller.uid)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        member = ref.get(transaction=transaction).to_dict() or {}
        head = audit.read_head(transaction, caller.org_id)
        update = {**changes, "version": int(member.get("version", 1)) + 1, "updatedAt": clock.now()}
        transaction.update(ref, update)
        audit.append_in(
            transaction, caller.org_id, head, "member.corrected", actor=caller.uid, target=caller.uid,
            fields=sorted(changes),
        )  # fmt: skip
        return member | update

    result: dict[str, Any] = transactions.run(apply)
    tenancy.cache.forget(ref.path)
    return result | {"uid": caller.uid}


def _keep_an_admin(org_id: str, uid: str) -> None:
    """409 when deleting this member would leave the organization without an active admin."""
    admins = tenancy.org_ref(org_id).collection("members").where(filter=clients.where("role", "==", "admin"))
    others = [s for s in admins.stream() if s.id != uid and (s.to_dict() or {}).get("active")]
    member = tenancy.member_ref(org_id, uid).get().to_dict() or {}
    if member.get("role") == "admin" and not others:
        raise precondition("The organization's only active admin cannot be deleted; make another member admin first")


def record_own(*, caller: Caller, kind: str, details: str | None) -> dict[str, Any]:
    """A member's own request about its own data, recorded in the register (received in the app)."""
    from privacy import requests
    from privacy.models import PrivacyRequestCreate

    data = PrivacyRequestCreate.model_validate(
        {"kind": kind, "subject": {"type": "member", "id": caller.uid}, "receivedVia": "in-app", "details": details}
    )
    return requests.record(org_id=caller.org_id, data=data, by=caller.uid)


def _forget_person(uid: str, email: str) -> None:
    """Remove what is kept about a person outside the member document, in batches."""
    db = clients.db()
    refs: dict[str, Any] = {}
    devices = list(_user(uid).collection("devices").stream())
    for device in devices:
        token = (device.to_dict() or {}).get("fcmToken")
        if token:
            refs[f"token:{token}"] = token_ref(str(token))
    for ref in purge.subtree(_user(uid)):
        refs[ref.path] = ref
    if email:
        index = db.collection(EMAIL_INDEX).document(email_key(email))
        held = index.get()
        if (held.to_dict() or {}).get("uid") == uid:
            refs[index.path] = index
        refs["challenge"] = db.collection(CHALLENGES).document(email_key(email))
        refs["throttle"] = db.collection("throttles").document(sha256_hex(PER_EMAIL.name, email))
    queries = [("idempotency", "uid", uid), ("outbox", "to", uid)] + ([("outbox", "to", email)] if email else [])
    for collection, field, value in queries:
        for match in db.collection(collection).where(filter=clients.where(field, "==", value)).select([]).stream():
            refs[match.reference.path] = match.reference
    purge.delete_refs(refs.values())
