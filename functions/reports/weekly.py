"""The weekly report email: Monday 09:xx in each organization's time zone, to each active manager (its team)
and admin (everything), with last week's funnel, sources and agents tables and the funnel as a PNG chart.

The hourly schedule fires in every zone's Monday 09:00-09:59 once; a second firing in the same hour (a
retry, an overlap) sends nothing twice: each recipient's email is claimed first by creating
`orgs/{orgId}/reportMails/{weekStart}-{uid}` (create fails when it exists); a send that fails releases the
claim, so a retry within the hour sends it. matplotlib is imported here only, inside `chart_png`, so no other
function pays for it at import or cold start (tests/reports/test_imports.py).
"""

from __future__ import annotations

import html
import logging
from datetime import date, datetime, timedelta
from typing import Any

from core import clients, clock, mail, tenancy
from core.caller import Caller, caller_of
from core.org_settings import OrgSettings
from reports import service
from reports.models import ReportQuery

log = logging.getLogger("justo")

SEND_HOUR = 9
RECIPIENT_ROLES = ("admin", "manager")


def week_to_send(now: datetime, zone: Any) -> date | None:
    """The Monday starting last week when it is Monday 09:xx in the zone, else None."""
    local = now.astimezone(zone)
    if local.weekday() != 0 or local.hour != SEND_HOUR:
        return None
    return local.date() - timedelta(days=7)


def chart_png(stages: list[dict[str, Any]]) -> bytes:
    """The funnel as a horizontal bar chart (entered per stage), PNG; matplotlib's Agg backend, loaded here."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.6), dpi=100)
    axes = figure.subplots()
    names = [row["stage"] for row in stages][::-1]
    entered = [row["entered"] for row in stages][::-1]
    axes.barh(names, entered, color="#2f6fdf")
    for y, value in enumerate(entered):
        axes.text(value, y, f" {value}", va="center", fontsize=8)
    axes.set_xlabel("Leads that entered the stage")
    axes.set_title("Funnel, last week")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _table(title: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> tuple[str, str]:
    """A report table as plain text and as HTML."""
    text = [title, "\t".join(columns)] + [
        "\t".join("" if r.get(c) is None else str(r.get(c)) for c in columns) for r in rows
    ]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return "\n".join(
        text
    ), f"<h3>{html.escape(title)}</h3><table border='1' cellpadding='3'><tr>{head}</tr>{body}</table>"


def compose(caller: Caller, week: date, *, org_name: str) -> mail.Email:
    """One recipient's email: its scope's funnel, sources and agents of the week starting `week`."""
    from reports.figures import COLUMNS

    query = ReportQuery.model_validate({"from": week.isoformat(), "to": (week + timedelta(days=6)).isoformat()})
    funnel = service.funnel(caller=caller, query=query)
    sources = service.sources(caller=caller, query=query, by_source_id=False)
    agents = service.agents(caller=caller, query=query)
    scope = "all teams" if caller.role == "admin" else f"team {caller.team_id}"
    parts = [
        _table("Funnel", COLUMNS["funnel"], funnel["stages"]),
        _table("Sources", COLUMNS["sources"], sources["rows"]),
        _table("Agents", COLUMNS["agents"], agents["rows"]),
    ]
    period = f"{week.isoformat()} to {(week + timedelta(days=6)).isoformat()}"
    text = f"{org_name}: the week {period} ({scope})\n\n" + "\n\n".join(p[0] for p in parts)
    page = (
        f"<p>{html.escape(org_name)}: the week {period} ({html.escape(scope)})</p>"
        "<img src='cid:funnel' alt='Funnel chart'>" + "".join(p[1] for p in parts)
    )
    chart = mail.Attachment("funnel.png", "image/png", chart_png(funnel["stages"]), content_id="funnel")
    return mail.Email(to=caller.email, subject=f"Weekly report: {period}", text=text, html=page, attachments=(chart,))


def _claim(org_id: str, week: date, uid: str, now: datetime) -> Any:
    from google.api_core.exceptions import AlreadyExists

    ref = tenancy.org_ref(org_id).collection("reportMails").document(f"{week.isoformat()}-{uid}")
    try:
        ref.create({"week": week.isoformat(), "uid": uid, "at": now})
    except AlreadyExists:
        return None
    return ref


def send_org(org_id: str, org: dict[str, Any], now: datetime) -> int:
    """The week's emails of one organization, if it is Monday 09:xx there; the number sent."""
    week = week_to_send(now, OrgSettings.of(org).zone)
    if week is None:
        return 0
    members = tenancy.org_ref(org_id).collection("members").where(filter=clients.where("active", "==", True))
    sent = 0
    for snapshot in members.stream():
        member = snapshot.to_dict() or {}
        if member.get("role") not in RECIPIENT_ROLES or not member.get("email"):
            continue
        if member.get("role") == "manager" and not member.get("teamId"):
            continue  # a manager without a team has no reports
        ref = _claim(org_id, week, snapshot.id, now)
        if ref is None:
            continue
        try:
            email = compose(caller_of(org_id, snapshot.id, member, org), week, org_name=str(org.get("name") or ""))
            mail.mailer().send(email)
        except Exception as error:  # noqa: BLE001 - release the claim: a retry within the hour sends it
            ref.delete()
            log.warning("weekly report of %s not sent: %s", org_id, type(error).__name__)
            continue
        sent += 1
    log.info("weekly reports of %s for %s: %d sent", org_id, week.isoformat(), sent)
    return sent


def run_all(now: datetime | None = None) -> int:
    """Every organization where it is Monday 09:xx now: the week's emails; the number sent in all."""
    now = now or clock.now()
    total = 0
    for snapshot in clients.db().collection("orgs").stream():
        org = snapshot.to_dict() or {}
        if org.get("active") is False or not tenancy.subscription_current(org, now):
            continue
        total += send_org(snapshot.id, org, now)
    return total
