"""Inbound calls to an organization's number (comms.inbound.voice_answer, in process, Firestore emulator): the
exact Plivo XML that rings the owner's app in every masking case, an unknown caller made a routed lead whose new
owner is rung, a queued lead's missed call, and the Dial action completing the inbound call's log."""

from __future__ import annotations

from typing import Any

import pytest

from comms import channels, config, inbound, providers
from core import tenancy
from tests.comms.conftest import World, make_lead, set_org_settings
from tests.support.leads import leads_of

pytestmark = pytest.mark.service

ORG_NUMBER = "+918045678900"  # the world's first voice number (its caller id), and the number it routes
OTHER_ORG_NUMBER = "+918035103083"  # a second number of the organization


def _numbers(org_id: str, *numbers: str) -> None:
    """The organization's own voice numbers (its channels), which route its inbound calls."""
    channels.save(org_id, {"voice": {"callerIds": list(numbers)}})


def ring(calling: str, called: str = ORG_NUMBER, uuid: str = "in-0001") -> str:
    """Plivo's answer request for a call from `calling` to `called`; the XML answered."""
    content_type, xml = inbound.voice_answer(
        {"CallUUID": uuid, "From": calling.lstrip("+"), "To": called.lstrip("+"), "Direction": "inbound"}
    )
    assert content_type == "application/xml"
    return xml


def expected(uid: str, call_id: str, caller_id: str, name: str | None, *, record: bool) -> str:
    """The whole Plivo XML that rings a member's app endpoint."""
    base = config.get().public_base
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<Response>"]
    if record:
        url = f"{base}/webhooks/voice/recording?callId={call_id}"
        lines.append(
            f'<Record action="{url}" callbackUrl="{url}" startOnDialAnswer="true" redirect="false" maxLength="3600" />'
        )
    shown = f' callerName="{name}"' if name else ""
    lines += [
        f'<Dial callerId="{caller_id}"{shown} action="{base}/webhooks/voice/status?callId={call_id}" '
        'method="POST" redirect="false" timeout="45">',
        f"<User>sip:{providers.endpoint_username(uid)}@phone.plivo.com</User>",
        "</Dial>",
        "</Response>",
    ]
    return "\n".join(lines)


def only_call(org_id: str = "org1") -> dict[str, Any]:
    """The organization's one call log."""
    (found,) = [s.to_dict() or {} for s in tenancy.org_ref(org_id).collection("calls").stream()]
    return found


# (masking, the organization's numbers (the first is its caller id), recording, number dialled, caller id shown,
# callerName shown)
MASKING: list[tuple[bool, tuple[str, ...], bool, str, str, str | None]] = [
    (False, (ORG_NUMBER,), False, ORG_NUMBER, "919876543210", None),
    (False, (ORG_NUMBER, OTHER_ORG_NUMBER), True, OTHER_ORG_NUMBER, "919876543210", None),
    (True, (ORG_NUMBER, OTHER_ORG_NUMBER), False, ORG_NUMBER, "918045678900", "+91 98XXXXXX10"),
    (True, (ORG_NUMBER, OTHER_ORG_NUMBER), True, OTHER_ORG_NUMBER, "918045678900", "+91 98XXXXXX10"),
    (True, (OTHER_ORG_NUMBER, ORG_NUMBER), False, OTHER_ORG_NUMBER, "918035103083", "+91 98XXXXXX10"),
    (True, (OTHER_ORG_NUMBER, ORG_NUMBER), True, ORG_NUMBER, "918035103083", "+91 98XXXXXX10"),
]


def test_a_lead_calling_rings_its_owner_with_the_exact_xml_of_each_masking_case(world: World, clock: Any) -> None:
    for index, (masks, numbers, record, dialled, shown_id, shown_name) in enumerate(MASKING):
        _numbers("org1", *numbers)
        set_org_settings("org1", phoneMasking=masks, callRecording=record)
        xml = ring("+919876543210", dialled, uuid=f"in-{index}")
        call_id = next(
            s.id
            for s in tenancy.org_ref("org1").collection("calls").stream()
            if (s.to_dict() or {})["providerCallId"] == f"in-{index}"
        )
        case = (masks, numbers, record, dialled)
        assert xml == expected(world.agent.uid, call_id, shown_id, shown_name, record=record), case
        if masks:  # nothing the app's SDK sees holds the lead's number, in any spelling
            assert "9876543210" not in xml and "98765" not in xml and "43210" not in xml, case


