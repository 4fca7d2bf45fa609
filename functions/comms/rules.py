"""Pure rules of messaging: India's promotional window, status order, template text, TURN credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WINDOW_START, WINDOW_END = time(9, 0), time(21, 0)
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2, "read": 3}
DLT_CATEGORY = {"utility": "service_implicit", "marketing": "promotional"}


def promotional_send_after(now: datetime, time_zone: str) -> datetime | None:
    """None inside 09:00-21:00 local time; otherwise the next 09:00 local, in UTC."""
    local = now.astimezone(ZoneInfo(time_zone))
    if WINDOW_START <= local.time() < WINDOW_END:
        return None
    day = local.date() if local.time() < WINDOW_START else local.date() + timedelta(days=1)
    opens = datetime.combine(day, WINDOW_START, tzinfo=ZoneInfo(time_zone))
    return opens.astimezone(now.tzinfo)


def moves_forward(current: str, new: str) -> bool:
    """True when new is later in delivery than current (read stays read; failed ends a sent message)."""
    return STATUS_RANK.get(new, -1) > STATUS_RANK.get(current, -1)


def fill_dlt_text(text: str, params: list[str]) -> str:
    """The registered DLT text with each {#var#} replaced by the next parameter."""
    parts = text.split("{#var#}")
    out = parts[0]
    for value, rest in zip(params, parts[1:], strict=False):
        out += value + rest
    return out


def turn_credentials(*, secret: str, uid: str, now: datetime, ttl_sec: int = 3600) -> tuple[str, str]:
    """coturn `use-auth-secret` credentials: username expiry:uid, credential base64 HMAC-SHA1(secret, username)."""
    username = f"{int(now.timestamp()) + ttl_sec}:{uid}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
