"""A large organization written straight into the Firestore emulator: 200,000 leads (by default) with their
activity, notes, calls and visits, 300 members in 20 teams, every document in the shape the app writes.

    python -m bench.bigorg [--leads N] [--members N] [--teams N] [--seed N]     (on a fresh emulator)

The stored shapes come from the app's own code, so list, search, stats and dedupe behave as in production:
the lead document and private contact from `leads.service.new_lead_document` (search tokens included), the
assignment fields from `routing.engine.assigned_fields`, the contact keys from `leads.store.Contact.keys`,
activity entries from `triggers.activity.lead_entries` under `leads.history.entry_id`, calls from
`comms.service.call_record`. The open-lead counters (`openLeads/{uid}`) equal the open leads written; the
organization's `activeMembers` equals its members. Everything goes through one BulkWriter whose rate limit
is lifted (the client's default, 500 writes/s ramping up every 5 minutes, is meant for production).

Skew (what a large builder looks like): team sizes and each agent's share of the leads follow power laws
(`shares`), the heaviest agents in the biggest team, so the biggest team holds a large part of the leads and
its top agents thousands; one lead in 5,000 is "busy" (hundreds of activity entries, dozens of notes).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import env

ORG = "bigorg"
TEAM_SKEW = 1.0  # team i gets weight 1 / (i + 1) ** TEAM_SKEW of the agents
AGENT_SKEW = 0.6  # agent k (heaviest first) gets weight 1 / (k + 1) ** AGENT_SKEW of the leads
BUSY_EVERY = 5_000  # one lead in this many has a long history
BUSY_ACTIVITY = 300
BUSY_NOTES = 40
FIRST_NAMES = [
    "Aarav",
    "Aditi",
    "Akash",
    "Ananya",
    "Arjun",
    "Diya",
    "Ishaan",
    "Kavya",
    "Meera",
    "Neha",
    "Nikhil",
    "Pooja",
    "Priya",
    "Rahul",
    "Riya",
    "Rohan",
    "Sanjay",
    "Sneha",
    "Tanvi",
    "Varun",
    "Vikram",
    "Zoya",
    "Kabir",
    "Farah",
    "Imran",
    "Joseph",
    "Maria",
    "Suresh",
    "Lakshmi",
    "Gopal",
]
LAST_NAMES = [
    "Sharma",
    "Verma",
    "Iyer",
    "Nair",
    "Reddy",
    "Patel",
    "Shah",
    "Mehta",
    "Gupta",
    "Khan",
    "Das",
    "Bose",
    "Rao",
    "Pillai",
    "Menon",
    "Kulkarni",
    "Joshi",
    "Singh",
    "Fernandes",
    "Dsouza",
    "Chatterjee",
    "Banerjee",
    "Naidu",
    "Kapoor",
]
STAGE_WEIGHTS = {
    "new": 30,
    "contacted": 22,
    "qualified": 14,
    "site-visit-scheduled": 8,
    "site-visit-done": 6,
    "negotiation": 5,
    "booked": 5,
    "lost": 10,
}
OUTCOMES = ("connected", "no-answer", "busy", "interested", "not-interested")
BASE_PHONE = 9_000_000_000  # lead n has +91 (BASE_PHONE + n): unique, so every contact key is free


def shares(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to weights, exactly (largest remainders), never negative."""
    whole = sum(weights)
    if total < 0 or whole <= 0:
        raise ValueError("a non-negative total and positive weights")
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def power_weights(n: int, skew: float) -> list[float]:
    """Weights 1, 1/2^skew, 1/3^skew, ...: heaviest first."""
    return [1 / (k + 1) ** skew for k in range(n)]


