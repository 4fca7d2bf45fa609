"""Tenant isolation at the API: for every endpoint that takes an id (in the path, the body or the query),

- an id of another organization answers exactly as an id that exists nowhere (404 for the resource the
  URL names; no existence oracle, no echo of foreign data) and changes nothing in either organization;
- a caller of the same organization without permission answers 403 and changes nothing;
- control: a caller who may (the owner organization's admin or the owner) reaches the same id, so the
  404s and 403s above are about permission, not about a wrong id.

One line per endpoint in ENDPOINTS (test_every_route_that_takes_an_id_is_in_the_table finds the missing).
Templates: {id} the org1 resource under test; {mine}, {mine_task}, {mine_visit} a lead, task and visit of
the calling organization the caller may act on (org2's own for org2's admin, the peer's own lead for the
peer); {colleague} an agent of the calling organization; {agent} and {peer} org1 uids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.inproc import Response, call
from tests.support.factory import Person, add_person, make_org

pytestmark = pytest.mark.http

OWNER, FOREIGN = "org1", "org2"
UNKNOWN = "no-such-id-anywhere"
# Whole hours, so that parallel workers (pytest -n) collect the same test ids.
_HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
SOON = (_HOUR + timedelta(days=1)).isoformat()
IN_AN_HOUR = (_HOUR + timedelta(hours=1)).isoformat()  # check-in is open (from 2 hours before)


@dataclass
class World:
    """org1 owns the resources; org2's admin attacks them. A manager of another team, the lead's agent and a
    peer agent of the same team give the same-organization cases."""

    admin: Person
    manager: Person  # team south: sees nothing of north
    agent: Person  # north: owns the org1 resources
    peer: Person  # north: owns nothing of them
    foreign_admin: Person
    mine: dict[str, str] = field(default_factory=dict)  # caller uid -> a lead of its own
    colleague: dict[str, str] = field(default_factory=dict)  # caller uid -> an agent of its own organization
    mine_task: dict[str, str] = field(default_factory=dict)  # caller uid -> a task of its own organization
    mine_visit: dict[str, str] = field(default_factory=dict)  # caller uid -> a visit of its own organization
    capture_keys: dict[str, str] = field(default_factory=dict)  # capture source id -> its key

    def person(self, key: str) -> Person:
        """A person by attribute name."""
        person: Person = getattr(self, key)
        return person


def _ok(response: Response, what: str) -> dict[str, Any]:
    assert response.status in (200, 201), f"seeding {what}: {response.status} {response.body}"
    body: dict[str, Any] = response.body
    return body


def _lead(world: World, *, by: Person, assignee: str, phone: str) -> str:
    body = {
        "name": f"Lead {phone}",
        "primaryPhone": {"countryCode": "+91", "number": phone},
        "emails": [f"lead{phone}@example.com"],
        "assigneeId": assignee,
    }
    return str(_ok(call("POST", "/leads", token=by.token(), json_body=body), "lead")["id"])


# ---- resources of org1, each made the way the app would (through the API, as org1's admin) ----------
Seeder = Callable[[World], str]


def seed_lead(world: World) -> str:
    """A north lead assigned to the agent."""
    return _lead(world, by=world.admin, assignee=world.agent.uid, phone="9876500001")


def seed_restricted_lead(world: World) -> str:
    """The agent's lead, its processing restricted by the admin."""
    lead_id = seed_lead(world)
    _ok(call("POST", f"/privacy/leads/{lead_id}/restriction", token=world.admin.token()), "restriction")
    return lead_id


def seed_privacy_request(world: World) -> str:
    """A restriction request about the agent's lead, recorded by the admin."""
    body = {"kind": "restriction", "subject": {"type": "lead", "id": seed_lead(world)}, "receivedVia": "email"}
    return str(_ok(call("POST", "/privacy/requests", token=world.admin.token(), json_body=body), "request")["id"])


def seed_archived_lead(world: World) -> str:
    """A lead the admin deleted (archived, restorable)."""
    lead_id = seed_lead(world)
    assert call("DELETE", f"/leads/{lead_id}", token=world.admin.token()).status == 204
    return lead_id


def seed_task(world: World) -> str:
    """A task of the agent about its lead."""
    body = {"title": "Call back", "dueAt": SOON, "assigneeId": world.agent.uid, "leadId": seed_lead(world)}
    return str(_ok(call("POST", "/tasks", token=world.admin.token(), json_body=body), "task")["id"])


def seed_project(world: World) -> str:
    """A project of org1."""
    body = {
        "name": "Skyline",
        "city": "Pune",
        "address": "Baner Road",
        "location": {"lat": 18.56, "lng": 73.78},
        "checkinRadiusM": 300,
    }
    return str(_ok(call("POST", "/projects", token=world.admin.token(), json_body=body), "project")["id"])


