"""What a load run must leave behind, checked in Firestore: every acknowledged write stored once with its last
acknowledged value, capture repeats joined to their lead, and every counter the app keeps equal to a recount
from the records.

The counters (grep Increment in functions/): open leads per member (`orgs/{o}/openLeads/{uid}`), rotation
counts per scope and member (`orgs/{o}/rotation/{scope}/counts/{uid}`), the report day shards
(`orgs/{o}/reportDays/{day}-{shard}`). Each is compared as a change over the run (after minus before) with
the change of its recount, so whatever the seed left is neither blamed nor hidden: the report shards also
absolutely, through the nightly check's own recount (reports.reconcile.truth). The stats tallies
(`orgs/{o}/leadTallies/...`) are compared absolutely with a recount of every lead: the seed's leads went
through the same trigger.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.load import Ledger

CHUNK = 30  # Firestore's limit of values in an `in` filter


def _db() -> Any:
    from core import clients

    return clients.db()


def _today(org_id: str) -> date:
    from core import clock, tenancy
    from core.org_settings import OrgSettings

    zone = OrgSettings.of(tenancy.load_org(org_id, fresh=True)).zone
    return clock.now().astimezone(zone).date()


def _report_gap(org_id: str, day: date) -> dict[str, int]:
    """Stored report counters of the day minus the nightly check's recount from the records, by cell and metric."""
    from core import tenancy
    from core.org_settings import OrgSettings
    from reports import counters, counting, reconcile
    from reports.counters import cell_key

    zone = OrgSettings.of(tenancy.load_org(org_id, fresh=True)).zone
    stored = counters.read(org_id, day.isoformat(), day.isoformat())
    gap = counting.delta(reconcile.truth(org_id, day, zone), stored)
    return {f"{cell_key(dims)}.{metric}": n for (_, dims), counts in gap.items() for metric, n in counts.items()}


def _open_recount(org_id: str) -> Counter[str]:
    from routing import eligibility

    counts: Counter[str] = Counter()
    for snapshot in _db().collection(f"orgs/{org_id}/leads").stream():
        lead = snapshot.to_dict() or {}
        if lead.get("assigneeId") and eligibility.is_open(lead.get("stage"), archived=bool(lead.get("archived"))):
            counts[str(lead["assigneeId"])] += 1
    return counts


def _counter_docs(org_id: str, path: str) -> dict[str, int]:
    return {s.reference.path: int((s.to_dict() or {}).get("n") or 0) for s in _db().collection(path).stream()}