@dataclass
class BigOrg:
    """What `generate` wrote: who is who, and the counts a test or bench checks against."""

    org_id: str
    admin_uid: str
    teams: list[str]  # biggest first
    managers: dict[str, str]  # team -> manager uid
    agents: dict[str, str]  # agent uid -> team, heaviest first
    leads_of: Counter[str] = field(default_factory=Counter)  # assignee -> unarchived leads
    open_of: Counter[str] = field(default_factory=Counter)  # assignee -> open leads (the counters)
    team_leads: Counter[str] = field(default_factory=Counter)  # team -> unarchived leads
    by_stage: Counter[str] = field(default_factory=Counter)  # unarchived leads
    by_source: Counter[str] = field(default_factory=Counter)  # unarchived leads
    busy_leads: list[str] = field(default_factory=list)
    sample_of: dict[str, str] = field(default_factory=dict)  # assignee -> its newest unarchived lead
    lead_ids: list[str] = field(default_factory=list)
    archived: int = 0
    documents: Counter[str] = field(default_factory=Counter)  # kind -> documents written
    tallies: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)  # leads.tallies scope -> counts
    seconds: float = 0.0

    @property
    def leads(self) -> int:
        """Leads written, archived included."""
        return len(self.lead_ids)

    @staticmethod
    def phone_of(lead_id: str) -> str:
        """The national number of a generated lead (its primary phone)."""
        return str(BASE_PHONE + int(lead_id[1:]))

    @property
    def top_agent(self) -> str:
        """The agent with the most leads."""
        return self.leads_of.most_common(1)[0][0]

    @property
    def biggest_team(self) -> str:
        """The team with the most leads."""
        return self.team_leads.most_common(1)[0][0]

    def summary(self) -> dict[str, Any]:
        """JSON-friendly figures."""
        written = sum(self.documents.values())
        return {
            "orgId": self.org_id,
            "leads": self.leads,
            "archived": self.archived,
            "members": len(self.agents) + len(self.managers) + 1,
            "teams": len(self.teams),
            "documents": dict(self.documents),
            "documentsWritten": written,
            "seconds": round(self.seconds, 1),
            "docsPerSecond": round(written / self.seconds) if self.seconds else None,
            "topAgentLeads": self.leads_of[self.top_agent],
            "biggestTeamLeads": self.team_leads[self.biggest_team],
            "smallestTeamLeads": min(self.team_leads.get(t, 0) for t in self.teams),
        }


class FastWriter:
    """BulkWriter's job (sets in parallel batches of 500 through BatchWrite) with the documents encoded straight
    to protobuf: the client's encoder builds proto-plus wrappers, about 1 ms a document of CPU, which would make
    a 200,000-lead organization (over a million documents) take half an hour on its own. The values stored are
    the ones the client would store (None, bool, int, float, str, bytes, datetime, maps, lists)."""

    BATCH = 500

    def __init__(self, workers: int = 4, in_flight: int = 12) -> None:
        """A writer on the process's Firestore client."""
        from concurrent.futures import ThreadPoolExecutor

        from google.cloud.firestore_v1.types import document, firestore, write

        from core import clients

        self._client = clients.db()
        self._api = self._client._firestore_api
        self._database = self._client._database_string
        self._pb = (document.Document.pb(), write.Write.pb(), firestore.BatchWriteRequest.pb())
        self._request_type = firestore.BatchWriteRequest
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._pending: list[Any] = []
        self._futures: list[Any] = []
        self._in_flight = in_flight
        self.written = 0

    def set(self, ref: Any, data: dict[str, Any]) -> None:
        """Queue a set (no merge) of one document."""
        document_pb, write_pb, _ = self._pb
        fields = {key: _value(value) for key, value in data.items()}
        self._pending.append(write_pb(update=document_pb(name=ref._document_path, fields=fields)))
        if len(self._pending) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        if not self._pending:
            return
        request = self._request_type.wrap(self._pb[2](database=self._database, writes=self._pending))
        self.written += len(self._pending)
        self._pending = []
        self._futures.append(self._pool.submit(self._commit, request))
        while len(self._futures) >= self._in_flight:  # bounded: the caller's memory stays flat
            self._futures.pop(0).result()

    def _commit(self, request: Any) -> None:
        response = self._api.batch_write(request=request, metadata=self._client._rpc_metadata)
        failed = [status for status in response.status if status.code != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} writes failed: {failed[0].message}")

    def close(self) -> None:
        """Send what is queued and wait for every batch."""
        self._send()
        for future in self._futures:
            future.result()
        self._futures = []
        self._pool.shutdown()


