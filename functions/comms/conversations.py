"""WhatsApp conversations: one thread per lead and channel, `orgs/{orgId}/conversations/{channel}_{leadId}`.

A conversation is the listener document of a thread (API.md "Live updates"): it carries the lead's `assigneeId`,
`teamId`, `stage` and `archived`, so firestore.rules show it exactly to those who see the lead, and it is kept
in the same transaction as each message of the thread (`touch`): an inbound one adds to `unreadCount` and opens
WhatsApp's customer-service window for 24 hours (`windowOpenUntil`); an outbound one (template or reply) moves
`lastMessageAt`. `lastText` is a short preview with phone numbers scrubbed (agents of a masking organization
read it). The thread itself is the lead's messages of the channel (`leadId`, `channel`), so a merge that moves
messages to the surviving lead moves them into its thread; `follow_lead` (the `conversationfollow` trigger)
moves the conversation after its lead: a new assignee, team or stage, an archive, a merge.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from core import clients, clock, pagination, tenancy, transactions
from core.caller import Caller
from core.errors import not_found
from core.models import valid_doc_id
from core.provider_calls import scrub
from core.visibility import BOOKED
from leads import store
from leads.store import LeadRecord

log = logging.getLogger("justo.comms")

COLLECTION = "conversations"
CHANNELS = ("whatsapp",)
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window after the buyer's last message
PREVIEW_CHARS = 100
OWNER_FIELDS = ("assigneeId", "teamId", "stage", "archived")


def conversation_id(lead_id: str, channel: str = "whatsapp") -> str:
    """The thread's document id: one per lead and channel."""
    return f"{channel}_{lead_id}"


def ref(org_id: str, conv_id: str) -> Any:
    """A conversation's document reference."""
    return tenancy.org_ref(org_id).collection(COLLECTION).document(conv_id)


def preview(text: str) -> str:
    """A message's text as a conversation shows it: one line, short, without phone numbers."""
    return scrub(" ".join(str(text or "").split()))[:PREVIEW_CHARS]


def owner_fields(lead: LeadRecord) -> dict[str, Any]:
    """What a conversation copies of its lead, for the listener rules."""
    return {"assigneeId": lead.assignee_id, "teamId": lead.team_id, "stage": lead.stage, "archived": lead.archived}


