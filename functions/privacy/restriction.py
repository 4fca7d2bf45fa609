"""Restriction of processing (DPDP): a restricted lead is kept but nobody contacts it (every send and call
refuses: `LeadRecord.contactable`) and no list export carries it; only its privacy export does, until an
admin lifts the restriction."""

from __future__ import annotations

from typing import Any

from core import audit, clock, transactions
from core.errors import not_found
from leads import store


def _set(org_id: str, lead_id: str, restricted: bool, actor: str) -> dict[str, Any]:
    from google.cloud import firestore

    ref = store.ref(org_id, lead_id)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        lead = store.get(org_id, lead_id, transaction=transaction)
        if lead is None or lead.merged_into:
            raise not_found("Lead")
        if lead.restricted == restricted:
            return {"restricted": restricted, "restrictedAt": lead.restricted_at, "changed": False}
        head = audit.read_head(transaction, org_id)
        changes = {
            "restricted": restricted,
            "restrictedAt": now if restricted else None,
            "version": lead.version + 1,
            "updatedAt": now,
            "updatedBy": actor,
        }
        transaction.update(ref, changes)
        action = "privacy.lead.restricted" if restricted else "privacy.lead.unrestricted"
        audit.append_in(transaction, org_id, head, action, actor=actor, target=lead_id)
        return {"restricted": restricted, "restrictedAt": changes["restrictedAt"], "changed": True}

    result: dict[str, Any] = transactions.run(apply)
    return result


def restrict(*, org_id: str, lead_id: str, actor: str) -> dict[str, Any]:
    """Restrict the lead's processing (idempotent); what the register keeps as evidence."""
    return _set(org_id, lead_id, True, actor)


def lift(*, org_id: str, lead_id: str, actor: str) -> dict[str, Any]:
    """Lift the restriction (idempotent)."""
    return _set(org_id, lead_id, False, actor)