def test_an_unknown_caller_becomes_a_routed_call_lead_whose_new_owner_is_rung(world: World, clock: Any) -> None:
    _numbers("org1", ORG_NUMBER)
    set_org_settings("org1", phoneMasking=True)
    xml = ring("+919111122222")
    (new,) = [lead for lead in leads_of("org1") if lead["id"] != world.lead_id]
    assert new["source"] == "call" and new["name"] == "Inbound caller"
    assert new["assigneeId"] in {world.agent.uid, world.other_agent.uid}
    assert new["primaryPhone"]["e164"] is None and "9111122222" not in str(new)  # masked on the lead, too
    logged = only_call()
    assert (logged["leadId"], logged["agentId"], logged["status"]) == (new["id"], new["assigneeId"], "dialing")
    assert xml == expected(new["assigneeId"], logged["id"], "918045678900", "+91 91XXXXXX22", record=False)
    assert ring("+919111122222") == xml  # Plivo retries the answer request: no second lead, no second log
    assert len(leads_of("org1")) == 2 and only_call()["id"] == logged["id"]


def test_a_call_from_a_queued_lead_is_a_missed_call_on_its_log(world: World, clock: Any) -> None:
    _numbers("org1", ORG_NUMBER)
    queued = make_lead("org1", assignee=world.agent.uid, phone="90000 33333", emails=())
    tenancy.org_ref("org1").collection("leads").document(queued).update({"assigneeId": None})
    xml = ring("+919000033333")
    assert "<Hangup" in xml and "<Dial" not in xml
    missed = only_call()
    assert (missed["leadId"], missed["agentId"], missed["status"], missed["outcome"]) == (
        queued,
        None,
        "completed",
        "no-answer",
    )
    from triggers.comms_activity import call_changed

    assert call_changed("org1", missed["id"], None, missed) == 2  # the lead's history: the call and its outcome


def test_callers_without_a_phone_number_are_hung_up_on_and_change_nothing(world: World, clock: Any) -> None:
    _numbers("org1", ORG_NUMBER)
    for calling in ["", "anonymous", "+", "12", "9" * 16, "+91 ²²²", "+999 1234567"]:
        assert "<Hangup" in ring(calling), calling
    assert len(leads_of("org1")) == 1
    assert list(tenancy.org_ref("org1").collection("calls").stream()) == []


def test_the_dial_action_completes_an_answered_inbound_call_once(world: World, clock: Any) -> None:
    _numbers("org1", ORG_NUMBER)
    ring("+919876543210")
    call_id = only_call()["id"]
    assert inbound.voice_status(call_id, {"DialStatus": "completed", "DialBLegDuration": "73"})
    assert not inbound.voice_status(call_id, {"DialStatus": "no-answer", "DialBLegDuration": "0"})
    done = only_call()
    assert (done["status"], done["outcome"], done["durationSec"], done["version"]) == ("completed", "connected", 73, 2)
    assert (done["direction"], done["agentId"]) == ("inbound", world.agent.uid)


def test_a_call_to_another_organizations_number_never_reaches_ours(world: World, clock: Any) -> None:
    from tests.support.factory import add_person, make_org

    make_org("org2")
    theirs = add_person("org2", "agent", "north")
    make_lead("org2", assignee=theirs.uid, phone="98765 43210", emails=())  # the same buyer, a lead of both
    _numbers("org1", ORG_NUMBER)
    _numbers("org2", OTHER_ORG_NUMBER)
    xml = ring("+919876543210", OTHER_ORG_NUMBER)
    assert providers.endpoint_username(theirs.uid) in xml and providers.endpoint_username(world.agent.uid) not in xml
    assert list(tenancy.org_ref("org1").collection("calls").stream()) == []
    assert only_call("org2")["agentId"] == theirs.uid
