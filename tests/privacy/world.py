"""A lead with every kind of related data, written as docs/architecture.md describes the features' documents
(and, where a feature's code has landed, as that code writes them), plus a bystander lead that must survive."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core import clients, clock, mail, notify, tenancy
from core.ids import sha256_hex
from tests.support.factory import Person, add_person, make_org

LEAD_ID = "lead_Q7x2Lm9Pz4"
OTHER_LEAD_ID = "lead_W3k8Tn5Rb1"
NAME = "Asha Verma"
PHONE = "+919876543210"
PHONE_NATIONAL = "98765 43210"
ALT_PHONE = "+919812345678"
EMAIL = "asha.verma@example.net"
PDF = b"%PDF-1.4 floor plan for Asha Verma, +919876543210\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0 site photo of Asha Verma"


@dataclass
class World:
    """What the tests need to know about the populated organization."""

    admin: Person
    agent: Person
    manager: Person
    ids: dict[str, str] = field(default_factory=dict)
    objects: dict[str, bytes] = field(default_factory=dict)

    @property
    def needles(self) -> list[str]:
        """Everything that identifies the erased lead."""
        return [LEAD_ID, NAME, "Asha", "Verma", PHONE, "9876543210", PHONE_NATIONAL, ALT_PHONE, "9812345678", EMAIL]


def _phone(e164: str, national: str) -> dict[str, Any]:
    return {"countryCode": "+91", "number": national, "e164": e164}


def _lead(lead_id: str, name: str, phone: str, email: str, agent: Person, admin: Person, at: Any) -> dict[str, Any]:
    return {
        "salutation": "Ms",
        "name": name,
        "primaryPhone": _phone(phone, phone[3:8] + " " + phone[8:]),
        "alternatePhone": _phone(ALT_PHONE, "98123 45678") if lead_id == LEAD_ID else None,
        "emails": [email],
        "location": {"city": "Pune", "locality": "Baner", "address": f"12 Hill Road, near {name}'s office"},
        "budget": {"min": 8_000_000, "max": 12_000_000, "currency": "INR"},
        "configurations": ["2BHK"],
        "source": "website",
        "purpose": "Site visit and price list for Skyline Towers",
        "stage": "qualified",
        "projectId": "p1",
        "assigneeId": agent.uid,
        "teamId": "north",
        "tags": ["hot"],
        "doNotContact": ["sms"],
        "optIns": [{"channel": "whatsapp", "at": at, "by": admin.uid}],
        "nextFollowUpAt": at + timedelta(days=2),
        "channelPartnerId": None,
        "searchTokens": [name.split()[0].lower(), name.split()[1].lower(), phone[3:], phone[-10:-5]],
        "archived": False,
        "archivedAt": None,
        "createdAt": at,
        "createdBy": admin.uid,
        "updatedAt": at,
        "updatedBy": admin.uid,
        "version": 3,
    }


def populate(bucket: Any) -> World:
    """Create the organization, the lead with every kind of record, and a bystander lead."""
    admin = make_org()
    agent = add_person("org1", "agent", "north", name="Neha Agent")
    manager = add_person("org1", "manager", "north", name="Mohan Manager")
    world = World(admin, agent, manager)
    now = clock.now()
    db = clients.db()
    org = tenancy.org_ref("org1")
    lead = org.collection("leads").document(LEAD_ID)

    lead.set(_lead(LEAD_ID, NAME, PHONE, EMAIL, agent, admin, now))
    lead.collection("private").document("contact").set(
        {"primaryPhone": _phone(PHONE, PHONE_NATIONAL), "alternatePhone": _phone(ALT_PHONE, "98123 45678"),
         "emails": [EMAIL], "leadId": LEAD_ID, "updatedAt": now}
    )  # fmt: skip
    for key in (PHONE, ALT_PHONE, EMAIL):
        org.collection("leadKeys").document(key).set({"leadId": LEAD_ID, "field": "phone", "createdAt": now})
    lead.collection("notes").document("n1").set(
        {
            "text": f"{NAME} prefers calls after 6pm on {PHONE}",
            "authorId": agent.uid,
            "createdAt": now,
            "leadId": LEAD_ID,
        }
    )
    lead.collection("notes").document("n2").set(
        {"text": "Wants a corner flat", "authorId": manager.uid, "createdAt": now + timedelta(minutes=1)}
    )
    lead.collection("activity").document("a1").set(
        {"type": "created", "actorId": admin.uid, "at": now, "createdAt": now, "summary": f"{NAME} created",
         "changes": {}, "ref": {}, "leadId": LEAD_ID}
    )  # fmt: skip
    lead.collection("activity").document("a2").set(
        {"type": "updated", "actorId": agent.uid, "at": now, "createdAt": now + timedelta(seconds=1),
         "summary": "Phone changed", "changes": {"alternatePhone": {"before": None, "after": ALT_PHONE}},
         "ref": {}, "leadId": LEAD_ID}
    )  # fmt: skip

    org.collection("tasks").document("t1").set(
        {"title": f"Call {NAME}", "description": f"Dial {PHONE}", "leadId": LEAD_ID, "assigneeId": agent.uid,
         "teamId": "north", "dueAt": now + timedelta(days=1), "status": "open", "createdAt": now, "version": 1}
    )  # fmt: skip
    org.collection("visits").document("v1").set(
        {"leadId": LEAD_ID, "projectId": "p1", "agentId": agent.uid, "teamId": "north", "scheduledAt": now,
         "status": "completed", "notes": f"Meet {NAME} at the gate", "followUpNotes": "Liked the view",
         "checkin": {"lat": 18.559, "lng": 73.786, "accuracyM": 12.0, "at": now, "distanceM": 40.0,
                     "withinRadius": True},
         "createdAt": now, "version": 2}
    )  # fmt: skip
    org.collection("visits").document("v1").collection("checkins").document("c1").set(
        {"lat": 18.559, "lng": 73.786, "accuracyM": 12.0, "at": now, "agentId": agent.uid}
    )
    org.collection("calls").document("call1").set(
        {"leadId": LEAD_ID, "agentId": agent.uid, "teamId": "north", "direction": "outbound", "kind": "voip",
         "startedAt": now, "durationSec": 95, "outcome": "interested", "notes": f"{NAME} will visit", "to": PHONE,
         "createdAt": now}
    )  # fmt: skip
    db.collection("voipCalls").document("call1").set({"orgId": "org1", "agentId": agent.uid, "createdAt": now})
    org.collection("messages").document("m1").set(
        {"leadId": LEAD_ID, "agentId": agent.uid, "teamId": "north", "channel": "whatsapp", "to": PHONE,
         "templateName": "site_visit_reminder", "params": [NAME], "status": "read", "providerMessageId": "wamid.1",
         "statusHistory": [{"status": "queued", "at": now}, {"status": "sent", "at": now},
                           {"status": "delivered", "at": now}, {"status": "read", "at": now}],
         "createdAt": now}
    )  # fmt: skip
    org.collection("messages").document("m2").set(
        {"leadId": LEAD_ID, "agentId": agent.uid, "teamId": "north", "channel": "email", "to": EMAIL,
         "subject": f"Price list for {NAME}", "status": "delivered", "providerMessageId": "m2",
         "statusHistory": [{"status": "sent", "at": now}, {"status": "delivered", "at": now}], "createdAt": now}
    )  # fmt: skip
    db.collection("providerMessages").document(sha256_hex("whatsapp", "wamid.1")).set(
        {"orgId": "org1", "messageId": "m1", "provider": "whatsapp"}
    )
    db.collection("webhookEvents").document("e1").set(
        {"provider": "whatsapp", "messageId": "m1", "orgId": "org1", "payload": json.dumps({"from": PHONE[1:]})}
    )

    pdf_path = "orgs/org1/attachments/att1/floor-plan.pdf"
    jpg_path = "orgs/org1/attachments/att2/site.jpg"
    folder_path = f"orgs/org1/leads/{LEAD_ID}/scan.pdf"
    for path, data, kind in ((pdf_path, PDF, "application/pdf"), (jpg_path, JPEG, "image/jpeg"),
                             (folder_path, PDF, "application/pdf")):  # fmt: skip
        bucket.blob(path).upload_from_string(data, content_type=kind)
        world.objects[path] = data
    org.collection("attachments").document("att1").set(
        {"leadId": LEAD_ID, "fileName": f"{NAME} floor plan.pdf", "contentType": "application/pdf",
         "sizeBytes": len(PDF), "status": "ready", "objectPath": pdf_path, "uploadedBy": agent.uid, "createdAt": now}
    )  # fmt: skip
    org.collection("attachments").document("att2").set(
        {"visitId": "v1", "fileName": "site.jpg", "contentType": "image/jpeg", "sizeBytes": len(JPEG),
         "status": "ready", "objectPath": jpg_path, "uploadedBy": agent.uid, "createdAt": now}
    )  # fmt: skip

    notify.send(
        notify.Push(uid=agent.uid, kind="lead-assigned", title="New lead", body=f"{NAME} ({PHONE}) is yours",
                    data={"leadId": LEAD_ID}, refs=(LEAD_ID,)),
        dedupe_key=f"assigned:{LEAD_ID}",
    )  # fmt: skip
    notify.send(
        notify.Push(uid=agent.uid, kind="visit-reminder", title="Site visit soon", body=f"Visit with {NAME}",
                    data={"visitId": "v1"}, refs=("v1",)),
        dedupe_key="visit:v1",
    )  # fmt: skip
    mail.mailer().send(
        mail.Email(to=EMAIL, subject=f"Your site visit, {NAME}", text="See you at 11", refs=(LEAD_ID, "v1"))
    )
    db.collection("outbox").document("sms1").set(
        {"channel": "sms", "to": PHONE, "subject": "", "text": "Your visit is confirmed", "refs": [], "createdAt": now}
    )
    reply = {"id": LEAD_ID, "name": NAME, "primaryPhone": {"e164": PHONE}}
    db.collection("idempotency").document("idem1").set(
        {"state": "done", "uid": agent.uid, "orgId": "org1", "status": 201, "body": json.dumps(reply),
         "subjectIds": [LEAD_ID], "createdAt": now, "expiresAt": now + timedelta(hours=24)}
    )  # fmt: skip
    db.collection("idempotency").document("idem2").set(
        {"state": "done", "uid": agent.uid, "orgId": "org1", "status": 201,
         "body": json.dumps({"id": "v1", "leadId": LEAD_ID, "notes": f"Meet {NAME}"}),
         "subjectIds": ["v1", LEAD_ID], "createdAt": now, "expiresAt": now + timedelta(hours=24)}
    )  # fmt: skip
    db.collection("reminders").document("r1").set(
        {"orgId": "org1", "subjectType": "visit", "subjectId": "v1", "leadId": LEAD_ID, "state": "enqueued"}
    )
    org.collection("archivedLeads").document(LEAD_ID).set({"name": NAME, "primaryPhone": _phone(PHONE, "x")})
    org.collection("leads").document("lead_dup1").set(
        _lead("lead_dup1", NAME, PHONE, EMAIL, agent, admin, now) | {"mergedInto": LEAD_ID, "archived": True}
    )
    org.collection("leads").document("lead_dup1").collection("activity").document("d1").set(
        {"type": "merged", "summary": f"{NAME} merged", "at": now, "leadId": "lead_dup1"}
    )
    notify.send(
        notify.Push(uid=manager.uid, kind="lead-assigned", title="New lead", body=f"{NAME} was added twice",
                    data={"leadId": "lead_dup1"}, refs=("lead_dup1",)),
        dedupe_key="assigned:lead_dup1",
    )  # fmt: skip
    db.collection("idempotency").document("idem3").set(
        {"state": "done", "uid": admin.uid, "orgId": "org1", "status": 201, "body": json.dumps({"name": NAME}),
         "subjectIds": ["lead_dup1"], "createdAt": now, "expiresAt": now + timedelta(hours=24)}
    )  # fmt: skip

    _bystander(world, now)
    world.ids = {"visit": "v1", "message": "m1", "call": "call1", "task": "t1", "attachment": "att1"}
    return world


def _bystander(world: World, now: Any) -> None:
    """Another lead of the same organization with its own records: erasure must leave all of it."""
    org = tenancy.org_ref("org1")
    other = org.collection("leads").document(OTHER_LEAD_ID)
    other.set(_lead(OTHER_LEAD_ID, "Ravi Kumar", "+919900011122", "ravi@example.net", world.agent, world.admin, now))
    other.collection("notes").document("n1").set({"text": "Budget flexible", "authorId": world.agent.uid})
    org.collection("tasks").document("t9").set({"title": "Call Ravi", "leadId": OTHER_LEAD_ID, "createdAt": now})
    org.collection("leadKeys").document("+919900011122").set({"leadId": OTHER_LEAD_ID})
    notify.send(
        notify.Push(uid=world.agent.uid, kind="lead-assigned", title="New lead", body="Ravi Kumar is yours",
                    data={"leadId": OTHER_LEAD_ID}, refs=(OTHER_LEAD_ID,)),
        dedupe_key=f"assigned:{OTHER_LEAD_ID}",
    )  # fmt: skip


def every_document() -> list[tuple[str, dict[str, Any]]]:
    """(path, data) of every document in the database, through every collection and subcollection."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(collections: Any) -> None:
        for collection in collections:
            for ref in collection.list_documents():
                snapshot = ref.get()
                if snapshot.exists:
                    found.append((ref.path, snapshot.to_dict() or {}))
                walk(ref.collections())

    walk(clients.db().collections())
    return found
