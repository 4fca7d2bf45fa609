"""The audit trail as admins read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_serializer, model_validator

from core.clock import rfc3339
from core.errors import invalid
from core.models import ApiOut, DocId, Instant
from core.pagination import PageQuery


class AuditQuery(PageQuery):
    """Filters of GET /audit."""

    action: str | None = Field(None, max_length=64, description="Only this action, e.g. login.failed")
    actor_id: DocId | None = Field(None, max_length=128, description="Only entries by this member uid")
    since: Instant | None = Field(None, description="Only entries at or after this time (RFC 3339 with an offset)")
    until: Instant | None = Field(None, description="Only entries before this time (RFC 3339 with an offset)")

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        if self.since and self.until and self.since >= self.until:
            raise invalid("until", "must be after since")
        return self


class AuditEntry(ApiOut):
    """One entry of the hash-chained trail: ids only, no personal data."""

    id: str = Field(description="Entry id: the zero-padded sequence number")
    seq: int = Field(description="Position in the chain, from 1")
    action: str = Field(description="login, login.failed, login.locked, logout, member.added, member.changed, ...")
    actor_id: str | None = Field(description="Who did it (member uid), null for the platform")
    target_id: str | None = Field(description="What it was done to (an id)")
    details: dict[str, Any] = Field(description="Ids, counts and field names; never personal data")
    created_at: datetime = Field(description="When")
    prev_hash: str = Field(description="The hash of the entry before (the anchor for the first one kept)")
    hash: str = Field(description="sha256 of prevHash and this entry's canonical JSON")

    @field_serializer("created_at")
    def _as_hashed(self, value: datetime) -> str:
        """Milliseconds, exactly as the hash covers it: an exported trail verifies offline."""
        return rfc3339(value)