def seed_visit(world: World) -> str:
    """A scheduled visit of the agent's lead, taken by the agent, in an hour (check-in is open)."""
    body = {
        "leadId": seed_lead(world),
        "scheduledAt": IN_AN_HOUR,
        "agentId": world.agent.uid,
        "projectId": seed_project(world),
    }
    return str(_ok(call("POST", "/visits", token=world.admin.token(), json_body=body), "visit")["id"])


def seed_message(world: World) -> str:
    """A message to the agent's lead (stored as the comms service stores one; sending needs a provider)."""
    from core import clients

    lead_id = seed_lead(world)
    now = datetime.now(UTC)
    clients.db().document(f"orgs/{OWNER}/messages/msg-1").set(
        {
            "id": "msg-1",
            "leadId": lead_id,
            "agentId": world.agent.uid,
            "teamId": "north",
            "channel": "sms",
            "direction": "outbound",
            "to": "+91 98XXXXXX01",
            "text": "Hello",
            "status": "sent",
            "statusHistory": [{"status": "sent", "at": now}],
            "attachmentIds": [],
            "createdAt": now,
        }
    )
    return "msg-1"


def seed_conversation(world: World) -> str:
    """The WhatsApp conversation of the agent's lead with one unread inbound message (stored as the webhook
    stores them: the inbound path needs the signed webhook, tested in tests/comms)."""
    from core import clients

    lead_id = seed_lead(world)
    now = datetime.now(UTC)
    conv_id = f"whatsapp_{lead_id}"
    clients.db().document(f"orgs/{OWNER}/messages/msg-in-1").set(
        {
            "id": "msg-in-1",
            "leadId": lead_id,
            "agentId": world.agent.uid,
            "teamId": "north",
            "channel": "whatsapp",
            "direction": "inbound",
            "kind": "text",
            "to": "",
            "sender": "+91 98XXXXXX01",
            "text": "Hello",
            "status": "delivered",
            "statusHistory": [{"status": "delivered", "at": now}],
            "attachmentIds": [],
            "createdAt": now,
        }
    )
    clients.db().document(f"orgs/{OWNER}/conversations/{conv_id}").set(
        {
            "id": conv_id,
            "orgId": OWNER,
            "leadId": lead_id,
            "channel": "whatsapp",
            "assigneeId": world.agent.uid,
            "teamId": "north",
            "stage": "new",
            "archived": False,
            "lastMessageAt": now,
            "lastDirection": "inbound",
            "lastText": "Hello",
            "unreadCount": 1,
            "unread": True,
            "windowOpenUntil": now + timedelta(hours=24),
            "createdAt": now,
            "updatedAt": now,
        }
    )
    return conv_id


def seed_lead_with_conversation(world: World) -> str:
    """A lead with a WhatsApp conversation."""
    return seed_conversation(world).removeprefix("whatsapp_")


def seed_conversation_owner(world: World) -> str:
    """The agent, assignee of a lead with a conversation."""
    seed_conversation(world)
    return world.agent.uid


