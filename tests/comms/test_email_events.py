"""SendGrid Event Webhook batches applied by comms.inbound.email_events (in process, Firestore emulator):
every event kind's effect, once per sg_event_id, a malformed event never stopping the batch, and an event only
ever reaching the message our own index names."""

from __future__ import annotations

import email.policy
import json
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest

from comms import channels, inbound, service
from comms.models import EmailCreate
from core import tenancy
from core.caller import caller_of
from devtools.sendgrid_events import event
from tests.comms.conftest import World, make_lead
from tests.leads.test_api import stored as stored_lead
from tests.support.factory import add_person, make_org
from tests.support.ports import CapturingMailer
from tests.support.ports import mailer as mailer  # the fixture

pytestmark = pytest.mark.service


def send(org_id: str, uid: str, lead_id: str) -> dict[str, Any]:
    """An email the member sends to the lead through comms.service (the capturing mailer keeps the MIME)."""
    caller = caller_of(
        org_id, uid, tenancy.load_member(org_id, uid, fresh=True) or {}, tenancy.load_org(org_id, fresh=True) or {}
    )
    data = EmailCreate.model_validate({"leadId": lead_id, "subject": "Brochure", "body": "Hello"})
    return service.send_email(caller=caller, data=data)


def stored(org_id: str, message_id: str) -> dict[str, Any]:
    """A message document as stored."""
    return tenancy.org_ref(org_id).collection("messages").document(message_id).get().to_dict() or {}


def test_an_email_goes_out_with_the_sendgrid_header_that_brings_its_id_back(
    world: World, mailer: CapturingMailer, clock: Any
) -> None:
    sent = send("org1", world.agent.uid, world.lead_id)
    mime = message_from_bytes(mailer.mime[-1], policy=email.policy.default)
    assert json.loads(str(mime["X-SMTPAPI"])) == {"unique_args": {"justoMessageId": sent["id"]}}
    assert mime["X-Justo-Message-Id"] is None  # nothing else of ours reaches the buyer's mailbox


# (events of the batch, status after, failureReason, doNotContact after); the email was sent first
EVENTS: list[tuple[str, list[dict[str, Any]], str, str | None, list[str]]] = [
    ("processed", [{"event": "processed"}], "sent", None, []),
    ("deferred", [{"event": "deferred", "response": "400 try again", "attempt": "1"}], "sent", None, []),
    ("delivered", [{"event": "delivered", "response": "250 OK"}], "delivered", None, []),
    ("open", [{"event": "delivered"}, {"event": "open", "sg_machine_open": False}], "read", None, []),
    (
        "click",
        [{"event": "delivered"}, {"event": "click", "url": "https://justo.example.com/p"}],
        "delivered",
        None,
        [],
    ),
    (
        "bounce",
        [{"event": "bounce", "type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 <buyer5@example.com>: unknown"}],
        "failed",
        "bounce: 550 5.1.1 <[address]>: unknown",
        [],
    ),
    (
        "blocked",
        [{"event": "bounce", "type": "blocked", "reason": "554 blocked, call +91 98765 43210"}],
        "failed",
        "blocked: 554 blocked, call [number]",
        [],
    ),
    ("dropped", [{"event": "dropped", "reason": "Bounced Address"}], "failed", "dropped: Bounced Address", []),
    ("spamreport", [{"event": "delivered"}, {"event": "spamreport"}], "delivered", None, ["email"]),
    ("unsubscribe", [{"event": "unsubscribe"}], "sent", None, ["email"]),
    ("group_unsubscribe", [{"event": "group_unsubscribe", "asm_group_id": 7}], "sent", None, ["email"]),
    ("an unknown kind", [{"event": "group_resubscribe"}, {"event": "something-new"}], "sent", None, []),
]


def test_each_event_kind_moves_the_email_as_the_agent_expects_and_a_redelivery_changes_nothing(
    world: World, mailer: CapturingMailer, clock: Any
) -> None:
    at = clock.at.timestamp()
    for index, (name, batch, status, reason, do_not_contact) in enumerate(EVENTS):
        address = f"buyer{index}@example.com"
        lead_id = make_lead("org1", assignee=world.agent.uid, phone=f"90001 {index:05d}", emails=(address,))
        sent = send("org1", world.agent.uid, lead_id)
        events = [event(sent["id"], "?", at=at + n + 1) | fields for n, fields in enumerate(batch)]
        inbound.email_events(events)
        message = stored("org1", sent["id"])
        assert (message["status"], message["failureReason"]) == (status, reason), name
        assert address not in json.dumps(message, default=str).replace(message["to"], ""), name
        assert stored_lead(lead_id, "org1")["doNotContact"] == do_not_contact, name
        before = (message, stored_lead(lead_id, "org1"))
        assert inbound.email_events(events)["applied"] == 0, name  # SendGrid redelivers the batch
        assert (stored("org1", sent["id"]), stored_lead(lead_id, "org1")) == before, name