_VALUE_PB: Any = None


def _value(value: Any) -> Any:
    """A Python value as a Firestore Value protobuf, as the client's encoder makes it."""
    global _VALUE_PB
    if _VALUE_PB is None:
        from google.cloud.firestore_v1.types import document

        _VALUE_PB = document.Value.pb()
    pb = _VALUE_PB
    if value is None:
        return pb(null_value=0)
    if isinstance(value, bool):
        return pb(boolean_value=value)
    if isinstance(value, int):
        return pb(integer_value=value)
    if isinstance(value, float):
        return pb(double_value=value)
    if isinstance(value, str):
        return pb(string_value=value)
    if isinstance(value, datetime):
        from google.protobuf.timestamp_pb2 import Timestamp

        stamp = Timestamp()
        stamp.FromDatetime(value.astimezone(UTC).replace(tzinfo=None))
        return pb(timestamp_value=stamp)
    if isinstance(value, dict):
        return pb(map_value={"fields": {str(k): _value(v) for k, v in value.items()}})
    if isinstance(value, list | tuple):
        return pb(array_value={"values": [_value(v) for v in value]})
    if isinstance(value, bytes):
        return pb(bytes_value=value)
    raise TypeError(f"cannot store {type(value).__name__}")


def _members(org: BigOrg, members: int, teams: int) -> list[tuple[str, str, str]]:
    """(uid, role, team) of every member but the admin: a manager per team, the rest agents, teams skewed."""
    agents = members - teams
    if agents < teams:
        raise ValueError("at least one agent per team")
    sizes = [n + 1 for n in shares(agents - teams, power_weights(teams, TEAM_SKEW))]
    org.teams = [f"team{t:02d}" for t in range(teams)]
    out: list[tuple[str, str, str]] = []
    for team in org.teams:
        org.managers[team] = f"{org.org_id}-{team}-m"
        out.append((org.managers[team], "manager", team))
    index = 0
    for team, size in zip(org.teams, sizes, strict=True):  # heaviest agents first, into the biggest team
        for _ in range(size):
            uid = f"{org.org_id}-a{index:03d}"
            org.agents[uid] = team
            out.append((uid, "agent", team))
            index += 1
    return out


def _write_members(bulk: Any, org: BigOrg, people: list[tuple[str, str, str]], now: datetime) -> None:
    """Member documents as members.service.add_member writes them, the email index, teams, the seat count."""
    from auth.service import EMAIL_INDEX, email_key
    from core import clients, tenancy
    from members.models import MemberCreate
    from members.service import member_document

    org_ref = tenancy.org_ref(org.org_id)
    for uid, role, team in people:
        data = MemberCreate.model_validate(
            {
                "email": f"{uid}@{org.org_id}.example.com",
                "name": f"{role.title()} {uid.rsplit('-', 1)[-1]}",
                "role": role,
                "teamId": team,
            }
        )
        member = member_document(org_id=org.org_id, uid=uid, data=data, now=now)
        email = member["email"]
        bulk.set(org_ref.collection("members").document(uid), member)
        bulk.set(clients.db().collection(EMAIL_INDEX).document(email_key(email)), {"orgId": org.org_id, "uid": uid})
        org.documents["members"] += 2
    for team in org.teams:
        document = {"name": team.title(), "managerIds": [org.managers[team]], "version": 1}
        bulk.set(org_ref.collection("teams").document(team), {**document, "createdAt": now, "updatedAt": now})
        org.documents["teams"] += 1
    org_ref.update({"activeMembers": len(people) + 1})


