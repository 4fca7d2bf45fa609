"""Pure rules of comms: the promotional window, status order, DLT text, TURN, masking, signatures, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from comms import providers, rules
from comms.contact import mask_email
from leads.phones import mask
from webhooks import signatures

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 11, 25, 3, 29, tzinfo=UTC), datetime(2026, 11, 25, 3, 30, tzinfo=UTC)),  # 08:59 IST
        (datetime(2026, 11, 25, 3, 30, tzinfo=UTC), None),  # 09:00 IST opens
        (datetime(2026, 11, 25, 15, 29, tzinfo=UTC), None),  # 20:59 IST
        (datetime(2026, 11, 25, 15, 30, tzinfo=UTC), datetime(2026, 11, 26, 3, 30, tzinfo=UTC)),  # 21:00 IST closed
        (datetime(2026, 11, 25, 20, 0, tzinfo=UTC), datetime(2026, 11, 26, 3, 30, tzinfo=UTC)),  # 01:30 IST
    ],
)
def test_promotional_window_is_nine_to_nine_in_the_orgs_zone(utc: datetime, expected: datetime | None) -> None:
    assert rules.promotional_send_after(utc, "Asia/Kolkata") == expected


def test_promotional_window_follows_another_zone() -> None:
    noon_utc = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 07:00 in New York
    assert rules.promotional_send_after(noon_utc, "America/New_York") == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_statuses_only_move_forward() -> None:
    assert rules.moves_forward("queued", "sent") and rules.moves_forward("sent", "read")
    assert rules.moves_forward("sent", "failed")
    assert not rules.moves_forward("read", "delivered") and not rules.moves_forward("delivered", "sent")
    assert not rules.moves_forward("read", "failed") and not rules.moves_forward("delivered", "delivered")


def test_dlt_text_is_filled_in_order() -> None:
    assert rules.fill_dlt_text("Hi {#var#}, visit at {#var#}.", ["Asha", "11:00"]) == "Hi Asha, visit at 11:00."


def test_turn_credentials_follow_coturns_rest_scheme() -> None:
    username, credential = rules.turn_credentials(
        secret="s", uid="u1", now=datetime(2026, 1, 1, tzinfo=UTC), ttl_sec=60
    )
    assert username == f"{int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) + 60}:u1"
    assert credential == base64.b64encode(hmac.new(b"s", username.encode(), hashlib.sha1).digest()).decode()


def test_masks() -> None:
    assert mask("+919876543210") == "+91 98XXXXXX10"
    assert mask("+14155550123") == "+1 41XXXXXX23"
    assert mask_email("asha@example.com") == "a***@example.com"


def test_plivo_signed_string_sorts_query_and_form_params() -> None:
    base = signatures.plivo_v3_base("POST", "https://h/webhooks/voice?b=2&a=1", {"To": "1", "From": "2"})
    assert base == "https://h/webhooks/voice?a=1&b=2.From2To1"
    assert signatures.plivo_v3_base("POST", "https://h/w", {"B": "x", "A": "y"}) == "https://h/w?AyBx"
    signature = signatures.plivo_v3_signature("tok", "POST", "https://h/w", {"A": "y"}, "n1")
    expected = base64.b64encode(hmac.new(b"tok", b"https://h/w?Ay.n1", hashlib.sha256).digest()).decode()
    assert signature == expected
    assert signatures.valid_plivo_signature("tok", "POST", "https://h/w", {"A": "y"}, "n1", f"x,{signature}")
    assert not signatures.valid_plivo_signature("tok", "POST", "https://h/w", {"A": "z"}, "n1", signature)


def test_hub_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    header = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert signatures.valid_hub_signature("secret", body, header)
    assert not signatures.valid_hub_signature("secret", body + b" ", header)
    assert not signatures.valid_hub_signature("secret", body, None)


def test_retries_back_off_exponentially_and_stop_on_final_errors() -> None:
    waits: list[float] = []
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise providers.ProviderError("provider error 503", retryable=True)
        return "ok"

    assert providers.with_retries(flaky, attempts=4, backoff_sec=0.5, sleep=waits.append) == "ok"
    assert waits == [0.5, 1.0]

    def refused() -> str:
        attempts.append(1)
        raise providers.ProviderError("provider refused (400)")

    attempts.clear()
    with pytest.raises(providers.ProviderError, match="refused"):
        providers.with_retries(refused, attempts=4, backoff_sec=0.5, sleep=waits.append)
    assert len(attempts) == 1


def test_plivo_dial_xml_dials_the_number_with_the_caller_id() -> None:
    voice = providers.PlivoVoice(auth_id="MA1", auth_token="t")
    content_type, xml = voice.dial_instructions(
        call_id="call_1", number="+919876543210", caller_id="+918045678900", record=False, callback_base="https://f"
    )
    assert content_type == "application/xml"
    assert '<Dial callerId="918045678900" action="https://f/webhooks/voice/status?callId=call_1"' in xml
    assert "<Number>919876543210</Number>" in xml and "<Record" not in xml


def test_provider_reasons_lose_phone_numbers() -> None:
    assert providers.scrub("invalid dst +91 98765 43210 for src") == "invalid dst [number] for src"
    assert providers.scrub("template 1107170000000000001 mismatch") == "template [number] mismatch"


@pytest.mark.parametrize(
    ("build", "missing"),
    [
        ("sms_sender", "PLIVO_SMS_AUTH_ID"),
        ("sms_sender", "SMS_WEBHOOK_SECRET"),
        ("voice", "PLIVO_AUTH_ID"),
        ("voice", "VOICE_AUTH_TOKEN"),
    ],
)
def test_in_production_each_provider_refuses_to_work_without_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, build: str, missing: str
) -> None:
    import dataclasses

    from comms import config
    from core import settings
    from core.settings import SettingsError

    production = dataclasses.replace(settings.load(environ_is_emulator=True), emulator=False)
    monkeypatch.setattr(settings, "get", lambda: production)
    needed = [
        *("PLIVO_AUTH_ID", "PLIVO_SMS_AUTH_ID"),
        *("SMS_WEBHOOK_SECRET", "VOICE_AUTH_TOKEN"),
    ]
    for name in needed:
        monkeypatch.setenv(name, "set-" + name.lower())
    monkeypatch.delenv(missing)
    config.reset()
    providers.install()
    try:
        loaded = config.load()
        assert loaded.live and loaded.public_base == "https://asia-south1-demo-justo.cloudfunctions.net"
        with pytest.raises(SettingsError, match=missing):
            getattr(providers, build)()
        monkeypatch.setenv(missing, "set")
        config.reset()
        assert getattr(providers, build)() is not None
    finally:
        config.reset()
        providers.install()
