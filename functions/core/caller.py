"""Who is calling: ID-token verification and the caller's context from claims and the member record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import clock, tenancy
from core.errors import ApiError, forbidden, unauthenticated
from core.models import valid_doc_id
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

    @property
    def org_settings(self) -> dict[str, Any]:
        """The organization's settings map."""
        return dict(self.org.get("settings") or {})


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
    (fresh=True re-reads it now). A role, team or active change sets `sessionsValidAfter`, so a token
    issued before it is refused on the next read: within that many seconds, for at most one
    document read per member per instance per period.
    """
    org_id, uid = claims.get("orgId"), claims.get("uid") or claims.get("sub")
    if not isinstance(org_id, str) or not isinstance(uid, str) or not valid_doc_id(org_id) or not valid_doc_id(uid):
        raise unauthenticated("This account is not a member of an organization")
    member = tenancy.load_member(org_id, uid, fresh=fresh)
    if not member or not member.get("active"):
        raise unauthenticated("This account is no longer active")
    valid_after = member.get("sessionsValidAfter")
    issued_at = claims.get("iat", 0)
    if valid_after is not None and issued_at < int(valid_after.timestamp()):
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
    overrides = (org.get("settings") or {}).get("rolePermissions")
    return Caller(
        uid=uid,
        org_id=org_id,
        role=role,
        team_id=member.get("teamId"),
        name=str(member.get("name", "")),
        email=str(member.get("email", "")),
        permissions=effective(role, overrides),
        org=org,
    )


def authenticate(authorization: str | None, *, fresh: bool = False) -> Caller:
    """The caller behind an Authorization header."""
    return caller_from_claims(verify_token(bearer_token(authorization)), fresh=fresh)