def seed_attachment(world: World) -> str:
    """A ready attachment of the agent's lead (stored directly: the upload needs Cloud Storage)."""
    from core import clients

    lead_id = seed_lead(world)
    now = datetime.now(UTC)
    clients.db().document(f"orgs/{OWNER}/attachments/att-1").set(
        {
            "leadId": lead_id,
            "visitId": None,
            "fileName": "brochure.pdf",
            "contentType": "application/pdf",
            "sizeBytes": 1000,
            "status": "ready",
            "objectPath": f"orgs/{OWNER}/attachments/att-1/brochure.pdf",
            "createdBy": world.agent.uid,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    return "att-1"


def seed_import(world: World) -> str:
    """A pending large import the admin created (stored directly: the upload needs Cloud Storage)."""
    from core import clients

    now = datetime.now(UTC)
    clients.db().document(f"orgs/{OWNER}/imports/imp_1").set(
        {
            "id": "imp_1",
            "orgId": OWNER,
            "fileName": "leads.csv",
            "contentType": "text/csv",
            "kind": "csv",
            "objectPath": f"orgs/{OWNER}/imports/imp_1/source.csv",
            "status": "uploaded",
            "dryRun": False,
            "rowsDone": 0,
            "created": 0,
            "createdBy": world.admin.uid,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    return "imp_1"


def seed_task_owner(world: World) -> str:
    """The agent, owner of a task."""
    seed_task(world)
    return world.agent.uid


def seed_visit_owner(world: World) -> str:
    """The agent, owner of a visit."""
    seed_visit(world)
    return world.agent.uid


def seed_lead_owner(world: World) -> str:
    """The agent, assignee of a lead."""
    seed_lead(world)
    return world.agent.uid


def seed_project_of_a_lead(world: World) -> str:
    """A project with a lead interested in it."""
    project_id = seed_project(world)
    body = {"name": "Buyer", "primaryPhone": {"number": "9876500011"}, "projectId": project_id}
    _ok(call("POST", "/leads", token=world.admin.token(), json_body=body), "lead")
    return project_id


def seed_lead_with_message(world: World) -> str:
    """A lead with a message."""
    from core import clients

    seed_message(world)
    return str(clients.db().document(f"orgs/{OWNER}/messages/msg-1").get().get("leadId"))


def seed_lead_with_call(world: World) -> str:
    """A lead with a logged call."""
    lead_id = seed_lead(world)
    _ok(call("POST", "/comms/calls", token=world.agent.token(), json_body=CALL | {"leadId": lead_id}), "call")
    return lead_id


def seed_lead_with_visit(world: World) -> str:
    """A lead with a scheduled visit."""
    from core import clients

    visit_id = seed_visit(world)
    return str(clients.db().document(f"orgs/{OWNER}/visits/{visit_id}").get().get("leadId"))


def seed_team_with_member(world: World) -> str:
    """A team only org1 has, with an agent in it."""
    team_id = seed_team(world)
    add_person(OWNER, "agent", team_id)
    return team_id


def seed_manager(world: World) -> str:
    """A manager of org1."""
    return world.manager.uid


def seed_attachment_id(world: World) -> str:
    """An attachment of org1 (as a body reference)."""
    return seed_attachment(world)


def seed_audited_admin(world: World) -> str:
    """org1's admin, after an audited change (a team created)."""
    seed_team(world)
    return world.admin.uid


def seed_member(world: World) -> str:
    """The agent (a member of org1)."""
    return world.agent.uid


def seed_team(world: World) -> str:
    """A team only org1 has (both organizations have teams north and south)."""
    return str(
        _ok(
            call("POST", "/org/teams", token=world.admin.token(), json_body={"id": "east-only", "name": "East"}), "team"
        )["id"]
    )


def seed_device(world: World) -> str:
    """The agent's phone."""
    body = {"deviceId": "phone-1", "fcmToken": "token-1", "platform": "android"}
    return str(_ok(call("POST", "/devices", token=world.agent.token(), json_body=body), "device")["deviceId"])


def seed_capture_source(world: World) -> str:
    """A website capture source of org1 (its key kept on the world for the captures below)."""
    body = {"kind": "website", "name": "Site", "source": "website"}
    created = _ok(call("POST", "/leads/sources", token=world.admin.token(), json_body=body), "capture source")
    world.capture_keys[str(created["id"])] = str(created["key"])
    return str(created["id"])


SMS_TEMPLATE = {"channel": "sms", "dltTemplateId": "1107170000000000555", "category": "utility", "text": "Hi {#var#}"}


def seed_template(world: World) -> str:
    """An SMS template org1's admin registered."""
    return str(
        _ok(call("POST", "/comms/templates", token=world.admin.token(), json_body=SMS_TEMPLATE), "template")["id"]
    )


def seed_template_dlt_id(world: World) -> str:
    """The DLT id of org1's template, both organizations with a DLT entity and header of their own (so the
    foreign test send gets as far as looking the template up)."""
    from comms import channels

    for org_id in (OWNER, FOREIGN):
        channels.save(org_id, {"sms": {"dltEntityId": "1101000000000000001", "senderIds": ["JUSTOL"]}})
    seed_template(world)
    return SMS_TEMPLATE["dltTemplateId"]


def _capture(world: World, payload: dict[str, Any]) -> tuple[str, str]:
    source_id = seed_capture_source(world)
    headers = {"X-Justo-Key": world.capture_keys[source_id]}
    reply = _ok(call("POST", f"/webhooks/capture/{source_id}", json_body=payload, headers=headers), "capture")
    return source_id, str(reply["captureId"])


def seed_rejected_capture(world: World) -> str:
    """A capture of org1 rejected for want of a phone or email."""
    return _capture(world, {"name": "Nobody"})[1]


def seed_source_with_capture(world: World) -> str:
    """A capture source whose capture made a lead (routed to a north agent, so the south manager sees none)."""
    return _capture(world, {"name": "Captured", "phone": "9876500077"})[0]


@dataclass(frozen=True)
class Endpoint:
    """One endpoint that takes an id.

    denied: the org1 caller without permission (World attribute), expected 403; "own" where the endpoint
    only ever reaches the caller's own documents (then that caller gets what an unknown id gets); None where
    every member of the organization may (no 403 case).
    allowed: who the control call is made as (None: no control; `note` says why).
    """

    method: str
    path: str
    seed: Seeder
    denied: str | None
    body: dict[str, Any] | None = None
    allowed: str | None = "admin"
    unknown_status: int = 404
    denied_status: int = 403  # 200: a list that must come back empty
    note: str = ""

    @property
    def name(self) -> str:
        """METHOD /path body."""
        return f"{self.method} {self.path}" + (f" {self.body}" if self.body else "")


NEEDS_STORAGE = "success reaches Cloud Storage (tests/attachments, tests/privacy)"
NEEDS_PROVIDER = "success reaches a messaging provider (tests/comms, with its stubs)"
NEEDS_REQUEST = "erasing a member needs its deletion request first (tests/privacy)"
NEEDS_AUTH = "a team change sets custom claims: needs the Auth emulator (tests/members)"
SAME_AS_ABOVE = "the same operation's control is on the line above"
LEAD = {"name": "New", "primaryPhone": {"countryCode": "+91", "number": "9876500099"}}
CALL = {"direction": "outbound", "kind": "phone", "startedAt": SOON, "durationSec": 30, "outcome": "connected"}
ENDPOINTS: list[Endpoint] = [
    # members, teams, devices
    Endpoint("GET", "/members/{id}", seed_member, denied="peer"),
    Endpoint("PATCH", "/members/{id}", seed_member, denied="manager", body={"name": "Renamed"}),
    Endpoint("DELETE", "/privacy/members/{id}", seed_member, denied="manager", allowed=None, note=NEEDS_REQUEST),
    Endpoint("PATCH", "/org/teams/{id}", seed_team, denied="manager", body={"name": "Renamed"}),
    # routing: availability (admin anyone, manager its team: this south manager not a north agent) and leave
    Endpoint("PUT", "/members/{id}/availability", seed_member, denied="peer", body={"status": "away"}),
    Endpoint("PUT", "/members/{id}/availability", seed_member, denied="manager", body={"status": "off-duty"}),
    Endpoint(
        "PATCH",
        "/members/{id}",
        seed_member,
        denied="manager",
        body={"leave": [{"from": SOON, "to": "2030-01-02T00:00:00Z"}], "maxOpenLeads": 5},
    ),
    Endpoint(
        "PATCH",
        "/org/routing",
        seed_team,
        denied=None,
        body={"rules": [{"name": "r", "assignTo": {"teamId": "{id}"}}]},
        unknown_status=400,
    ),
    Endpoint(
        "PATCH",
        "/org/routing",
        seed_member,
        denied=None,
        body={"rules": [{"name": "r", "assignTo": {"memberIds": ["{id}"]}, "method": "least-open"}]},
        unknown_status=400,
    ),
    Endpoint("DELETE", "/devices/{id}", seed_device, denied="own", allowed="agent", unknown_status=204),
    # projects
    Endpoint("GET", "/projects/{id}", seed_project, denied=None),
    Endpoint("PATCH", "/projects/{id}", seed_project, denied="agent", body={"name": "Renamed"}),
    # leads
    Endpoint("GET", "/leads/{id}", seed_lead, denied="peer"),
    Endpoint("PATCH", "/leads/{id}", seed_lead, denied="peer", body={"name": "Renamed"}),
    Endpoint("DELETE", "/leads/{id}", seed_lead, denied="peer"),
    Endpoint("POST", "/leads/{id}/restore", seed_archived_lead, denied="agent"),
    Endpoint("POST", "/leads/{id}/assign", seed_lead, denied="peer", body={"assigneeId": "{peer}"}),
    Endpoint("POST", "/leads/{id}/merge", seed_lead, denied="peer", body={"duplicateId": "{mine}"}),
    Endpoint(
        "POST",
        "/leads/{mine}/merge",
        seed_lead,
        denied="peer",
        body={"duplicateId": "{id}"},
        allowed=None,
        note=SAME_AS_ABOVE,
    ),
    Endpoint(
        "POST",
        "/leads/bulk-assign",
        seed_lead,
        denied="peer",
        body={"leadIds": ["{id}"], "toAssigneeId": "{colleague}"},
    ),
    Endpoint(
        "POST",
        "/leads/bulk-assign",
        seed_lead_owner,
        denied="peer",
        body={"fromAssigneeId": "{id}", "toAssigneeId": "{colleague}"},
        unknown_status=200,  # {"moved": 0}: nobody of that id in the caller's organization
    ),
    Endpoint("GET", "/leads/{id}/notes", seed_lead, denied="peer"),
    Endpoint("POST", "/leads/{id}/notes", seed_lead, denied="peer", body={"text": "Hello"}),
    Endpoint("GET", "/leads/{id}/activity", seed_lead, denied="peer"),
    Endpoint("GET", "/privacy/leads/{id}/export", seed_lead, denied="agent"),
    Endpoint("DELETE", "/privacy/leads/{id}", seed_lead, denied="agent", allowed=None, note=NEEDS_STORAGE),
    # the privacy register (admin; a lead's restriction)
    Endpoint("POST", "/privacy/leads/{id}/restriction", seed_lead, denied="agent"),
    Endpoint("DELETE", "/privacy/leads/{id}/restriction", seed_restricted_lead, denied="agent"),
    Endpoint(
        "POST",
        "/privacy/requests",
        seed_lead,
        denied="agent",
        body={"kind": "access", "subject": {"type": "lead", "id": "{id}"}, "receivedVia": "email"},
        unknown_status=400,
    ),
    Endpoint("GET", "/privacy/requests/{id}", seed_privacy_request, denied="agent"),
    Endpoint("PATCH", "/privacy/requests/{id}", seed_privacy_request, denied="agent", body={"status": "in-progress"}),
    Endpoint("POST", "/privacy/requests/{id}/fulfil", seed_privacy_request, denied="agent"),
    Endpoint(
        "GET",
        "/privacy/requests/{id}/export",
        seed_privacy_request,
        denied="agent",
        allowed=None,
        note="a restriction keeps no export; an access request's export is read in tests/privacy",
    ),
    Endpoint(
        "GET",
        "/privacy/requests?subjectId={id}",
        seed_lead,
        denied="agent",
        unknown_status=200,
        allowed=None,
        note="the register lists what the caller's organization recorded: nothing about another's lead",
    ),
    # ids in bodies and queries: a member or project of another organization is never reachable
    Endpoint("GET", "/leads?assigneeId={id}", seed_lead_owner, denied="peer", unknown_status=200, denied_status=200),
    Endpoint("GET", "/leads?projectId={id}", seed_project_of_a_lead, denied=None, unknown_status=200),
    # a filter on someone the caller may not see: visits refuse (403), tasks answer an empty page
    Endpoint("GET", "/tasks?assigneeId={id}", seed_task_owner, denied="peer", unknown_status=200, denied_status=200),
    Endpoint("GET", "/visits?agentId={id}", seed_visit_owner, denied="peer", unknown_status=200),
    Endpoint("POST", "/leads", seed_member, denied=None, body=LEAD | {"assigneeId": "{id}"}, unknown_status=400),
    Endpoint("POST", "/leads/{mine}/assign", seed_member, denied=None, body={"assigneeId": "{id}"}, unknown_status=400),
    Endpoint("GET", "/members?teamId={id}", seed_team_with_member, denied="peer", unknown_status=200),
    Endpoint(
        "POST",
        "/tasks",
        seed_member,
        denied="peer",
        body={"title": "T", "dueAt": SOON, "assigneeId": "{id}"},
        unknown_status=400,
    ),
    Endpoint(
        "POST",
        "/visits",
        seed_member,
        denied="peer",
        body={"leadId": "{mine}", "agentId": "{id}", "scheduledAt": SOON},
        unknown_status=400,
    ),
    Endpoint(
        "POST",
        "/visits",
        seed_project,
        denied=None,
        body={"leadId": "{mine}", "projectId": "{id}", "scheduledAt": SOON},
        unknown_status=400,
    ),
    Endpoint("POST", "/leads", seed_project, denied=None, body=LEAD | {"projectId": "{id}"}, unknown_status=400),
    Endpoint("GET", "/visits?leadId={id}", seed_lead_with_visit, denied="peer", unknown_status=200, denied_status=200),
    # references to another organization's documents inside one's own
    Endpoint(
        "POST",
        "/members",
        seed_team,
        denied=None,
        body={"email": "x@example.com", "name": "X", "role": "agent", "teamId": "{id}"},
        unknown_status=400,
    ),
    Endpoint(
        "PATCH",
        "/members/{colleague}",
        seed_team,
        denied=None,
        body={"teamId": "{id}"},
        allowed=None,
        note=NEEDS_AUTH,
        unknown_status=400,
    ),
    Endpoint(
        "POST",
        "/org/teams",
        seed_manager,
        denied=None,
        body={"id": "new-team", "name": "New", "managerIds": ["{id}"]},
        unknown_status=400,
    ),
    Endpoint("PATCH", "/org/teams/north", seed_manager, denied=None, body={"managerIds": ["{id}"]}, unknown_status=400),
    Endpoint("PATCH", "/leads/{mine}", seed_project, denied=None, body={"projectId": "{id}"}, unknown_status=400),
    Endpoint("PATCH", "/tasks/{mine_task}", seed_member, denied=None, body={"assigneeId": "{id}"}, unknown_status=400),
    Endpoint(
        "PATCH", "/visits/{mine_visit}", seed_project, denied=None, body={"projectId": "{id}"}, unknown_status=400
    ),
    Endpoint(
        "POST",
        "/comms/email",
        seed_attachment_id,
        denied=None,
        body={"leadId": "{mine}", "subject": "S", "body": "B", "attachmentIds": ["{id}"]},
        allowed=None,
        note=NEEDS_PROVIDER,
        unknown_status=400,
    ),
    Endpoint("GET", "/audit?actorId={id}", seed_audited_admin, denied="agent", unknown_status=200),
    # lead capture: sources and captures (admin; a manager lists its team's captures)
    Endpoint("PATCH", "/leads/sources/{id}", seed_capture_source, denied="manager", body={"name": "Renamed"}),
    Endpoint("POST", "/leads/sources/{id}/rotate-key", seed_capture_source, denied="manager"),
    Endpoint("POST", "/leads/captures/{id}/retry", seed_rejected_capture, denied="manager"),
    Endpoint(
        "GET",
        "/leads/captures?sourceId={id}",
        seed_source_with_capture,
        denied="manager",
        unknown_status=200,
        denied_status=200,
    ),
    Endpoint(
        "POST",
        "/leads/sources",
        seed_project,
        denied=None,
        body={"kind": "website", "name": "S", "source": "website", "projectId": "{id}"},
        unknown_status=400,
    ),
    # tasks
    Endpoint("GET", "/tasks/{id}", seed_task, denied="peer"),
    Endpoint("PATCH", "/tasks/{id}", seed_task, denied="peer", body={"title": "Renamed"}),
    Endpoint("POST", "/tasks", seed_lead, denied="peer", body={"title": "T", "dueAt": SOON, "leadId": "{id}"}),
    # visits
    Endpoint("GET", "/visits/{id}", seed_visit, denied="peer"),
    Endpoint("PATCH", "/visits/{id}", seed_visit, denied="peer", body={"notes": "Changed"}),
    Endpoint(
        "POST",
        "/visits/{id}/checkin",
        seed_visit,
        denied="peer",
        body={"lat": 18.56, "lng": 73.78, "accuracyM": 10},
        allowed="agent",
    ),
    Endpoint("POST", "/visits", seed_lead, denied="peer", body={"leadId": "{id}", "scheduledAt": SOON}),
    # comms: the lead is checked before any provider is reached (controls need provider stubs: tests/comms)
    Endpoint("POST", "/comms/calls", seed_lead, denied="peer", body=CALL | {"leadId": "{id}"}),
    Endpoint("GET", "/comms/messages/{id}", seed_message, denied="peer"),
    Endpoint("GET", "/comms/messages?leadId={id}", seed_lead_with_message, denied="peer"),
    Endpoint("GET", "/comms/calls?leadId={id}", seed_lead_with_call, denied="peer"),
    Endpoint(
        "POST",
        "/comms/voip/session",
        seed_lead,
        denied="peer",
        body={"leadId": "{id}"},
        allowed=None,
        note=NEEDS_PROVIDER,
    ),
    Endpoint(
        "POST",
        "/comms/email",
        seed_lead,
        denied="peer",
        body={"leadId": "{id}", "subject": "S", "body": "B"},
        allowed=None,
        note=NEEDS_PROVIDER,
    ),
    Endpoint(
        "POST",
        "/comms/sms",
        seed_lead,
        denied="peer",
        body={"leadId": "{id}", "templateId": "t", "params": []},
        allowed=None,
        note=NEEDS_PROVIDER,
    ),
    Endpoint(
        "POST",
        "/comms/whatsapp",
        seed_lead,
        denied="peer",
        body={"leadId": "{id}", "templateName": "site_visit_reminder", "language": "en", "params": ["x"]},
        allowed=None,
        note=NEEDS_PROVIDER,
    ),
    Endpoint(
        "POST",
        "/comms/whatsapp/reply",
        seed_lead_with_conversation,
        denied="peer",
        body={"leadId": "{id}", "text": "Hello"},
        allowed=None,
        note=NEEDS_PROVIDER,
    ),
    # WhatsApp conversations: shown as their lead is
    Endpoint("GET", "/comms/conversations/{id}/messages", seed_conversation, denied="peer"),
    Endpoint("POST", "/comms/conversations/{id}/read", seed_conversation, denied="peer"),
    Endpoint("GET", "/comms/conversations?leadId={id}", seed_lead_with_conversation, denied="peer"),
    Endpoint(
        "GET",
        "/comms/conversations?assigneeId={id}",
        seed_conversation_owner,
        denied="peer",
        unknown_status=200,
        denied_status=200,
    ),
    # large imports: the creator or an admin (a manager may import, but not see another member's import)
    # templates and the organization's channels (admin)
    Endpoint("PATCH", "/comms/templates/{id}", seed_template, denied="manager", body={"status": "PAUSED"}),
    Endpoint("DELETE", "/comms/templates/{id}", seed_template, denied="manager"),
    Endpoint(
        "POST",
        "/org/channels/test",
        seed_template_dlt_id,
        denied="manager",
        body={"channel": "sms", "to": "9876543210", "templateId": "{id}"},
        unknown_status=400,
        allowed=None,
        note="a test send stores nothing a snapshot sees (the outbox and the audit trail only): tests/org",
    ),
    Endpoint("GET", "/leads/imports/{id}", seed_import, denied="manager"),
    Endpoint("POST", "/leads/imports/{id}/start", seed_import, denied="manager", allowed=None, note=NEEDS_STORAGE),
    # attachments (controls need Cloud Storage: tests/attachments)
    Endpoint(
        "POST",
        "/attachments",
        seed_visit,
        denied="peer",
        body={"visitId": "{id}", "fileName": "a.pdf", "contentType": "application/pdf", "sizeBytes": 1000},
        allowed=None,
        note=NEEDS_STORAGE,
    ),
    Endpoint("GET", "/attachments/{id}", seed_attachment, denied="peer", allowed=None, note=NEEDS_STORAGE),
    Endpoint("POST", "/attachments/{id}/complete", seed_attachment, denied="peer", allowed=None, note=NEEDS_STORAGE),
    Endpoint(
        "POST",
        "/attachments",
        seed_lead,
        denied="peer",
        body={"leadId": "{id}", "fileName": "a.pdf", "contentType": "application/pdf", "sizeBytes": 1000},
        allowed=None,
        note=NEEDS_STORAGE,
    ),
]
# reports: a filter naming another organization's team, member, project or capture source is 404; a team or a
# member outside the caller's scope is 403 (this south manager: an org1-only team, a north agent)
REPORTS = ("funnel", "sources", "agents", "visits")
ENDPOINTS += [
    *(Endpoint("GET", f"/reports/{r}?teamId={{id}}", seed_team, denied="manager") for r in REPORTS),
    *(Endpoint("GET", f"/reports/{r}?assigneeId={{id}}", seed_member, denied="manager") for r in REPORTS),
    *(Endpoint("GET", f"/reports/{r}?projectId={{id}}", seed_project, denied=None) for r in REPORTS),
    *(Endpoint("GET", f"/reports/{r}?sourceId={{id}}", seed_capture_source, denied=None) for r in REPORTS),
]


@pytest.fixture
def world(db: Any) -> World:
    """Two organizations, each with an email sender of its own; every caller that may act on a lead of its own
    has one ({mine})."""
    from comms import channels

    admin = make_org(OWNER)
    built = World(
        admin=admin,
        manager=add_person(OWNER, "manager", "south"),
        agent=add_person(OWNER, "agent", "north"),
        peer=add_person(OWNER, "agent", "north"),
        foreign_admin=make_org(FOREIGN),
    )
    built.mine[built.peer.uid] = _lead(built, by=admin, assignee=built.peer.uid, phone="9876500002")
    built.mine[admin.uid] = built.mine[built.peer.uid]
    for org_id in (OWNER, FOREIGN):  # so an email gets as far as its attachments
        channels.save(org_id, {"email": {"fromAddress": f"sales@{org_id}.example.com"}})
    other_agent = add_person(FOREIGN, "agent", "north")
    built.colleague = {
        admin.uid: built.peer.uid,
        built.peer.uid: built.peer.uid,
        built.foreign_admin.uid: other_agent.uid,
    }
    built.mine[built.foreign_admin.uid] = _lead(
        built, by=built.foreign_admin, assignee=other_agent.uid, phone="9876500003"
    )
    for caller in (admin, built.foreign_admin):
        lead, agent = built.mine[caller.uid], built.colleague[caller.uid]
        task = {"title": "Mine", "dueAt": SOON, "assigneeId": agent, "leadId": lead}
        built.mine_task[caller.uid] = str(
            _ok(call("POST", "/tasks", token=caller.token(), json_body=task), "task")["id"]
        )
        visit = {"leadId": lead, "scheduledAt": SOON, "agentId": agent}
        built.mine_visit[caller.uid] = str(
            _ok(call("POST", "/visits", token=caller.token(), json_body=visit), "visit")["id"]
        )
    return built


def _fill(value: Any, world: World, caller: Person, resource_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, world, caller, resource_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world, caller, resource_id) for v in value]
    if not isinstance(value, str):
        return value
    return value.format(
        id=resource_id,
        mine=world.mine.get(caller.uid, "none"),
        colleague=world.colleague.get(caller.uid, "none"),
        mine_task=world.mine_task.get(caller.uid, "none"),
        mine_visit=world.mine_visit.get(caller.uid, "none"),
        agent=world.agent.uid,
        peer=world.peer.uid,
    )


def _request(endpoint: Endpoint, world: World, caller: Person, resource_id: str) -> Response:
    path = _fill(endpoint.path, world, caller, resource_id)
    body = _fill(endpoint.body, world, caller, resource_id) if endpoint.body is not None else None
    if endpoint.method in ("POST", "PATCH", "PUT") and body is None:
        body = {}
    return call(endpoint.method, path, token=caller.token(), json_body=body)


def _snapshot(db: Any) -> dict[str, Any]:
    """Every document of both organizations and of their users (audit trails and server caches aside)."""
    skipped = {"audit", "auditHead", "rotation"}
    found: dict[str, Any] = {}

    def walk(collection: Any) -> None:
        if collection.id in skipped:
            return
        for ref in collection.list_documents():
            snapshot = ref.get()
            if snapshot.exists:
                found[ref.path] = snapshot.to_dict()
            for sub in ref.collections():
                walk(sub)

    walk(db.collection("orgs"))
    walk(db.collection("users"))
    return found


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_isolation(endpoint: Endpoint, db: Any, world: World) -> None:
    resource_id = endpoint.seed(world)
    before = _snapshot(db)
    # Another organization: exactly what an id that exists nowhere gets, and nothing changes.
    unknown = _request(endpoint, world, world.foreign_admin, UNKNOWN)
    foreign = _request(endpoint, world, world.foreign_admin, resource_id)
    assert unknown.status == endpoint.unknown_status, f"unknown id: {unknown.status} {unknown.body}"
    assert foreign.status == unknown.status, f"foreign id: {foreign.status} {foreign.body}"
    assert foreign.text.replace(resource_id, "<id>") == unknown.text.replace(UNKNOWN, "<id>")
    if foreign.status == 404:
        assert foreign.error["code"] == "NOT_FOUND"
    assert _changes(before, _snapshot(db)) == [], "a foreign id changed documents"
    # The same organization without permission: 403, and nothing changes.
    if endpoint.denied == "own":
        colleague = _request(endpoint, world, world.peer, resource_id)
        assert colleague.status == endpoint.unknown_status, colleague.body
    elif endpoint.denied is not None:
        denied = _request(endpoint, world, world.person(endpoint.denied), resource_id)
        assert denied.status == endpoint.denied_status, f"{endpoint.denied}: {denied.status} {denied.body}"
        if denied.status == 403:
            assert denied.error["code"] == "PERMISSION_DENIED"
        else:
            assert denied.body["items"] == [], "a caller without permission saw records"
    assert _changes(before, _snapshot(db)) == [], "a caller without permission changed documents"
    # Control: the id is real and reachable by whoever may.
    if endpoint.allowed is not None:
        allowed = _request(endpoint, world, world.person(endpoint.allowed), resource_id)
        assert allowed.status < 300, f"control as {endpoint.allowed}: {allowed.status} {allowed.body}"
        if endpoint.method != "GET":
            assert _changes(before, _snapshot(db)), "the control call must change something (or the check is blind)"
        elif isinstance(allowed.body, dict) and "items" in allowed.body and "?" in endpoint.path:
            assert allowed.body["items"], "the control list must find the record (or the empty answers prove nothing)"


# Ids the table need not test, with the reason.
EXEMPT: dict[tuple[str, str, str], str] = {
    ("POST", "/devices", "deviceId"): "the caller names its own install; stored under its own user",
    ("POST", "/comms/sms", "templateId"): "a DLT template id the provider checks, not a document id",
    ("POST", "/comms/whatsapp/reply", "attachmentId"): "read in the caller's organization only, after the lead's "
    "check, and refused unless it is that lead's (tests/comms)",
    ("POST", "/comms/templates", "dltTemplateId"): "the DLT id of a template the admin registers in its own org",
    ("POST", "/leads", "channelPartnerId"): "a free-form broker reference: nothing is looked up by it",
    ("PATCH", "/leads/{lead_id}", "channelPartnerId"): "a free-form broker reference: nothing is looked up by it",
    ("PATCH", "/leads/sources/{source_id}", "projectId"): "the same project check as POST /leads/sources, above",
    ("POST", "/tasks", "teamId"): "only compared with the assignee's team (read from the member): nothing is looked up",
}


def _routes_taking_ids() -> list[tuple[str, str, str]]:
    """(method, path, where) for every authenticated route: where is "path" or the id field's alias."""
    import importlib

    from registry import FUNCTIONS

    found = []
    for name, module in FUNCTIONS.items():
        router = getattr(importlib.import_module(module), "router", None)
        for route in getattr(router, "routes", []):
            if route.public:
                continue
            full = f"/{name}{route.path.rstrip('/')}"
            if "{" in route.path:
                found.append((route.method, full, "path"))
            for model in (route.doc.body, route.doc.query):
                for field_name, info in model.model_fields.items() if model else []:
                    if field_name.endswith(("_id", "_ids")):
                        found.append((route.method, full, info.alias or field_name))
    return found


def _covered(method: str, path: str, where: str) -> bool:
    import re

    for endpoint in ENDPOINTS:
        route_path, _, query = endpoint.path.partition("?")
        if endpoint.method != method:
            continue
        pattern = "^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$"
        if not re.match(pattern, route_path):
            continue
        if where == "path" and "{" in route_path:
            return True
        if where != "path" and (where in (endpoint.body or {}) or f"{where}=" in query):
            return True
    return False
