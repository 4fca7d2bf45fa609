"""First contact through the real handlers: the assignee's first call logged or dialled (VoIP), SMS, WhatsApp or
email sent, or stage move past `new` stamps `firstContactAt` and `firstContactSeconds` and clears `slaDueAt`,
once; the same action by anyone else (the team's manager, an admin) stamps nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from devtools.inproc import Response, call
from tests.comms.conftest import World
from tests.support.factory import Person

pytestmark = pytest.mark.http


def _lead(world: World) -> dict[str, Any]:
    return tenancy.org_ref("org1").collection("leads").document(world.lead_id).get().to_dict() or {}


def _call(person: Person, lead_id: str) -> Response:
    body = {
        "leadId": lead_id,
        "direction": "outbound",
        "startedAt": "2026-11-25T05:50:00Z",
        "durationSec": 40,
        "outcome": "interested",
    }
    return call("POST", "/comms/calls", token=person.token(), json_body=body)


def _sms(person: Person, lead_id: str) -> Response:
    body = {"leadId": lead_id, "templateId": "1107170000000000001", "params": ["Sat 11:00"]}
    return call("POST", "/comms/sms", token=person.token(), json_body=body)


def _whatsapp(person: Person, lead_id: str) -> Response:
    body = {"leadId": lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    return call("POST", "/comms/whatsapp", token=person.token(), json_body=body)


def _email(person: Person, lead_id: str) -> Response:
    body = {"leadId": lead_id, "subject": "Brochure", "body": "As discussed."}
    return call("POST", "/comms/email", token=person.token(), json_body=body)


def _voip(person: Person, lead_id: str) -> Response:
    return call("POST", "/comms/voip/session", token=person.token(), json_body={"leadId": lead_id})


def _visit(person: Person, lead_id: str) -> Response:
    from core import clock

    # a visit scheduled moves the lead to site-visit-scheduled: a stage move past new, by whoever scheduled it
    when = clock.now() + timedelta(days=2)
    body = {"leadId": lead_id, "scheduledAt": when.isoformat(), "allowDoubleBooking": True}
    return call("POST", "/visits", token=person.token(), json_body=body)


def _stage(person: Person, lead_id: str) -> Response:
    return call("PATCH", f"/leads/{lead_id}", token=person.token(), json_body={"stage": "contacted"})


PATHS: dict[str, Callable[[Person, str], Response]] = {
    "call": _call,
    "voip": _voip,
    "sms": _sms,
    "whatsapp": _whatsapp,
    "email": _email,
    "stage": _stage,
    "visit": _visit,
}


# The route each contact path goes through: tests/sla/test_unit.py fails a comms write route in neither this
# table nor its exemptions, so a new way to reach a buyer cannot forget first contact.
ROUTE_OF = {
    "call": "POST /comms/calls",
    "voip": "POST /comms/voip/session",
    "sms": "POST /comms/sms",
    "whatsapp": "POST /comms/whatsapp",
    "email": "POST /comms/email",
    "stage": "PATCH /leads/{lead_id}",
    "visit": "POST /visits",
}


def _with_deadline(world: World, clock: Any) -> Any:
    """The lead assigned ten minutes ago with its deadline five minutes ahead (as the routing engine writes)."""
    assigned = clock.at - timedelta(minutes=10)
    tenancy.org_ref("org1").collection("leads").document(world.lead_id).update(
        {"assignedAt": assigned, "slaDueAt": clock.at + timedelta(minutes=5)}
    )
    return assigned


@pytest.mark.parametrize("path", sorted(PATHS))
def test_the_assignees_first_contact_is_stamped_once_and_stops_the_sla(
    world: World, clock: Any, mailer: Any, path: str
) -> None:
    _with_deadline(world, clock)
    answer = PATHS[path](world.agent, world.lead_id)
    assert answer.status in (200, 201), answer.body
    if path in ("sms", "whatsapp", "email"):
        assert answer.body["status"] == "sent", answer.body
    lead = _lead(world)
    assert lead["firstContactAt"] == clock.at
    assert lead["firstContactSeconds"] == 600  # from assignedAt, not createdAt
    assert lead["slaDueAt"] is None
    first = lead["firstContactAt"]
    clock.at += timedelta(minutes=3)
    for again in sorted(PATHS):  # every later contact, by any path, leaves the first one as it was
        if again not in ("stage", "visit"):
            assert PATHS[again](world.agent, world.lead_id).status in (200, 201)
    later = _lead(world)
    assert (later["firstContactAt"], later["firstContactSeconds"]) == (first, 600)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_someone_elses_action_is_not_the_first_contact(world: World, clock: Any, mailer: Any, path: str) -> None:
    _with_deadline(world, clock)
    for other in (world.manager, world.admin):
        answer = PATHS[path](other, world.lead_id)
        assert answer.status in (200, 201), answer.body
    lead = _lead(world)
    assert lead.get("firstContactAt") is None and lead.get("firstContactSeconds") is None
    assert lead["slaDueAt"] == clock.at + timedelta(minutes=5)  # the agent's clock keeps running


def test_without_assigned_at_the_seconds_count_from_creation(world: World, clock: Any) -> None:
    created = _lead(world)["createdAt"]
    clock.at = created + timedelta(minutes=7, seconds=5)
    assert _call(world.agent, world.lead_id).status == 201
    assert _lead(world)["firstContactSeconds"] == 425


def test_a_stage_move_that_is_no_move_past_new_is_no_contact(world: World, clock: Any) -> None:
    _with_deadline(world, clock)
    answer = call("PATCH", f"/leads/{world.lead_id}", token=world.agent.token(), json_body={"tags": ["hot"]})
    assert answer.status == 200, answer.body
    assert _lead(world).get("firstContactAt") is None
    assert _stage(world.agent, world.lead_id).status == 200
    assert _lead(world)["firstContactAt"] == clock.at
    assert answer.body.get("firstContactAt") is None


def test_a_failed_send_is_no_contact(world: World, clock: Any) -> None:
    from comms import providers

    class Refusing:
        def send(self, channel: Any, message: Any) -> str:
            raise providers.ProviderError("the number is not on WhatsApp")

    _with_deadline(world, clock)
    providers.install(whatsapp=Refusing(), sms=Refusing())
    assert _whatsapp(world.agent, world.lead_id).body["status"] == "failed"
    assert _sms(world.agent, world.lead_id).body["status"] == "failed"
    assert _lead(world).get("firstContactAt") is None
