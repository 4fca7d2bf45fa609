"""When an organization turns phone masking on or off, its lead documents follow (thin: leads.service does it)."""

from __future__ import annotations

from typing import Any

from firebase_functions import firestore_fn

from core.deploy import DATA_EVENTS, document_trigger


def masking_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool | None:
    """The new `phoneMasking` value when the write changed it, else None."""
    if after is None:
        return None
    old = bool(((before or {}).get("settings") or {}).get("phoneMasking"))
    new = bool((after.get("settings") or {}).get("phoneMasking"))
    return new if old != new else None


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}", max_age=DATA_EVENTS)
def leadmasking(event: firestore_fn.Event[Any]) -> None:
    """Re-mask (or unmask) the organization's lead documents after its phoneMasking setting changed."""
    from leads.service import apply_masking

    before = event.data.before.to_dict() if event.data.before is not None and event.data.before.exists else None
    after = event.data.after.to_dict() if event.data.after is not None and event.data.after.exists else None
    masked = masking_change(before, after)
    if masked is not None:
        apply_masking(event.params["orgId"], masked=masked)
