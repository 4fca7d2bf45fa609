"""One-time login codes: issued to active members of current organizations, stored only as keyed hashes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from secrets import randbelow
from typing import Any

from core import audit, clients, clock, mail, secrets, tenancy, throttle
from core.errors import ApiError, unauthenticated
from core.ids import keyed_hash, same, sha256_hex

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
CHALLENGES = "otpChallenges"
EMAIL_INDEX = "memberEmails"

PER_EMAIL = throttle.Limit("otp-email", count=5, window=timedelta(minutes=15), gap=timedelta(seconds=30))
PER_CLIENT = throttle.Limit("otp-client", count=30, window=timedelta(minutes=15))
VERIFY_PER_CLIENT = throttle.Limit("otp-verify-client", count=60, window=timedelta(minutes=15))


def normalize_email(email: str) -> str:
    """The canonical form of an email for lookups."""
    return email.strip().lower()


def email_key(email: str) -> str:
    """The document id that indexes an email without revealing it."""
    return sha256_hex("email", normalize_email(email))


def find_member(email: str) -> tuple[str, str] | None:
    """(orgId, uid) of the member with this email, or None."""
    snapshot = clients.db().collection(EMAIL_INDEX).document(email_key(email)).get()
    if not snapshot.exists:
        return None
    data = snapshot.to_dict() or {}
    return str(data["orgId"]), str(data["uid"])


def _eligible(email: str) -> tuple[str, dict[str, Any]] | None:
    """(orgId, member) when this email may log in now, else None."""
    found = find_member(email)
    if not found:
        return None
    org_id, uid = found
    member = tenancy.load_member(org_id, uid, fresh=True)
    org = tenancy.load_org(org_id, fresh=True)
    if not member or not member.get("active") or not org or not tenancy.subscription_current(org, clock.now()):
        return None
    return org_id, member


def _code_hash(email: str, code: str) -> str:
    return keyed_hash(secrets.value(secrets.OTP_PEPPER), f"{normalize_email(email)}:{code}")


def request_code(*, email: str, client: str) -> None:
    """Email a code to an eligible member; for any other address do nothing, visibly the same."""
    throttle.hit(PER_CLIENT, client)
    throttle.hit(PER_EMAIL, normalize_email(email))
    eligible = _eligible(email)
    if eligible is None:
        return
    org_id, member = eligible
    code = f"{randbelow(1_000_000):06d}"
    now = clock.now()
    clients.db().collection(CHALLENGES).document(email_key(email)).set(
        {
            "codeHash": _code_hash(email, code),
            "orgId": org_id,
            "uid": member["uid"],
            "attempts": 0,
            "used": False,
            "createdAt": now,
            "expiresAt": now + CODE_TTL,
        }
    )
    org_name = (tenancy.load_org(org_id) or {}).get("name", "Justo Lead")
    mail.mailer().send(
        mail.Email(
            to=normalize_email(email),
            subject=f"Your Justo Lead code: {code}",
            text=(
                f"Hello {member.get('name', '')},\n\nYour code to sign in to {org_name} on Justo Lead is {code}.\n"
                "It works once, for 10 minutes. If you did not ask for it, ignore this email.\n"
            ),
            refs=(str(member["uid"]),),
        )
    )


@dataclass(frozen=True)
class _Outcome:
    status: str  # ok, wrong, dead, missing
    attempts_left: int = 0
    org_id: str = ""
    uid: str = ""


def _check_code(email: str, code: str) -> _Outcome:
    """Compare the code with the challenge in a transaction that counts the attempt."""
    from google.cloud import firestore

    db = clients.db()
    ref = db.collection(CHALLENGES).document(email_key(email))
    now = clock.now()

    @firestore.transactional
    def attempt(transaction: Any) -> _Outcome:
        snapshot = ref.get(transaction=transaction)
        challenge = snapshot.to_dict() if snapshot.exists else None
        if not challenge or challenge["used"] or challenge["expiresAt"] <= now:
            return _Outcome("missing")
        if challenge["attempts"] >= MAX_ATTEMPTS:
            return _Outcome("dead", org_id=challenge["orgId"], uid=challenge["uid"])
        if same(challenge["codeHash"], _code_hash(email, code)):
            transaction.update(ref, {"used": True, "usedAt": now})
            return _Outcome("ok", org_id=challenge["orgId"], uid=challenge["uid"])
        attempts = challenge["attempts"] + 1
        transaction.update(ref, {"attempts": attempts})
        return _Outcome("wrong", attempts_left=MAX_ATTEMPTS - attempts, org_id=challenge["orgId"], uid=challenge["uid"])

    result: _Outcome = attempt(db.transaction())
    return result


def policy_acceptance_required(member: dict[str, Any]) -> bool:
    """True when a privacy policy is published and the member has not accepted its current version."""
    policy = clients.db().collection("platform").document("privacyPolicy").get()
    if not policy.exists:
        return False
    return (policy.to_dict() or {}).get("version") != member.get("acceptedPolicyVersion")


def verify_code(*, email: str, code: str, client: str) -> dict[str, Any]:
    """Check a code; on success make sure the member's Auth user and claims exist and mint a custom token."""
    throttle.hit(VERIFY_PER_CLIENT, client)
    outcome = _check_code(email, code)
    if outcome.status == "missing":
        raise unauthenticated("The code is wrong, used or expired; ask for a new code")
    if outcome.status == "dead":
        audit.record(outcome.org_id, "login.refused-locked", actor=outcome.uid)
        raise ApiError("RESOURCE_EXHAUSTED", "Too many wrong codes; ask for a new code", headers={"Retry-After": "30"})
    if outcome.status == "wrong":
        audit.record(outcome.org_id, "login.failed", actor=outcome.uid, attemptsLeft=outcome.attempts_left)
        if outcome.attempts_left == 0:
            audit.record(outcome.org_id, "login.locked", actor=outcome.uid)
        raise ApiError("UNAUTHENTICATED", "Wrong code", attemptsLeft=outcome.attempts_left)
    eligible = _eligible(email)
    if eligible is None or eligible[1]["uid"] != outcome.uid:
        raise unauthenticated("The code is wrong, used or expired; ask for a new code")
    org_id, member = eligible
    claims = {"orgId": org_id, "role": member["role"], "teamId": member.get("teamId")}
    token = _issue_token(member, claims)
    tenancy.member_ref(org_id, member["uid"]).update({"lastLoginAt": clock.now()})
    audit.record(org_id, "login", actor=member["uid"])
    return {
        "customToken": token,
        "user": {
            "uid": member["uid"],
            "orgId": org_id,
            "role": member["role"],
            "teamId": member.get("teamId"),
            "name": member.get("name", ""),
            "email": member.get("email", ""),
        },
        "policyAcceptanceRequired": policy_acceptance_required(member),
    }


