"""`make load`: 50 agents and managers of one organization for 5 minutes against the local stack on 127.0.0.1.

The team is added to the demo organization first through the members service (seats raised through the ops
command's code when they would not allow it). Agents create leads (some requests resent with their
Idempotency-Key, as a phone on a bad network does), read them, update them with If-Match (a 412 is re-read
and retried, as the app does), page through lists, log calls, schedule and reschedule visits; managers create
leads for round-robin and watch lists and visits; the admin reads stats. During the run a portal pushes
bursts of new buyers through the capture webhook, then repeat enquiries (which must join their lead) and
redeliveries (which must change nothing).

Afterwards (bench.loadcheck) every acknowledged write is checked in Firestore and every counter the app keeps
is recounted from the records; the per-document write rates the run caused (bench.hotdocs) name the hottest
documents.

    python -m bench.load [--users 50] [--seconds 300] [--burst 100]    (develop with --users 10 --seconds 30)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from bench import env
from bench.stats import summary_ms

ORG = "demo"
SOURCE, SOURCE_KEY = "demo-website", "local-website-key"
TEAMS = ("north", "south")
STAGES = ["contacted", "qualified", "negotiation", "lost", "new"]
OUTCOMES = ["connected", "no-answer", "busy", "interested", "callback-requested"]
PARALLEL_CAPTURES = 12  # a portal's deliveries in flight at once during a burst
RESEND_SHARE = 0.1  # creates and calls resent with the same Idempotency-Key
Role = Literal["admin", "manager", "agent"]


@dataclass(frozen=True)
class Member:
    """One simulated person."""

    uid: str
    role: Role
    team: str | None

    def token(self) -> str:
        """An emulator ID token with the claims the member's record implies."""
        from devtools.inproc import id_token

        return id_token(self.uid, {"orgId": ORG, "role": self.role, "teamId": self.team})


