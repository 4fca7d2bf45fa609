"""The rules matrix: every collection x operation (get, each listener/list query shape, create, update,
delete), each row naming exactly the callers it allows; every other caller must be denied.

Paths and values are templates: {org} org1, {other} org2, {me} the caller's uid, {my_org} its organization,
{agent}, {peer}, {south}, {former}, {manager}, {rm}, {admin} those people's uids, {audit} an audit entry id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.rules.firestore_rest import Client, Query
from tests.rules.world import NOW, ORG, OTHER, SERVER_ONLY, Caller, World

LEGEND = (
    "targets: {org} = org1, {other} = org2, {me} = the caller's uid, {my_org} = the caller's organization, "
    "{agent} {peer} {south} {former} = uids of org1's north agent, its north peer, a south agent and the "
    "deactivated north agent; list rows are the query run (a listener of that shape asks the same rules); "
    "the last five callers' sessions have ended (the member, its login or its organization): no row allows them"
)
# Callers whose sessions have ended while their ID tokens are unexpired: every cell of theirs is a denial.
ENDED = ("former", "logged_out", "stale_login", "lapsed", "org_off")
CALLER_KEYS = ("admin", "manager", "agent", "rm", "other_admin", "other_manager", *ENDED, "no_org", "anon")
NONE: frozenset[str] = frozenset()
ADMIN = frozenset({"admin"})
MEMBERS = frozenset({"admin", "manager", "agent", "rm"})
OTHER_ORG = frozenset({"other_admin", "other_manager"})
SIGNED_IN = MEMBERS | OTHER_ORG


def fill(template: str, caller: Caller, world: World) -> str:
    """A path or value template for this caller."""
    uids = {key: person.uid for key, person in world.people.items()}
    return template.format(me=caller.me, my_org=caller.org_id, org=ORG, other=OTHER, audit=world.audit_id, **uids)


def _fill_value(value: Any, caller: Caller, world: World) -> Any:
    if isinstance(value, list):
        return [_fill_value(item, caller, world) for item in value]
    return fill(value, caller, world) if isinstance(value, str) else value


Act = Callable[[Client, Caller, World], bool]
State = Callable[[Any, Caller, World], Any]


@dataclass(frozen=True)
class Row:
    """One row of the matrix."""

    collection: str
    operation: str
    target: str
    allowed: frozenset[str]
    act: Act
    path: str | None = None  # for writes: the document whose state must change exactly when allowed
    reset: dict[str, Any] | None = None  # for writes that may succeed: the document's state before each caller

    @property
    def id(self) -> str:
        """A pytest id."""
        return f"{self.collection}:{self.operation}:{self.target}"

    def state(self, db: Any, caller: Caller, world: World) -> Any:
        """The written document as the admin client sees it (None when absent)."""
        assert self.path is not None
        snapshot = db.document(fill(self.path, caller, world)).get()
        return snapshot.to_dict() if snapshot.exists else None


ROWS: list[Row] = []


def get(collection: str, path: str, allowed: frozenset[str], note: str = "") -> None:
    """A document read (a document listener asks the same rule)."""
    ROWS.append(
        Row(
            collection,
            "get",
            path + (f" ({note})" if note else ""),
            allowed,
            lambda client, caller, world: client.get(fill(path, caller, world)),
        )
    )


def query(
    collection: str,
    parent: str,
    name: str,
    allowed: frozenset[str],
    *,
    where: tuple[tuple[str, str, Any], ...] = (),
    order_by: tuple[tuple[str, str], ...] = (),
    group: bool = False,
) -> None:
    """A query (a query listener asks the same rules)."""
    shape = Query(name, parent, where, order_by, group)

    def act(client: Client, caller: Caller, world: World) -> bool:
        filled = Query(
            name,
            fill(parent, caller, world),
            tuple((p, op, _fill_value(v, caller, world)) for p, op, v in where),
            order_by,
            group,
        )
        return client.query(filled)

    where_at = f" under {parent}" if parent else ""
    ROWS.append(Row(collection, "list", shape.describe() + where_at, allowed, act))


def create(collection: str, path: str, data: dict[str, Any], allowed: frozenset[str] = NONE) -> None:
    """A create of a new document."""

    def act(client: Client, caller: Caller, world: World) -> bool:
        return client.create(fill(path, caller, world), {k: _fill_value(v, caller, world) for k, v in data.items()})

    ROWS.append(Row(collection, "create", f"{path} {_keys(data)}", allowed, act, path))


def update(
    collection: str,
    path: str,
    data: dict[str, Any],
    allowed: frozenset[str] = NONE,
    *,
    reset: dict[str, Any] | None = None,
    upsert: bool = False,
) -> None:
    """An update of the given fields (upsert: no exists precondition)."""

    def act(client: Client, caller: Caller, world: World) -> bool:
        values = {k: _fill_value(v, caller, world) for k, v in data.items()}
        target = fill(path, caller, world)
        return client.upsert(target, values) if upsert else client.update(target, values)

    text = ", ".join(f"{k}={_show(v)}" for k, v in data.items())
    ROWS.append(Row(collection, "upsert" if upsert else "update", f"{path} {{{text}}}", allowed, act, path, reset))


def delete(collection: str, path: str, allowed: frozenset[str] = NONE) -> None:
    """A delete."""
    ROWS.append(
        Row(
            collection,
            "delete",
            path,
            allowed,
            lambda client, caller, world: client.delete(fill(path, caller, world)),
            path,
        )
    )


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def _keys(data: dict[str, Any]) -> str:
    return "{" + ", ".join(data) + "}"


def writes(collection: str, existing: str, new: str, change: dict[str, Any]) -> None:
    """Create, update and delete, all denied to every caller."""
    create(collection, new, MINE)
    update(collection, existing, change)
    delete(collection, existing)


# The most plausible document a caller could try to create: its own, in its team.
MINE = {"orgId": "{my_org}", "teamId": "north", "assigneeId": "{me}", "agentId": "{me}", "name": "mine"}
ORG_DOC = "orgs/{org}"
DESC = "DESCENDING"
EQ = "EQUAL"

# ---- the organization: reference data ------------------------------------------------------------
get("orgs", ORG_DOC, MEMBERS)
get("orgs", "orgs/{my_org}", SIGNED_IN, "the caller's own organization")
query("orgs", "", "orgs", NONE)
writes("orgs", ORG_DOC, "orgs/new-{me}", {"seats": 999})
get("teams", ORG_DOC + "/teams/north", MEMBERS)
query("teams", ORG_DOC, "teams", MEMBERS)
query("teams", "orgs/{other}", "teams", OTHER_ORG)
writes("teams", ORG_DOC + "/teams/north", ORG_DOC + "/teams/new-{me}", {"managerIds": ["{me}"]})
get("projects", ORG_DOC + "/projects/p1", MEMBERS)
query("projects", ORG_DOC, "projects", MEMBERS)
writes("projects", ORG_DOC + "/projects/p1", ORG_DOC + "/projects/new-{me}", {"checkinRadiusM": 100000})

# ---- members ---------------------------------------------------------------------------------------
get("members", "orgs/{my_org}/members/{me}", SIGNED_IN, "own record")
get("members", ORG_DOC + "/members/{agent}", frozenset({"admin", "manager", "agent"}), "north agent")
get("members", ORG_DOC + "/members/{south}", ADMIN, "south agent")
get("members", ORG_DOC + "/members/{former}", frozenset({"admin", "manager"}), "deactivated north agent")
query("members", ORG_DOC, "members", ADMIN)
query("members", ORG_DOC, "members", frozenset({"admin", "manager"}), where=(("teamId", EQ, "north"),))
query("members", ORG_DOC, "members", ADMIN, where=(("teamId", EQ, "south"),))
create("members", ORG_DOC + "/members/new-{me}", MINE | {"role": "admin", "active": True})
update("members", "orgs/{my_org}/members/{me}", {"role": "admin"})
update("members", "orgs/{my_org}/members/{me}", {"active": True, "teamId": "south"})
delete("members", "orgs/{my_org}/members/{me}")

# ---- leads -----------------------------------------------------------------------------------------
LEAD_AGENT = frozenset({"admin", "manager", "agent"})
get("leads", ORG_DOC + "/leads/L_agent", LEAD_AGENT, "agent's, north, new")
get("leads", ORG_DOC + "/leads/L_peer", frozenset({"admin", "manager"}), "peer's, north, contacted")
get("leads", ORG_DOC + "/leads/L_booked", frozenset({"admin", "manager", "rm"}), "peer's, north, booked")
get("leads", ORG_DOC + "/leads/L_south", ADMIN, "south agent's, south, booked")
get("leads", ORG_DOC + "/leads/L_former", frozenset({"admin", "manager"}), "deactivated agent's, north")
get("leads", "orgs/{other}/leads/L_x", OTHER_ORG, "org2's team north, booked")
L = "leads"
query(L, ORG_DOC, L, ADMIN)
query(L, ORG_DOC, L, ADMIN, order_by=(("updatedAt", DESC),))
MINE_QUERY = frozenset({"admin", "agent", "rm"})
query(L, ORG_DOC, L, MINE_QUERY, where=(("assigneeId", EQ, "{me}"),))
query(L, ORG_DOC, L, MINE_QUERY, where=(("assigneeId", EQ, "{me}"),), order_by=(("updatedAt", DESC),))
query(
    L,
    ORG_DOC,
    L,
    MINE_QUERY,
    where=(("assigneeId", EQ, "{me}"), ("archived", EQ, False)),
    order_by=(("updatedAt", DESC),),
)
query(L, ORG_DOC, L, ADMIN, where=(("assigneeId", "IN", ["{me}", "{peer}"]),))
query(L, ORG_DOC, L, frozenset({"admin", "manager"}), where=(("teamId", EQ, "north"),))
query(L, ORG_DOC, L, frozenset({"admin", "manager"}), where=(("teamId", EQ, "north"),), order_by=(("updatedAt", DESC),))
NORTH_BOOKED = frozenset({"admin", "manager", "rm"})
query(L, ORG_DOC, L, NORTH_BOOKED, where=(("teamId", EQ, "north"), ("stage", EQ, "booked")))
query(
    L,
    ORG_DOC,
    L,
    NORTH_BOOKED,
    where=(("teamId", EQ, "north"), ("stage", EQ, "booked")),
    order_by=(("updatedAt", DESC),),
)
query(L, ORG_DOC, L, ADMIN, where=(("teamId", EQ, "south"),))
query(L, ORG_DOC, L, ADMIN, where=(("teamId", EQ, "south"), ("stage", EQ, "booked")))
query(L, ORG_DOC, L, ADMIN, where=(("stage", EQ, "booked"),))
query(L, ORG_DOC, L, frozenset({"admin", "agent"}), where=(("assigneeId", EQ, "{agent}"),))
query(L, ORG_DOC, L, LEAD_AGENT, where=(("teamId", EQ, "north"), ("assigneeId", EQ, "{agent}")))
query(L, "orgs/{other}", L, OTHER_ORG, where=(("teamId", EQ, "north"),))
query(L, "", L, NONE, where=(("assigneeId", EQ, "{me}"),), group=True)
create(L, ORG_DOC + "/leads/new-{me}", MINE | {"stage": "new"})
update(L, ORG_DOC + "/leads/L_agent", {"stage": "booked"})
update(L, ORG_DOC + "/leads/L_south", {"assigneeId": "{me}", "teamId": "north"})
delete(L, ORG_DOC + "/leads/L_agent")

# raw numbers of masked organizations
P = "leads/private"
get(P, ORG_DOC + "/leads/L_agent/private/contact", frozenset({"admin", "manager"}), "north lead")
get(P, ORG_DOC + "/leads/L_booked/private/contact", frozenset({"admin", "manager"}), "north booked lead")
get(P, ORG_DOC + "/leads/L_south/private/contact", ADMIN, "south lead")
query(P, ORG_DOC + "/leads/L_agent", "private", NONE)
query(P, "", "private", NONE, group=True)
writes(P, ORG_DOC + "/leads/L_agent/private/contact", ORG_DOC + "/leads/L_agent/private/new-{me}", {"emails": []})

# activity (a listener per lead the caller may see)
A = "leads/activity"
get(A, ORG_DOC + "/leads/L_agent/activity/a1", LEAD_AGENT, "agent's lead")
get(A, ORG_DOC + "/leads/L_south/activity/a1", ADMIN, "south lead")
query(A, ORG_DOC + "/leads/L_agent", "activity", LEAD_AGENT, order_by=(("at", DESC),))
query(A, ORG_DOC + "/leads/L_booked", "activity", NORTH_BOOKED, order_by=(("at", DESC),))
query(A, ORG_DOC + "/leads/L_peer", "activity", frozenset({"admin", "manager"}), order_by=(("at", DESC),))
query(A, ORG_DOC + "/leads/L_south", "activity", ADMIN, order_by=(("at", DESC),))
query(A, ORG_DOC + "/leads/L_former", "activity", frozenset({"admin", "manager"}), order_by=(("at", DESC),))
query(A, "orgs/{other}/leads/L_x", "activity", OTHER_ORG)
query(A, "", "activity", NONE, where=(("leadId", EQ, "L_agent"),), group=True)
writes(A, ORG_DOC + "/leads/L_agent/activity/a1", ORG_DOC + "/leads/L_agent/activity/new-{me}", {"summary": "forged"})

# notes: through the API only
N = "leads/notes"
get(N, ORG_DOC + "/leads/L_agent/notes/n1", NONE)
query(N, ORG_DOC + "/leads/L_agent", "notes", NONE)
writes(N, ORG_DOC + "/leads/L_agent/notes/n1", ORG_DOC + "/leads/L_agent/notes/new-{me}", {"text": "edited"})

K = "leadKeys"
get(K, ORG_DOC + "/leadKeys/phone:+919876543210", NONE)
query(K, ORG_DOC, K, NONE)
writes(K, ORG_DOC + "/leadKeys/phone:+919876543210", ORG_DOC + "/leadKeys/new-{me}", {"leadId": "L_south"})

# ---- WhatsApp conversations: the lead's shapes (they carry its assigneeId, teamId, stage) -------------
CV = "conversations"
CONV = ORG_DOC + "/conversations/whatsapp_"
get(CV, CONV + "L_agent", LEAD_AGENT, "agent's lead, north, new")
get(CV, CONV + "L_peer", frozenset({"admin", "manager"}), "peer's lead, north, contacted")
get(CV, CONV + "L_booked", frozenset({"admin", "manager", "rm"}), "peer's lead, north, booked")
get(CV, CONV + "L_south", ADMIN, "south agent's lead, south, booked")
get(CV, "orgs/{other}/conversations/whatsapp_L_x", OTHER_ORG, "org2's")
query(CV, ORG_DOC, CV, ADMIN)
query(CV, ORG_DOC, CV, ADMIN, order_by=(("lastMessageAt", DESC),))
query(CV, ORG_DOC, CV, MINE_QUERY, where=(("assigneeId", EQ, "{me}"),))
query(CV, ORG_DOC, CV, MINE_QUERY, where=(("assigneeId", EQ, "{me}"),), order_by=(("lastMessageAt", DESC),))
query(CV, ORG_DOC, CV, MINE_QUERY, where=(("assigneeId", EQ, "{me}"), ("unread", EQ, True)))
query(CV, ORG_DOC, CV, frozenset({"admin", "manager"}), where=(("teamId", EQ, "north"),))
query(
    CV,
    ORG_DOC,
    CV,
    frozenset({"admin", "manager"}),
    where=(("teamId", EQ, "north"),),
    order_by=(("lastMessageAt", DESC),),
)
query(CV, ORG_DOC, CV, NORTH_BOOKED, where=(("teamId", EQ, "north"), ("stage", EQ, "booked")))
query(CV, ORG_DOC, CV, ADMIN, where=(("teamId", EQ, "south"),))
query(CV, ORG_DOC, CV, ADMIN, where=(("unread", EQ, True),))
query(CV, ORG_DOC, CV, frozenset({"admin", "agent"}), where=(("assigneeId", EQ, "{agent}"),))
query(CV, ORG_DOC, CV, LEAD_AGENT, where=(("teamId", EQ, "north"), ("assigneeId", EQ, "{agent}")))
query(CV, ORG_DOC, CV, frozenset({"admin", "agent"}), where=(("leadId", EQ, "L_agent"), ("assigneeId", EQ, "{agent}")))
query(CV, ORG_DOC, CV, ADMIN, where=(("leadId", EQ, "L_agent"),))
query(CV, "orgs/{other}", CV, OTHER_ORG, where=(("teamId", EQ, "north"),))
query(CV, "", CV, NONE, where=(("assigneeId", EQ, "{me}"),), group=True)
create(CV, CONV + "new-{me}", MINE | {"stage": "new", "unreadCount": 0})
update(CV, CONV + "L_agent", {"unreadCount": 0})
update(CV, CONV + "L_south", {"assigneeId": "{me}", "teamId": "north"})
delete(CV, CONV + "L_agent")

# ---- tasks and visits: listeners by owner (assigneeId / agentId) and team ------------------------
for coll, owner, prefix, due in (("tasks", "assigneeId", "T", "dueAt"), ("visits", "agentId", "V", "scheduledAt")):
    get(coll, f"{ORG_DOC}/{coll}/{prefix}_agent", LEAD_AGENT, "agent's, north")
    get(coll, f"{ORG_DOC}/{coll}/{prefix}_south", ADMIN, "south agent's, south")
    get(coll, f"orgs/{{other}}/{coll}/{prefix}_x", OTHER_ORG, "org2's team north")
    query(coll, ORG_DOC, coll, ADMIN)
    query(coll, ORG_DOC, coll, MINE_QUERY, where=((owner, EQ, "{me}"),))
    query(coll, ORG_DOC, coll, MINE_QUERY, where=((owner, EQ, "{me}"),), order_by=((due, DESC),))
    query(
        coll, ORG_DOC, coll, frozenset({"admin", "manager"}), where=(("teamId", EQ, "north"),), order_by=((due, DESC),)
    )
    query(coll, ORG_DOC, coll, frozenset({"admin", "manager"}), where=(("teamId", EQ, "north"),))
    query(coll, ORG_DOC, coll, ADMIN, where=(("teamId", EQ, "south"),))
    query(coll, ORG_DOC, coll, frozenset({"admin", "agent"}), where=((owner, EQ, "{agent}"),))
    query(coll, "orgs/{other}", coll, OTHER_ORG, where=(("teamId", EQ, "north"),))
    query(coll, "", coll, NONE, where=((owner, EQ, "{me}"),), group=True)
    writes(coll, f"{ORG_DOC}/{coll}/{prefix}_agent", f"{ORG_DOC}/{coll}/new-{{me}}", {"status": "done", owner: "{me}"})

# ---- large imports: a listener on one's own import (the progress bar) ----------------------------------
IMP = "imports"
get(IMP, ORG_DOC + "/imports/imp_manager", frozenset({"manager"}), "the manager's")
get(IMP, ORG_DOC + "/imports/imp_admin", ADMIN, "the admin's")
get(IMP, "orgs/{other}/imports/imp_manager", NONE, "org2's")
query(IMP, ORG_DOC, IMP, NONE)
query(IMP, ORG_DOC, IMP, MEMBERS, where=(("createdBy", EQ, "{me}"),))
query(IMP, ORG_DOC, IMP, frozenset({"manager"}), where=(("createdBy", EQ, "{manager}"),))
writes(IMP, ORG_DOC + "/imports/imp_manager", ORG_DOC + "/imports/new-{me}", {"status": "done", "createdBy": "{me}"})
get("imports/errors", ORG_DOC + "/imports/imp_manager/errors/00000000", NONE, "failed rows: the errors CSV only")
query("imports/errors", ORG_DOC + "/imports/imp_manager", "errors", NONE)

# ---- through the API only ---------------------------------------------------------------------------
for coll, doc in (("calls", "C_agent"), ("messages", "M_agent")):
    get(coll, f"{ORG_DOC}/{coll}/{doc}", NONE, "agent's")
    query(coll, ORG_DOC, coll, NONE)
    query(coll, ORG_DOC, coll, NONE, where=(("agentId", EQ, "{me}"),))
    query(coll, ORG_DOC, coll, NONE, where=(("teamId", EQ, "north"),))
    writes(coll, f"{ORG_DOC}/{coll}/{doc}", f"{ORG_DOC}/{coll}/new-{{me}}", {"status": "delivered"})
for coll, doc in (
    ("templates", "tpl1"),
    ("attachments", "att1"),
    ("audit", "{audit}"),
    ("auditHead", "head"),
    ("rotation", "north"),
    ("captures", "cap1"),
    ("captureSources", "src1"),
    ("config", "routing"),
    ("privacyRequests", "prq1"),
    ("openLeads", "u1"),
    ("agentBookings", "u1"),  # orders one agent's concurrent bookings (visits.service)
    # the report counters, their event markers, nightly checks and weekly email claims (reports/)
    ("reportDays", "2026-11-24-0"),
    ("reportEvents", "e1"),
    ("leadTallies", "org-all-0"),
    ("leadTallyEvents", "e1"),
    ("reportChecks", "2026-11-24"),
    ("reportMails", "2026-11-23-u1"),
):
    get(coll, f"{ORG_DOC}/{coll}/{doc}", NONE)
    query(coll, ORG_DOC, coll, NONE)
    writes(coll, f"{ORG_DOC}/{coll}/{doc}", f"{ORG_DOC}/{coll}/new-{{me}}", {"status": "ready", "hash": "forged"})
# The organization's own numbers and its sealed WhatsApp token (config/channels): GET /org/channels only. The
# query of the config collection is the routing row's above.
get("config", f"{ORG_DOC}/config/channels", NONE, "channels")
writes("config", f"{ORG_DOC}/config/channels", f"{ORG_DOC}/config/new-channels-{{me}}", {"whatsapp": None})
# The routing counters under each rotation scope: server-only like their scope.
get("rotation/counts", f"{ORG_DOC}/rotation/team-north/counts/u1", NONE)
query("rotation/counts", f"{ORG_DOC}/rotation/team-north", "counts", NONE)
writes(
    "rotation/counts",
    f"{ORG_DOC}/rotation/team-north/counts/u1",
    f"{ORG_DOC}/rotation/team-north/counts/new-{{me}}",
    {"n": 0},
)

# ---- a user's own documents -------------------------------------------------------------------------
U = "users/notifications"
OWN = "users/{me}/notifications/n1"
get(U, OWN, SIGNED_IN, "own")
query(U, "users/{me}", "notifications", SIGNED_IN, order_by=(("createdAt", DESC),))
query(U, "users/{me}", "notifications", SIGNED_IN, where=(("read", EQ, False),), order_by=(("createdAt", DESC),))
get(U, "users/{agent}/notifications/n1", frozenset({"agent"}), "the agent's")
query(U, "users/{agent}", "notifications", frozenset({"agent"}))
query(U, "", "notifications", NONE, where=(("read", EQ, False),), group=True)
UNREAD = {
    "kind": "lead-assigned",
    "title": "New lead",
    "body": "L_agent",
    "data": {},
    "read": False,
    "createdAt": NOW,
}
update(U, OWN, {"read": True}, SIGNED_IN, reset=UNREAD)
update(U, "users/{agent}/notifications/n1", {"read": True}, frozenset({"agent"}), reset=UNREAD)
update(U, OWN, {"read": "yes"}, reset=UNREAD)
update(U, OWN, {"read": 1}, reset=UNREAD)
update(U, OWN, {"title": "Forged"}, reset=UNREAD)
update(U, OWN, {"read": True, "createdAt": NOW + timedelta(days=1)}, reset=UNREAD)
update(U, OWN, {"read": True, "extra": "x"}, reset=UNREAD)
update(U, "users/{me}/notifications/missing", {"read": True}, upsert=True)
create(U, "users/{me}/notifications/new", UNREAD)
delete(U, OWN)

D = "users/devices"
get(D, "users/{me}/devices/d1", NONE, "own")
query(D, "users/{me}", "devices", NONE)
writes(D, "users/{me}/devices/d1", "users/{me}/devices/new", {"fcmToken": "stolen"})
get("users", "users/{me}", NONE, "the user document")
query("users", "", "users", NONE)
writes("users", "users/{me}", "users/new-{me}", {"name": "me"})

# ---- server-only top-level collections ----------------------------------------------------------
for coll in SERVER_ONLY:
    get(coll, f"{coll}/x1", NONE)
    query(coll, "", coll, NONE)
    writes(coll, f"{coll}/x1", f"{coll}/new-{{me}}", {"secret": False})
