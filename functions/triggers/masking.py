"""Lead documents follow the organization's phone masking (thin: leads.service does the work).

`leadmasking` rewrites every lead of an organization when its `phoneMasking` flag changes. `leadmaskguard`
is the backstop: whenever a lead's phones, name or search tokens are written, it re-checks that one lead
against the flag as it is now, so a lead written from a stale setting (an instance's cached organization,
an import running while the flag changed, a writer added later that forgot) is corrected within a second.
Neither loops: each writes only what differs from the wanted form, and the wanted form of a rewrite is itself.
"""

from __future__ import annotations

from typing import Any

from firebase_functions import firestore_fn

from core import secrets
from core.deploy import DATA_EVENTS, document_trigger
from core.org_settings import OrgSettings

# A lead write that changes none of these cannot have stored a number in the wrong form.
GUARDED_FIELDS = ("primaryPhone", "alternatePhone", "searchTokens", "name")


def masking_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool | None:
    """The new `phoneMasking` value when the write changed it, else None."""
    if after is None:
        return None
    old = OrgSettings.of(before).phone_masking
    new = OrgSettings.of(after).phone_masking
    return new if old != new else None


def needs_guard(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """True when a lead write may have stored its numbers in a form the organization's flag does not want."""
    if after is None:
        return False
    return before is None or any(before.get(field) != after.get(field) for field in GUARDED_FIELDS)


def _data(snapshot: Any) -> dict[str, Any] | None:
    return snapshot.to_dict() if snapshot is not None and snapshot.exists else None


@document_trigger(
    firestore_fn.on_document_written,
    document="orgs/{orgId}",
    max_age=DATA_EVENTS,
    secrets=secrets.names(secrets.SEARCH_KEY),
)
def leadmasking(event: firestore_fn.Event[Any]) -> None:
    """Re-mask (or unmask) the organization's lead documents after its phoneMasking setting changed."""
    from leads.service import apply_masking

    if masking_change(_data(event.data.before), _data(event.data.after)) is not None:
        apply_masking(event.params["orgId"])  # reads the flag again: events may arrive out of order


@document_trigger(
    firestore_fn.on_document_written,
    document="orgs/{orgId}/leads/{leadId}",
    max_age=DATA_EVENTS,
    secrets=secrets.names(secrets.SEARCH_KEY),  # it rewrites search tokens
)
def leadmaskguard(event: firestore_fn.Event[Any]) -> None:
    """Backstop: a lead whose numbers were just written is re-checked against the organization's flag now."""
    from leads.service import guard_masking

    if needs_guard(_data(event.data.before), _data(event.data.after)):
        guard_masking(event.params["orgId"], event.params["leadId"])
