"""Site visits: the state machine, double-booking, lead stage moves, invitations, reminders and check-in."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from comms import channels
from core import clients, clock, mail, pagination, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, forbidden, invalid, not_found, precondition
from core.ids import new_id
from core.versioning import check
from core.visibility import can_reach_member, can_see_record
from leads import history, store
from leads.store import LeadRecord
from reminders import service as reminders
from visits import geo, invite
from visits.models import CheckinCreate, VisitCreate, VisitListQuery, VisitUpdate

log = logging.getLogger("justo")

SLOT = timedelta(hours=1)  # two visits of one agent closer than this are a double booking
MAX_AHEAD = timedelta(days=366)
CHECKIN_BEFORE, CHECKIN_AFTER = timedelta(hours=2), timedelta(hours=4)
COMPLETE_BEFORE = timedelta(hours=2)  # a visit may be marked done from this long before its time
DEFAULT_RADIUS_M = 200.0
STAGE_ON = {"scheduled": "site-visit-scheduled", "completed": "site-visit-done"}


def visits_of(org_id: str) -> Any:
    """The organization's visits collection."""
    return tenancy.org_ref(org_id).collection("visits")


def _future(at: datetime, now: datetime) -> datetime:
    if at <= now:
        raise invalid("scheduledAt", "must be in the future")
    if at > now + MAX_AHEAD:
        raise invalid("scheduledAt", "at most a year ahead")
    return at


def _double_booking(transaction: Any, org_id: str, agent_id: str, at: datetime, exclude: str | None) -> None:
    """409 when another scheduled visit of the agent is within SLOT of `at`.

    The agent's bookings document, read and written in the transaction, orders concurrent bookings of one
    agent: the later one's transaction reads it again after the earlier commits, and its query then sees the
    earlier visit. The query itself runs outside the transaction so it holds no lock on the visits: under
    pessimistic locking a transactional range query locks out every other booking in the organization.
    """
    book = tenancy.org_ref(org_id).collection("agentBookings").document(agent_id)
    book.get(transaction=transaction)
    query = (
        visits_of(org_id)
        .where(filter=clients.where("agentId", "==", agent_id))
        .where(filter=clients.where("scheduledAt", ">", at - SLOT))
        .where(filter=clients.where("scheduledAt", "<", at + SLOT))
    )
    for snapshot in query.stream():
        if snapshot.id != exclude and snapshot.get("status") == "scheduled":
            raise ApiError(
                "FAILED_PRECONDITION",
                "The agent has another visit within an hour of this time; send allowDoubleBooking to book anyway",
                conflictsWith=snapshot.id,
            )
    transaction.set(book, {"orgId": org_id, "agentId": agent_id, "updatedAt": clock.now()})


def _project(transaction: Any, org_id: str, project_id: str | None) -> dict[str, Any] | None:
    if project_id is None:
        return None
    snapshot = tenancy.org_ref(org_id).collection("projects").document(project_id).get(transaction=transaction)
    if not snapshot.exists:
        raise invalid("projectId", "no such project")
    return {"id": snapshot.id, **(snapshot.to_dict() or {})}


def _stage_move(transaction: Any, caller: Caller, lead: LeadRecord, target: str, now: datetime) -> None:
    """Move the lead forward to `target` in the visit's transaction, where the organization's settings say so."""
    settings = caller.settings
    if not settings.visit_stage_moves:
        return
    stages, current = settings.stages, lead.stage
    if target not in stages or current == target:
        return
    if current in stages and stages.index(current) > stages.index(target):
        return  # never backwards (booked, lost, ...)
    from routing import contact as first_contact

    changes = {
        "stage": target,
        "stageHistory": store.stage_moved(lead.document(), target, now),
        "updatedAt": now,
        "updatedBy": caller.uid,
        "version": lead.version + 1,
    }
    if first_contact.is_stage_contact(current, target, stages):  # the assignee's visit move is first contact too
        changes |= first_contact.changes(lead.document(), caller.uid, now)
    transaction.update(store.ref(caller.org_id, lead.id), changes)


