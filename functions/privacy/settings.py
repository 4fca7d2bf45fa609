"""The organization's privacy settings, one server-only document `orgs/{orgId}/config/privacy`: how many days
it gives itself to answer a data principal's request (DPDP; the privacy policy promises it), and how long
each kind of data is kept for its purpose (retention by purpose)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import audit, clock, tenancy, transactions
from core.versioning import check

DEFAULT_RESPONSE_DAYS = 30


def ref(org_id: str) -> Any:
    """The privacy settings' document."""
    return tenancy.org_ref(org_id).collection("config").document("privacy")


def _positive(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """What the organization chose (None: keep for as long as the purpose lasts, no sweep)."""

    response_days: int = DEFAULT_RESPONSE_DAYS
    inactive_lead_months: int | None = None  # leads without activity this long are archived, then erased
    message_months: int | None = None  # calls' and messages' content older than this is erased (counts stay)
    version: int = 0

    @classmethod
    def of(cls, document: Mapping[str, Any] | None) -> PrivacySettings:
        """The stored document, typed (missing or bad values: the defaults)."""
        data = document or {}
        return cls(
            response_days=_positive(data.get("responseDays"), DEFAULT_RESPONSE_DAYS) or DEFAULT_RESPONSE_DAYS,
            inactive_lead_months=_positive(data.get("inactiveLeadMonths"), None),
            message_months=_positive(data.get("messageMonths"), None),
            version=int(data.get("version") or 0),
        )

    def reply(self) -> dict[str, Any]:
        """As the API shows it."""
        return {
            "responseDays": self.response_days,
            "inactiveLeadMonths": self.inactive_lead_months,
            "messageMonths": self.message_months,
            "version": self.version,
        }


def load(org_id: str) -> PrivacySettings:
    """The organization's privacy settings."""
    snapshot = ref(org_id).get()
    return PrivacySettings.of(snapshot.to_dict() if snapshot.exists else None)


def save(org_id: str, changes: Mapping[str, Any], *, by: str, expected: int | None) -> PrivacySettings:
    """Apply the given fields (If-Match checked), audited in the same transaction."""
    from google.cloud import firestore

    doc = ref(org_id)

    @firestore.transactional
    def apply(transaction: Any) -> PrivacySettings:
        snapshot = doc.get(transaction=transaction)
        stored = snapshot.to_dict() if snapshot.exists else {}
        version = check(int(stored.get("version") or 0), expected)
        head = audit.read_head(transaction, org_id)
        after = {**stored, **changes, "version": version + 1, "updatedAt": clock.now(), "updatedBy": by}
        transaction.set(doc, after)
        audit.append_in(transaction, org_id, head, "privacy.settings.changed", actor=by, fields=sorted(changes))
        return PrivacySettings.of(after)

    result: PrivacySettings = transactions.run(apply)
    return result