def touched(
    current: Mapping[str, Any] | None, org_id: str, lead: LeadRecord, message: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The conversation after one message (pure): the newest message is the last one shown; an inbound one
    counts unread and opens the window for 24 hours from when the buyer sent it."""
    at: datetime = message.get("receivedAt") or message.get("createdAt") or now
    base: dict[str, Any] = (
        dict(current)
        if current
        else {
            "id": conversation_id(lead.id, str(message["channel"])),
            "orgId": org_id,
            "leadId": lead.id,
            "channel": message["channel"],
            "lastMessageAt": None,
            "lastDirection": None,
            "lastText": "",
            "unreadCount": 0,
            "windowOpenUntil": None,
            "createdAt": now,
        }
    )
    base.update(owner_fields(lead))
    last = base.get("lastMessageAt")
    if last is None or at >= last:
        text = message.get("text") or f"[{message.get('kind') or 'message'}]"
        base.update({"lastMessageAt": at, "lastDirection": message["direction"], "lastText": preview(text)})
    if message["direction"] == "inbound":
        base["unreadCount"] = int(base.get("unreadCount") or 0) + 1
        window = base.get("windowOpenUntil")
        base["windowOpenUntil"] = max(window, at + WINDOW) if window else at + WINDOW
    base["unread"] = int(base.get("unreadCount") or 0) > 0
    base["updatedAt"] = now
    return base


def touch(transaction: Any, org_id: str, lead: LeadRecord, messages: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Keep the lead's conversation in step with new messages of one channel, in the caller's transaction (it
    reads the conversation first: call it before the transaction's writes)."""
    conv_ref = ref(org_id, conversation_id(lead.id, str(messages[0]["channel"])))
    snapshot = conv_ref.get(transaction=transaction)
    conversation = snapshot.to_dict() if snapshot.exists else None
    now = clock.now()
    for message in messages:
        conversation = touched(conversation, org_id, lead, message, now)
    assert conversation is not None
    transaction.set(conv_ref, conversation)
    return conversation


def store_outbound(org_id: str, message: dict[str, Any]) -> None:
    """Create an outbound WhatsApp message and move its conversation, in one transaction."""
    from google.cloud import firestore

    message_ref = tenancy.org_ref(org_id).collection("messages").document(message["id"])

    @firestore.transactional
    def apply(transaction: Any) -> None:
        lead = store.get(org_id, str(message["leadId"]), transaction=transaction)
        if lead is not None:
            touch(transaction, org_id, lead, [message])
        transaction.create(message_ref, message)

    transactions.run(apply)


# ---- reading --------------------------------------------------------------------------------


def visible(caller: Caller, conv_id: str) -> tuple[dict[str, Any], LeadRecord]:
    """A conversation and its lead, or 404 (absent, another organization's, its lead gone) / 403 (a lead the
    caller may not see), by the lead as it is now."""
    if not valid_doc_id(conv_id):
        raise not_found("Conversation")
    snapshot = ref(caller.org_id, conv_id).get()
    if not snapshot.exists:
        raise not_found("Conversation")
    conversation = snapshot.to_dict() or {}
    lead = store.get_visible(caller, str(conversation.get("leadId")))
    return conversation, lead


def list_conversations(
    *, caller: Caller, lead_id: str | None, assignee_id: str | None, unread: bool, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the conversations the caller may see, newest activity first (reads at most `limit`)."""
    from google.cloud.firestore_v1.base_query import And, Or

    query: Any = tenancy.org_ref(caller.org_id).collection(COLLECTION)
    if lead_id:
        store.get_visible(caller, lead_id)
        query = query.where(filter=clients.where("leadId", "==", lead_id))
    else:
        query = query.where(filter=clients.where("archived", "==", False))
        if caller.role == "manager":
            if not caller.team_id:
                return [], None
            query = query.where(filter=clients.where("teamId", "==", caller.team_id))
        elif caller.role != "admin":
            own = clients.where("assigneeId", "==", caller.uid)
            if caller.role == "rm" and caller.team_id and assignee_id is None:
                booked = And(
                    filters=[clients.where("teamId", "==", caller.team_id), clients.where("stage", "==", BOOKED)]
                )
                query = query.where(filter=Or(filters=[own, booked]))
            else:
                query = query.where(filter=own)
    if assignee_id is not None:
        if caller.role in ("agent", "rm") and assignee_id != caller.uid and not lead_id:
            return [], None
        query = query.where(filter=clients.where("assigneeId", "==", assignee_id))
    if unread:
        query = query.where(filter=clients.where("unread", "==", True))
    snapshots, next_cursor = pagination.page(query, order_field="lastMessageAt", limit=limit, cursor=cursor)
    return [s.to_dict() or {} for s in snapshots], next_cursor


def thread(*, caller: Caller, conv_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a conversation's messages, inbound and outbound, newest first."""
    conversation, lead = visible(caller, conv_id)
    query = (
        tenancy.org_ref(caller.org_id)
        .collection("messages")
        .where(filter=clients.where("leadId", "==", lead.id))
        .where(filter=clients.where("channel", "==", conversation.get("channel")))
    )
    snapshots, next_cursor = pagination.page(query, order_field="createdAt", limit=limit, cursor=cursor)
    return [s.to_dict() or {} for s in snapshots], next_cursor


def mark_read(*, caller: Caller, conv_id: str) -> dict[str, Any]:
    """Unread back to 0 (idempotent: a conversation already read is not written)."""
    from google.cloud import firestore

    visible(caller, conv_id)
    conv_ref = ref(caller.org_id, conv_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = conv_ref.get(transaction=transaction)
        conversation = snapshot.to_dict() or {}
        if not snapshot.exists or not conversation.get("unreadCount"):
            return conversation
        now = clock.now()
        changes = {"unreadCount": 0, "unread": False, "readAt": now, "readBy": caller.uid, "updatedAt": now}
        transaction.update(conv_ref, changes)
        return {**conversation, **changes}

    result: dict[str, Any] = transactions.run(apply)
    return result


# ---- following the lead ---------------------------------------------------------------------


def folded(target: Mapping[str, Any] | None, duplicate: Mapping[str, Any], target_lead: LeadRecord) -> dict[str, Any]:
    """The surviving lead's conversation after a merge took in the duplicate's (pure): unread counts add up, the
    later last message and window win."""
    if target is None:
        merged = dict(duplicate)
        merged.update({"id": conversation_id(target_lead.id, str(duplicate["channel"])), "leadId": target_lead.id})
    else:
        merged = dict(target)
        if duplicate.get("lastMessageAt") and (
            not target.get("lastMessageAt") or duplicate["lastMessageAt"] > target["lastMessageAt"]
        ):
            merged.update({key: duplicate.get(key) for key in ("lastMessageAt", "lastDirection", "lastText")})
        windows = [w for w in (target.get("windowOpenUntil"), duplicate.get("windowOpenUntil")) if w]
        merged["windowOpenUntil"] = max(windows) if windows else None
        merged["unreadCount"] = int(target.get("unreadCount") or 0) + int(duplicate.get("unreadCount") or 0)
    merged.update(owner_fields(target_lead))
    merged["unread"] = int(merged.get("unreadCount") or 0) > 0
    merged["updatedAt"] = clock.now()
    return merged


def _fold(org_id: str, from_id: str, to_id: str, channel: str) -> bool:
    """Fold the duplicate's conversation into the surviving lead's (once: the duplicate's is deleted with it)."""
    from google.cloud import firestore

    from_ref, to_ref = ref(org_id, conversation_id(from_id, channel)), ref(org_id, conversation_id(to_id, channel))

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        duplicate = from_ref.get(transaction=transaction)
        if not duplicate.exists:
            return False
        target = to_ref.get(transaction=transaction)
        lead = store.get(org_id, to_id, transaction=transaction)
        if lead is None:
            return False
        transaction.set(to_ref, folded(target.to_dict() if target.exists else None, duplicate.to_dict() or {}, lead))
        transaction.delete(from_ref)
        return True

    result: bool = transactions.run(apply)
    return result


def _follow(org_id: str, lead_id: str, channel: str) -> bool:
    """Copy the lead's owner fields onto its conversation when they differ (never writes an unchanged one)."""
    from google.cloud import firestore

    conv_ref = ref(org_id, conversation_id(lead_id, channel))

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        snapshot = conv_ref.get(transaction=transaction)
        lead = store.get(org_id, lead_id, transaction=transaction)
        if not snapshot.exists or lead is None:
            return False
        current = snapshot.to_dict() or {}
        wanted = owner_fields(lead)
        changes = {key: value for key, value in wanted.items() if current.get(key) != value}
        if not changes:
            return False
        transaction.update(conv_ref, {**changes, "updatedAt": clock.now()})
        return True

    result: bool = transactions.run(apply)
    return result


def _survivor(org_id: str, lead_id: str) -> str | None:
    """The lead a deleted lead was merged into (it lists it in `mergedFrom`), or None."""
    query = store.collection(org_id).where(filter=clients.where("mergedFrom", "array_contains", lead_id)).limit(1)
    return next((snapshot.id for snapshot in query.select([]).stream()), None)


def follow_lead(org_id: str, lead_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
    """After a lead write: fold a merged lead's conversations into the surviving lead's, delete those of a lead
    that is gone, and move the others after their lead's assignee, team, stage and archive flag; how many
    conversations changed. Idempotent (each step reads the documents as they are now)."""
    merged_into = (after if after is not None else before or {}).get("mergedInto")
    if after is None and not merged_into:
        merged_into = _survivor(org_id, lead_id)  # the merge's archive and the delete seen as one event
    changed = 0
    if merged_into and merged_into != lead_id:
        for channel in CHANNELS:
            changed += _fold(org_id, lead_id, str(merged_into), channel)
        return changed
    if after is None:
        for channel in CHANNELS:
            conv_ref = ref(org_id, conversation_id(lead_id, channel))
            if conv_ref.get().exists:
                conv_ref.delete()
                changed += 1
        return changed
    if before is not None and all(before.get(key) == after.get(key) for key in OWNER_FIELDS):
        return 0
    for channel in CHANNELS:
        if ref(org_id, conversation_id(lead_id, channel)).get().exists:  # most leads never write: one read
            changed += _follow(org_id, lead_id, channel)
    return changed