def generate(
    org_id: str = ORG,
    leads: int = 200_000,
    members: int = 300,
    teams: int = 20,
    seed: int = 18,
    *,
    days: int = 730,
    progress: bool = False,
) -> BigOrg:
    """Create the organization (ops.orgs.create_org) and write its members, teams, projects, leads with their
    private contacts, contact keys, activity, notes, calls and visits, the open-lead counters and the stats
    tallies (`progress`: a line on stderr every 20,000 leads)."""
    from core import clock, tenancy
    from core.caller import caller_of
    from core.org_settings import OrgSettings
    from ops.orgs import create_org
    from projects.models import ProjectCreate
    from projects.service import create_project

    started = time.monotonic()
    rng = random.Random(seed)
    now = clock.now()
    created = create_org(
        org_id=org_id,
        name="Big Builder",
        seats=members + 1,
        subscription_ends_at=now + timedelta(days=365),
        admin_email=f"admin@{org_id}.example.com",
        admin_name="Big Admin",
        admin_uid=f"{org_id}-admin",
    )
    org = BigOrg(org_id, created["admin"]["uid"], [], {}, {})
    projects = [
        create_project(
            org_id=org_id,
            actor=org.admin_uid,
            project_id=f"p{p}",
            data=ProjectCreate.model_validate(
                {"name": f"Tower {p}", "city": "Pune", "location": {"lat": 18.5 + p / 100, "lng": 73.8}}
            ),
        )["id"]
        for p in range(3)
    ]
    org_doc = tenancy.load_org(org_id, fresh=True) or {}
    conf = OrgSettings.of(org_doc)
    people = _members(org, members, teams)
    bulk = FastWriter()
    _write_members(bulk, org, people, now)
    agents = list(org.agents)
    per_agent = shares(leads, power_weights(len(agents), AGENT_SKEW))
    assignees = [uid for uid, n in zip(agents, per_agent, strict=True) for _ in range(n)]
    rng.shuffle(assignees)
    member_docs = {uid: {"uid": uid, "teamId": team} for uid, team in org.agents.items()}
    actors = {
        uid: caller_of(org_id, uid, {"role": "agent", "teamId": team}, org_doc) for uid, team in org.agents.items()
    }
    stages, weights = list(STAGE_WEIGHTS), list(STAGE_WEIGHTS.values())
    span = days * 86400
    for n, assignee in enumerate(assignees):
        if progress and n and n % 20_000 == 0:
            _report(org, n, started)
        at = now - timedelta(seconds=span * (leads - n) / max(leads, 1) + rng.random())  # older first
        _write_lead(
            bulk,
            org,
            rng,
            n,
            member_docs[assignee],
            actors[assignee],
            at=at,
            now=now,
            stage=rng.choices(stages, weights)[0],
            source=rng.choice(conf.sources),
            project=rng.choice([*projects, None]),
            conf=conf,
        )
    for uid in [*org.agents, *org.managers.values(), org.admin_uid]:
        if org.open_of[uid]:
            bulk.set(tenancy.org_ref(org_id).collection("openLeads").document(uid), {"n": org.open_of[uid], "uid": uid})
            org.documents["openLeads"] += 1
    _write_tallies(bulk, org)
    bulk.close()
    tenancy.cache.clear()
    org.seconds = time.monotonic() - started
    return org


def _write_tallies(bulk: Any, org: BigOrg) -> None:
    """The stats tallies equal to the leads written: each scope's counts in its shard 0, as the trigger's
    increments would have summed them."""
    from leads import tallies

    for scope, counts in org.tallies.items():
        bulk.set(tallies.ref(org.org_id, scope, 0), tallies.document(scope, 0, counts, increment=False))
        org.documents["leadTallies"] += 1


