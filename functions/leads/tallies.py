"""What `GET /leads/stats` reads: the unarchived leads counted by stage and source, kept by a trigger.

Counting with aggregations costs one read per 1,000 leads counted for every stage and every source (about 620
reads, and seconds, for an admin of 200,000 leads); these tallies cost a fixed few reads whatever the size.

`orgs/{orgId}/leadTallies/{scope}-{id}-{shard}`: `{scope, id, shard, total, stage {name: n}, source {name: n}}`
for the organization (`org`), each team (`team`) and each assignee (`member`), so an admin, a manager and an
agent each read their own scope's shards. The trigger on lead writes adds a write's change of contribution
(a lead counts once in each scope it belongs to while it is not archived: +1 where it is now, -1 where it was),
once per event (core.once); an update that moves none of stage, source, team, assignee or archived writes
nothing. Sums of changes do not depend on the order events arrive in.

An organization counts this way from its creation (`ops.orgs.create_org` stamps `leadTallies.since`). One
without the stamp (made before the tallies existed) keeps the aggregations: a count started over leads that
are changing meanwhile could not be exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from core import clients, once, tenancy
from core.ids import sha256_hex

# Shards per scope. The organization's take every counted change of every lead, as the report day shards do
# (reports.counters.SHARDS, 32, sized by the 50-user load test); a team's its own leads' (the biggest team of
# bench/bigorg.py holds half the organization's); a member's few, but a bulk assignment or a 500-row import
# to one agent puts hundreds of events on them within seconds.
SHARDS = {"org": 32, "team": 16, "member": 4}
SINCE = "leadTallies"  # the organization document's stamp: {"since": time}

Scope = tuple[str, str]  # (kind, id): ORG, ("team", teamId), ("member", uid)
ORG: Scope = ("org", "all")
Change = dict[Scope, Counter[str]]  # field ("total", "stage.<name>", "source.<name>") -> n


def counted(org: Mapping[str, Any] | None) -> bool:
    """The organization's tallies are complete: kept since it was created."""
    stamp = (org or {}).get(SINCE)
    return isinstance(stamp, Mapping) and stamp.get("since") is not None


def contribution(lead: Mapping[str, Any] | None) -> Change:
    """What one lead adds to the tallies as it is: one in each of its scopes, nothing once archived."""
    if not lead or lead.get("archived"):
        return {}
    fields: Counter[str] = Counter(total=1)
    for name in ("stage", "source"):
        value = lead.get(name)
        if isinstance(value, str) and value:
            fields[f"{name}.{value}"] = 1
    scopes: list[Scope] = [ORG]
    for kind, key in (("team", "teamId"), ("member", "assigneeId")):
        value = lead.get(key)
        if isinstance(value, str) and value:
            scopes.append((kind, value))
    return {scope: Counter(fields) for scope in scopes}


def change(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> Change:
    """after's contribution minus before's, zeros dropped."""
    out: Change = {}
    old, new = contribution(before), contribution(after)
    for scope in old.keys() | new.keys():
        moved = Counter(new.get(scope, {}))
        moved.subtract(old.get(scope, {}))
        nonzero = Counter({name: n for name, n in moved.items() if n})
        if nonzero:
            out[scope] = nonzero
    return out


def ref(org_id: str, scope: Scope, shard: int) -> Any:
    """One shard of one scope's tally."""
    kind, key = scope
    return tenancy.org_ref(org_id).collection("leadTallies").document(f"{kind}-{key}-{shard}")


def shard_of(scope: Scope, event_id: str) -> int:
    """The shard of `scope` an event's change goes to."""
    return int(sha256_hex("tally", event_id)[:8], 16) % SHARDS[scope[0]]


def _marker(org_id: str, event_id: str) -> Any:
    return tenancy.org_ref(org_id).collection("leadTallyEvents").document(sha256_hex("tally-event", event_id)[:32])


def document(scope: Scope, shard: int, counts: Mapping[str, int], *, increment: bool = True) -> dict[str, Any]:
    """A shard's fields holding `counts`: as Increment transforms to merge-set (the trigger), or as the values
    themselves (a shard written whole, as bench/bigorg.py writes an organization's)."""
    from google.cloud import firestore

    def value(n: int) -> Any:
        return firestore.Increment(n) if increment else n

    fields: dict[str, Any] = {"scope": scope[0], "id": scope[1], "shard": shard}
    for name, n in counts.items():
        if name == "total":
            fields["total"] = value(n)
        else:
            group, key = name.split(".", 1)
            fields.setdefault(group, {})[key] = value(n)
    return fields


def apply(org_id: str, event_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    """Add a lead write's change once for this event; False when it changes no tally or was applied before."""
    moved = change(before, after)
    if not moved:
        return False
    writes = []
    for scope, counts in sorted(moved.items()):
        shard = shard_of(scope, event_id)
        writes.append((ref(org_id, scope, shard), document(scope, shard, counts)))
    return once.commit(_marker(org_id, event_id), writes)


def read(org_id: str, scope: Scope, stages: Sequence[str], sources: Sequence[str]) -> dict[str, Any]:
    """A scope's counts summed over its shards (SHARDS[kind] reads; a missing shard counts nothing)."""
    total, stage, source = 0, Counter[str](), Counter[str]()
    refs = [ref(org_id, scope, shard) for shard in range(SHARDS[scope[0]])]
    for snapshot in clients.db().get_all(refs):
        data = (snapshot.to_dict() or {}) if snapshot.exists else {}
        total += int(data.get("total") or 0)
        stage.update({k: int(v) for k, v in (data.get("stage") or {}).items()})
        source.update({k: int(v) for k, v in (data.get("source") or {}).items()})
    return {
        "total": total,
        "byStage": {name: stage[name] for name in stages},
        "bySource": {name: source[name] for name in sources},
    }
