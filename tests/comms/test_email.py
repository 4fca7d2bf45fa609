"""Email to a lead with attachments: the real SMTP adapter (STARTTLS, login) against a local aiosmtpd server."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import mail, tenancy
from devtools.emulators import free_port
from devtools.inproc import call
from tests.comms.conftest import LEAD_EMAIL, World, set_org_settings

pytestmark = pytest.mark.http

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + bytes(reversed(range(256))) * 32 + b"\xff\xd9"


@dataclass
class Inbox:
    """What the local SMTP server received."""

    host: str
    port: int
    envelopes: list[Any] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """aiosmtpd on a free port requiring STARTTLS (a self-signed certificate the client trusts) and a login."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # ssl.create_default_context() of the adapter trusts it
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.envelopes.append(envelope)
            inbox.encrypted.append(session.ssl is not None)
            return "250 Message accepted for delivery"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
        if ok:
            inbox.logins.append((data.login, data.password))
        return AuthResult(success=ok)

    controller = Controller(
        Handler(),
        hostname=inbox.host,
        port=inbox.port,
        authenticator=authenticate,
        tls_context=server_tls,
        require_starttls=True,
        ready_timeout=30,
    )
    controller.start()
    yield inbox
    controller.stop()


def upload(world: World, name: str, content_type: str, data: bytes) -> str:
    """A ready attachment of the world's lead."""
    ticket = call(
        "POST",
        "/attachments",
        token=world.agent.token(),
        json_body={"leadId": world.lead_id, "fileName": name, "contentType": content_type, "sizeBytes": len(data)},
    )
    assert ticket.status == 201, ticket.body
    assert httpx.put(ticket.body["uploadUrl"], content=data, headers=ticket.body["uploadHeaders"]).status_code == 200
    assert call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token()).status == 200
    return str(ticket.body["id"])


def test_an_email_with_two_attachments_arrives_with_both_byte_for_byte(
    world: World, storage_emulator: str, smtp_server: Inbox, clock: Any
) -> None:
    mail.install(
        mail.SmtpMailer(
            smtp_server.host,
            smtp_server.port,
            "mailer",
            "s3cret",
            "Demo Realty <sales@demo.example.com>",
        )
    )
    ids = [upload(world, "Price list.pdf", "application/pdf", PDF), upload(world, "site.jpg", "image/jpeg", JPEG)]
    body = {
        "leadId": world.lead_id,
        "subject": "Skyline brochure",
        "body": "Dear Asha,\nPlease find the documents.",
        "attachmentIds": ids,
    }
    sent = call("POST", "/comms/email", token=world.agent.token(), json_body=body)
    assert sent.status == 201, sent.body
    assert sent.body["status"] == "sent" and sent.body["channel"] == "email" and sent.body["attachmentIds"] == ids
    assert smtp_server.logins == [(b"mailer", b"s3cret")] and smtp_server.encrypted == [True]
    (envelope,) = smtp_server.envelopes
    # from the organization's own sender (its channels), not the relay's platform address
    assert envelope.mail_from == "sales@org1.example.com" and envelope.rcpt_tos == [LEAD_EMAIL]
    received = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert received["Subject"] == "Skyline brochure" and received["To"] == LEAD_EMAIL
    assert received["From"] == "Org One Homes <sales@org1.example.com>"
    # SendGrid's relay reads (and strips) X-SMTPAPI: its unique_args come back on every delivery event
    assert json.loads(received["X-SMTPAPI"]) == {"unique_args": {"justoMessageId": sent.body["id"]}}
    assert received.get_content_type() == "multipart/mixed"
    parts = list(received.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "application/pdf", "image/jpeg"]
    assert parts[0].get_content().replace("\r\n", "\n").strip() == "Dear Asha,\nPlease find the documents."
    assert [part.get_filename() for part in parts[1:]] == ["Price list.pdf", "site.jpg"]
    assert [part.get_content_disposition() for part in parts[1:]] == ["attachment", "attachment"]
    assert parts[1].get_payload(decode=True) == PDF and parts[2].get_payload(decode=True) == JPEG


def test_email_refuses_attachments_of_other_leads_and_do_not_contact(
    world: World, storage_emulator: str, clock: Any
) -> None:
    from tests.comms.conftest import make_lead

    class Recorder:
        def __init__(self) -> None:
            self.sent: list[mail.Email] = []

        def send(self, message: mail.Email) -> None:
            self.sent.append(message)

    recorder = Recorder()
    mail.install(recorder)
    other = make_lead("org1", assignee=world.agent.uid, phone="90000 22222", emails=("other@example.com",))
    foreign = upload(world, "a.pdf", "application/pdf", PDF)
    body = {"leadId": other, "subject": "Hi", "body": "Hello", "attachmentIds": [foreign]}
    refused = call("POST", "/comms/email", token=world.agent.token(), json_body=body)
    assert refused.status == 400 and "attachmentIds.0" in refused.error["fields"]
    tenancy.org_ref("org1").collection("leads").document(other).update({"doNotContact": ["email"]})
    blocked = call("POST", "/comms/email", token=world.agent.token(), json_body=body | {"attachmentIds": []})
    assert blocked.status == 409 and blocked.error["code"] == "FAILED_PRECONDITION"
    assert recorder.sent == []


def test_masking_org_agent_sees_a_masked_address_and_a_refused_server_fails_the_email(world: World, clock: Any) -> None:
    set_org_settings("org1", phoneMasking=True)
    mail.install(mail.SmtpMailer("127.0.0.1", 9, "", "", "x@demo.example.com", starttls=False))
    body = {"leadId": world.lead_id, "subject": "Hi", "body": "Hello"}
    failed = call("POST", "/comms/email", token=world.agent.token(), json_body=body)
    assert failed.status == 201 and failed.body["status"] == "failed"
    assert failed.body["to"] == "a***@example.com" and LEAD_EMAIL not in failed.text
    assert failed.body["failureReason"].startswith("mail server:")