def _write_lead(
    bulk: Any,
    org: BigOrg,
    rng: random.Random,
    n: int,
    member: dict[str, Any],
    actor: Any,
    *,
    at: datetime,
    now: datetime,
    stage: str,
    source: str,
    project: str | None,
    conf: Any,
) -> None:
    """One lead as POST /leads stores it (by its assignee), then its later life: a stage move, notes, calls,
    a visit, each with the activity entries the triggers write."""
    from comms.service import call_record
    from leads import service, store, tallies
    from leads.models import LeadCreate
    from leads.store import LeadRecord
    from routing import eligibility
    from routing.engine import assigned_fields
    from triggers.activity import lead_entries

    org_id, uid = org.org_id, member["uid"]
    lead_id = f"l{n:07d}"
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    data = LeadCreate.model_validate(
        {
            "name": name,
            "primaryPhone": {"countryCode": "+91", "number": str(BASE_PHONE + n)},
            "source": source,
            "stage": conf.stages[0],
            "projectId": project,
        }
    )
    lead, contact = service.new_lead_document(org_id=org_id, actor=actor, data=data, conf=conf, masked=False, now=at)
    lead.update(assigned_fields(member, now=at, reason="manual", due=None, by=uid))
    created_doc = dict(lead)
    events: list[tuple[str, dict[str, Any] | None, dict[str, Any], datetime]] = [
        (f"lead:{lead_id}:0", None, created_doc, at)
    ]
    if stage != lead["stage"]:
        moved = at + timedelta(hours=rng.uniform(1, 24 * 20))
        moved = min(moved, now)
        lead.update(
            {
                "stage": stage,
                "stageHistory": store.stage_moved(lead, stage, moved),
                "updatedAt": moved,
                "version": 2,
                "firstContactAt": moved,
                "firstContactSeconds": int((moved - at).total_seconds()),
            }
        )
        events.append((f"lead:{lead_id}:1", created_doc, dict(lead), moved))
    busy = n % BUSY_EVERY == 0
    archived = not busy and rng.random() < 0.02
    if archived:
        lead.update({"archived": True, "archivedAt": now, "archivedBy": uid, "version": lead["version"] + 1})
    ref = store.ref(org_id, lead_id)
    bulk.set(ref, lead)
    for scope, counts in tallies.contribution(lead).items():
        org.tallies.setdefault(scope, Counter()).update(counts)
    bulk.set(store.private_ref(org_id, lead_id), contact.document(lead_id, at))
    org.documents["leads"] += 1
    org.documents["contacts"] += 1
    if not archived:  # the keys belong to unarchived leads only
        for key, key_field in contact.keys().items():
            bulk.set(store.key_ref(org_id, key), {"leadId": lead_id, "field": key_field, "createdAt": at})
            org.documents["leadKeys"] += 1
    for event_id, before, after, when in events:
        for entry in lead_entries(before, after):
            _activity(bulk, org, lead_id, event_id, entry, actor_id=uid, at=when)
    record = LeadRecord.from_document(lead_id, lead)
    notes = BUSY_NOTES if busy else rng.choice((0, 0, 0, 0, 1))
    for k in range(notes):
        when = min(at + timedelta(hours=rng.uniform(1, 24 * 30)), now)
        note = {"leadId": lead_id, "text": f"Call back about {name.split()[0]}'s budget ({k})", "authorId": uid}
        note |= {"assigneeId": uid, "teamId": member["teamId"], "createdAt": when}
        bulk.set(store.child(org_id, lead_id, "notes").document(f"n{n:07d}{k:03d}"), note)
        org.documents["notes"] += 1
        entry = {"type": "note_added", "summary": "Note added", "changes": {}, "ref": {"kind": "note", "id": f"n{k}"}}
        _activity(bulk, org, lead_id, f"note:{lead_id}:{k}", entry, actor_id=uid, at=when)
    calls = BUSY_ACTIVITY if busy else rng.choice((0, 0, 0, 1, 1, 2))
    for k in range(calls):
        when = min(at + timedelta(minutes=rng.uniform(5, 60 * 24 * 60)), now)
        outcome = rng.choice(OUTCOMES)
        call = call_record(
            org_id,
            uid,
            record,
            when,
            direction="outbound",
            kind="phone",
            startedAt=when,
            durationSec=rng.randint(20, 900) if outcome in ("connected", "interested") else 0,
            outcome=outcome,
            notes=None,
            status="logged",
        )
        call["id"] = f"c{n:07d}{k:03d}"
        bulk.set(org_ref_of(org_id).collection("calls").document(call["id"]), call)
        org.documents["calls"] += 1
        entry = {"type": "called", "summary": f"Call: {outcome}", "changes": {}, "ref": {"callId": call["id"]}}
        _activity(bulk, org, lead_id, f"call:{call['id']}", entry, actor_id=uid, at=when, suffix="created")
    if stage in ("site-visit-scheduled", "site-visit-done", "negotiation", "booked") and project:
        when = min(at + timedelta(days=rng.uniform(1, 20)), now)
        status = "scheduled" if stage == "site-visit-scheduled" else "completed"
        visit = {
            "id": f"v{n:07d}",
            "orgId": org_id,
            "leadId": lead_id,
            "projectId": project,
            "agentId": uid,
            "teamId": member["teamId"],
            "scheduledAt": when + timedelta(days=2),
            "status": status,
            "notes": None,
            "followUpNotes": "",
            "cancelReason": None,
            "checkin": None,
            "sequence": 0,
            "version": 1,
            "createdAt": when,
            "createdBy": uid,
            "updatedAt": when,
            "updatedBy": uid,
        }
        bulk.set(org_ref_of(org_id).collection("visits").document(visit["id"]), visit)
        org.documents["visits"] += 1
        entry = {"type": "visit-scheduled", "summary": "Site visit scheduled", "ref": {"visitId": visit["id"]}}
        _activity(bulk, org, lead_id, f"visit:{visit['id']}:scheduled:0", entry, actor_id=uid, at=when, suffix="")
    org.lead_ids.append(lead_id)
    if archived:
        org.archived += 1
        return
    if busy:
        org.busy_leads.append(lead_id)
    org.leads_of[uid] += 1
    org.sample_of[uid] = lead_id  # leads are written oldest first
    org.team_leads[member["teamId"]] += 1
    org.by_stage[stage] += 1
    org.by_source[source] += 1
    if eligibility.is_open(stage, archived=False):
        org.open_of[uid] += 1


