"""A generated organization for the reports (leads across weeks, stage moves, reassignments, calls, messages,
visits), its records written in bulk, its events replayed through the report triggers' code, and the
brute-force figures recomputed straight from the records, which every report must equal.

Shared by tests/reports (a few hundred leads, through the triggers' code with redelivered events) and
bench/reports_bench.py (50,000 leads and a year, counters written in bulk by the same counting code). The
brute force (`truth_*`) is written independently of reports.counting and reports.figures: it walks the
records and counts what docs/reports.md defines, so a counting bug shows as a difference.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

STAGES = ("new", "contacted", "qualified", "site-visit-scheduled", "site-visit-done", "negotiation", "booked", "lost")
SOURCES = {"website": "src-web", "facebook": "src-meta", "99acres": "src-99", "walk-in": None, "referral": None}
OUTCOMES = ("connected", "no-answer", "busy", "connected", "interested", "not-interested")
TEAMS = {"north": 3, "south": 2, "east": 2}
AGENT_FIGURES = ("assigned", "calls", "sent", "vScheduled", "vCompleted", "vCancelled", "bookings")


@dataclass
class World:
    """A generated organization: its members and every record's successive states (the last one is stored)."""

    org_id: str
    zone: ZoneInfo
    end: datetime
    agents: dict[str, str]  # uid -> team
    managers: dict[str, str]  # uid -> team
    projects: tuple[str, ...]
    leads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    visits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def final(self, kind: str) -> dict[str, dict[str, Any]]:
        """The stored form of each record of a kind (leads, calls, messages, visits)."""
        return {record_id: states[-1] for record_id, states in getattr(self, kind).items()}


def _later(rng: random.Random, at: datetime, mean_hours: float) -> datetime:
    return at + timedelta(seconds=int(rng.expovariate(1 / (mean_hours * 3600))) + 1)


def _lead_states(rng: random.Random, world: World, lead_id: str, created: datetime) -> list[dict[str, Any]]:
    """A lead's life: created, first contact, stage moves (forward, lost, sometimes back), reassignment,
    repeat enquiries, an archive; each change one stored state, in time order."""
    agents = sorted(world.agents)
    source = rng.choice(sorted(SOURCES))
    agent = rng.choice(agents)
    state: dict[str, Any] = {
        "orgId": world.org_id,
        "name": f"Lead {lead_id}",
        "stage": "new",
        "source": source,
        "sourceId": SOURCES[source],
        "projectId": rng.choice([*world.projects, None]),
        "assigneeId": agent,
        "teamId": world.agents[agent],
        "archived": False,
        "createdAt": created,
        "updatedAt": created,
        "assignedAt": created,
        "assignmentHistory": [{"assigneeId": agent, "at": created, "reason": "round-robin"}],
        "stageHistory": [{"stage": "new", "at": created}],
        "enquiries": [],
        "version": 1,
    }
    changes: list[tuple[datetime, str]] = []
    if rng.random() < 0.8:
        changes.append((_later(rng, created, 3), "contact"))
    at = created
    for _ in range(rng.randint(0, 6)):
        at = _later(rng, at, 60)
        changes.append((at, "stage"))
    if rng.random() < 0.2:
        changes.append((_later(rng, created, 24 * 5), "reassign"))
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        changes.append((_later(rng, created, 24 * 10), "enquiry"))
    if rng.random() < 0.03:
        changes.append((_later(rng, created, 24 * 20), "archive"))
    states = [state]
    for when, kind in sorted(changes):
        if when >= world.end or state["archived"]:
            continue
        state = {**state, "updatedAt": when, "version": state["version"] + 1}
        if kind == "contact" and "firstContactAt" not in state:
            state["firstContactAt"] = when
            state["firstContactSeconds"] = int((when - state["assignedAt"]).total_seconds())
        elif kind == "stage":
            index = STAGES.index(state["stage"])
            if state["stage"] in ("booked", "lost") and rng.random() < 0.7:
                continue
            roll = rng.random()
            target = (
                "lost"
                if roll < 0.12
                else STAGES[max(0, index - 1)]
                if roll < 0.2
                else STAGES[min(index + rng.choice((1, 1, 2)), STAGES.index("booked"))]
            )
            if target == state["stage"]:
                continue
            state["stage"] = target
            state["stageHistory"] = [*state["stageHistory"], {"stage": target, "at": when}]
        elif kind == "reassign":
            agent = rng.choice(agents)
            reason = rng.choice(("sla", "manual"))
            state["assigneeId"], state["teamId"], state["assignedAt"] = agent, world.agents[agent], when
            state["assignmentHistory"] = [
                *state["assignmentHistory"],
                {"assigneeId": agent, "at": when, "reason": reason},
            ]
        elif kind == "enquiry":
            state["enquiries"] = [*state["enquiries"], {"at": when, "source": state["source"]}]
            state["lastEnquiredAt"] = when
        elif kind == "archive":
            state["archived"], state["archivedAt"] = True, when
        else:
            continue
        states.append(state)
    return states


