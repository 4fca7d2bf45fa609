"""Who is calling: ID-token verification and the caller's context from claims and the member record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from core import clock, tenancy
from core.errors import ApiError, forbidden, unauthenticated
from core.models import valid_doc_id
from core.org_settings import OrgSettings
from core.permissions import effective


@dataclass(frozen=True)
class Caller:
    """An authenticated, active member of an organization with a current subscription."""

    uid: str
    org_id: str
    role: str
    team_id: str | None
    name: str
    email: str
    permissions: frozenset[str]
    org: dict[str, Any]

    @property
    def is_admin(self) -> bool:
        """True for the organization's admins."""
        return self.role == "admin"

    def can(self, permission: str) -> bool:
        """True when the caller holds the permission."""
        return permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise 403 unless the caller holds the permission."""
        if permission not in self.permissions:
            raise forbidden(f"Your role may not {permission}")

    @cached_property
    def settings(self) -> OrgSettings:
        """The organization's settings, as this caller's copy of the organization holds them (read once)."""
        # cached_property writes the instance __dict__ directly, which a frozen dataclass allows.
        return OrgSettings.of(self.org)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded down: what firestore.rules' `timestamp.toMillis()` gives."""
    return epoch_us(moment) // 1000


def session_started_ms(claims: dict[str, Any]) -> int:
    """When the token's session began, in epoch milliseconds: the `loginAt` claim of the login's custom token.

    Tokens without it (a session begun before the claim existed) fall back to `auth_time`, the sign-in time.
    firestore.rules compute the same value (`sessionStart()`).
    """
    login_at = claims.get("loginAt")
    if isinstance(login_at, int) and not isinstance(login_at, bool):
        return login_at
    signed_in = claims.get("auth_time", claims.get("iat", 0))
    return int(signed_in) * 1000 if isinstance(signed_in, int | float) else 0


def session_alive(member: dict[str, Any] | None, claims: dict[str, Any]) -> bool:
    """True while the member is active and its sessions were not ended after this token's session began."""
    if not member or member.get("active") is not True:
        return False
    valid_after = member.get("sessionsValidAfter")
    return valid_after is None or session_started_ms(claims) >= epoch_ms(valid_after)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or 401."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Missing bearer token")
    return token.strip()


def verify_token(token: str) -> dict[str, Any]:
    """Verify a Firebase ID token (signature, expiry, audience); 401 when it is not valid."""
    from firebase_admin import auth

    from core import clients

    try:
        return dict(auth.verify_id_token(token, app=clients.firebase_app(), clock_skew_seconds=5))
    except (ValueError, auth.InvalidIdTokenError, auth.ExpiredIdTokenError) as error:
        raise unauthenticated("Invalid or expired ID token") from error
    except auth.CertificateFetchError as error:
        raise ApiError("UNAVAILABLE", "Cannot verify tokens right now; retry") from error


def caller_from_claims(claims: dict[str, Any], *, fresh: bool) -> Caller:
    """Check the claims against the member and organization records; the caller or 401/403.

    Freshness: the member document is re-read at most every MEMBER_CACHE_SECONDS per instance
    (fresh=True re-reads it now). A role, team or active change, a logout and an erasure set
    `sessionsValidAfter`, so a session begun before it is refused on the next read: within that many
    seconds, for at most one document read per member per instance per period.
    """
    org_id, uid = claims.get("orgId"), claims.get("uid") or claims.get("sub")
    if not isinstance(org_id, str) or not isinstance(uid, str) or not valid_doc_id(org_id) or not valid_doc_id(uid):
        raise unauthenticated("This account is not a member of an organization")
    member = tenancy.load_member(org_id, uid, fresh=fresh)
    if not member or member.get("active") is not True:
        raise unauthenticated("This account is no longer active")
    if not session_alive(member, claims):
        raise unauthenticated("Session revoked; sign in again")
    if member.get("role") != claims.get("role") or member.get("teamId") != claims.get("teamId"):
        raise unauthenticated("Your role changed; sign in again")
    org = tenancy.load_org(org_id, fresh=fresh)
    if not org:
        raise unauthenticated("Unknown organization")
    if not tenancy.subscription_current(org, clock.now()):
        raise forbidden("The organization's subscription has ended")
    return caller_of(org_id, uid, member, org)


def caller_of(org_id: str, uid: str, member: dict[str, Any], org: dict[str, Any]) -> Caller:
    """The Caller a member record and its organization make (permissions after the org's overrides)."""
    role = str(member.get("role", "agent"))
    settings = OrgSettings.of(org)
    caller = Caller(
        uid=uid,
        org_id=org_id,
        role=role,
        team_id=member.get("teamId"),
        name=str(member.get("name", "")),
        email=str(member.get("email", "")),
        permissions=effective(role, settings.role_permissions),
        org=org,
    )
    object.__setattr__(caller, "settings", settings)  # fills the cached_property: the org is read once
    return caller


def authenticate(authorization: str | None, *, fresh: bool = False) -> Caller:
    """The caller behind an Authorization header."""
    return caller_from_claims(verify_token(bearer_token(authorization)), fresh=fresh)


@dataclass(frozen=True)
class System:
    """The backend acting on its own (an inbound message, a trigger, a sweep): no member, no team, every
    permission, and raw numbers (it dials and sends). `SYSTEM` is its one value; records it writes carry
    `uid` None (stored as null: "by the system")."""

    uid: None = None
    role: str = "system"
    team_id: None = None

    def require(self, permission: str) -> None:
        """The system may do what any feature asks of it."""


SYSTEM = System()
Actor = Caller | System