def create_visit(*, caller: Caller, data: VisitCreate) -> dict[str, Any]:
    """Schedule a visit: a visible lead, an agent within reach, a future time, no double booking."""
    from google.cloud import firestore

    now = clock.now()
    at = _future(data.scheduled_at, now)
    agent_id = data.agent_id or caller.uid
    visit_id = new_id("v_")
    ref = visits_of(caller.org_id).document(visit_id)

    @firestore.transactional
    def apply(transaction: Any) -> tuple[dict[str, Any], LeadRecord, dict[str, Any] | None]:
        lead = store.get_visible(caller, data.lead_id, transaction=transaction)
        member_snapshot = tenancy.member_ref(caller.org_id, agent_id).get(transaction=transaction)
        if not member_snapshot.exists:
            raise invalid("agentId", "no such member")
        agent = member_snapshot.to_dict() or {}
        if not can_reach_member(caller, agent):
            raise forbidden("You may not schedule visits for this agent")
        project = _project(transaction, caller.org_id, data.project_id)
        if not data.allow_double_booking:
            _double_booking(transaction, caller.org_id, agent_id, at, None)
        visit = {
            "id": visit_id,
            "orgId": caller.org_id,
            "leadId": lead.id,
            "projectId": data.project_id,
            "agentId": agent_id,
            "teamId": agent.get("teamId"),
            "scheduledAt": at,
            "status": "scheduled",
            "notes": data.notes,
            "followUpNotes": "",
            "cancelReason": None,
            "checkin": None,
            "sequence": 0,
            "version": 1,
            "createdAt": now,
            "createdBy": caller.uid,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        _stage_move(transaction, caller, lead, STAGE_ON["scheduled"], now)
        transaction.create(ref, visit)
        return visit, lead, project

    visit, lead, project = transactions.run(apply)  # an agent's visits and its lead: busy under load
    _after(caller, visit, lead, project, "scheduled", now)
    return visit


def update_visit(*, caller: Caller, visit_id: str, data: VisitUpdate, if_match: int | None) -> dict[str, Any]:
    """Reschedule, complete, cancel or annotate a visit; completed and cancelled are final."""
    from google.cloud import firestore

    changes = data.model_dump(exclude_unset=True, by_alias=True)
    changes.pop("allowDoubleBooking", None)
    for key in ("scheduledAt", "status", "notes", "followUpNotes"):
        if key in changes and changes[key] is None:
            raise invalid(key, "must not be null")
    reason = data.cancel_reason or None  # API.md: a reason is welcome, never required ("" and null are none)
    changes.pop("cancelReason", None)
    if reason and data.status != "cancelled":
        raise invalid("cancelReason", "only with status cancelled")
    if data.status is not None and ("scheduledAt" in changes or "projectId" in changes):
        raise invalid("status", "change the time or the status, not both")
    if not changes:
        raise invalid("body", "nothing to change")
    now = clock.now()
    if data.scheduled_at is not None:
        _future(data.scheduled_at, now)
    ref = visits_of(caller.org_id).document(visit_id)

    @firestore.transactional
    def apply(transaction: Any) -> tuple[dict[str, Any], str | None, LeadRecord | None, dict[str, Any] | None]:
        visit = _visible(caller, ref.get(transaction=transaction))
        version = check(visit, if_match)
        status = visit["status"]
        moving = ("scheduledAt" in changes and changes["scheduledAt"] != visit["scheduledAt"]) or (
            "projectId" in changes and changes["projectId"] != visit.get("projectId")
        )
        if status == "cancelled" or (status == "completed" and (moving or data.status is not None)):
            raise precondition(f"This visit is {status}; it can no longer change")
        lead: LeadRecord | None = None
        if data.status is not None:
            lead = store.get(caller.org_id, visit["leadId"], transaction=transaction)
        project = _project(transaction, caller.org_id, changes.get("projectId", visit.get("projectId")))
        if "scheduledAt" in changes and moving and not data.allow_double_booking:
            _double_booking(transaction, caller.org_id, visit["agentId"], changes["scheduledAt"], visit_id)
        action: str | None = None
        update: dict[str, Any] = {k: v for k, v in changes.items() if k in {"notes", "followUpNotes"}}
        if moving:
            action = "rescheduled"
            update |= {k: changes[k] for k in ("scheduledAt", "projectId") if k in changes}
            update["sequence"] = int(visit.get("sequence", 0)) + 1
        elif data.status == "completed":
            if now < visit["scheduledAt"] - COMPLETE_BEFORE:
                raise precondition("A visit can be completed from two hours before its time")
            action = "completed"
            update |= {"status": "completed", "completedAt": now}
            if lead is not None and not lead.archived:
                _stage_move(transaction, caller, lead, STAGE_ON["completed"], now)
        elif data.status == "cancelled":
            action = "cancelled"
            update |= {
                "status": "cancelled",
                "cancelReason": reason,
                "cancelledAt": now,
                "sequence": int(visit.get("sequence", 0)) + 1,
            }
        update |= {"version": version + 1, "updatedAt": now, "updatedBy": caller.uid}
        transaction.update(ref, update)
        visit.update(update)
        return visit, action, lead, project

    visit, action, lead, project = transactions.run(apply)
    if action is not None:
        if lead is None:
            lead = store.get(caller.org_id, visit["leadId"]) or LeadRecord(id=visit["leadId"])
        _after(caller, visit, lead, project, action, now)
    return visit


def _after(
    caller: Caller,
    visit: dict[str, Any],
    lead: LeadRecord,
    project: dict[str, Any] | None,
    action: str,
    now: datetime,
) -> None:
    """After the commit: reminders, the lead's history and the lead's email (none of them fails the request)."""
    try:
        reminders.reconcile(caller.org_id, "visit", visit["id"], visit)
    except Exception as error:  # noqa: BLE001 - the visit trigger reconciles again
        log.warning("visit reminders not updated now: %s", type(error).__name__)
    when = clock.rfc3339(visit["scheduledAt"])
    history.record(
        org_id=caller.org_id,
        lead_id=visit["leadId"],
        event_id=f"visit:{visit['id']}:{action}:{visit.get('sequence', 0)}",
        type=f"visit-{action}",
        actor_id=caller.uid,
        at=now,
        summary=f"Site visit {action} ({when})",
        ref={"visitId": visit["id"]},
    )
    if action in {"scheduled", "rescheduled", "cancelled"}:
        _email_lead(caller, visit, lead, project, action, now)


def _email_lead(
    caller: Caller,
    visit: dict[str, Any],
    lead: LeadRecord,
    project: dict[str, Any] | None,
    action: str,
    now: datetime,
) -> None:
    if not lead.contactable("email"):
        return
    to = store.email_address(caller.org_id, lead)
    if to is None:
        return
    agent = tenancy.load_member(caller.org_id, visit["agentId"]) or {}
    sender, reply_to = channels.sender_or_platform(caller.org_id, str(caller.org.get("name") or "Justo Lead"))
    message = invite.email(
        action=action,
        org=caller.org,
        org_id=caller.org_id,
        visit=visit,
        lead_name=lead.name,
        to=to,
        project=project,
        agent=agent,
        time_zone=caller.settings.time_zone,
        now=now,
        sender=sender,
        reply_to=reply_to,
    )
    try:
        mail.mailer().send(message)
    except Exception as error:  # noqa: BLE001 - the visit stands; the email is best effort
        log.warning("visit email not sent: %s", type(error).__name__)


def _visible(caller: Caller, snapshot: Any) -> dict[str, Any]:
    if not snapshot.exists:
        raise not_found("Visit")
    visit = {"id": snapshot.id, **(snapshot.to_dict() or {})}
    if not can_see_record(caller, owner_id=visit.get("agentId"), team_id=visit.get("teamId")):
        raise forbidden("You may not see this visit")
    return visit


def get_visit(*, caller: Caller, visit_id: str) -> dict[str, Any]:
    """One visit the caller may see."""
    return _visible(caller, visits_of(caller.org_id).document(visit_id).get())


def list_visits(*, caller: Caller, query: VisitListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of visible visits, earliest first, filtered by time range, agent, lead and status."""
    ref: Any = visits_of(caller.org_id)
    if caller.role == "manager":
        if caller.team_id is None:
            return [], None
        ref = ref.where(filter=clients.where("teamId", "==", caller.team_id))
    elif caller.role != "admin":
        if query.agent_id not in (None, caller.uid):
            raise forbidden("You see only your own visits")
        ref = ref.where(filter=clients.where("agentId", "==", caller.uid))
    if query.agent_id is not None and caller.role in {"admin", "manager"}:
        ref = ref.where(filter=clients.where("agentId", "==", query.agent_id))
    if query.lead_id is not None:
        ref = ref.where(filter=clients.where("leadId", "==", query.lead_id))
    if query.status is not None:
        ref = ref.where(filter=clients.where("status", "==", query.status))
    if query.from_ is not None and query.to is not None and query.to <= query.from_:
        raise invalid("to", "must be after from")
    if query.from_ is not None:
        ref = ref.where(filter=clients.where("scheduledAt", ">=", query.from_))
    if query.to is not None:
        ref = ref.where(filter=clients.where("scheduledAt", "<", query.to))
    snapshots, cursor = pagination.page(
        ref, order_field="scheduledAt", limit=query.limit, cursor=query.cursor, descending=False
    )
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor


def checkin(*, caller: Caller, visit_id: str, data: CheckinCreate) -> dict[str, Any]:
    """The visit's agent checks in near its time: position, accuracy, distance to the project, within radius."""
    from google.cloud import firestore

    ref = visits_of(caller.org_id).document(visit_id)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        visit = _visible(caller, ref.get(transaction=transaction))
        if visit.get("agentId") != caller.uid:
            raise forbidden("Only the visit's agent checks in")
        if visit["status"] != "scheduled":
            raise precondition(f"This visit is {visit['status']}; check-in is for scheduled visits")
        at: datetime = visit["scheduledAt"]
        if not at - CHECKIN_BEFORE <= now <= at + CHECKIN_AFTER:
            raise precondition("Check in from two hours before the visit to four hours after it")
        project = _project(transaction, caller.org_id, visit.get("projectId")) if visit.get("projectId") else None
        location = (project or {}).get("location") or {}
        if not isinstance(location.get("lat"), int | float) or not isinstance(location.get("lng"), int | float):
            raise precondition("This visit has no project location to check in at")
        distance = geo.distance_m(data.lat, data.lng, float(location["lat"]), float(location["lng"]))
        radius = float((project or {}).get("checkinRadiusM") or DEFAULT_RADIUS_M)
        record = {
            "lat": data.lat,
            "lng": data.lng,
            "accuracyM": data.accuracy_m,
            "at": now,
            "distanceM": round(distance, 1),
            "withinRadius": distance <= radius,
        }
        transaction.update(
            ref,
            {"checkin": record, "version": int(visit.get("version", 1)) + 1, "updatedAt": now, "updatedBy": caller.uid},
        )
        return record

    result: dict[str, Any] = transactions.run(apply)
    return result
