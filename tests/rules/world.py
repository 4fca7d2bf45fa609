"""The callers of the rules matrix and the documents they aim at, seeded with the admin client (no rules).

org1 has teams north and south. North: the manager, the agent (owner of the `agent` records), its peer,
the rm, and three agents whose sessions ended while their ID tokens, issued before and unexpired, still carry
the claims: a former agent (deactivated), one that logged out, and one that signed in again after logging out
with the custom token of its old login (a fresh `auth_time`, the old `loginAt`). South: an agent. org2 has its
own admin, a manager of its own team called `north` (same team name, other organization) and an agent. org3's
subscription has ended and org4 is switched off (`active: false`); each has its admin.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.inproc import id_token
from tests.support.factory import Person, add_person, make_org

ORG, OTHER, LAPSED, SWITCHED_OFF = "org1", "org2", "org3", "org4"
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
# Top-level collections only the functions touch (docs/architecture.md, plus indexes the features added).
SERVER_ONLY = (
    "memberEmails",
    "otpChallenges",
    "throttles",
    "idempotency",
    "fcmTokens",
    "outbox",
    "platform",
    "reminders",
    "whatsappNumbers",
    "providerMessages",
    "voipCalls",
    "voiceNumbers",
    "devMetaLeads",
    "devMetaMedia",
    "captureRoutes",
    "privacyReminders",
    "emailEvents",
)


@dataclass(frozen=True)
class Caller:
    """One column of the matrix."""

    key: str
    label: str
    uid: str | None
    org_id: str
    team_id: str | None
    token: str | None
    me: str  # the uid in `== me` filters and own paths (a signed-out caller tries the agent's)


@dataclass(frozen=True)
class World:
    """Who is who, and the ids the rows aim at."""

    callers: tuple[Caller, ...]
    people: dict[str, Person]
    audit_id: str

    def caller(self, key: str) -> Caller:
        """The column with this key."""
        return next(c for c in self.callers if c.key == key)

    def uid(self, key: str) -> str:
        """The uid of a person of the world."""
        return self.people[key].uid


def _lead(assignee: str, team: str, stage: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "primaryPhone": {"countryCode": "+91", "number": "98XXXXXX10", "e164": "+91XXXXXXXX10"},
        "emails": [],
        "source": "website",
        "stage": stage,
        "assigneeId": assignee,
        "teamId": team,
        "archived": False,
        "createdAt": NOW,
        "updatedAt": NOW,
        "version": 1,
    }


def seed(db: Any) -> World:
    """Create both organizations, their people and one document in every collection."""
    admin = make_org(ORG)
    people = {
        "admin": admin,
        "manager": add_person(ORG, "manager", "north"),
        "agent": add_person(ORG, "agent", "north"),
        "peer": add_person(ORG, "agent", "north"),
        "rm": add_person(ORG, "rm", "north"),
        "south": add_person(ORG, "agent", "south"),
        "former": add_person(ORG, "agent", "north"),
        "logged_out": add_person(ORG, "agent", "north"),
        "stale_login": add_person(ORG, "agent", "north"),
    }
    people["other_admin"] = make_org(OTHER)
    people["other_manager"] = add_person(OTHER, "manager", "north")
    people["other_agent"] = add_person(OTHER, "agent", "north")
    people["lapsed"] = make_org(LAPSED, days=-1)
    people["org_off"] = make_org(SWITCHED_OFF)
    db.document(f"orgs/{SWITCHED_OFF}").update({"active": False})
    # Deactivated, or logged out, after its token was issued: the claims in that token are unchanged until it
    # expires. The stale login's sessions ended a minute ago, before its token's auth_time, after its loginAt.
    now = datetime.now(UTC)
    ended = {"former": {"active": False}, "logged_out": {}, "stale_login": {}}
    for key, change in ended.items():
        cutoff = now - timedelta(minutes=1) if key == "stale_login" else now
        db.document(f"orgs/{ORG}/members/{people[key].uid}").update(change | {"sessionsValidAfter": cutoff})
    stale_login_at = int((now - timedelta(minutes=2)).timestamp() * 1000)

    def put(path: str, data: dict[str, Any]) -> None:
        db.document(path).set(data)

    uid = {key: person.uid for key, person in people.items()}
    o = f"orgs/{ORG}"
    put(f"{o}/projects/p1", {"name": "Skyline", "city": "Pune", "location": {"lat": 18.5, "lng": 73.8}})
    leads = {
        "L_agent": (uid["agent"], "north", "new"),
        "L_peer": (uid["peer"], "north", "contacted"),
        "L_booked": (uid["peer"], "north", "booked"),
        "L_south": (uid["south"], "south", "booked"),
        "L_former": (uid["former"], "north", "new"),
    }
    for lead_id, (assignee, team, stage) in leads.items():
        put(f"{o}/leads/{lead_id}", _lead(assignee, team, stage, lead_id))
        put(f"{o}/leads/{lead_id}/private/contact", {"primaryPhone": {"e164": "+919876543210"}, "emails": []})
        put(
            f"{o}/leads/{lead_id}/activity/a1",
            {"type": "created", "actorId": uid["admin"], "at": NOW, "leadId": lead_id},
        )
        put(f"{o}/leads/{lead_id}/notes/n1", {"text": "Wants a corner flat", "authorId": assignee, "createdAt": NOW})
    put(f"orgs/{OTHER}/leads/L_x", _lead(uid["other_agent"], "north", "booked", "other org lead"))
    for lead_id, (assignee, team, stage) in leads.items():  # each lead's WhatsApp thread, with its owner fields
        put(f"{o}/conversations/whatsapp_{lead_id}", _conversation(lead_id, assignee, team, stage))
    put(f"orgs/{OTHER}/conversations/whatsapp_L_x", _conversation("L_x", uid["other_agent"], "north", "booked"))
    put(f"{o}/leadKeys/phone:+919876543210", {"leadId": "L_agent"})
    owners = {"agent": (uid["agent"], "north"), "south": (uid["south"], "south")}
    for suffix, (owner, team) in owners.items():
        put(f"{o}/tasks/T_{suffix}", {"title": "Call back", "assigneeId": owner, "teamId": team, "status": "open"})
        put(f"{o}/visits/V_{suffix}", {"leadId": "L_agent", "agentId": owner, "teamId": team, "status": "scheduled"})
        put(f"{o}/calls/C_{suffix}", {"leadId": "L_agent", "agentId": owner, "teamId": team, "outcome": "connected"})
        put(f"{o}/messages/M_{suffix}", {"leadId": "L_agent", "agentId": owner, "teamId": team, "status": "sent"})
    put(f"orgs/{OTHER}/tasks/T_x", {"title": "x", "assigneeId": uid["other_agent"], "teamId": "north"})
    put(f"orgs/{OTHER}/visits/V_x", {"leadId": "L_x", "agentId": uid["other_agent"], "teamId": "north"})
    put(f"{o}/templates/tpl1", {"channel": "whatsapp", "name": "site_visit_reminder", "category": "utility"})
    put(f"{o}/attachments/att1", {"leadId": "L_agent", "fileName": "a.pdf", "status": "ready", "objectPath": "x"})
    for creator in ("manager", "admin"):
        progress = {"createdBy": uid[creator], "status": "running", "rowsDone": 10, "rowsTotal": 100}
        put(f"{o}/imports/imp_{creator}", progress)
        put(f"{o}/imports/imp_{creator}/errors/00000000", {"rows": [{"row": 2, "field": "name"}]})
    for person in people.values():
        put(f"users/{person.uid}/notifications/n1", _notification())
        put(f"users/{person.uid}/devices/d1", {"fcmToken": "t", "platform": "android", "uid": person.uid})
    for collection in SERVER_ONLY:
        put(f"{collection}/x1", {"secret": True, "createdAt": NOW})
    put(f"{o}/rotation/north", {"next": 1})
    put(f"{o}/rotation/team-north/counts/u1", {"n": 3, "uid": "u1"})
    put(f"{o}/openLeads/u1", {"n": 2, "uid": "u1"})
    put(f"{o}/reportDays/2026-11-24-0", {"day": "2026-11-24", "shard": 0, "cells": {}, "dims": {}})
    put(f"{o}/reportEvents/e1", {"at": NOW})
    put(f"{o}/leadTallies/org-all-0", {"scope": "org", "id": "all", "shard": 0, "total": 1, "stage": {"new": 1}})
    put(f"{o}/leadTallyEvents/e1", {"at": NOW})
    put(f"{o}/reportChecks/2026-11-24", {"day": "2026-11-24", "differences": 0})
    put(f"{o}/reportMails/2026-11-23-u1", {"week": "2026-11-23", "uid": "u1"})
    put(f"{o}/config/routing", {"rules": [], "firstContactMinutes": 15, "version": 1})
    put(f"{o}/config/privacy", {"responseDays": 30, "version": 1})
    put(f"{o}/privacyRequests/prq1", {"kind": "erasure", "subjectType": "lead", "subjectId": "L_agent"})
    channels = {"phoneNumberId": "109876543210", "accessToken": {"sealed": "v1.sealed", "last4": "abcd"}}
    put(f"{o}/config/channels", {"whatsapp": channels, "version": 2})
    put(f"{o}/captures/cap1", {"sourceId": "src1", "teamId": "north", "raw": "{}", "outcome": "created"})
    put(f"{o}/captureSources/src1", {"kind": "website", "keyHash": "h", "keyLast4": "abcd"})
    audit_id = next(iter(db.collection(f"{o}/audit").limit(1).stream())).id

    columns = (
        "admin",
        "manager",
        "agent",
        "rm",
        "other_admin",
        "other_manager",
        "former",
        "logged_out",
        "stale_login",
        "lapsed",
        "org_off",
    )
    labels = {
        "admin": "admin",
        "manager": "manager (north)",
        "agent": "agent (north)",
        "rm": "rm (north)",
        "other_admin": "admin of org2",
        "other_manager": "manager of org2's team 'north'",
        "former": "deactivated agent, token still valid (<= 1 h)",
        "logged_out": "agent that logged out, token still valid",
        "stale_login": "agent signed in after logout with its old login's custom token",
        "lapsed": "admin of org3, subscription ended",
        "org_off": "admin of org4, organization switched off",
    }
    tokens = {key: people[key].token() for key in columns}
    tokens["stale_login"] = people["stale_login"].token(iat=int(time.time()) - 5, loginAt=stale_login_at)
    callers = [
        Caller(
            key,
            labels[key],
            people[key].uid,
            people[key].org_id,
            people[key].team_id,
            tokens[key],
            people[key].uid,
        )
        for key in columns
    ]
    # Signed in with Firebase but no organization claims (e.g. any other Firebase user of the project).
    stranger = "stranger-1"
    put(f"users/{stranger}/notifications/n1", _notification())
    callers.append(
        Caller("no_org", "signed in, no organization claims", stranger, "none", None, id_token(stranger, {}), stranger)
    )
    callers.append(Caller("anon", "signed out (tries the agent's own paths)", None, ORG, None, None, uid["agent"]))
    return World(tuple(callers), people, audit_id)


def _conversation(lead_id: str, assignee: str, team: str, stage: str) -> dict[str, Any]:
    return {
        "leadId": lead_id,
        "channel": "whatsapp",
        "assigneeId": assignee,
        "teamId": team,
        "stage": stage,
        "archived": False,
        "lastMessageAt": NOW,
        "lastDirection": "inbound",
        "lastText": "Is it available?",
        "unreadCount": 1,
        "unread": True,
    }


def _notification() -> dict[str, Any]:
    return {
        "kind": "lead-assigned",
        "title": "New lead",
        "body": "L_agent",
        "data": {},
        "read": False,
        "createdAt": NOW,
    }
