"""The daily digest: at 08:00 in each organization's time zone, each member hears of its visits and tasks of the day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from core import clients, notify, tenancy
from core.org_settings import OrgSettings

DIGEST_AT = time(8, 0)
WINDOW = timedelta(minutes=15)  # the scheduler runs every 15 minutes (UTC): each zone's 08:00 falls in one run


def digest_day(run_at: datetime, zone: tzinfo) -> date | None:
    """The local date whose 08:00 falls in the run starting at run_at, or None."""
    local = run_at.astimezone(zone)
    start = datetime.combine(local.date(), DIGEST_AT, tzinfo=zone)
    return local.date() if start <= local < start + WINDOW else None


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The local day [midnight, next midnight) as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def compose(
    *,
    uid: str,
    org_id: str,
    day: date,
    zone: tzinfo,
    visits: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    lead_names: dict[str, str],
    project_names: dict[str, str],
) -> notify.Push | None:
    """The digest push of one member: its scheduled visits and open tasks of the day, by time; None when empty."""
    visits = sorted(visits, key=lambda v: v["scheduledAt"])
    tasks = sorted(tasks, key=lambda t: t["dueAt"])
    if not visits and not tasks:
        return None
    lines = []
    for visit in visits:
        place = project_names.get(str(visit.get("projectId")), "")
        lead = lead_names.get(str(visit.get("leadId")), "a lead")
        lines.append(f"{visit['scheduledAt'].astimezone(zone):%H:%M} visit: {lead}" + (f" at {place}" if place else ""))
    lines += [f"{task['dueAt'].astimezone(zone):%H:%M} task: {task.get('title', '')}" for task in tasks]
    counts = []
    if visits:
        counts.append(f"{len(visits)} visit{'s' if len(visits) != 1 else ''}")
    if tasks:
        counts.append(f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}")
    lead_ids = {str(v["leadId"]) for v in visits if v.get("leadId")} | {
        str(t["leadId"]) for t in tasks if t.get("leadId")
    }
    return notify.Push(
        uid=uid,
        kind="daily-digest",
        title=f"Today: {' and '.join(counts)}",
        body="\n".join(lines),
        data={
            "orgId": org_id,
            "day": day.isoformat(),
            "visitIds": ",".join(v["id"] for v in visits),
            "taskIds": ",".join(t["id"] for t in tasks),
        },
        refs=tuple(sorted(lead_ids)),
    )


def _names(org_id: str, collection: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    refs = [tenancy.org_ref(org_id).collection(collection).document(i) for i in sorted(ids)]
    return {s.id: str((s.to_dict() or {}).get("name", "")) for s in clients.db().get_all(refs) if s.exists}


def _in_range(org_id: str, collection: str, field: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    query = (
        tenancy.org_ref(org_id)
        .collection(collection)
        .where(filter=clients.where(field, ">=", start))
        .where(filter=clients.where(field, "<", end))
    )
    return [{"id": s.id, **(s.to_dict() or {})} for s in query.stream()]


def run_org(org_id: str, org: dict[str, Any], run_at: datetime) -> int:
    """Send one organization's digests if its 08:00 falls in this run; how many were sent (retries send none)."""
    zone = OrgSettings.of(org).zone
    day = digest_day(run_at, zone)
    if day is None or not tenancy.subscription_current(org, run_at):
        return 0
    start, end = day_bounds(day, zone)
    by_uid: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for visit in _in_range(org_id, "visits", "scheduledAt", start, end):
        if visit.get("status") == "scheduled" and visit.get("agentId"):
            by_uid.setdefault(visit["agentId"], ([], []))[0].append(visit)
    for task in _in_range(org_id, "tasks", "dueAt", start, end):
        if task.get("status", "open") == "open" and task.get("assigneeId"):
            by_uid.setdefault(task["assigneeId"], ([], []))[1].append(task)
    if not by_uid:
        return 0
    all_visits = [v for visits, _ in by_uid.values() for v in visits]
    lead_names = _names(org_id, "leads", {str(v["leadId"]) for v in all_visits if v.get("leadId")})
    project_names = _names(org_id, "projects", {str(v["projectId"]) for v in all_visits if v.get("projectId")})
    sent = 0
    for uid, (visits, tasks) in sorted(by_uid.items()):
        member = tenancy.load_member(org_id, uid) or {}
        if not member.get("active"):
            continue
        push = compose(
            uid=uid,
            org_id=org_id,
            day=day,
            zone=zone,
            visits=visits,
            tasks=tasks,
            lead_names=lead_names,
            project_names=project_names,
        )
        if push is not None and notify.send(push, dedupe_key=f"digest:{org_id}:{uid}:{day.isoformat()}"):
            sent += 1
    return sent


def run(run_at: datetime) -> int:
    """Send the digests of every organization whose 08:00 falls in this run."""
    sent = 0
    for snapshot in clients.db().collection("orgs").stream():
        sent += run_org(snapshot.id, snapshot.to_dict() or {}, run_at)
    return sent
