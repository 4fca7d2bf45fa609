"""Endpoints measured through the real handlers in-process (devtools.inproc.call), each beside a raw
Firestore client doing the reads and writes a minimal implementation of the same endpoint needs.

Latency is measured with the per-instance member/org cache emptied before every request, so the handler
does the same reads as its baseline (the worst case: the first request on an instance, or one every
MEMBER_CACHE_SECONDS); the operation counts are given both cold and warm.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import env, opcount
from bench.stats import ratio, summary_ms


@dataclass
class Endpoint:
    """One endpoint: how to call it, its raw baseline and the least it must cost (reads, writes)."""

    name: str
    call: Callable[[], Any]
    raw: Callable[[], None]
    minimum: tuple[int, int] | None  # None: what the raw baseline needed (e.g. a page of what exists)
    expected_status: int = 200
    note: str = ""
    hot_documents: list[str] = field(default_factory=list)


def _db() -> Any:
    from core import clients

    return clients.db()


_cache = {"cold": True}


def _cold() -> None:
    """Empty the per-instance member/org cache, unless a warm measurement is running."""
    from core import tenancy

    if _cache["cold"]:
        tenancy.cache.clear()


def _caller_reads(org_id: str, uid: str) -> None:
    """What authenticating a caller must read without a cache: its member record and its organization."""
    db = _db()
    db.document(f"orgs/{org_id}/members/{uid}").get()
    db.document(f"orgs/{org_id}").get()


def _audit_append(transaction_db: Any, org_id: str, action: str) -> None:
    """A raw hash-chain append: read the head, create the entry, move the head (core.audit's minimum)."""
    from google.cloud import firestore

    head = transaction_db.document(f"orgs/{org_id}/auditHead/head")

    @firestore.transactional
    def append(transaction: Any) -> None:
        state = head.get(transaction=transaction).to_dict() or {"seq": 0}
        seq = int(state["seq"]) + 1
        transaction.create(transaction_db.document(f"orgs/{org_id}/audit/{seq:012d}"), {"seq": seq, "action": action})
        transaction.set(head, {"seq": seq, "hash": "x"})

    append(transaction_db.transaction())


def members_endpoints() -> list[Endpoint]:
    """The foundation's endpoints: GET /members/me, GET /members, PATCH /members/{uid}, POST /devices."""
    from google.cloud import firestore

    from devtools.inproc import call

    agent, admin = env.token("demo-agent1"), env.token("demo-admin")

    def me() -> Any:
        _cold()
        return call("GET", "/members/me", token=agent)

    def raw_me() -> None:
        _caller_reads("demo", "demo-agent1")

    def list_members() -> Any:
        _cold()
        return call("GET", "/members?limit=50", token=admin)

    def raw_list() -> None:
        _caller_reads("demo", "demo-admin")
        list(_db().collection("orgs/demo/members").order_by("createdAt", direction="DESCENDING").limit(50).stream())

    names = itertools.count()

    def patch() -> Any:
        _cold()
        return call("PATCH", "/members/demo-agent2", token=admin, json_body={"name": f"Bina {next(names)}"})

    def raw_patch() -> None:
        db = _db()
        _caller_reads("demo", "demo-admin")
        ref = db.document("orgs/demo/members/demo-agent2")

        @firestore.transactional
        def apply(transaction: Any) -> None:
            member = ref.get(transaction=transaction).to_dict() or {}
            transaction.update(ref, {"name": f"raw {next(names)}", "version": int(member.get("version", 1)) + 1})

        apply(db.transaction())
        _audit_append(db, "demo", "member.changed")

    def register() -> Any:
        _cold()
        device = {"deviceId": f"d{uuid.uuid4().hex[:8]}", "fcmToken": uuid.uuid4().hex, "platform": "android"}
        return call("POST", "/devices", token=agent, json_body=device)

    def raw_register() -> None:
        db = _db()
        _caller_reads("demo", "demo-agent1")
        device = db.document(f"users/demo-agent1/devices/r{uuid.uuid4().hex[:8]}")
        token_ref = db.document(f"fcmTokens/{uuid.uuid4().hex}")

        @firestore.transactional
        def apply(transaction: Any) -> None:
            device.get(transaction=transaction)
            token_ref.get(transaction=transaction)
            transaction.set(device, {"fcmToken": "t", "platform": "android"})
            transaction.set(token_ref, {"uid": "demo-agent1"})

        apply(db.transaction())

    return [
        Endpoint("GET /members/me", me, raw_me, (2, 0), note="member + org (cold cache)"),
        Endpoint("GET /members", list_members, raw_list, (2 + 7, 0), note="caller 2 + 7 seeded members"),
        Endpoint(
            "PATCH /members/{uid}",
            patch,
            raw_patch,
            (4, 3),
            note="caller 2 + member 1 + audit head 1; member, audit entry, audit head",
            hot_documents=["orgs/{orgId}/auditHead/head"],
        ),
        Endpoint(
            "POST /devices",
            register,
            raw_register,
            (4, 2),
            expected_status=201,
            note="caller 2 + device + token holder; device, token",
        ),
    ]


def measure(endpoint: Endpoint, *, iterations: int, warmup: int = 3) -> dict[str, Any]:
    """p50/p95 of the handler and of its raw baseline, interleaved so both see the same machine load;
    and the Firestore operations of one request with a cold and with a warm member cache."""
    for _ in range(warmup):
        _check(endpoint, endpoint.call())
        endpoint.raw()
    mine: list[float] = []
    raw: list[float] = []
    for _ in range(iterations):
        started = time.perf_counter()
        _check(endpoint, endpoint.call())
        mine.append(time.perf_counter() - started)
        started = time.perf_counter()
        endpoint.raw()
        raw.append(time.perf_counter() - started)
    with opcount.counting() as cold:
        _check(endpoint, endpoint.call())
    _cache["cold"] = False
    try:
        endpoint.call()
        with opcount.counting() as warm:
            _check(endpoint, endpoint.call())
    finally:
        _cache["cold"] = True
    with opcount.counting() as baseline_ops:
        endpoint.raw()
    mine_ms, raw_ms = summary_ms(mine), summary_ms(raw)
    minimum = endpoint.minimum or (baseline_ops.reads, baseline_ops.writes)
    return {
        "latencyMs": mine_ms,
        "rawLatencyMs": raw_ms,
        "p50": {"ratio": ratio(mine_ms["p50"], raw_ms["p50"])},
        "p95": {"ratio": ratio(mine_ms["p95"], raw_ms["p95"])},
        "ops": {
            "cold": cold.as_dict(),
            "warm": warm.as_dict(),
            "baseline": baseline_ops.as_dict(),
            "minimum": {"reads": minimum[0], "writes": minimum[1]},
            "written": sorted(_shape(path) for path in cold.written),
        },
        "note": endpoint.note,
    }


def _check(endpoint: Endpoint, response: Any) -> None:
    if response.status != endpoint.expected_status:
        raise AssertionError(f"{endpoint.name}: {response.status} {response.text[:300]}")


def _shape(path: str) -> str:
    """A document path with its ids generalised where they vary per request (for the hot-document list)."""
    parts = path.split("/")
    known = {"orgs": "{orgId}", "members": "{uid}", "users": "{uid}", "devices": "{deviceId}", "leads": "{leadId}"}
    shaped = []
    for index, part in enumerate(parts):
        if index % 2 == 1 and parts[index - 1] in known:
            shaped.append(known[parts[index - 1]])
        elif index % 2 == 1 and parts[index - 1] not in {"auditHead"}:
            shaped.append("{id}")
        else:
            shaped.append(part)
    return "/".join(shaped)
