"""SendGrid's signed event webhook, checked without an emulator: SendGrid's own published example verifies, and
every way a delivery can differ from what SendGrid signed (or be replayed) is refused."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from comms import config as comms_config
from comms.inbound import scrub_reason
from devtools import sendgrid_events
from webhooks import signatures

pytestmark = pytest.mark.unit

# The example of SendGrid's own SDKs (sendgrid-nodejs packages/eventwebhook, sendgrid-python test_eventwebhook):
# their verification key, a dropped event's body as SendGrid posted it (trailing CRLF included) and its headers.
SENDGRID_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpV"
    "KS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SENDGRID_SIGNATURE = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
SENDGRID_TIMESTAMP = "1600112502"
SENDGRID_BODY = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        separators=(",", ":"),
    )
    + "\r\n"
).encode()


def verify(key: str, timestamp: str | None, body: bytes, signature: str | None, now: float) -> bool:
    return signatures.valid_sendgrid_signature(key, timestamp, body, signature, now=now)


def test_sendgrids_own_example_verifies_with_its_key_armoured_or_not() -> None:
    now = int(SENDGRID_TIMESTAMP) + 3
    assert verify(SENDGRID_KEY, SENDGRID_TIMESTAMP, SENDGRID_BODY, SENDGRID_SIGNATURE, now)
    pem = f"-----BEGIN PUBLIC KEY-----\n{SENDGRID_KEY[:64]}\n{SENDGRID_KEY[64:]}\n-----END PUBLIC KEY-----\n"
    assert verify(pem, SENDGRID_TIMESTAMP, SENDGRID_BODY, SENDGRID_SIGNATURE, now)


def _other_key_signature() -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    signed = other.sign(SENDGRID_TIMESTAMP.encode() + SENDGRID_BODY, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signed).decode()


NOW = int(SENDGRID_TIMESTAMP) + 3
# (what differs from the delivery SendGrid signed, timestamp header, body, signature header, now)
REFUSED: list[tuple[str, str | None, bytes, str | None, float]] = [
    (
        "body changed by a byte",
        SENDGRID_TIMESTAMP,
        SENDGRID_BODY.replace(b"dropped", b"dropper"),
        SENDGRID_SIGNATURE,
        NOW,
    ),
    ("body without its trailing CRLF", SENDGRID_TIMESTAMP, SENDGRID_BODY.rstrip(), SENDGRID_SIGNATURE, NOW),
    ("timestamp header changed", str(int(SENDGRID_TIMESTAMP) + 1), SENDGRID_BODY, SENDGRID_SIGNATURE, NOW),
    ("replayed 10 minutes later", SENDGRID_TIMESTAMP, SENDGRID_BODY, SENDGRID_SIGNATURE, int(SENDGRID_TIMESTAMP) + 601),
    ("replayed a day later", SENDGRID_TIMESTAMP, SENDGRID_BODY, SENDGRID_SIGNATURE, int(SENDGRID_TIMESTAMP) + 86_400),
    ("timestamp far ahead", SENDGRID_TIMESTAMP, SENDGRID_BODY, SENDGRID_SIGNATURE, int(SENDGRID_TIMESTAMP) - 3600),
    ("no signature header", SENDGRID_TIMESTAMP, SENDGRID_BODY, None, NOW),
    ("no timestamp header", None, SENDGRID_BODY, SENDGRID_SIGNATURE, NOW),
    ("empty signature", SENDGRID_TIMESTAMP, SENDGRID_BODY, "", NOW),
    ("signature not base64", SENDGRID_TIMESTAMP, SENDGRID_BODY, "MEUC!!!", NOW),
    ("signature not DER", SENDGRID_TIMESTAMP, SENDGRID_BODY, base64.b64encode(b"x" * 70).decode(), NOW),
    ("signature truncated", SENDGRID_TIMESTAMP, SENDGRID_BODY, SENDGRID_SIGNATURE[:40], NOW),
    ("signed by another key", SENDGRID_TIMESTAMP, SENDGRID_BODY, _other_key_signature(), NOW),
    ("timestamp not a number", "16001125O2", SENDGRID_BODY, SENDGRID_SIGNATURE, NOW),
    ("timestamp in other digits", "١٦٠٠١١٢٥٠٢", SENDGRID_BODY, SENDGRID_SIGNATURE, NOW),
    ("timestamp enormous", "9" * 400, SENDGRID_BODY, SENDGRID_SIGNATURE, NOW),
    ("timestamp negative", "-1600112502", SENDGRID_BODY, SENDGRID_SIGNATURE, NOW),
]


@pytest.mark.parametrize(("what", "timestamp", "body", "signature", "now"), REFUSED, ids=[r[0] for r in REFUSED])
def test_anything_but_what_sendgrid_signed_just_now_is_refused(
    what: str, timestamp: str | None, body: bytes, signature: str | None, now: float
) -> None:
    assert not verify(SENDGRID_KEY, timestamp, body, signature, now)


def test_the_development_signer_signs_for_the_emulators_key_only() -> None:
    body = b'[{"event":"delivered"}]'
    headers = sendgrid_events.signed_headers(body, at=NOW)
    signature, timestamp = headers[sendgrid_events.SIGNATURE_HEADER], headers[sendgrid_events.TIMESTAMP_HEADER]
    assert verify(comms_config.DEV_SENDGRID_PUBLIC_KEY, timestamp, body, signature, NOW + 1)
    assert not verify(SENDGRID_KEY, timestamp, body, signature, NOW + 1)


def _public_key(kind: str) -> str:
    """A base64 SPKI public key of another kind than SendGrid's."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = ec.generate_private_key(ec.SECP384R1()) if kind == "P-384" else rsa.generate_private_key(65537, 1024)
    return base64.b64encode(private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.mark.parametrize(
    ("key", "refusal"),
    [
        ("", "SENDGRID_WEBHOOK_PUBLIC_KEY is required"),
        (comms_config.DEV_SENDGRID_PUBLIC_KEY, "development key"),
        (
            comms_config.DEV_SENDGRID_PUBLIC_KEY[:40] + "\n" + comms_config.DEV_SENDGRID_PUBLIC_KEY[40:],
            "development key",
        ),
        ("bm90IGEga2V5", "not a P-256 public key"),
        (_public_key("P-384"), "not a P-256 public key"),  # a public key, but not the kind SendGrid signs with
        (_public_key("RSA"), "not a P-256 public key"),
    ],
)
def test_production_refuses_to_verify_with_no_key_the_development_key_or_not_a_key(
    monkeypatch: pytest.MonkeyPatch, key: str, refusal: str
) -> None:
    from core import settings
    from webhooks import api

    production = replace(settings.load(environ_is_emulator=True), emulator=False)
    config = replace(comms_config.load(), sendgrid_webhook_key=key)
    with monkeypatch.context() as patched:  # undone before the comms fixtures reset the real caches
        patched.setattr(settings, "get", lambda: production)
        patched.setattr(comms_config, "get", lambda: config)
        with pytest.raises(settings.SettingsError, match=refusal):
            api._sendgrid_key()
        patched.setattr(comms_config, "get", lambda: replace(config, sendgrid_webhook_key=SENDGRID_KEY))
        assert api._sendgrid_key() == SENDGRID_KEY


REASONS: list[tuple[str, str]] = [
    (
        "550 5.1.1 <asha.buyer@example.com>: Recipient address rejected",
        "550 5.1.1 <[address]>: Recipient address rejected",
    ),
    ("mailbox ravi+crm@mail.example.co.in is full", "mailbox [address] is full"),
    ("call +91 98765 43210 to unblock", "call [number] to unblock"),
    ("Bounced Address", "Bounced Address"),
    ("x" * 500, "x" * 200),
]


@pytest.mark.parametrize(("reason", "shown"), REASONS)
def test_failure_reasons_reach_agents_without_addresses_or_numbers(reason: str, shown: str) -> None:
    assert scrub_reason(reason) == shown
