"""Lead history for every call, message and status change, and the call alert to the lead's owner."""

from __future__ import annotations

import functools
from typing import Any

from firebase_functions import firestore_fn

from core import clock, notify
from core.caller import SYSTEM
from core.deploy import DATA_EVENTS, document_trigger
from leads import history, store

CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "email": "Email"}


def _duration(seconds: int) -> str:
    minutes, rest = divmod(int(seconds or 0), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def call_changed(org_id: str, call_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    """Activity entries (and a call alert) for one written call document; how many entries were written."""
    if after is None or not after.get("leadId"):
        return 0
    lead_id = str(after["leadId"])
    kind = "VoIP call" if after.get("kind") == "voip" else "Phone call"
    entry = functools.partial(
        history.record,
        org_id=org_id,
        lead_id=lead_id,
        event_id=f"call:{call_id}",
        actor_id=after.get("agentId"),
        ref={"callId": call_id},
    )
    written = 0
    if before is None:
        if after.get("status") == "dialing":
            summary = f"{kind} started"
        else:
            direction = str(after.get("direction", "outbound")).title()
            outcome, duration = after.get("outcome"), _duration(after.get("durationSec", 0))
            summary = f"{direction} {kind.lower()}: {outcome}, {duration}"
        written += entry(
            suffix="created",
            type="called",
            at=after.get("createdAt") or clock.now(),
            summary=summary,
        )
        if after.get("direction") == "inbound":
            _call_alert(org_id, call_id, after)
    if after.get("status") == "completed" and (before or {}).get("status") != "completed":
        written += entry(
            suffix="completed",
            type="called",
            at=after.get("updatedAt") or clock.now(),
            summary=f"{kind} ended: {after.get('outcome')}, {_duration(after.get('durationSec', 0))}",
            changes={"outcome": {"before": None, "after": after.get("outcome")}},
        )
    if after.get("recordingUrl") and not (before or {}).get("recordingUrl"):
        written += entry(
            suffix="recording",
            type="call-recorded",
            at=after.get("updatedAt") or clock.now(),
            summary=f"{kind} recording available",
        )
    return written


def _call_alert(org_id: str, call_id: str, call: dict[str, Any]) -> None:
    """Push the lead's owner that the lead is calling (app calls) or called (logged by someone else)."""
    owner = call.get("leadOwnerId")
    if not owner or (call.get("kind") == "phone" and owner == call.get("agentId")):
        return
    lead = store.get(org_id, str(call["leadId"]))
    name = (lead.name if lead else "") or "Your lead"
    notify.send(
        notify.Push(
            uid=str(owner),
            kind="call-alert",
            title="A lead of yours is calling" if call.get("kind") == "voip" else "A lead of yours called",
            body=f"{name} {'is calling' if call.get('kind') == 'voip' else 'called'}",
            data={"leadId": str(call["leadId"]), "callId": call_id, "orgId": org_id},
            refs=(str(call["leadId"]),),
        ),
        dedupe_key=f"call-alert:{org_id}:{call_id}",
    )


def message_changed(org_id: str, message_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    """Activity entries for a new message and for each status it newly reached."""
    if after is None or not after.get("leadId"):
        return 0
    lead_id = str(after["leadId"])
    channel = CHANNEL_NAMES.get(str(after.get("channel")), str(after.get("channel")))
    what = after.get("template") or after.get("subject") or "message"
    written = 0
    if before is None:
        inbound = after.get("direction") == "inbound"
        written += history.record(
            org_id=org_id,
            lead_id=lead_id,
            event_id=f"message:{message_id}",
            suffix="created",
            type="emailed" if after.get("channel") == "email" else "messaged",
            actor_id=SYSTEM.uid if inbound else after.get("agentId"),
            at=after.get("createdAt") or clock.now(),
            summary=f"{channel} received" if inbound else f"{channel} {what} to the lead",
            ref={"messageId": message_id},
        )
    seen = {step.get("status") for step in (before or {}).get("statusHistory") or []}
    for step in after.get("statusHistory") or []:
        status = step.get("status")
        if status in seen or status == "queued" or after.get("direction") == "inbound":
            continue
        reason = f": {step.get('reason')}" if step.get("reason") else ""
        written += history.record(
            org_id=org_id,
            lead_id=lead_id,
            event_id=f"message:{message_id}",
            suffix=f"status:{status}",
            type="message-status",
            actor_id=SYSTEM.uid,
            at=step.get("at") or clock.now(),
            summary=f"{channel} {what} {status}{reason}",
            changes={"status": {"before": None, "after": status}},
            ref={"messageId": message_id},
        )
    return written


def _data(snapshot: Any) -> dict[str, Any] | None:
    return snapshot.to_dict() if snapshot is not None and snapshot.exists else None


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/calls/{callId}", max_age=DATA_EVENTS)
def commscallactivity(event: firestore_fn.Event[firestore_fn.Change[Any]]) -> None:
    """Firestore trigger: a call was logged or changed."""
    call_changed(event.params["orgId"], event.params["callId"], _data(event.data.before), _data(event.data.after))


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/messages/{messageId}", max_age=DATA_EVENTS)
def commsmessageactivity(event: firestore_fn.Event[firestore_fn.Change[Any]]) -> None:
    """Firestore trigger: a message was stored or its status changed."""
    message_changed(event.params["orgId"], event.params["messageId"], _data(event.data.before), _data(event.data.after))