def _report(org: BigOrg, leads: int, started: float) -> None:
    import sys

    seconds = time.monotonic() - started
    written = sum(org.documents.values())
    print(f"bigorg: {leads} leads, {written} documents, {written / seconds:.0f} docs/s", file=sys.stderr, flush=True)


def org_ref_of(org_id: str) -> Any:
    """The organization's document reference."""
    from core import tenancy

    return tenancy.org_ref(org_id)


def _activity(
    bulk: Any,
    org: BigOrg,
    lead_id: str,
    event_id: str,
    entry: dict[str, Any],
    *,
    actor_id: str,
    at: datetime,
    suffix: str | None = None,
) -> None:
    """One history entry as leads.history.record writes it (its id from the event)."""
    from leads import history, store

    document = {
        "type": entry["type"],
        "actorId": actor_id,
        "at": at,
        "createdAt": at,
        "summary": entry["summary"],
        "changes": entry.get("changes") or {},
        "ref": entry.get("ref") or {},
        "leadId": lead_id,
    }
    bulk.set(
        store.child(org.org_id, lead_id, "activity").document(
            history.entry_id(event_id, entry["type"] if suffix is None else suffix)
        ),
        document,
    )
    org.documents["activity"] += 1


def main() -> None:
    """python -m bench.bigorg [--leads N]: generate on a fresh emulator and print what was written."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="bench.bigorg")
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    with env.firestore():
        org = generate(ORG, args.leads, args.members, args.teams, args.seed, progress=True)
        print(json.dumps(org.summary(), indent=1))


if __name__ == "__main__":
    main()
