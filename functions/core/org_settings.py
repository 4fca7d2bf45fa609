"""An organization's settings as one typed, immutable value: every key, its default and its tolerant reading.

The stored map `orgs/{orgId}.settings` is written by the ops CLI and `PATCH /org/settings` (validated there),
but a document may predate a key, hold null, or have been edited by hand: `OrgSettings.of` never raises and
reads a missing or bad value as its default, so no request fails because of what an organization stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Kolkata"
DEFAULT_COUNTRY_CODE = "+91"

STAGES = (
    "new",
    "contacted",
    "qualified",
    "site-visit-scheduled",
    "site-visit-done",
    "negotiation",
    "booked",
    "lost",
)
SOURCES = (
    "walk-in",
    "website",
    "referral",
    "channel-partner",
    "99acres",
    "magicbricks",
    "housing",
    "facebook",
    "google",
    "whatsapp",
    "call",  # an unknown number calling the organization's number (comms.inbound)
    "import",
    "other",
)
CONFIGURATIONS = ("1RK", "1BHK", "2BHK", "2.5BHK", "3BHK", "3.5BHK", "4BHK", "5BHK", "villa", "plot", "commercial")

_COUNTRY_CODE = re.compile(r"\+[0-9]{1,3}")
_MAX_ZONE_NAME = 64
RolePermissions = Mapping[str, Mapping[str, bool]]
_NO_OVERRIDES: RolePermissions = MappingProxyType({})


def _choices(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    """A non-empty list of non-empty strings, else the default (an empty pipeline would break every lead)."""
    if not isinstance(value, list | tuple) or not value:
        return default
    if not all(isinstance(item, str) and item for item in value):
        return default
    return tuple(value)


def _flag(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _overrides(value: Any) -> RolePermissions:
    """{role: {permission: bool}}, keeping only the well-typed entries (core.permissions ignores unknown names)."""
    if not isinstance(value, Mapping) or not value:
        return _NO_OVERRIDES
    table = {
        role: MappingProxyType(
            {name: allowed for name, allowed in perms.items() if isinstance(name, str) and isinstance(allowed, bool)}
        )
        for role, perms in value.items()
        if isinstance(role, str) and isinstance(perms, Mapping)
    }
    return MappingProxyType(table)


def _time_zone(value: Any) -> str:
    """A name ZoneInfo knows (it refuses paths), else the default; ZoneInfo caches, so this is cheap."""
    if not isinstance(value, str) or not value or len(value) > _MAX_ZONE_NAME:
        return DEFAULT_TIME_ZONE
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return DEFAULT_TIME_ZONE
    return value


def _country_code(value: Any) -> str:
    return value if isinstance(value, str) and _COUNTRY_CODE.fullmatch(value) else DEFAULT_COUNTRY_CODE


@dataclass(frozen=True)
class OrgSettings:
    """What an organization has chosen: pipeline, lists, permissions, masking, recording, zone, phone defaults."""

    stages: tuple[str, ...] = STAGES
    sources: tuple[str, ...] = SOURCES
    configurations: tuple[str, ...] = CONFIGURATIONS
    role_permissions: RolePermissions = field(default_factory=lambda: _NO_OVERRIDES)
    phone_masking: bool = False
    call_recording: bool = False
    time_zone: str = DEFAULT_TIME_ZONE
    default_country_code: str = DEFAULT_COUNTRY_CODE
    visit_stage_moves: bool = True

    @classmethod
    def of(cls, org: Mapping[str, Any] | None) -> OrgSettings:
        """The settings of an organization document as read (missing, null or bad-typed values: the defaults)."""
        stored = org.get("settings") if isinstance(org, Mapping) else None
        if not isinstance(stored, Mapping):
            return DEFAULTS
        masking = stored.get("phoneMasking")
        return cls(
            stages=_choices(stored.get("stages"), STAGES),
            sources=_choices(stored.get("sources"), SOURCES),
            configurations=_choices(stored.get("configurations"), CONFIGURATIONS),
            role_permissions=_overrides(stored.get("rolePermissions")),
            # Fails closed: a stored truthy non-bool (1, "true") meant "mask"; reading it as off would leak.
            phone_masking=masking if isinstance(masking, bool) else bool(masking),
            call_recording=_flag(stored.get("callRecording"), False),
            time_zone=_time_zone(stored.get("timeZone")),
            default_country_code=_country_code(stored.get("defaultCountryCode")),
            visit_stage_moves=_flag(stored.get("visitStageMoves"), True),
        )

    @property
    def zone(self) -> ZoneInfo:
        """The organization's time zone (always a known one: `of` kept only names ZoneInfo loads)."""
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # a value built directly, not through `of`
            return ZoneInfo(DEFAULT_TIME_ZONE)

    @staticmethod
    def untyped(org: Mapping[str, Any] | None) -> dict[str, Any]:
        """The stored settings keys OrgSettings does not know, as stored (a change of settings keeps them)."""
        stored = org.get("settings") if isinstance(org, Mapping) else None
        if not isinstance(stored, Mapping):
            return {}
        return {key: value for key, value in stored.items() if key not in _KEYS}

    def as_document(self) -> dict[str, Any]:
        """The camelCase map stored in `orgs/{orgId}.settings` (fresh, mutable copies)."""
        return {
            "stages": list(self.stages),
            "sources": list(self.sources),
            "configurations": list(self.configurations),
            "rolePermissions": {role: dict(perms) for role, perms in self.role_permissions.items()},
            "phoneMasking": self.phone_masking,
            "callRecording": self.call_recording,
            "timeZone": self.time_zone,
            "defaultCountryCode": self.default_country_code,
            "visitStageMoves": self.visit_stage_moves,
        }


DEFAULTS = OrgSettings()
_KEYS = frozenset(DEFAULTS.as_document())
