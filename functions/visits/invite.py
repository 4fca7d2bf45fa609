"""The lead's calendar invitation: an iCalendar file (one UID per visit, SEQUENCE growing) and its email."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import mail

VISIT_LENGTH = timedelta(hours=1)
UID_DOMAIN = "visits.justo-lead.app"


def visit_uid(org_id: str, visit_id: str) -> str:
    """The stable iCalendar UID of a visit: the same on the invitation, every update and the cancellation."""
    return f"{org_id}.{visit_id}@{UID_DOMAIN}"


def build_ics(
    *,
    org_id: str,
    visit_id: str,
    start: datetime,
    sequence: int,
    method: str,
    time_zone: str,
    summary: str,
    location: str,
    organizer_email: str,
    organizer_name: str,
    attendee_email: str,
    now: datetime,
) -> bytes:
    """A METHOD:REQUEST (invite or update) or METHOD:CANCEL calendar with one event in the org's time zone."""
    from zoneinfo import ZoneInfo

    import icalendar

    zone = ZoneInfo(time_zone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Justo Lead//Site visits//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", visit_uid(org_id, visit_id))
    event.add("sequence", sequence)
    event.add("dtstamp", now)
    event.add("dtstart", start.astimezone(zone))
    event.add("dtend", (start + VISIT_LENGTH).astimezone(zone))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = icalendar.vText(organizer_name)
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{attendee_email}")
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = icalendar.vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def local_text(at: datetime, time_zone: str) -> str:
    """A time as the lead reads it, in the organization's zone: `Saturday 28 November 2026, 10:30 IST`."""
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(time_zone))
    return local.strftime("%A %d %B %Y, %H:%M ") + (local.tzname() or time_zone)


SUBJECTS = {
    "scheduled": "Your site visit{place} on {when}",
    "rescheduled": "Your site visit{place} has moved to {when}",
    "cancelled": "Your site visit{place} on {when} is cancelled",
}


def email(
    *,
    action: str,
    org: dict[str, Any],
    org_id: str,
    visit: dict[str, Any],
    lead_name: str,
    to: str,
    project: dict[str, Any] | None,
    agent: dict[str, Any],
    time_zone: str,
    now: datetime,
    sender: str | None = None,
    reply_to: str | None = None,
) -> mail.Email:
    """The email to the lead for a visit scheduled, rescheduled or cancelled, with its .ics attached."""
    when = local_text(visit["scheduledAt"], time_zone)
    project_name = str((project or {}).get("name") or "")
    place = f" at {project_name}" if project_name else ""
    address = ", ".join(str(p) for p in ((project or {}).get("address"), (project or {}).get("city")) if p)
    org_name = str(org.get("name") or "Justo Lead")
    method = "CANCEL" if action == "cancelled" else "REQUEST"
    ics = build_ics(
        org_id=org_id,
        visit_id=visit["id"],
        start=visit["scheduledAt"],
        sequence=int(visit.get("sequence", 0)),
        method=method,
        time_zone=time_zone,
        summary=f"Site visit{place} ({org_name})",
        location=address or project_name,
        organizer_email=str(agent.get("email") or "no-reply@justo.example.com"),
        organizer_name=str(agent.get("name") or org_name),
        attendee_email=to,
        now=now,
    )
    greeting = f"Dear {lead_name or 'customer'},"
    lines = {
        "scheduled": f"Your site visit{place} is booked for {when}.",
        "rescheduled": f"Your site visit{place} has been moved to {when}.",
        "cancelled": f"Your site visit{place} on {when} has been cancelled."
        + (f" Reason: {visit['cancelReason']}." if visit.get("cancelReason") else ""),
    }
    contact = f"{agent.get('name', '')} will be your guide." if action != "cancelled" else "We hope to see you soon."
    where = f"\nAddress: {address}" if address and action != "cancelled" else ""
    text = f"{greeting}\n\n{lines[action]}{where}\n{contact}\n\n{org_name}"
    return mail.Email(
        to=to,
        subject=SUBJECTS[action].format(place=place, when=when),
        text=text,
        attachments=(mail.Attachment("invite.ics", "text/calendar", ics),),
        refs=(str(visit.get("leadId")), str(visit["id"])),
        headers={"X-Calendar-Method": method},
        sender=sender,
        reply_to=reply_to,
    )