def generate(org_id: str, leads: int, *, days: int, end: datetime, seed: int = 17, prefix: str = "l") -> World:
    """An organization of `leads` leads created over `days` days before `end`, with their calls, messages and
    visits (times spread over every hour, so day boundaries in the zone are crossed)."""
    rng = random.Random(seed)
    agents = {f"{org_id}-{team}-a{i}": team for team, n in TEAMS.items() for i in range(n)}
    managers = {f"{org_id}-{team}-m": team for team in TEAMS}
    world = World(org_id, ZoneInfo("Asia/Kolkata"), end, agents, managers, ("p-hills", "p-bay", "p-park"))
    span = days * 86400
    for n in range(leads):
        lead_id = f"{prefix}{n:06d}"
        created = end - timedelta(seconds=rng.randint(3600, span))
        states = _lead_states(rng, world, lead_id, created)
        world.leads[lead_id] = states
        final = states[-1]
        team_agents = [a for a, t in agents.items() if t == final["teamId"]]
        for c in range(rng.choice((0, 1, 1, 2, 3))):
            started = _later(rng, created, 30)
            if started >= end:
                continue
            agent = rng.choice(team_agents)
            outcome = rng.choice(OUTCOMES)
            call = {
                "leadId": lead_id,
                "agentId": agent,
                "teamId": agents[agent],
                "direction": "outbound",
                "kind": "phone",
                "startedAt": started,
                "durationSec": rng.randint(20, 900) if outcome in ("connected", "interested") else 0,
                "outcome": outcome,
                "createdAt": started,
            }
            if rng.random() < 0.2:  # a VoIP call: dialled first, its result later
                dialled = {**call, "kind": "voip", "durationSec": None, "outcome": None, "status": "dialing"}
                world.calls[f"c{prefix}{n:06d}{c}"] = [dialled, {**call, "kind": "voip", "status": "completed"}]
            else:
                world.calls[f"c{prefix}{n:06d}{c}"] = [call]
        for m in range(rng.choice((0, 1, 2))):
            sent_at = _later(rng, created, 20)
            if sent_at >= end:
                continue
            agent = rng.choice(team_agents)
            queued = {
                "leadId": lead_id,
                "agentId": agent,
                "sentBy": agent if rng.random() < 0.9 else None,
                "teamId": agents[agent],
                "channel": rng.choice(("whatsapp", "sms", "email")),
                "direction": "outbound",
                "status": "queued",
                "createdAt": sent_at,
            }
            last = "failed" if rng.random() < 0.15 else "delivered"
            later = [{**queued, "status": "sent"}] if last == "delivered" else []
            world.messages[f"m{prefix}{n:06d}{m}"] = [queued, *later, {**queued, "status": last}]
        if rng.random() < 0.3:
            booked = _later(rng, created, 24 * 4)
            if booked < end:
                agent = rng.choice(team_agents)
                visit = {
                    "leadId": lead_id,
                    "agentId": agent,
                    "teamId": agents[agent],
                    "projectId": final["projectId"] or rng.choice(world.projects),
                    "status": "scheduled",
                    "scheduledAt": booked + timedelta(days=2),
                    "checkin": None,
                    "createdAt": booked,
                }
                states_v = [visit]
                done = booked + timedelta(days=2, minutes=30)
                roll = rng.random()
                if done < end and roll < 0.6:
                    checked = {
                        **visit,
                        "checkin": {"at": done - timedelta(minutes=40), "withinRadius": rng.random() < 0.8},
                    }
                    states_v += [checked, {**checked, "status": "completed", "completedAt": done}]
                elif done < end and roll < 0.85:
                    states_v.append({**visit, "status": "cancelled", "cancelledAt": done - timedelta(days=1)})
                world.visits[f"v{prefix}{n:06d}"] = states_v
    return world


