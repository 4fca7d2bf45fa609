"""What each role may do: a default table, overridable per organization by its admin."""

from __future__ import annotations

from collections.abc import Mapping

ROLES = ("admin", "manager", "agent", "rm")

# Every permission the code checks, and a line on what it allows.
PERMISSIONS: dict[str, str] = {
    "leads.create": "create leads",
    "leads.update": "edit leads they can see",
    "leads.delete": "archive leads they can see",
    "leads.assign": "reassign leads (a manager within the team)",
    "leads.import": "import leads from CSV",
    "leads.export": "export visible leads as CSV",
    "leads.merge": "merge duplicate leads",
    "comms.call": "log calls and start VoIP calls",
    "comms.send": "send email, SMS and WhatsApp messages",
    "tasks.assign": "assign tasks to others they can reach",
    "members.manage": "add, change and deactivate members",
    "teams.manage": "create and change teams",
    "settings.manage": "change the organization's settings",
    "projects.manage": "create and change projects",
    "privacy.manage": "export and erase a lead's personal data",
    "audit.read": "read the security audit trail",
}

# Admin-only powers: never granted to other roles, never taken from admins (no lock-out).
ADMIN_ONLY = frozenset(
    {"members.manage", "teams.manage", "settings.manage", "projects.manage", "privacy.manage", "audit.read"}
)
OVERRIDABLE = frozenset(PERMISSIONS) - ADMIN_ONLY

_WORK = {"leads.create", "leads.update", "comms.call", "comms.send"}
DEFAULTS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "manager": frozenset(
        _WORK | {"leads.delete", "leads.assign", "leads.import", "leads.export", "leads.merge", "tasks.assign"}
    ),
    "agent": frozenset(_WORK),
    "rm": frozenset(_WORK),
}


def effective(role: str, overrides: Mapping[str, Mapping[str, bool]] | None) -> frozenset[str]:
    """The permissions of role after the organization's overrides ({role: {permission: bool}})."""
    granted = set(DEFAULTS.get(role, frozenset()))
    for permission, allowed in ((overrides or {}).get(role) or {}).items():
        if permission not in OVERRIDABLE:
            continue
        if allowed:
            granted.add(permission)
        else:
            granted.discard(permission)
    return frozenset(granted)


def validate_overrides(overrides: Mapping[str, Mapping[str, bool]]) -> dict[str, str]:
    """Field errors for an overrides table: unknown roles or permissions, admin-only powers."""
    errors: dict[str, str] = {}
    for role, table in overrides.items():
        if role not in ROLES:
            errors[f"rolePermissions.{role}"] = f"unknown role; one of {', '.join(ROLES)}"
            continue
        for permission in table:
            if permission not in PERMISSIONS:
                errors[f"rolePermissions.{role}.{permission}"] = "unknown permission"
            elif permission in ADMIN_ONLY:
                errors[f"rolePermissions.{role}.{permission}"] = "admin-only; cannot be changed"
    return errors
