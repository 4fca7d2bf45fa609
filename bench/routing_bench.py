"""Routing benchmarks (issue 15): a routed create beside a create with an explicit assignee (latency and
Firestore operations per lead), and a burst of leads created in parallel for one team with the peak writes
per document per one-second window (Firestore sustains about one write per second per document).

The burst's team has AGENTS agents in an organization of its own (the demo seed's teams have two): with
per-member counters each counter document takes (lead rate / agents) writes per second; the replaced design
wrote one rotation document per team on every create, i.e. the whole lead rate, shown beside it.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from bench import opcount
from bench.stats import ratio, summary_ms

ORG, TEAM = "benchroute", "bench"
AGENTS = 20
WORKERS = 16
ALL_WEEK = {"start": "00:00", "end": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}

_numbers = itertools.count(random.randint(10_000_000, 40_000_000))


def _phone() -> str:
    return f"95{next(_numbers):08d}"


def setup() -> tuple[str, list[str]]:
    """The bench organization: a team of AGENTS agents and its manager, SLA on (the engine computes deadlines);
    the manager's uid and the agents' uids."""
    from core import clock, tenancy
    from members.models import MemberCreate
    from members.service import add_member
    from ops.orgs import create_org
    from routing import config

    admin = f"{ORG}-admin"
    if not tenancy.org_ref(ORG).get().exists:
        create_org(
            org_id=ORG,
            name="Bench Routing",
            seats=AGENTS + 5,
            subscription_ends_at=clock.now() + timedelta(days=30),
            admin_email=f"admin@{ORG}.example.com",
            admin_name="Bench Admin",
            admin_uid=admin,
        )
        now = clock.now()
        tenancy.org_ref(ORG).collection("teams").document(TEAM).set(
            {"name": "Bench", "managerIds": [], "version": 1, "createdAt": now, "updatedAt": now}
        )
        people = [("manager", f"{ORG}-manager")] + [("agent", f"{ORG}-agent{i:02d}") for i in range(AGENTS)]
        for role, uid in people:
            data = {"email": f"{uid}@{ORG}.example.com", "name": uid, "role": role, "teamId": TEAM}
            add_member(org_id=ORG, actor=None, uid=uid, data=MemberCreate.model_validate(data))
        config.ref(ORG).set(
            {"rules": [], "firstContactMinutes": 15, "maxReassignments": 2, "workingHours": ALL_WEEK, "version": 1}
        )
    return f"{ORG}-manager", [f"{ORG}-agent{i:02d}" for i in range(AGENTS)]


def _token(uid: str) -> str:
    from devtools.inproc import id_token

    return id_token(uid, {"orgId": ORG, "role": "manager", "teamId": TEAM})


def routing_latency(iterations: int) -> dict[str, Any]:
    """POST /leads by a manager without an assignee (routed) beside one naming the assignee, interleaved;
    p50/p95 and the Firestore operations of one request of each (the mean of five)."""
    from devtools.inproc import call

    manager, agents = setup()
    token = _token(manager)

    def routed() -> Any:
        return call("POST", "/leads", token=token, json_body={"name": "Routed", "primaryPhone": {"number": _phone()}})

    def explicit() -> Any:
        body = {"name": "Named", "primaryPhone": {"number": _phone()}, "assigneeId": random.choice(agents)}
        return call("POST", "/leads", token=token, json_body=body)

    for _ in range(3):
        routed(), explicit()
    mine: list[float] = []
    raw: list[float] = []
    for _ in range(iterations):
        for measure, samples in ((routed, mine), (explicit, raw)):
            started = time.perf_counter()
            response = measure()
            samples.append(time.perf_counter() - started)
            if response.status != 201:
                raise AssertionError(f"routing bench: {response.status} {response.text[:300]}")
    ops: dict[str, Any] = {}
    for name, measure in (("routed", routed), ("explicit", explicit)):
        totals: Counter[str] = Counter()
        for _ in range(5):
            with opcount.counting() as counted:
                measure()
            totals.update(counted.as_dict())
        ops[name] = {key: round(value / 5, 1) for key, value in totals.items()}
    mine_ms, raw_ms = summary_ms(mine), summary_ms(raw)
    return {
        "latencyMs": mine_ms,
        "rawLatencyMs": raw_ms,
        "p50": {"ratio": ratio(mine_ms["p50"], raw_ms["p50"])},
        "p95": {"ratio": ratio(mine_ms["p95"], raw_ms["p95"])},
        "opsPerLead": ops,
        "note": "baseline: the same create naming its assignee (no rules, counters or eligibility)",
    }


@contextlib.contextmanager
def _write_log() -> Iterator[list[tuple[float, str]]]:
    """Every document write committed in this process while the block runs, with when it was sent."""
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

    log: list[tuple[float, str]] = []
    lock = threading.Lock()
    originals = {name: getattr(FirestoreClient, name) for name in ("commit", "batch_write")}

    def wrap(original: Any) -> Any:
        def logged(self: Any, request: Any = None, *args: Any, **kwargs: Any) -> Any:
            result = original(self, request, *args, **kwargs)
            now = time.monotonic()  # after the commit returned: what the database accepted
            with lock:
                log.extend((now, path) for path in opcount._writes_of(request))
            return result

        return logged

    for name, original in originals.items():
        setattr(FirestoreClient, name, wrap(original))
    try:
        yield log
    finally:
        for name, original in originals.items():
            setattr(FirestoreClient, name, original)


def _kind(path: str) -> str:
    parts = path.split("/")
    if "rotation" in parts:
        return "rotation counter"
    if "openLeads" in parts:
        return "open-lead counter"
    if "leadKeys" in parts:
        return "contact key"
    if "private" in parts:
        return "private contact"
    if "leads" in parts:
        return "lead"
    return "/".join(parts[::2][:3])


def burst(leads: int, workers: int = WORKERS) -> dict[str, Any]:
    """`leads` routed creates for one team from `workers` threads at once: leads/s, the spread, and the peak
    writes of any one document in any one-second window (by kind of document)."""
    from core.caller import caller_from_claims
    from leads.models import LeadCreate
    from leads.service import create_lead

    manager, agents = setup()
    actor = caller_from_claims({"orgId": ORG, "uid": manager, "role": "manager", "teamId": TEAM}, fresh=True)

    def one(_: int) -> str:
        data = LeadCreate.model_validate({"name": "Burst Buyer", "primaryPhone": {"number": _phone()}})
        return str(create_lead(org_id=ORG, actor=actor, data=data).assignee_id)

    started = time.monotonic()
    with _write_log() as log, ThreadPoolExecutor(max_workers=workers) as pool:
        picked = Counter(pool.map(one, range(leads)))
    seconds = time.monotonic() - started
    windows: Counter[tuple[str, int]] = Counter((path, int(at - started)) for at, path in log)
    peak: dict[str, dict[str, Any]] = {}
    for (path, window), count in windows.items():
        kind = _kind(path)
        if count > peak.get(kind, {}).get("writesPerSecond", 0):
            peak[kind] = {"writesPerSecond": count, "window": window}
    creates = Counter(window for (path, window), _ in windows.items() if _kind(path) == "lead")
    from routing import counters

    totals = counters.read(counters.rotation_ref(ORG, f"team-{TEAM}", uid) for uid in agents)
    spread = [count or 0 for count in totals.values()]
    return {
        "leads": leads,
        "workers": workers,
        "agents": len(agents),
        "seconds": round(seconds, 2),
        "leadsPerSecond": round(leads / seconds, 1),
        "burstSpread": {"min": min(picked[uid] for uid in agents), "max": max(picked[uid] for uid in agents)},
        "rotationCounts": {"min": min(spread), "max": max(spread)},
        "peakWritesPerDocumentPerSecond": max(item["writesPerSecond"] for item in peak.values()),
        "peakByKind": peak,
        # The replaced design wrote one rotation document on every create of the team.
        "replacedDesignPeak": max(creates.values(), default=0),
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(item, figure, baseline) lines for the bench table."""
    latency, burst_ = results["latency"], results["burst"]
    out = [
        (
            f"routed create {pct}",
            f"{latency['latencyMs'][pct]:.1f} ms",
            f"named assignee {latency['rawLatencyMs'][pct]:.1f} ms (x{latency[pct]['ratio']})",
        )
        for pct in ("p50", "p95")
    ]
    routed, explicit = latency["opsPerLead"]["routed"], latency["opsPerLead"]["explicit"]
    out.append(
        (
            "ops per routed lead",
            f"{routed['reads']} reads, {routed['writes']} writes, {routed['roundTrips']} round trips",
            f"named: {explicit['reads']} reads, {explicit['writes']} writes, {explicit['roundTrips']} round trips",
        )
    )
    out.append(
        (
            f"burst of {burst_['leads']} ({burst_['workers']} threads, {burst_['agents']} agents)",
            f"peak {burst_['peakWritesPerDocumentPerSecond']} writes/s on one document, "
            f"{burst_['leadsPerSecond']} leads/s",
            f"one rotation document: {burst_['replacedDesignPeak']} writes/s; counts {burst_['rotationCounts']}",
        )
    )
    return out