# ---- writing ----------------------------------------------------------------------------------------------


def write_setup(world: World) -> None:
    """The organization's members, teams, projects and capture sources (so filters find them)."""
    from core import clients, clock, tenancy

    org = tenancy.org_ref(world.org_id)
    batch = clients.db().batch()
    for uid, team in world.agents.items():
        batch.set(org.collection("members").document(uid), _member(uid, "agent", team))
    for uid, team in world.managers.items():
        batch.set(org.collection("members").document(uid), _member(uid, "manager", team))
    for team in TEAMS:
        batch.set(org.collection("teams").document(team), {"name": team.title(), "managerIds": [], "version": 1})
    for project in world.projects:
        batch.set(org.collection("projects").document(project), {"name": project, "createdAt": clock.now()})
    for source, source_id in SOURCES.items():
        if source_id:
            batch.set(org.collection("captureSources").document(source_id), {"source": source, "kind": "website"})
    batch.commit()


def _member(uid: str, role: str, team: str) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": uid.split("-", 1)[1].title(),
        "email": f"{uid}@example.com",
        "role": role,
        "teamId": team,
        "active": True,
    }


COLLECTIONS = {"leads": "leads", "calls": "calls", "messages": "messages", "visits": "visits"}


def write_records(world: World) -> int:
    """Store the last state of every record (a BulkWriter: parallel batches); the number of documents written."""
    from core import clients, tenancy

    org = tenancy.org_ref(world.org_id)
    written = 0
    bulk = clients.db().bulk_writer()
    for kind in COLLECTIONS:
        for record_id, document in world.final(kind).items():
            bulk.set(org.collection(kind).document(record_id), document)
            written += 1
    bulk.close()
    return written


def _of_leads(kind: str, record_id: str, states: list[dict[str, Any]], leads: set[str] | None) -> bool:
    """True when the record is one of these leads' (all records when leads is None)."""
    return leads is None or (record_id if kind == "leads" else states[-1].get("leadId")) in leads


def events(
    world: World, *, redeliver: float = 0.0, seed: int = 3, leads: set[str] | None = None
) -> Iterator[tuple[str, str, str, Any, Any]]:
    """(kind, record id, event id, before, after) of every write (of these leads' records), in order per record;
    a share delivered twice."""
    rng = random.Random(seed)
    for kind in COLLECTIONS:
        for record_id, states in getattr(world, kind).items():
            if not _of_leads(kind, record_id, states, leads):
                continue
            previous = None
            for index, state in enumerate(states):
                event_id = f"{kind}-{record_id}-{index}"
                yield kind, record_id, event_id, previous, state
                if rng.random() < redeliver:
                    yield kind, record_id, event_id, previous, state
                previous = state


def replay(world: World, *, redeliver: float = 0.0, workers: int = 6, leads: set[str] | None = None) -> Counter[str]:
    """Deliver every event to the report triggers' code (as Eventarc would, some twice, records concurrently
    and each record's events in order); events applied per kind."""
    from concurrent.futures import ThreadPoolExecutor

    from reports import events as report_events

    by_record: dict[tuple[str, str], list[tuple[str, str, Any, Any]]] = {}
    for kind, record_id, event_id, before, after in events(world, redeliver=redeliver, leads=leads):
        by_record.setdefault((kind, record_id), []).append((kind, event_id, before, after))

    def deliver(batch: list[tuple[str, str, Any, Any]]) -> Counter[str]:
        applied: Counter[str] = Counter()
        for kind, event_id, before, after in batch:
            if kind == "leads":
                done = report_events.on_lead(org_id=world.org_id, event_id=event_id, before=before, after=after)
            else:
                done = report_events.on_record(kind, org_id=world.org_id, event_id=event_id, before=before, after=after)
            applied[kind] += int(done)
        return applied

    total: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for applied in pool.map(deliver, by_record.values()):
            total.update(applied)
    return total