def test_an_opt_out_is_recorded_once_as_the_systems_change_and_refuses_the_next_email(
    world: World, mailer: CapturingMailer, clock: Any
) -> None:
    from core.errors import ApiError
    from triggers.activity import lead_entries

    first = send("org1", world.agent.uid, world.lead_id)
    version = stored_lead(world.lead_id, "org1")["version"]
    before = stored_lead(world.lead_id, "org1")
    spam = event(first["id"], "spamreport", at=clock.at.timestamp())
    unsubscribe = event(first["id"], "unsubscribe", at=clock.at.timestamp() + 5)
    assert inbound.email_events([spam, unsubscribe]) == {"applied": 2, "duplicate": 0, "skipped": 0}
    after = stored_lead(world.lead_id, "org1")
    assert after["doNotContact"] == ["email"] and after["version"] == version + 1 and after["updatedBy"] is None
    (entry,) = lead_entries(before, after)  # the history trigger shows it as one update
    assert entry["changes"]["doNotContact"] == {"before": [], "after": ["email"]}
    with pytest.raises(ApiError) as refused:
        send("org1", world.agent.uid, world.lead_id)
    assert refused.value.code == "FAILED_PRECONDITION"


def test_one_malformed_event_leaves_the_rest_of_the_batch_applied(
    world: World, mailer: CapturingMailer, clock: Any
) -> None:
    sent = send("org1", world.agent.uid, world.lead_id)
    good = event(sent["id"], "delivered", at=clock.at.timestamp())
    batch: list[Any] = [
        good,
        "not an event",
        None,
        {"event": ["delivered"], "sg_event_id": {"a": 1}, "justoMessageId": sent["id"]},
        event(sent["id"], "delivered") | {"sg_event_id": None},
        event("../../etc", "delivered"),
        event("x" * 2000, "open"),
        event(sent["id"], "open") | {"timestamp": "9" * 40},
    ]
    counts = inbound.email_events(batch)
    assert counts["applied"] == 2 and counts["skipped"] == 6
    message = stored("org1", sent["id"])
    assert message["status"] == "read"
    assert [step["status"] for step in message["statusHistory"]] == ["queued", "sent", "delivered", "read"]


def test_an_event_only_reaches_the_message_our_index_names(world: World, mailer: CapturingMailer, clock: Any) -> None:
    ours = send("org1", world.agent.uid, world.lead_id)
    make_org("org2")
    channels.save("org2", {"email": {"fromAddress": "sales@org2.example.com"}})  # its own sender
    theirs_agent = add_person("org2", "agent", "north")
    theirs_lead = make_lead("org2", assignee=theirs_agent.uid, phone="90000 55555", emails=("b2@example.com",))
    theirs = send("org2", theirs_agent.uid, theirs_lead)
    # a message of ours that never went out has no index entry: an event naming it is nobody's
    unsent = tenancy.org_ref("org1").collection("messages").document("msg_unsent")
    unsent.set(stored("org1", ours["id"]) | {"id": "msg_unsent", "status": "queued", "providerMessageId": None})
    at = clock.at.timestamp()
    counts = inbound.email_events(
        [
            event(theirs["id"], "dropped", at=at, reason="Bounced Address"),
            event(theirs["id"], "spamreport", at=at),
            event("msg_unsent", "delivered", at=at),
            event("msg_" + "0" * 20, "delivered", at=at),
        ]
    )
    assert counts == {"applied": 2, "duplicate": 0, "skipped": 2}
    assert stored("org2", theirs["id"])["status"] == "failed"
    assert stored_lead(theirs_lead, "org2")["doNotContact"] == ["email"]
    assert stored("org1", ours["id"])["status"] == "sent" and stored("org1", "msg_unsent")["status"] == "queued"
    assert stored_lead(world.lead_id, "org1")["doNotContact"] == []
    assert tenancy.org_ref("org2").collection("messages").document(ours["id"]).get().exists is False


def test_applied_events_are_remembered_for_a_week_with_nothing_personal(
    world: World, mailer: CapturingMailer, clock: Any
) -> None:
    from core import clients

    sent = send("org1", world.agent.uid, world.lead_id)
    inbound.email_events([event(sent["id"], "delivered", at=clock.at.timestamp())])
    (marker,) = [s.to_dict() or {} for s in clients.db().collection(inbound.EMAIL_EVENTS_SEEN).stream()]
    assert marker["expiresAt"] - marker["at"] == timedelta(days=7)
    assert set(marker) == {"orgId", "messageId", "event", "at", "expiresAt"}


def test_a_batch_larger_than_one_request_applies_is_finished_by_sendgrids_retries(
    world: World, mailer: CapturingMailer, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.errors import ApiError

    monkeypatch.setattr(inbound, "MAX_EMAIL_EVENTS", 2)
    leads = [
        make_lead("org1", assignee=world.agent.uid, phone=f"90002 0000{n}", emails=(f"c{n}@example.com",))
        for n in range(5)
    ]
    sent = [send("org1", world.agent.uid, lead_id)["id"] for lead_id in leads]
    batch = [event(message_id, "delivered", at=clock.at.timestamp()) for message_id in sent]
    for _attempt in range(2):
        with pytest.raises(ApiError) as again:
            inbound.email_events(batch)
        assert again.value.code == "UNAVAILABLE"
    assert inbound.email_events(batch) == {"applied": 1, "duplicate": 4, "skipped": 0}
    assert [stored("org1", message_id)["status"] for message_id in sent] == ["delivered"] * 5
