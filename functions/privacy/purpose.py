"""Retention by purpose, per organization (`/privacy/settings`): a lead without activity for
`inactiveLeadMonths` is archived (and, like any archived lead, erased 30 days later by `purgeleads`); the
content of calls and messages older than `messageMonths` is erased (notes, texts, numbers, recordings at the
provider, attachments), the records themselves kept so that counts and reports stay true.

`plan` decides both what the preview lists and what the sweep does, so the two cannot disagree; the sweep
works through a bounded batch a day and remembers how far the content erasure got (`contentSweptUntil`), so a
day costs what is new, not the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import audit, clients, clock, tenancy
from privacy import settings as privacy_settings

BATCH = 500  # records of each kind one run looks at (the daily sweep catches up over days)
MESSAGE_CONTENT: dict[str, Any] = {
    "text": "",
    "subject": None,
    "params": [],
    "header": None,
    "buttonParams": [],
    "to": None,
    "sender": None,
    "failureReason": None,
    "attachmentIds": [],
}
CALL_CONTENT: dict[str, Any] = {"notes": "", "recordingUrl": None}


def months_before(now: datetime, months: int) -> datetime:
    """The same instant `months` calendar months earlier (the day clamped to the month's length)."""
    import calendar

    index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


@dataclass
class Plan:
    """What the next sweep erases in one organization."""

    leads: list[dict[str, Any]] = field(default_factory=list)  # {id, lastActivityAt}
    calls: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    content_until: datetime | None = None  # the content cutoff this plan reaches
    truncated: bool = False  # more than one batch is due: the next runs continue

    def reply(self, now: datetime, settings: privacy_settings.PrivacySettings) -> dict[str, Any]:
        """As the preview shows it."""
        return {
            "asOf": now,
            "inactiveLeadMonths": settings.inactive_lead_months,
            "messageMonths": settings.message_months,
            "leads": self.leads,
            "calls": self.calls,
            "messages": self.messages,
            "attachments": self.attachments,
            "truncated": self.truncated,
        }


def _last_activity(lead_ref: Any, lead: dict[str, Any]) -> datetime | None:
    """The lead's last activity: its newest history entry, or its own last change."""
    from google.cloud.firestore import Query

    newest = list(lead_ref.collection("activity").order_by("at", direction=Query.DESCENDING).limit(1).stream())
    times = [t for t in (lead.get("updatedAt"), (newest[0].to_dict() or {}).get("at") if newest else None) if t]
    return max(times) if times else None


def _inactive_leads(org_id: str, cutoff: datetime) -> tuple[list[dict[str, Any]], bool]:
    leads = tenancy.org_ref(org_id).collection("leads")
    query = (
        leads.where(filter=clients.where("archived", "==", False))
        .where(filter=clients.where("updatedAt", "<", cutoff))
        .order_by("updatedAt")
        .limit(BATCH)
    )
    found, snapshots = [], list(query.stream())
    for snapshot in snapshots:
        lead = snapshot.to_dict() or {}
        if lead.get("restricted"):  # kept on the buyer's own request until lifted
            continue
        last = _last_activity(snapshot.reference, lead)
        if last is None or last < cutoff:
            found.append({"id": snapshot.id, "lastActivityAt": last})
    return found, len(snapshots) == BATCH


def _old_records(org_id: str, name: str, since: datetime | None, cutoff: datetime) -> tuple[list[Any], bool]:
    query: Any = tenancy.org_ref(org_id).collection(name).where(filter=clients.where("createdAt", "<", cutoff))
    if since is not None:
        query = query.where(filter=clients.where("createdAt", ">=", since))
    snapshots = list(query.order_by("createdAt").limit(BATCH).stream())
    return snapshots, len(snapshots) == BATCH


def plan(org_id: str, now: datetime) -> tuple[Plan, privacy_settings.PrivacySettings]:
    """What retention by purpose erases now in the organization (nothing where it keeps data for as long as
    the purpose lasts)."""
    settings = privacy_settings.load(org_id)
    result = Plan()
    if settings.inactive_lead_months:
        result.leads, more = _inactive_leads(org_id, months_before(now, settings.inactive_lead_months))
        result.truncated |= more
    if settings.message_months:
        cutoff = months_before(now, settings.message_months)
        stored = privacy_settings.ref(org_id).get().to_dict() or {}
        since = stored.get("contentSweptUntil")
        calls, more_calls = _old_records(org_id, "calls", since, cutoff)
        messages, more_messages = _old_records(org_id, "messages", since, cutoff)
        result.calls = [s.id for s in calls]
        result.messages = [s.id for s in messages]
        attachment_ids = {str(a) for s in messages for a in (s.to_dict() or {}).get("attachmentIds") or []}
        result.attachments = sorted(attachment_ids)
        result.truncated |= more_calls or more_messages
        # a full batch ends where the oldest unfinished kind stopped, so nothing is skipped
        full = [group[-1].get("createdAt") for group, more in ((calls, more_calls), (messages, more_messages)) if more]
        result.content_until = min(full) if full else cutoff
    return result, settings


def preview(org_id: str, now: datetime | None = None) -> dict[str, Any]:
    """What the next sweep would erase, listed."""
    now = now or clock.now()
    found, settings = plan(org_id, now)
    return found.reply(now, settings)


def sweep(org_id: str, now: datetime) -> dict[str, int]:
    """Carry out the plan: archive the inactive leads, erase old calls' and messages' content (recordings at the
    provider, attachments in Cloud Storage), remember how far the content got; one audit entry with the counts."""
    from leads.service import archive_inactive
    from privacy import providers, storage

    found, _ = plan(org_id, now)
    db = clients.db()
    org = tenancy.org_ref(org_id)
    archived = sum(archive_inactive(org_id=org_id, lead_id=lead["id"]) for lead in found.leads)
    call_refs = [org.collection("calls").document(i) for i in found.calls]
    copies = providers.copies(s.to_dict() or {} for s in db.get_all(call_refs) if s.exists)
    at_providers = providers.erase_all(org_id, copies)
    attachments = [org.collection("attachments").document(i) for i in found.attachments]
    paths = [str(p) for s in db.get_all(attachments) if s.exists and (p := (s.to_dict() or {}).get("objectPath"))]
    objects = storage.delete_objects(paths)
    batch, pending = db.batch(), 0
    erased: dict[str, Any] = {"contentErasedAt": now, "updatedAt": now}
    for ref, content in [
        *((r, CALL_CONTENT) for r in call_refs),
        *((org.collection("messages").document(i), MESSAGE_CONTENT) for i in found.messages),
    ]:
        batch.update(ref, content | erased)
        pending += 1
        if pending == 400:
            batch.commit()
            batch, pending = db.batch(), 0
    for ref in attachments:
        batch.delete(ref)
        pending += 1
        if pending == 400:
            batch.commit()
            batch, pending = db.batch(), 0
    if found.content_until is not None:
        batch.set(privacy_settings.ref(org_id), {"contentSweptUntil": found.content_until}, merge=True)
    batch.commit()
    counts = {
        "leadsArchived": archived,
        "callsErased": len(found.calls),
        "messagesErased": len(found.messages),
        "attachmentsErased": len(found.attachments),
        "objects": objects,
        "providerFailures": sum(1 for line in at_providers if line["outcome"] == "failed"),
    }
    if any(counts.values()):
        audit.record(org_id, "privacy.retention.swept", actor=None, counts=counts)
    return counts


def sweep_all(now: datetime) -> dict[str, int]:
    """The daily sweep in every organization that keeps data by purpose."""
    totals: dict[str, int] = {}
    for org in clients.db().collection("orgs").select([]).stream():
        for name, count in sweep(org.id, now).items():
            totals[name] = totals.get(name, 0) + count
    return totals