def write_counters_in_bulk(world: World, *, leads: set[str] | None = None) -> int:
    """The counters of the stored records (of these leads) written directly (one document per day, shard 0),
    through the same counting code the triggers run: the sum of every record's contributions. The number of
    day documents written."""
    from core import clients
    from reports import counters, counting
    from reports.counting import LeadContext

    stored = world.final("leads")
    cells: counting.Cells = {}
    for lead_id, document in stored.items():
        if leads is None or lead_id in leads:
            counting.merge(cells, counting.lead(document, world.zone))
    for kind, count in (("calls", counting.call), ("messages", counting.message), ("visits", counting.visit)):
        for record in world.final(kind).values():
            if leads is not None and record["leadId"] not in leads:
                continue
            context = LeadContext.of(stored.get(record["leadId"]))
            counting.merge(cells, count(record, context, world.zone))
    writes = counters.day_writes(cells)
    bulk = clients.db().bulk_writer()
    for day, document in writes:
        bulk.set(counters.day_ref(world.org_id, day, 0), {**document, "shard": 0}, merge=True)
    bulk.close()
    return len(writes)


# ---- the brute force --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Records:
    """The stored records of an organization, read back from Firestore."""

    leads: Mapping[str, Mapping[str, Any]]
    calls: Sequence[Mapping[str, Any]]
    messages: Sequence[Mapping[str, Any]]
    visits: Sequence[Mapping[str, Any]]

    @classmethod
    def read(cls, org_id: str) -> Records:
        """Every record of the organization (a full scan: the brute force's cost, never a report's)."""
        from core import tenancy

        org = tenancy.org_ref(org_id)

        def pages(kind: str) -> Iterator[Any]:
            """Every document, a page at a time (one long stream of 100,000 documents outlives its deadline)."""
            from google.cloud.firestore_v1.field_path import FieldPath

            query = org.collection(kind).order_by(FieldPath.document_id()).limit(500)
            last = None
            while True:
                page = list((query.start_after(last) if last is not None else query).stream())
                yield from page
                if len(page) < 500:
                    return
                last = page[-1]

        def every(kind: str) -> list[dict[str, Any]]:
            return [snapshot.to_dict() or {} for snapshot in pages(kind)]

        leads = {snapshot.id: snapshot.to_dict() or {} for snapshot in pages("leads")}
        return cls(leads, every("calls"), every("messages"), every("visits"))


@dataclass(frozen=True)
class Filter:
    """A report's scope as the brute force applies it (None: any)."""

    team: str | None = None
    member: str | None = None
    project: str | None = None
    source_id: str | None = None

    def admits(self, team: Any, member: Any, project: Any, source_id: Any) -> bool:
        """True when a figure with these dimensions counts."""
        return all(
            want is None or want == got
            for want, got in (
                (self.team, team),
                (self.member, member),
                (self.project, project),
                (self.source_id, source_id),
            )
        )