def _issue_token(member: dict[str, Any], claims: dict[str, Any]) -> str:
    """Ensure a stable Auth user for the member with current claims; a custom token for it."""
    from firebase_admin import auth

    app = clients.firebase_app()
    uid = str(member["uid"])
    try:
        auth.create_user(uid=uid, email=member.get("email"), display_name=member.get("name") or None, app=app)
    except auth.UidAlreadyExistsError:
        pass
    except auth.EmailAlreadyExistsError:
        auth.create_user(uid=uid, display_name=member.get("name") or None, app=app)
    auth.set_custom_user_claims(uid, claims, app=app)
    token = auth.create_custom_token(uid, claims, app=app)
    return token.decode() if isinstance(token, bytes) else str(token)


def logout(*, org_id: str, uid: str) -> None:
    """Revoke the member's refresh tokens and refuse its current ID tokens at the API."""
    revoke_sessions(org_id=org_id, uid=uid)
    audit.record(org_id, "logout", actor=uid)


def revoke_sessions(*, org_id: str, uid: str) -> None:
    """End every session of a member: Auth refresh tokens and the API's sessionsValidAfter."""
    import math

    from firebase_admin import auth

    now = clock.now()
    valid_after = now.replace(microsecond=0) + timedelta(seconds=math.ceil(now.microsecond / 1e6))
    tenancy.member_ref(org_id, uid).update({"sessionsValidAfter": valid_after})
    tenancy.cache.forget(tenancy.member_ref(org_id, uid).path)
    with contextlib.suppress(auth.UserNotFoundError):
        auth.revoke_refresh_tokens(uid, app=clients.firebase_app())