def roster(users: int) -> list[Member]:
    """`users` people: one admin, a manager per ten, the rest agents, the teams alternating."""
    admins = 1 if users >= 3 else 0
    managers = max(1, users // 10) if users >= 2 else 0
    agents = users - admins - managers
    team = [Member(f"load-admin-{i:02d}", "admin", None) for i in range(admins)]
    team += [Member(f"load-manager-{i:02d}", "manager", TEAMS[i % 2]) for i in range(managers)]
    team += [Member(f"load-agent-{i:02d}", "agent", TEAMS[i % 2]) for i in range(agents)]
    return team


def add_members(team: list[Member]) -> int:
    """Add the members the organization lacks through the members service, raising the seats first when they
    would not allow it; how many were added."""
    from core import clients, tenancy
    from members.models import MemberCreate
    from members.service import add_member
    from ops.orgs import set_subscription

    missing = [m for m in team if not tenancy.member_ref(ORG, m.uid).get().exists]
    if not missing:
        return 0
    org = clients.db().document(f"orgs/{ORG}").get().to_dict() or {}
    needed = int(org.get("activeMembers", 0)) + len(missing)
    if int(org.get("seats", 0)) < needed:
        set_subscription(org_id=ORG, seats=needed, subscription_ends_at=None)
    for member in missing:
        data = MemberCreate(
            email=f"{member.uid}@demo.example.com", name=member.uid.replace("-", " ").title(), role=member.role,
            team_id=member.team,
        )  # fmt: skip
        add_member(org_id=ORG, actor=None, data=data, uid=member.uid)
    return len(missing)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Ledger:
    """What the server acknowledged, to check against Firestore afterwards."""

    run: str
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {phone, name, by, scope}
    calls: dict[str, str] = field(default_factory=dict)  # call id -> lead id
    visits: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {leadId, scheduledAt, version}
    captures: dict[str, dict[str, Any]] = field(default_factory=dict)  # capture id -> {phone, outcome, leadId}
    capture_phones: dict[str, str] = field(default_factory=dict)  # e164 -> the lead its first capture made
    resends: list[str] = field(default_factory=list)  # an Idempotency-Key or redelivery answered differently
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # "op status (handler|emulator|misrouted) CODE" -> n
    refusal_samples: list[str] = field(default_factory=list)  # the first answers of each kind of refusal
    phones: set[str] = field(default_factory=set)
    bursts: list[dict[str, Any]] = field(default_factory=list)

    def new_phone(self) -> str:
        """A valid Indian mobile number unused in this run."""
        while True:
            number = "9" + "".join(random.choices("0123456789", k=9))
            if number not in self.phones:
                self.phones.add(number)
                return number


async def _send(
    client: httpx.AsyncClient, ledger: Ledger, op: str, method: str, path: str, token: str | None, **kwargs: Any
) -> httpx.Response | None:
    headers = ({"Authorization": f"Bearer {token}"} if token else {}) | kwargs.pop("headers", {})
    started = time.perf_counter()
    try:
        response = await client.request(method, path, headers=headers, **kwargs)
    except httpx.HTTPError as error:
        ledger.statuses[op][0] += 1
        ledger.failures.append(f"{op} {method} {path}: (no answer) {type(error).__name__}")
        return None
    ledger.latencies[op].append(time.perf_counter() - started)
    ledger.statuses[op][response.status_code] += 1
    if response.status_code >= 500:
        # the Functions emulator answers its Node socket error when it lost or missed the worker
        where = "emulator" if env.emulator_socket_error(response.text) else "handler"
        ledger.failures.append(f"{op} {method} {path}: {response.status_code} ({where}) {response.text[:300]}")
    elif response.status_code >= 400:
        _refused(ledger, op, method, path, response)
    return response


NO_ROUTE = "No such endpoint"  # core.http.Router's answer to a path none of its function's routes has


def _refused(ledger: Ledger, op: str, method: str, path: str, response: httpx.Response) -> None:
    """A 4xx, told apart by who said it: our handlers answer API.md's {"error": {"code": ...}}; anything else
    (the Functions emulator's "Function ... does not exist" or a bare "Not Found") is the emulator's. Our
    router's "No such endpoint" on a route this harness knows exists is the emulator's port race (bench/README
    "Load"): the request reached another function's worker, whose router has no such route."""
    try:
        error = response.json()["error"]
        code, where = error["code"], "handler"
        if response.status_code == 404 and error.get("message") == NO_ROUTE:
            where = "misrouted"
    except (ValueError, KeyError, TypeError):
        code, where = "-", "emulator"
    kind = f"{op} {response.status_code} ({where}) {code}"
    if not ledger.refusals[kind]:
        ledger.refusal_samples.append(f"{kind}: {method} {path}: {response.text[:200]}")
    ledger.refusals[kind] += 1


@dataclass
class Desk:
    """One simulated user's own state: its token and the versions of the records it works on."""

    member: Member
    token: str
    leads: dict[str, int] = field(default_factory=dict)  # lead id -> version last seen
    visits: dict[str, int] = field(default_factory=dict)  # visit id -> version last seen


async def _create(client: httpx.AsyncClient, ledger: Ledger, desk: Desk) -> None:
    phone = ledger.new_phone()
    body: dict[str, Any] = {"name": f"Load {uuid.uuid4().hex[:6]}", "primaryPhone": {"number": phone}}
    body["tags"] = [ledger.run]
    key = uuid.uuid4().hex
    headers = {"Idempotency-Key": key}
    response = await _send(client, ledger, "create lead", "POST", "/leads/", desk.token, json=body, headers=headers)
    if response is None or response.status_code != 201:
        return
    lead = response.json()
    me = desk.member
    scope = None if me.role == "agent" else (f"team-{me.team}" if me.team else "org")  # who routes it
    ledger.leads[lead["id"]] = {"phone": "+91" + phone, "name": body["name"], "by": me.uid, "scope": scope}
    if lead.get("assigneeId") == me.uid:
        desk.leads[lead["id"]] = int(lead["version"])
    if random.random() < RESEND_SHARE:  # the reply was lost: the phone sends the same request again
        again = await _send(
            client, ledger, "create lead (resent)", "POST", "/leads/", desk.token, json=body, headers=headers
        )
        if again is not None and again.status_code < 300 and again.json().get("id") != lead["id"]:
            ledger.resends.append(f"create {key}: {lead['id']} then {again.json().get('id')}")


async def _get(client: httpx.AsyncClient, ledger: Ledger, desk: Desk, op: str, lead_id: str) -> int | None:
    response = await _send(client, ledger, op, "GET", f"/leads/{lead_id}", desk.token)
    if response is not None and response.status_code == 200:
        version = int(response.json()["version"])
        desk.leads[lead_id] = version
        return version
    return None


async def _update(client: httpx.AsyncClient, ledger: Ledger, desk: Desk) -> None:
    if not desk.leads:
        return
    lead_id = random.choice(list(desk.leads))
    body = {"stage": random.choice(STAGES), "name": f"Load {uuid.uuid4().hex[:6]}"}
    for op in ("update lead", "update lead (after 412)"):
        response = await _send(
            client, ledger, op, "PATCH", f"/leads/{lead_id}", desk.token,
            json=body, headers={"If-Match": str(desk.leads[lead_id])},
        )  # fmt: skip
        if response is None:
            return
        if response.status_code == 200:
            desk.leads[lead_id] = int(response.json()["version"])
            ledger.leads[lead_id]["name"] = body["name"]
            return
        if response.status_code != 412:
            return
        # another writer moved it (a logged call, a visit, an enquiry): re-read the version and try once more
        if await _get(client, ledger, desk, "get lead (after 412)", lead_id) is None:
            return


async def _list(client: httpx.AsyncClient, ledger: Ledger, desk: Desk, limit: int) -> None:
    response = await _send(client, ledger, "list leads", "GET", f"/leads/?limit={limit}", desk.token)
    if response is None or response.status_code != 200 or random.random() < 0.5:
        return
    cursor = response.json().get("nextCursor")
    if cursor:
        await _send(client, ledger, "list leads (next page)", "GET", "/leads/", desk.token,
                    params={"limit": limit, "cursor": cursor})  # fmt: skip


async def _log_call(client: httpx.AsyncClient, ledger: Ledger, desk: Desk) -> None:
    if not desk.leads:
        return
    lead_id = random.choice(list(desk.leads))
    body = {
        "leadId": lead_id,
        "direction": "outbound",
        "kind": "phone",
        "startedAt": _iso(datetime.now(UTC) - timedelta(seconds=5)),
        "durationSec": random.randint(0, 600),
        "outcome": random.choice(OUTCOMES),
    }
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    response = await _send(client, ledger, "log call", "POST", "/comms/calls/", desk.token, json=body, headers=headers)
    if response is None or response.status_code != 201:
        return
    call_id = response.json()["id"]
    ledger.calls[call_id] = lead_id
    if random.random() < RESEND_SHARE:
        again = await _send(
            client, ledger, "log call (resent)", "POST", "/comms/calls/", desk.token, json=body, headers=headers
        )
        if again is not None and again.status_code < 300 and again.json().get("id") != call_id:
            ledger.resends.append(f"call {headers['Idempotency-Key']}: {call_id} then {again.json().get('id')}")


def _visit_time() -> datetime:
    """A future slot on the hour grid, far enough apart that double bookings are rare but possible."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(days=random.randint(1, 60), hours=random.randint(0, 23))


async def _schedule(client: httpx.AsyncClient, ledger: Ledger, desk: Desk) -> None:
    if not desk.leads:
        return
    lead_id = random.choice(list(desk.leads))
    at = _visit_time()
    body = {"leadId": lead_id, "scheduledAt": _iso(at), "notes": "load"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    response = await _send(client, ledger, "schedule visit", "POST", "/visits/", desk.token, json=body, headers=key)
    if response is None or response.status_code >= 500:
        # as the app does (API.md): the same request again with the same key, which answers the stored visit
        # when the first one was written and only its answer lost (the emulator cutting a slow worker's reply)
        await asyncio.sleep(1)
        response = await _send(
            client, ledger, "schedule visit (retried)", "POST", "/visits/", desk.token, json=body, headers=key
        )
    if response is None or response.status_code != 201:  # 409: the agent has a visit within the hour
        return
    visit = response.json()
    desk.visits[visit["id"]] = int(visit["version"])
    ledger.visits[visit["id"]] = {"leadId": lead_id, "scheduledAt": at, "version": int(visit["version"])}
    desk.leads.pop(lead_id, None)  # the visit moved its stage: re-read before the next update
    await _get(client, ledger, desk, "get lead", lead_id)


async def _reschedule(client: httpx.AsyncClient, ledger: Ledger, desk: Desk) -> None:
    if not desk.visits:
        await _schedule(client, ledger, desk)
        return
    visit_id = random.choice(list(desk.visits))
    at = _visit_time()
    response = await _send(
        client, ledger, "reschedule visit", "PATCH", f"/visits/{visit_id}", desk.token,
        json={"scheduledAt": _iso(at)}, headers={"If-Match": str(desk.visits[visit_id])},
    )  # fmt: skip
    if response is None:
        return
    if response.status_code == 200:
        version = int(response.json()["version"])
        desk.visits[visit_id] = version
        ledger.visits[visit_id] |= {"scheduledAt": at, "version": version}
    elif response.status_code == 412:
        fresh = await _send(client, ledger, "get visit", "GET", f"/visits/{visit_id}", desk.token)
        if fresh is not None and fresh.status_code == 200:
            desk.visits[visit_id] = int(fresh.json()["version"])


async def _agent(client: httpx.AsyncClient, ledger: Ledger, desk: Desk, roll: float) -> None:
    if roll < 0.16 or not desk.leads:
        await _create(client, ledger, desk)
    elif roll < 0.28:
        await _get(client, ledger, desk, "get lead", random.choice(list(desk.leads)))
    elif roll < 0.48:
        await _update(client, ledger, desk)
    elif roll < 0.68:
        await _list(client, ledger, desk, 20)
    elif roll < 0.84:
        await _log_call(client, ledger, desk)
    elif roll < 0.92:
        await _schedule(client, ledger, desk)
    else:
        await _reschedule(client, ledger, desk)


async def _user(client: httpx.AsyncClient, ledger: Ledger, member: Member, deadline: float) -> None:
    desk = Desk(member, member.token())
    while time.monotonic() < deadline:
        roll = random.random()
        if member.role == "admin":
            if roll < 0.3:
                await _send(client, ledger, "stats", "GET", "/leads/stats", desk.token)
            else:
                await _list(client, ledger, desk, 50)
        elif member.role == "manager":
            if roll < 0.4:
                await _create(client, ledger, desk)
            elif roll < 0.8:
                await _list(client, ledger, desk, 20)
            else:
                await _send(client, ledger, "list visits", "GET", "/visits/?limit=20", desk.token)
        else:
            await _agent(client, ledger, desk, roll)
        await asyncio.sleep(random.uniform(0, 0.2))  # a person taps, the phone does not hammer


async def _capture(client: httpx.AsyncClient, ledger: Ledger, op: str, body: dict[str, Any]) -> dict[str, Any] | None:
    path = f"/webhooks/capture/{SOURCE}"
    response = await _send(client, ledger, op, "POST", path, None, json=body, headers={"X-Justo-Key": SOURCE_KEY})
    if response is None or response.status_code != 200:
        return None
    reply: dict[str, Any] = response.json()
    return reply


async def burst(client: httpx.AsyncClient, ledger: Ledger, size: int, parallel: int = PARALLEL_CAPTURES) -> None:
    """A portal's burst: `size` new buyers at once, then repeat enquiries of a fifth of them and of some leads the
    agents keyed in (each must join its lead), then redeliveries of a tenth (each must change nothing)."""
    gate = asyncio.Semaphore(parallel)
    started = time.monotonic()

    async def send(op: str, body: dict[str, Any], phone: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        async with gate:
            return body, await _capture(client, ledger, op, body)

    news = [{"name": "Portal Buyer", "phone": ledger.new_phone(), "message": f"burst {i}"} for i in range(size)]
    for body, reply in await asyncio.gather(*[send("capture (new buyer)", b, b["phone"]) for b in news]):
        if reply and reply.get("captureId"):
            phone = "+91" + body["phone"]
            ledger.captures[reply["captureId"]] = {"phone": phone, "outcome": reply.get("outcome")} | {
                "leadId": reply.get("leadId")
            }
            if reply.get("outcome") == "created":
                ledger.capture_phones[phone] = str(reply["leadId"])
    new_seconds = time.monotonic() - started
    keyed = [lead["phone"][3:] for lead in list(ledger.leads.values())[-10:]]
    repeats = [
        {"name": "Portal Buyer", "phone": phone, "message": f"again {uuid.uuid4().hex[:6]}"}
        for phone in [b["phone"] for b in news[: max(1, size // 5)]] + keyed
    ]
    redeliveries = news[: max(1, size // 10)]
    jobs = [send("capture (repeat enquiry)", b, b["phone"]) for b in repeats]
    jobs += [send("capture (redelivery)", b, b["phone"]) for b in redeliveries]
    for body, reply in await asyncio.gather(*jobs):
        if not reply or not reply.get("captureId"):
            continue
        phone = "+91" + body["phone"]
        known = ledger.captures.get(reply["captureId"])
        if known is not None:  # a redelivery: the first answer again
            if (known["outcome"], known["leadId"]) != (reply.get("outcome"), reply.get("leadId")):
                ledger.resends.append(f"capture {reply['captureId']}: {known} then {reply}")
            continue
        ledger.captures[reply["captureId"]] = {"phone": phone, "outcome": reply.get("outcome")} | {
            "leadId": reply.get("leadId")
        }
    ledger.bursts.append(
        {"newBuyers": size, "newBuyersSeconds": round(new_seconds, 1), "repeats": len(repeats)}
        | {"redeliveries": len(redeliveries), "seconds": round(time.monotonic() - started, 1)}
    )


async def _bursts(client: httpx.AsyncClient, ledger: Ledger, started: float, seconds: float, size: int) -> None:
    marks = (0.3, 0.7) if seconds >= 120 else (0.4,)
    for mark in marks:
        await asyncio.sleep(max(0.0, started + seconds * mark - time.monotonic()))
        await burst(client, ledger, size)


WARM_TIMEOUT = 60.0  # a worker the emulator failed to start leaves its request hanging: give up on it


async def warm_up(client: httpx.AsyncClient, users: int, token: str, burst_width: int) -> float:
    """Start the workers each function the run uses needs, one function at a time and doubling the requests at
    once (the emulator starts a Python process per concurrent request, CPU a measured run must not include;
    twenty started at once on 2 busy cores time out in the emulator and their requests hang)."""
    auth = {"Authorization": f"Bearer {token}"}
    plan = [(path, max(2, users // 2), "GET", auth) for path in ("/leads/?limit=1", "/comms/calls?limit=1")]
    plan.append(("/visits/?limit=1", max(2, users // 3), "GET", auth))
    # a wrong key: 401, stores nothing, starts the worker
    plan.append((f"/webhooks/capture/{SOURCE}", burst_width, "POST", {"X-Justo-Key": "warm-up"}))
    started = time.monotonic()
    for path, width, method, headers in plan:
        at_once = 1
        while True:
            requests = [
                client.request(method, path, headers=headers, json={} if method == "POST" else None,
                               timeout=WARM_TIMEOUT)
                for _ in range(at_once)
            ]  # fmt: skip
            await asyncio.gather(*requests, return_exceptions=True)  # a worker slow to start is warm all the same
            if at_once >= width:
                break
            at_once = min(width, at_once * 2)
    return time.monotonic() - started


async def drive(base: str, team: list[Member], seconds: float, size: int) -> tuple[Ledger, float]:
    """Warm the workers, then run the team and the portal's bursts for `seconds`; the ledger and the duration."""
    ledger = Ledger(run=f"load-{uuid.uuid4().hex[:8]}")
    width = len(team) + 40
    limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
    async with httpx.AsyncClient(base_url=base, timeout=180, limits=limits) as client:
        warm = await warm_up(client, len(team), team[-1].token(), min(PARALLEL_CAPTURES, size))
        print(f"load: workers warm after {warm:.0f} s", file=sys.stderr, flush=True)
        started = time.monotonic()
        deadline = started + seconds
        jobs = [_user(client, ledger, member, deadline) for member in team]
        if size:
            jobs.append(_bursts(client, ledger, started, seconds, size))
        await asyncio.gather(*jobs)
        return ledger, time.monotonic() - started


FAILURE_KINDS = {
    "handler5xx": lambda failure: "(handler)" in failure,
    "emulator5xx": lambda failure: "(emulator)" in failure,
    "noAnswer": lambda failure: "(no answer)" in failure,  # a timeout or a dropped connection
}


def _cpu() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def main(argv: list[str] | None = None) -> int:
    """Start (or use) the stack, add the team, run the load, verify, report."""
    parser = argparse.ArgumentParser(prog="bench.load")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--burst", type=int, default=100, help="new buyers per capture burst (0: none)")
    parser.add_argument("--json", help="write the report here (default bench/results/load-<UTC time>.json)")
    args = parser.parse_args(argv)
    from bench import hotdocs, loadcheck, stackctl

    team = roster(args.users)
    with stackctl.local_stack() as base:
        for name in ("leads", "comms", "visits", "webhooks"):
            if not env.has_function(name):
                print(f"load: the {name} function does not exist in this tree", file=sys.stderr)
                return 1
        from core import clients

        added = add_members(team)
        print(f"load: {args.users} users ({added} added) for {args.seconds:.0f} s against {base}", file=sys.stderr)
        loadcheck.drain(ORG)  # the seed's and any earlier run's triggers first: the counters' "before" is settled
        before = loadcheck.snapshot(ORG)
        log = stackctl.log_path()
        log_offset = log.stat().st_size if log.exists() else 0
        began = datetime.now(UTC)
        watch = hotdocs.Watch(clients.db(), hotdocs.groups_of(clients.db(), ORG), began).start()
        cpu_before = _cpu()
        with stackctl.Reaper() as reaper:
            ledger, duration = asyncio.run(drive(base, team, args.seconds, args.burst))
            cpu_after = _cpu()
            drained = loadcheck.drain(ORG)
        writes = watch.stop()
        checked = loadcheck.verify(ORG, ledger, before)
        emulator = loadcheck.executions(log, log_offset) if log.exists() else {}
    busy = (cpu_after[0] - cpu_before[0]) / max(cpu_after[1] - cpu_before[1], 1.0)
    total = sum(sum(c.values()) for c in ledger.statuses.values())
    every = [seconds for samples in ledger.latencies.values() for seconds in samples]
    acknowledged = len(ledger.leads) + len(ledger.calls) + len(ledger.visits) + len(ledger.captures)
    hottest = hotdocs.top(writes, duration + drained)
    report = {
        "seconds": round(duration, 1),
        "users": args.users,
        "roles": dict(Counter(member.role for member in team)),
        "requests": total,
        "throughput": round(total / duration, 2),
        "acknowledgedWritesPerSecond": round(acknowledged / duration, 2),
        "cpu": {"cores": os.cpu_count(), "busyShareDuringRun": round(busy, 3)},
        "triggersDrainedAfterSeconds": round(drained, 1),
        "latencyMs": summary_ms(every) if every else {},
        "operations": {
            op: {
                "statuses": dict(sorted(ledger.statuses[op].items())),
                "perSecond": round(len(samples) / duration, 2),
                "latencyMs": summary_ms(samples),
            }
            for op, samples in sorted(ledger.latencies.items())
        },
        "bursts": ledger.bursts,
        "serverErrors": ledger.failures[:30],
        "handlerErrors": [failure for failure in ledger.failures if "(handler)" in failure],  # every one, kept
        "refusals": dict(ledger.refusals.most_common()),
        "refusalSamples": ledger.refusal_samples,
        "failureCounts": {
            kind: sum(1 for failure in ledger.failures if marker(failure)) for kind, marker in FAILURE_KINDS.items()
        },
        "verification": checked,
        # what the Functions emulator itself lost (its log): an unfinished or raised trigger execution is a lost event
        "emulatorExecutions": emulator,
        "orphanedWorkersEnded": reaper.reaped,  # workers the emulator gave up on, ended by stackctl.Reaper
        "hotDocuments": hottest,
        "hotDocumentKinds": loadcheck.kinds(writes, duration + drained),
        # every report shard of the organization together: what one document would take unsharded, and what
        # each of n shards takes is this over n (the event ids hash evenly, tests/reports/test_unit.py)
        "reportDaysAllShardsTogether": hotdocs.rates(
            sorted(t for path, times in writes.items() if f"orgs/{ORG}/reportDays/" in path for t in times),
            duration + drained,
        ),
        # the listeners' coverage: report shard writes they saw per report event the triggers applied (each
        # event writes one shard per day it touches, so at least 1.0 when no change was missed)
        "watchCoverage": round(
            sum(len(t) for path, t in writes.items() if f"orgs/{ORG}/reportDays/" in path)
            / max(checked["counters"]["reportEventsApplied"], 1),
            3,
        ),
        "aboveOneWritePerSecondSustained": [row["document"] for row in hottest if row["peakPerSecond60s"] > 1],
    }
    print(json.dumps(report, indent=2, default=str))
    target = args.json or str(env.ROOT / "bench" / "results" / f"load-{began:%Y%m%dT%H%M%SZ}.json")
    with open(target, "w") as out:
        json.dump(report, out, indent=2, sort_keys=True, default=str)
        out.write("\n")
    print(f"load: saved {target}", file=sys.stderr)
    p95 = report["latencyMs"].get("p95")
    hot = report["aboveOneWritePerSecondSustained"]
    print(
        f"\nload: {total} requests in {duration:.0f} s = {report['throughput']} req/s, p95 {p95} ms, CPU busy "
        f"{busy:.0%} of {os.cpu_count()} cores; writes verified: {'OK' if checked['ok'] else 'FAILED'}; "
        f"5xx from our handlers: {report['failureCounts']['handler5xx']} (emulator: "
        f"{report['failureCounts']['emulator5xx']}, no answer: {report['failureCounts']['noAnswer']}); "
        f"documents above 1 write/s sustained: {len(hot)}",
        file=sys.stderr,
    )
    # the emulator's own 5xx (a worker it lost: our handler never answered) and unanswered requests are printed
    # and counted above; they fail the run only where they hid a write (the verification then says so)
    return 0 if checked["ok"] and not report["failureCounts"]["handler5xx"] and not hot else 1


if __name__ == "__main__":
    sys.exit(main())
