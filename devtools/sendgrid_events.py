"""Sign SendGrid Event Webhook batches as SendGrid does, with the development key pair (emulators only).

The public half is the emulators' SENDGRID_WEBHOOK_PUBLIC_KEY (functions/comms/config.py); the private half
lives only here, outside functions/, and a production deploy refuses the public half. Tests and the e2e tier
sign with `signed_headers`; a `make run` user posts an event for an email it sent:

    .venv/bin/python -m devtools.sendgrid_events <messageId> <event> [reason]

where <event> is delivered, open, bounce, dropped, spamreport or unsubscribe (SendGrid's names).
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from typing import Any

DEV_PRIVATE_KEY = (
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsAiKM/9+F9rZgTWkJFW82YCG9+FVsUr/KbWySce9nGmhRANCAAQRvqw1pH2BmdNixcEZ"
    "WxLyo9WgM7iT81w0AHxgkRf0+rqqjBJel6srcbOCRvx4/LWp5DRZuEaOBfiqgAQgtAcq"
)
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def sign(body: bytes, timestamp: str, private_key_b64: str = DEV_PRIVATE_KEY) -> str:
    """The base64 DER ECDSA P-256/SHA-256 signature of timestamp + body (SendGrid's scheme)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    key = load_der_private_key(base64.b64decode(private_key_b64), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def signed_headers(body: bytes, *, at: float | None = None, private_key_b64: str = DEV_PRIVATE_KEY) -> dict[str, str]:
    """The headers SendGrid sends with a batch posted at `at` (now by default)."""
    timestamp = str(int(time.time() if at is None else at))
    return {
        SIGNATURE_HEADER: sign(body, timestamp, private_key_b64),
        TIMESTAMP_HEADER: timestamp,
        "Content-Type": "application/json",
    }


def event(message_id: str, kind: str, *, at: float | None = None, **fields: Any) -> dict[str, Any]:
    """One event as SendGrid posts it for an email sent with unique_args {justoMessageId}."""
    return {
        "email": "buyer@example.com",
        "timestamp": int(time.time() if at is None else at),
        "event": kind,
        "sg_event_id": uuid.uuid4().hex[:22],
        "sg_message_id": f"{uuid.uuid4().hex[:22]}.filterdrecv-1-1",
        "smtp-id": f"<{uuid.uuid4().hex}@justo.example.com>",
        "justoMessageId": message_id,
        **fields,
    }


def main(argv: list[str]) -> int:
    """Post one signed event to the local webhook; prints the answer."""
    import httpx

    from devtools import stack

    if len(argv) < 2:
        print(__doc__.strip().split("\n\n", 2)[-1], file=sys.stderr)
        return 2
    message_id, kind, *rest = argv
    extra: dict[str, Any] = {"reason": " ".join(rest)} if rest else {}
    if kind == "bounce":
        extra |= {"type": "bounce", "status": "5.1.1"}
    body = json.dumps([event(message_id, kind, **extra)]).encode()
    response = httpx.post(f"{stack.FUNCTIONS_BASE}/webhooks/email", content=body, headers=signed_headers(body))
    print(response.status_code, response.text)
    return 0 if response.status_code == 200 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
