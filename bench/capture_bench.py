"""Capture latency (issue 14): payload received to lead stored and push queued, p50 and p95, for the push
receiver (`POST /webhooks/capture/{sourceId}`, the seeded website source and its key) through the real
handlers in process, beside the raw client doing the same minimal writes. New leads (distinct phones) and
repeat enquiries (an existing phone) are measured separately.

A new lead's push is queued by the lead trigger (triggers.notifications.handle_lead) on the lead's write; in
process the bench runs that handler right after the request, on the stored lead document (one read that the
trigger's event carries in production), so the figure covers the whole path to a queued push.
"""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

from bench import endpoints
from bench.endpoints import Endpoint, _db

ORG, SOURCE, KEY = "demo", "demo-website", "local-website-key"
PATH = f"/webhooks/capture/{SOURCE}"

_numbers = itertools.count(random.randint(10_000_000, 40_000_000))


def _phone() -> str:
    return f"96{next(_numbers):08d}"


def _raw_push(uid: str, capture_id: str) -> None:
    """The feed entry of a push, created once (notify.send's minimum)."""
    _db().document(f"users/{uid}/notifications/raw{capture_id}").create(
        {"kind": "lead-assigned", "read": False, "delivery": "pending"}
    )


def capture_endpoints() -> list[Endpoint]:
    """The push receiver with a new buyer and with a repeat enquiry, each beside its raw baseline."""
    from google.cloud import firestore

    from devtools.inproc import call
    from triggers import notifications

    headers = {"X-Justo-Key": KEY}
    bodies = itertools.count()

    def new_lead() -> Any:
        response = call(
            "POST", PATH, headers=headers, json_body={"name": "Bench Site Buyer", "phone": _phone(), "message": "hi"}
        )
        if response.status == 200 and response.body.get("outcome") == "created":
            lead_id = response.body["leadId"]
            lead = _db().document(f"orgs/{ORG}/leads/{lead_id}").get().to_dict()
            notifications.handle_lead(f"bench-{uuid.uuid4().hex}", ORG, lead_id, None, lead)
        return response

    def raw_new_lead() -> None:
        db = _db()
        capture_id = uuid.uuid4().hex
        lead_id = f"raw{capture_id[:12]}"
        phone = f"+91{_phone()}"
        capture = db.document(f"orgs/{ORG}/captures/raw{capture_id}")
        capture.create({"sourceId": SOURCE, "raw": "{}", "outcome": "pending"})
        key = db.document(f"orgs/{ORG}/leadKeys/phone:{phone}")

        @firestore.transactional
        def apply(transaction: Any) -> None:
            if key.get(transaction=transaction).exists:
                raise RuntimeError("duplicate")
            transaction.create(db.document(f"orgs/{ORG}/leads/{lead_id}"), {"name": "Raw", "e164": phone, "version": 1})
            transaction.create(db.document(f"orgs/{ORG}/leads/{lead_id}/private/contact"), {"e164": phone})
            transaction.create(key, {"leadId": lead_id})

        apply(db.transaction())
        capture.update({"outcome": "created", "leadId": lead_id})
        _raw_push("demo-agent1", capture_id)

    repeat_phone = _phone()

    def repeat() -> Any:
        body = {"name": "Bench Repeat Buyer", "phone": repeat_phone, "message": f"again {next(bodies)}"}
        return call("POST", PATH, headers=headers, json_body=body)

    raw_phone = f"+91{_phone()}"
    raw_lead = f"rawrepeat{uuid.uuid4().hex[:8]}"

    def raw_setup() -> None:
        db = _db()
        db.document(f"orgs/{ORG}/leads/{raw_lead}").create({"name": "Raw", "e164": raw_phone, "version": 1})
        db.document(f"orgs/{ORG}/leadKeys/phone:{raw_phone}").create({"leadId": raw_lead})

    def raw_repeat() -> None:
        db = _db()
        capture_id = uuid.uuid4().hex
        capture = db.document(f"orgs/{ORG}/captures/raw{capture_id}")
        capture.create({"sourceId": SOURCE, "raw": "{}", "outcome": "pending"})
        key = db.document(f"orgs/{ORG}/leadKeys/phone:{raw_phone}")

        @firestore.transactional
        def apply(transaction: Any) -> None:
            lead_ref = db.document(f"orgs/{ORG}/leads/{key.get(transaction=transaction).get('leadId')}")
            lead = lead_ref.get(transaction=transaction).to_dict() or {}
            transaction.update(
                lead_ref, {"enquiries": firestore.ArrayUnion([capture_id]), "version": lead["version"] + 1}
            )
            transaction.update(capture, {"outcome": "enquired-again", "leadId": lead_ref.id})

        apply(db.transaction())
        _raw_push("demo-agent1", capture_id)

    first = call("POST", PATH, headers=headers, json_body={"name": "Bench Repeat Buyer", "phone": repeat_phone})
    if first.status != 200 or first.body.get("outcome") != "created":
        raise AssertionError(f"capture bench setup: {first.status} {first.text[:300]}")
    raw_setup()
    return [
        Endpoint(
            f"POST {PATH} (new lead)",
            new_lead,
            raw_new_lead,
            None,
            note="capture record, lead + contact + key in a transaction, outcome, push feed entry",
        ),
        Endpoint(
            f"POST {PATH} (repeat enquiry)",
            repeat,
            raw_repeat,
            None,
            note="capture record, key + lead read, enquiry + outcome in a transaction, push feed entry",
        ),
    ]


def capture_latency(iterations: int) -> dict[str, Any]:
    """p50/p95 and Firestore operations of each capture case beside its raw baseline."""
    return {case.name: endpoints.measure(case, iterations=iterations) for case in capture_endpoints()}


def read_breakdown() -> dict[str, list[tuple[str, int]]]:
    """Where one call of each capture case spends its Firestore reads, by call site (after a warm-up)."""
    from bench import opcount

    breakdown = {}
    for case in capture_endpoints():
        case.call()
        with opcount.counting(sites=True) as ops:
            case.call()
        breakdown[case.name] = [(f"total reads={ops.reads} writes={ops.writes}", ops.reads), *ops.breakdown(40)]
    return breakdown


def main() -> None:
    """python -m bench.capture_bench [--quick] [--breakdown]: capture latency and reads on a fresh emulator."""
    import argparse
    import json

    from bench import env

    parser = argparse.ArgumentParser(prog="bench.capture_bench")
    parser.add_argument("--quick", action="store_true", help="15 captures per case, for development")
    parser.add_argument("--captures", type=int, default=60, help="captures per case")
    parser.add_argument("--breakdown", action="store_true", help="reads per call site of one warm capture")
    args = parser.parse_args()
    with env.firestore():
        if args.breakdown:
            for name, sites in read_breakdown().items():
                print(name)
                for site, reads in sites:
                    print(f"  {reads:4d}  {site}")
        print(json.dumps(capture_latency(15 if args.quick else args.captures), indent=1, default=str))


if __name__ == "__main__":
    main()
