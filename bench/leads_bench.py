"""Leads benchmarks (issue 3 item 7): create, get, list-page and update beside the raw client doing the same
reads and writes, and CSV import rows/s beside a raw BulkWriter writing the same documents."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from typing import Any

from bench import env
from bench.endpoints import Endpoint, _caller_reads, _cold, _db
from bench.stats import ratio

_numbers = itertools.count(random.randint(10_000_000, 40_000_000))


def _phone() -> str:
    return f"97{next(_numbers):08d}"


def leads_endpoints() -> list[Endpoint]:
    """POST /leads, GET /leads/{id}, GET /leads?limit=20, PATCH /leads/{id} as agent demo-agent1."""
    from google.cloud import firestore

    from devtools.inproc import call

    agent = env.token("demo-agent1")
    created: list[dict[str, Any]] = []

    def create() -> Any:
        _cold()
        response = call(
            "POST", "/leads", token=agent, json_body={"name": "Bench Buyer", "primaryPhone": {"number": _phone()}}
        )
        if response.status == 201:
            created.append({"id": response.body["id"], "version": response.body["version"]})
        return response

    def raw_create() -> None:
        db = _db()
        _caller_reads("demo", "demo-agent1")
        lead_id = f"raw{uuid.uuid4().hex[:12]}"
        phone = f"+91{_phone()}"
        key = db.document(f"orgs/demo/leadKeys/phone:{phone}")
        assignee = db.document("orgs/demo/members/demo-agent1")

        @firestore.transactional
        def apply(transaction: Any) -> None:
            if key.get(transaction=transaction).exists:
                raise RuntimeError("duplicate")
            if not (assignee.get(transaction=transaction).to_dict() or {}).get("active"):
                raise RuntimeError("inactive assignee")
            transaction.create(db.document(f"orgs/demo/leads/{lead_id}"), {"name": "Raw", "e164": phone, "version": 1})
            transaction.create(db.document(f"orgs/demo/leads/{lead_id}/private/contact"), {"e164": phone})
            transaction.create(key, {"leadId": lead_id})
            transaction.set(
                db.document("orgs/demo/openLeads/demo-agent1-raw"), {"n": firestore.Increment(1)}, merge=True
            )

        apply(db.transaction())

    def target() -> dict[str, Any]:
        if not created:
            create()
        return created[0]

    def get() -> Any:
        _cold()
        return call("GET", f"/leads/{target()['id']}", token=agent)

    def raw_get() -> None:
        _caller_reads("demo", "demo-agent1")
        _db().document(f"orgs/demo/leads/{target()['id']}").get()

    def list_page() -> Any:
        _cold()
        return call("GET", "/leads?limit=20", token=agent)

    def raw_list() -> None:
        from core.clients import where

        _caller_reads("demo", "demo-agent1")
        query = (
            _db()
            .collection("orgs/demo/leads")
            .where(filter=where("assigneeId", "==", "demo-agent1"))
            .where(filter=where("archived", "==", False))
            .order_by("createdAt", direction="DESCENDING")
            .limit(20)
        )
        list(query.stream())

    stages = itertools.cycle(["contacted", "qualified", "negotiation"])

    def patch() -> Any:
        _cold()
        lead = target()
        response = call(
            "PATCH", f"/leads/{lead['id']}", token=agent, json_body={"stage": next(stages)},
            headers={"If-Match": str(lead["version"])},
        )  # fmt: skip
        if response.status == 200:
            lead["version"] = response.body["version"]
        return response

    raw_lead = f"raw-patch-{uuid.uuid4().hex[:8]}"
    _db().document(f"orgs/demo/leads/{raw_lead}").set({"name": "Raw", "stage": "new", "version": 1})

    def raw_patch() -> None:
        db = _db()
        _caller_reads("demo", "demo-agent1")
        ref = db.document(f"orgs/demo/leads/{raw_lead}")

        @firestore.transactional
        def apply(transaction: Any) -> None:
            lead = ref.get(transaction=transaction).to_dict() or {}
            transaction.update(ref, {"stage": "raw", "version": int(lead.get("version", 1)) + 1})

        apply(db.transaction())

    return [
        Endpoint(
            "POST /leads",
            create,
            raw_create,
            (4, 4),
            expected_status=201,
            note="caller 2 + phone key 1 + assignee 1 (active at commit, in the transaction); lead, private "
            "contact, phone key, the assignee's open-lead count (a blind increment)",
        ),
        Endpoint("GET /leads/{id}", get, raw_get, (3, 0), note="caller 2 + lead 1"),
        Endpoint("GET /leads?limit=20", list_page, raw_list, None, note="caller 2 + the page's leads"),
        Endpoint("PATCH /leads/{id}", patch, raw_patch, (3, 1), note="caller 2 + lead 1; lead"),
    ]


def _csv(rows: int) -> str:
    lines = ["Customer Name,Mobile,City"]
    for index in range(rows):
        lines.append(f"Import Buyer {index},{_phone()},Pune")
    return "\n".join(lines) + "\n"


def import_throughput(rows: int) -> dict[str, Any]:
    """POST /leads/import of a generated CSV (as the admin, round-robin) beside a BulkWriter of the same
    documents (lead, private contact, phone key per row) into another organization."""
    from devtools.inproc import call

    text = _csv(rows)
    _cold()
    started = time.perf_counter()
    response = call("POST", "/leads/import", token=env.token("demo-admin"), data=text, content_type="text/csv")
    mine = time.perf_counter() - started
    if response.status != 200 or response.body.get("created") != rows:
        raise AssertionError(f"import: {response.status} {str(response.body)[:300]}")
    db = _db()
    writer = db.bulk_writer()
    started = time.perf_counter()
    for index in range(rows):
        lead_id = f"bw{index:06d}{uuid.uuid4().hex[:6]}"
        phone = f"+91{_phone()}"
        writer.create(
            db.document(f"orgs/bench-raw/leads/{lead_id}"),
            {"name": f"Import Buyer {index}", "primaryPhone": {"e164": phone}, "stage": "new", "version": 1},
        )
        writer.create(db.document(f"orgs/bench-raw/leads/{lead_id}/private/contact"), {"primaryPhone": {"e164": phone}})
        writer.create(db.document(f"orgs/bench-raw/leadKeys/phone:{phone}"), {"leadId": lead_id})
    writer.close()
    raw = time.perf_counter() - started
    return {
        "rows": rows,
        "rowsPerSecond": round(rows / mine, 1),
        "bulkWriterRowsPerSecond": round(rows / raw, 1),
        "seconds": {"import": round(mine, 3), "bulkWriter": round(raw, 3), "ratio": ratio(mine, raw)},
    }