class Truth:
    """Every report's figures counted from the records for one period and filter."""

    def __init__(self, records: Records, zone: ZoneInfo, first: date, last: date, where: Filter) -> None:
        self.records, self.zone, self.first, self.last, self.where = records, zone, first, last, where

    def _in(self, at: Any) -> bool:
        if not isinstance(at, datetime):
            return False
        return self.first <= at.astimezone(self.zone).date() <= self.last

    def _live(self) -> Iterable[tuple[str, Mapping[str, Any]]]:
        for lead_id, lead in self.records.leads.items():
            if not lead.get("archived") and not lead.get("mergedInto"):
                yield lead_id, lead

    def _lead_in(self, lead: Mapping[str, Any], member: Any = "same") -> bool:
        who = lead.get("assigneeId") if member == "same" else member
        return self.where.admits(lead.get("teamId"), who, lead.get("projectId"), lead.get("sourceId"))

    def _record_in(self, record: Mapping[str, Any], member: Any) -> tuple[bool, Mapping[str, Any]]:
        lead = self.records.leads.get(str(record.get("leadId"))) or {}
        project = record.get("projectId") or lead.get("projectId")
        return self.where.admits(record.get("teamId"), member, project, lead.get("sourceId")), lead

    def funnel(self, stages: Sequence[str]) -> list[dict[str, Any]]:
        """Per stage: entered in the period, next stage later, conversion, median days (bucketed)."""
        from reports.counting import exact_median_bucketed

        entered: Counter[str] = Counter()
        converted: Counter[str] = Counter()
        spent: dict[str, list[float]] = {stage: [] for stage in stages}
        for _, lead in self._live():
            if not self._lead_in(lead):
                continue
            history = lead["stageHistory"]
            for index, entry in enumerate(history):
                if not self._in(entry["at"]):
                    continue
                entered[entry["stage"]] += 1
                if index + 1 < len(history):
                    following = history[index + 1]
                    if entry["stage"] in stages and following["stage"] in stages[stages.index(entry["stage"]) + 1 :]:
                        converted[entry["stage"]] += 1
                    spent.setdefault(entry["stage"], []).append((following["at"] - entry["at"]).total_seconds())
        rows = []
        for stage in stages:
            median = exact_median_bucketed(spent[stage])
            rows.append(
                {
                    "stage": stage,
                    "entered": entered[stage],
                    "convertedToNext": converted[stage],
                    "conversionPct": _pct(converted[stage], entered[stage]),
                    "medianDaysInStage": None if median is None else round(median / 86400, 2),
                }
            )
        return rows

    def sources(self, *, by_source_id: bool) -> list[dict[str, Any]]:
        """One row per source (or source and capture source) with any figure."""
        from reports.counting import exact_median_bucketed

        rows: dict[tuple[Any, Any], dict[str, Any]] = {}
        seconds: dict[tuple[Any, Any], list[float]] = {}

        def row(lead: Mapping[str, Any]) -> dict[str, Any]:
            key = (lead.get("source"), lead.get("sourceId") if by_source_id else None)
            seconds.setdefault(key, [])
            return rows.setdefault(
                key,
                {
                    "source": key[0],
                    "sourceId": key[1],
                    "leads": 0,
                    "enquiredAgain": 0,
                    "contacted": 0,
                    "visitsCompleted": 0,
                    "booked": 0,
                },
            )

        for _, lead in self._live():
            if not self._lead_in(lead):
                continue
            if self._in(lead["createdAt"]):
                r = row(lead)
                r["leads"] += 1
                if lead.get("firstContactAt"):
                    r["contacted"] += 1
                    seconds[(r["source"], r["sourceId"])].append(lead["firstContactSeconds"])
                r["booked"] += int(any(e["stage"] == "booked" for e in lead["stageHistory"]))
            for enquiry in lead.get("enquiries") or []:
                if self._in(enquiry["at"]):
                    row(lead)["enquiredAgain"] += 1
        for visit in self.records.visits:
            counted, lead = self._record_in(visit, visit.get("agentId"))
            if counted and visit.get("status") == "completed" and self._in(visit.get("completedAt")):
                row({"source": lead.get("source"), "sourceId": lead.get("sourceId")})["visitsCompleted"] += 1
        out = []
        for key, r in rows.items():
            if not any(r[k] for k in ("leads", "enquiredAgain", "contacted", "visitsCompleted", "booked")):
                continue
            r["conversionPct"] = _pct(r["booked"], r["leads"])
            r["medianFirstContactSeconds"] = exact_median_bucketed(seconds[key])
            out.append(r)
        out.sort(key=lambda r: (-r["leads"], r["source"] or "", r["sourceId"] or ""))
        return out

    def agents(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        """One row per member with any figure."""
        from reports.counting import exact_median_bucketed

        rows: dict[str, Counter[str]] = {}
        seconds: dict[str, list[float]] = {}
        for _, lead in self._live():
            history = lead.get("assignmentHistory") or []
            for index, entry in enumerate(history):
                member = entry.get("assigneeId")
                if member and self._in(entry["at"]) and self._lead_in(lead, member):
                    taken = index + 1 < len(history) and history[index + 1].get("reason") == "sla"
                    rows.setdefault(member, Counter()).update({"assigned": 1, "slaMet": int(not taken)})
            owner = lead.get("assigneeId")
            if not owner or not self._lead_in(lead):
                continue
            if self._in(lead["createdAt"]) and lead.get("firstContactAt"):
                seconds.setdefault(owner, []).append(lead["firstContactSeconds"])
                rows.setdefault(owner, Counter())
            booked = sum(1 for e in lead["stageHistory"] if e["stage"] == "booked" and self._in(e["at"]))
            if booked:
                rows.setdefault(owner, Counter())["bookings"] += booked
        for call in self.records.calls:
            member = call.get("agentId")
            counted, _ = self._record_in(call, member)
            if member and counted and self._in(call.get("startedAt") or call.get("createdAt")):
                figures = rows.setdefault(member, Counter())
                figures["calls"] += 1
                figures["talkSec"] += int(call.get("durationSec") or 0)
                figures["connected"] += int(call.get("outcome") == "connected")
        for message in self.records.messages:
            member = message.get("sentBy")
            counted, _ = self._record_in(message, member)
            sent = message.get("direction") == "outbound" and message.get("status") in ("sent", "delivered", "read")
            if member and counted and sent and self._in(message.get("createdAt")):
                rows.setdefault(member, Counter())["sent"] += 1
        for visit in self.records.visits:
            member = visit.get("agentId")
            counted, _ = self._record_in(visit, member)
            if not member or not counted:
                continue
            figures = rows.setdefault(member, Counter())
            figures["vScheduled"] += int(self._in(visit.get("createdAt")))
            figures["vCompleted"] += int(visit.get("status") == "completed" and self._in(visit.get("completedAt")))
            figures["vCancelled"] += int(visit.get("status") == "cancelled" and self._in(visit.get("cancelledAt")))
        out = []
        for uid, f in rows.items():
            if not any(f[k] for k in AGENT_FIGURES) and not seconds.get(uid):
                continue
            out.append(
                {
                    "uid": uid,
                    "name": names.get(uid, ""),
                    "leadsAssigned": f["assigned"],
                    "medianFirstContactSeconds": exact_median_bucketed(seconds.get(uid, [])),
                    "slaMetPct": _pct(f["slaMet"], f["assigned"]),
                    "calls": f["calls"],
                    "talkTimeSec": f["talkSec"],
                    "connectedPct": _pct(f["connected"], f["calls"]),
                    "messagesSent": f["sent"],
                    "visitsScheduled": f["vScheduled"],
                    "visitsCompleted": f["vCompleted"],
                    "visitsCancelled": f["vCancelled"],
                    "bookings": f["bookings"],
                }
            )
        out.sort(key=lambda r: (r["name"], r["uid"]))
        return out

    def visits(self) -> dict[str, Any]:
        """Visits scheduled, completed, cancelled, check-ins within radius, bookings per completed visit."""
        scheduled = completed = cancelled = checkins = within = 0
        for visit in self.records.visits:
            counted, _ = self._record_in(visit, visit.get("agentId"))
            if not counted:
                continue
            scheduled += int(self._in(visit.get("createdAt")))
            completed += int(visit.get("status") == "completed" and self._in(visit.get("completedAt")))
            cancelled += int(visit.get("status") == "cancelled" and self._in(visit.get("cancelledAt")))
            checkin = visit.get("checkin") or {}
            if self._in(checkin.get("at")):
                checkins += 1
                within += int(checkin.get("withinRadius") is True)
        bookings = sum(
            1
            for _, lead in self._live()
            if self._lead_in(lead)
            for e in lead["stageHistory"]
            if e["stage"] == "booked" and self._in(e["at"])
        )
        return {
            "scheduled": scheduled,
            "completed": completed,
            "cancelled": cancelled,
            "checkinsWithinRadiusPct": _pct(within, checkins),
            "visitToBookingPct": _pct(bookings, completed),
        }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