def _rotation(org_id: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for scope in _db().collection(f"orgs/{org_id}/rotation").list_documents():
        out |= _counter_docs(org_id, f"{scope.path}/counts")
    return out


def snapshot(org_id: str) -> dict[str, Any]:
    """The counters and their recounts before a run."""
    day = _today(org_id)
    return {
        "day": day,
        "open": {p.rsplit("/", 1)[1]: n for p, n in _counter_docs(org_id, f"orgs/{org_id}/openLeads").items()},
        "openRecount": _open_recount(org_id),
        "rotation": _rotation(org_id),
        "reportGap": _report_gap(org_id, day),
        "reportEvents": events_applied(org_id),
    }


def events_applied(org_id: str) -> int:
    """How many report events the organization's triggers applied so far (one marker each)."""
    return int(_db().collection(f"orgs/{org_id}/reportEvents").count().get()[0][0].value)


def drain(org_id: str, quiet: float = 45.0, limit: float = 600.0) -> float:
    """Wait until the triggers are done (no new report or tally event applied for `quiet` s); the seconds waited.

    `quiet` is long because at the end of a 50-user run the Functions emulator still works through a backlog
    of lead events, each `reportleads` run taking up to 13 s on the starved CPU: a 10 s window ended a run's
    wait while events were still queued, and the counters were checked short of them."""
    started = time.monotonic()
    markers = [_db().collection(f"orgs/{org_id}/{name}") for name in ("reportEvents", "leadTallyEvents")]
    last, since = -1, time.monotonic()
    while time.monotonic() - started < limit:
        count = sum(int(query.count().get()[0][0].value) for query in markers)
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(2)
    return time.monotonic() - started


def _chunked(db: Any, path: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    from core import clients

    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        query = db.collection(path).where(filter=clients.where("leadId", "in", ids[start : start + CHUNK]))
        found.update({s.id: s.to_dict() or {} for s in query.stream()})
    return found


def _when(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def verify(org_id: str, ledger: Ledger, before: dict[str, Any]) -> dict[str, Any]:
    """Every acknowledged write stored once with its last value; the counters equal to their recounts."""
    db = _db()
    leads = {s.id: s.to_dict() or {} for s in db.collection(f"orgs/{org_id}/leads").stream()}
    problems: dict[str, list[Any]] = defaultdict(list)

    # leads keyed in: stored, once, last acknowledged value kept; nothing stored that was not acknowledged
    for lead_id, acked in ledger.leads.items():
        stored = leads.get(lead_id)
        if stored is None:
            problems["leadsMissing"].append(lead_id)
        elif stored.get("name") != acked["name"]:
            problems["leadsStaleName"].append(lead_id)
    tagged = {i for i, lead in leads.items() if ledger.run in (lead.get("tags") or [])}
    problems["leadsUnacknowledged"] = sorted(tagged - set(ledger.leads))
    stored_by_phone: dict[str, list[str]] = defaultdict(list)  # the unarchived leads stored with each phone
    for lead_id, lead in leads.items():
        if not lead.get("archived"):
            stored_by_phone[str((lead.get("primaryPhone") or {}).get("e164", ""))].append(lead_id)
    phones = {acked["phone"] for acked in ledger.leads.values()} | set(ledger.capture_phones)
    problems["phonesWithTwoLeads"] = sorted(p for p in phones if len(stored_by_phone.get(p, ())) > 1)
    problems["phonesWithoutLead"] = sorted(p for p in phones if not stored_by_phone.get(p))
    problems["resentAnsweredDifferently"] = list(ledger.resends)

    # captures: each acknowledged capture stored with its answer; repeats joined the phone's lead, once each.
    # The phone's lead is the one stored with it: a repeat's first capture may have made it unacknowledged (the
    # emulator's 500 after our handler committed), so what the run was told is checked only where it was told.
    told = {acked["phone"]: lead_id for lead_id, acked in ledger.leads.items()} | ledger.capture_phones
    lead_of_phone = {phone: ids[0] for phone, ids in stored_by_phone.items() if len(ids) == 1} | told
    enquiries: Counter[str] = Counter()
    for capture_id, acked in ledger.captures.items():
        stored = (db.document(f"orgs/{org_id}/captures/{capture_id}").get().to_dict()) or {}
        if (stored.get("outcome"), stored.get("leadId")) != (acked["outcome"], acked["leadId"]):
            problems["capturesNotAsAnswered"].append(capture_id)
        if acked["outcome"] == "enquired-again":
            if acked["leadId"] != lead_of_phone.get(acked["phone"]):
                problems["repeatsOnAnotherLead"].append(capture_id)
            lead = leads.get(str(acked["leadId"])) or {}
            joined = [e for e in lead.get("enquiries") or [] if e.get("captureId") == capture_id]
            if len(joined) != 1:
                problems["repeatsNotJoinedOnce"].append(capture_id)
            enquiries[str(acked["leadId"])] += 1
        elif acked["outcome"] != "created":
            problems["capturesNotCreated"].append(capture_id)

    run_leads = sorted(set(ledger.leads) | set(ledger.capture_phones.values()))
    calls = _chunked(db, f"orgs/{org_id}/calls", run_leads)
    problems["callsMissing"] = sorted(set(ledger.calls) - set(calls))
    problems["callsUnacknowledged"] = sorted(set(calls) - set(ledger.calls))
    visits = _chunked(db, f"orgs/{org_id}/visits", run_leads)
    problems["visitsMissing"] = sorted(set(ledger.visits) - set(visits))
    problems["visitsUnacknowledged"] = sorted(set(visits) - set(ledger.visits))
    problems["visitsStaleTime"] = sorted(
        visit_id
        for visit_id, acked in ledger.visits.items()
        if visit_id in visits and _when(visits[visit_id].get("scheduledAt")) != acked["scheduledAt"].timestamp()
    )

    counters = _counters(org_id, ledger, leads, before)
    for name, found in counters.pop("problems").items():
        problems[name] = found
    listed = {name: found[:10] for name, found in problems.items()}
    return {
        "ok": not any(problems.values()),
        "leadsAcknowledged": len(ledger.leads),
        "callsAcknowledged": len(ledger.calls),
        "visitsAcknowledged": len(ledger.visits),
        "capturesAcknowledged": len(ledger.captures),
        "captureLeadsCreated": len(ledger.capture_phones),
        "repeatEnquiriesJoined": sum(enquiries.values()),
        "counters": counters,
        "problems": {name: found for name, found in listed.items() if found},
        "problemCounts": {name: len(found) for name, found in problems.items()},
    }


def _counters(org_id: str, ledger: Ledger, leads: dict[str, dict[str, Any]], before: dict[str, Any]) -> dict[str, Any]:
    """Open-lead, rotation and report counters against their recounts (changes over the run)."""
    problems: dict[str, list[Any]] = defaultdict(list)
    open_now = {p.rsplit("/", 1)[1]: n for p, n in _counter_docs(org_id, f"orgs/{org_id}/openLeads").items()}
    recount = _open_recount(org_id)
    for uid in sorted(set(open_now) | set(recount) | set(before["open"]) | set(before["openRecount"])):
        moved = open_now.get(uid, 0) - before["open"].get(uid, 0)
        recounted = recount.get(uid, 0) - before["openRecount"].get(uid, 0)
        if moved != recounted:
            problems["openLeadsOff"].append({"uid": uid, "counterMoved": moved, "recountMoved": recounted})

    # rotation: each routed lead of the run moved its scope's counter of its assignee by one
    routed: Counter[str] = Counter()
    origin = {lead_id: acked["scope"] for lead_id, acked in ledger.leads.items()}
    origin |= dict.fromkeys(ledger.capture_phones.values(), "org")
    for lead_id, scope in origin.items():
        history = (leads.get(lead_id) or {}).get("assignmentHistory") or []
        first = history[0] if history else {}
        if scope and first.get("reason") in {"round-robin", "rule"} and first.get("assigneeId"):
            routed[f"orgs/{org_id}/rotation/{scope}/counts/{first['assigneeId']}"] += 1
    rotation = _rotation(org_id)
    started: dict[str, int] = {}
    for path in sorted(set(rotation) | set(routed)):
        if path in before["rotation"]:
            if rotation.get(path, 0) - before["rotation"][path] != routed[path]:
                problems["rotationOff"].append(
                    {"counter": path, "moved": rotation.get(path, 0) - before["rotation"][path], "routed": routed[path]}
                )
        else:  # created in the run at the scope's floor (routing.engine), then +1 per lead
            started[path] = rotation.get(path, 0) - routed[path]
            if started[path] < 0:
                problems["rotationOff"].append({"counter": path, "stored": rotation.get(path), "routed": routed[path]})

    tally_off = _tallies_off(org_id, leads)
    if tally_off:
        problems["statsTalliesOff"] = tally_off

    gap = _report_gap(org_id, before["day"])
    if gap != before["reportGap"]:
        changed = {k: (before["reportGap"].get(k, 0), gap.get(k, 0)) for k in set(gap) | set(before["reportGap"])}
        problems["reportCountersOff"] = [
            {"cell": k, "gapBefore": b, "gapAfter": a} for k, (b, a) in sorted(changed.items()) if a != b
        ]
    return {
        "openLeadMembers": len(set(open_now) | set(recount)),
        "openLeadsMoved": sum(open_now.values()) - sum(before["open"].values()),
        "rotationRouted": sum(routed.values()),
        "rotationCountersStartedInRun": len(started),
        "reportDay": before["day"].isoformat(),
        "reportGapBefore": sum(abs(n) for n in before["reportGap"].values()),
        "reportGapAfter": sum(abs(n) for n in gap.values()),
        # each applied event writes one shard of each day it touches: the listeners' count is checked against it
        "reportEventsApplied": events_applied(org_id) - before["reportEvents"],
        "statsTallyScopes": len(_stored_tallies(org_id)),
        "problems": problems,
    }


def _stored_tallies(org_id: str) -> dict[tuple[str, str], Counter[str]]:
    """The stats tallies (leads.tallies) summed over their shards, per scope."""
    out: dict[tuple[str, str], Counter[str]] = {}
    for snapshot in _db().collection(f"orgs/{org_id}/leadTallies").stream():
        data = snapshot.to_dict() or {}
        counts = out.setdefault((str(data.get("scope")), str(data.get("id"))), Counter())
        counts["total"] += int(data.get("total") or 0)
        for group in ("stage", "source"):
            counts.update({f"{group}.{k}": int(v) for k, v in (data.get(group) or {}).items()})
    return out


def _tallies_off(org_id: str, leads: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Scopes whose stats tallies differ from a recount of every lead (absolutely: the seed's leads were counted
    by the same trigger)."""
    from leads import tallies

    expected: dict[tuple[str, str], Counter[str]] = {}
    for lead in leads.values():
        for scope, counts in tallies.contribution(lead).items():
            expected.setdefault(scope, Counter()).update(counts)
    stored = _stored_tallies(org_id)
    off = []
    for scope in sorted(set(expected) | set(stored)):
        want = {k: n for k, n in expected.get(scope, Counter()).items() if n}
        have = {k: n for k, n in stored.get(scope, Counter()).items() if n}
        if want != have:
            off.append({"scope": "/".join(scope), "stored": have, "recount": want})
    return off


def kinds(writes: dict[str, list[float]], duration: float) -> list[dict[str, Any]]:
    """Per kind of document (ids wildcarded): how many documents, writes, and the hottest one's peaks."""
    from bench import hotdocs

    grouped: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for path, times in writes.items():
        grouped[hotdocs.pattern(path)][path] = times
    rows = []
    for kind, documents in grouped.items():
        hottest = hotdocs.top(documents, duration, 1)[0]
        rows.append(
            {
                "kind": kind,
                "documents": len(documents),
                "writes": sum(len(times) for times in documents.values()),
                "hottest": hottest["document"],
                "hottestPeakPerSecond10s": hottest["peakPerSecond10s"],
                "hottestPeakPerSecond60s": hottest["peakPerSecond60s"],
            }
        )
    rows.sort(key=lambda row: (row["hottestPeakPerSecond60s"], row["writes"]), reverse=True)
    return rows[:20]


# How the Functions emulator logs each execution, and a worker that dropped the request it was given (for a
# trigger that event is lost: the emulator never redelivers, where production's retry policy would).
_BEGAN = re.compile(r'Beginning execution of "(?:[a-z0-9-]+-)?([a-z0-9]+)"')
_FINISHED = re.compile(r'Finished "(?:[a-z0-9-]+-)?([a-z0-9]+)" in')
_DROPPED = "Request to function failed"
_RAISED = "ERROR in app: Exception on"  # a worker's Flask app logging an execution that raised
_TRIGGER_FRAME = re.compile(r'/functions/triggers/[a-z_]+\.py", line \d+, in ([a-z0-9]+)$')


def executions(log: Path, offset: int = 0) -> dict[str, Any]:
    """From the emulator's log after `offset` bytes: executions begun and not finished, and trigger executions
    that raised, per function (the trigger's frame in the first traceback after the worker's error line), and
    the requests a worker dropped. The Functions emulator delivers neither kind of event again (deployed, a
    retried trigger's is), so a report counter short by n matches n of them."""
    began: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    raised: Counter[str] = Counter()
    dropped, pending = 0, False
    with log.open("rb") as lines:
        lines.seek(offset)
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()
            if match := _BEGAN.search(line):
                began[match.group(1)] += 1
            elif match := _FINISHED.search(line):
                finished[match.group(1)] += 1
            elif _DROPPED in line:
                dropped += 1
            elif _RAISED in line:
                pending = True
            elif pending and (match := _TRIGGER_FRAME.search(line)):
                raised[match.group(1)] += 1
                pending = False
    unfinished = {name: began[name] - finished[name] for name in sorted(began) if began[name] > finished[name]}
    return {
        "executions": sum(began.values()),
        "unfinished": unfinished,
        "triggersRaised": dict(sorted(raised.items())),
        "requestsDropped": dropped,
    }
