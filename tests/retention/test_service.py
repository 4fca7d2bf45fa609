"""Retention against the Firestore emulator: what expired goes, what is young stays, the trail still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import audit, clients, notify
from privacy import retention

pytestmark = pytest.mark.service


def _ids(collection: str) -> set[str]:
    return {s.id for s in clients.db().collection(collection).stream()}


def test_every_document_of_an_expiring_collection_carries_its_expiry(db: Any, clock: Any) -> None:
    """Firestore TTL deletes by `expiresAt`: each writer of an expiring collection sets it."""

    from auth import service as auth_service
    from core import outbox, throttle, ttl

    now = clock.now()
    outbox.record(channel="email", to="x@example.com", subject="s")
    notify.send(notify.Push(uid="u1", kind="k", title="t", body="b"), dedupe_key="one")
    throttle.hit(throttle.Limit("t", count=5, window=timedelta(minutes=1)), "subject")
    auth_service.request_code(email="nobody@example.com", client="203.0.113.1")
    documents = {
        "outbox": list(db.collection("outbox").stream()),
        "notifications": list(db.collection_group("notifications").stream()),
        "throttles": list(db.collection("throttles").stream()),
    }
    for group, snapshots in documents.items():
        assert snapshots, group
        for snapshot in snapshots:
            assert snapshot.get(ttl.FIELD) > now, (group, snapshot.id)
    assert documents["outbox"][0].get(ttl.FIELD) == now + timedelta(days=30)
    assert documents["notifications"][0].get(ttl.FIELD) == now + timedelta(days=90)


def test_audit_months_past_a_year_go_whole_and_the_rest_still_verifies(db: Any, clock: Any) -> None:
    start = datetime(2025, 1, 10, tzinfo=UTC)
    for month in range(23):  # Jan 2025 .. Nov 2026, two entries a month
        for day in (3, 20):
            index = start.year * 12 + start.month - 1 + month
            clock.at = datetime(index // 12, index % 12 + 1, day, 9, tzinfo=UTC)
            audit.record("org1", "login", actor="u1")
    now = datetime(2026, 11, 25, 6, tzinfo=UTC)
    clock.at = now

    pruned = retention.prune_audit("org1", now, 12)

    left = [s.to_dict() for s in audit.entries_ref("org1").stream()]
    assert min(e["createdAt"] for e in left) == datetime(2025, 11, 3, 9, tzinfo=UTC)
    assert pruned.removed == 20 and pruned.anchor_seq == 20 and len(left) == 26
    head = audit.head_ref("org1").get().to_dict()
    assert head["anchorSeq"] == 20 and head["anchorAt"] == datetime(2025, 10, 20, 9, tzinfo=UTC)
    assert audit.verify("org1").ok and audit.verify("org1").checked == 26
    audit.record("org1", "logout", actor="u1")  # appending keeps the anchor
    assert audit.head_ref("org1").get().get("anchorSeq") == 20 and audit.verify("org1").ok
    assert retention.prune_audit("org1", now, 12).removed == 0  # nothing more until a month passes
    audit.entries_ref("org1").document("000000000021").delete()
    verdict = audit.verify("org1")
    assert not verdict.ok and verdict.entry_id == "000000000021"


def test_the_daily_job_prunes_every_organization(db: Any, clock: Any) -> None:
    old = datetime(2024, 5, 1, tzinfo=UTC)
    for org_id in ("a", "b"):
        db.collection("orgs").document(org_id).set({"name": org_id})
        clock.at = old
        audit.record(org_id, "org.created", actor=None)
        clock.at = datetime(2026, 11, 1, tzinfo=UTC)
        audit.record(org_id, "login", actor="u")
    now = datetime(2026, 11, 25, tzinfo=UTC)
    counts = retention.run_daily(now, retention.Periods())
    assert counts["audit"] == 2
    for org_id in ("a", "b"):
        assert [s.id for s in audit.entries_ref(org_id).stream()] == ["000000000002"]
        assert audit.verify(org_id).ok
