"""One-time login codes: issued to active members of current organizations, stored only as keyed hashes.

No account enumeration: every email, a member's or not, gets the same answers, counted the same way. A code
request writes a challenge for any address (a real one, emailed to an eligible member, or a decoy whose code
nobody knows); a verify of an address without a challenge makes a decoy. A wrong, used, expired or decoy code
is then one answer, 401 "Wrong or expired code" with `attemptsLeft`, until the challenge is dead for this
client (429); the same keyed-hash work is done on every path. docs/sessions.md has the design and its bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from secrets import randbelow, token_hex
from typing import Any

from auth import sessions
from core import audit, clients, clock, mail, secrets, tenancy, throttle, transactions
from core.errors import ApiError
from core.ids import keyed_hash, same, sha256_hex

CODE_TTL = timedelta(minutes=10)
# Wrong codes one client may try on one challenge, and all clients together: one client cannot kill another's
# code, and a challenge is dead after MAX_ATTEMPTS (at most that many guesses of 10^6 per code).
ATTEMPTS_PER_CLIENT = 5
MAX_ATTEMPTS = 10
CHALLENGES = "otpChallenges"
EMAIL_INDEX = "memberEmails"
WRONG_CODE = "Wrong or expired code; check it or ask for a new code"

# Code requests: per client across emails; per (email, client), so no client spends another's budget; and per
# email overall, above what one client can spend (3 per 15 min is at most 15 in an hour), which caps the mail a
# mailbox receives and the codes an attacker with many addresses can have issued.
PER_CLIENT = throttle.Limit("otp-client", count=30, window=timedelta(minutes=15))
PER_EMAIL_CLIENT = throttle.Limit("otp-email-client", count=3, window=timedelta(minutes=15), gap=timedelta(seconds=30))
PER_EMAIL = throttle.Limit("otp-email", count=20, window=timedelta(hours=1))
VERIFY_PER_CLIENT = throttle.Limit("otp-verify-client", count=60, window=timedelta(minutes=15))


def normalize_email(email: str) -> str:
    """The canonical form of an email for lookups."""
    return email.strip().lower()


def email_key(email: str) -> str:
    """The document id that indexes an email without revealing it."""
    return sha256_hex("email", normalize_email(email))


def client_key(client: str) -> str:
    """How a client address is kept in a challenge: hashed, never raw."""
    return "c" + sha256_hex("otp-client", client)[:31]  # a plain field name: usable in an update's field path


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


def _decoy_hash() -> str:
    """A stored hash no code matches (a decoy's): random, the same shape as a real one."""
    return token_hex(32)


def _new_code() -> str:
    return f"{randbelow(1_000_000):06d}"


def _challenge(code_hash: str, org_id: str | None, uid: str | None) -> dict[str, Any]:
    """A fresh challenge: a real one (org and uid) or a decoy (None: no code matches it)."""
    now = clock.now()
    return {
        "codeHash": code_hash,
        "orgId": org_id,
        "uid": uid,
        "attempts": 0,
        "clients": {},
        "used": False,
        "failureAudited": False,
        "lockoutAudited": False,
        "createdAt": now,
        "expiresAt": now + CODE_TTL,
    }


def request_code(*, email: str, client: str) -> None:
    """Email a code to an eligible member; for any other address store a decoy: visibly the same."""
    key = normalize_email(email)
    throttle.hit_all([(PER_CLIENT, client), (PER_EMAIL_CLIENT, f"{key}\x00{client}"), (PER_EMAIL, key)])
    code = _new_code()
    code_hash = _code_hash(email, code)  # the same keyed-hash work whoever asks
    eligible = _eligible(email)
    ref = clients.db().collection(CHALLENGES).document(email_key(email))
    if eligible is None:
        ref.set(_challenge(_decoy_hash(), None, None))  # resets the counters as a real request would
        return
    org_id, member = eligible
    ref.set(_challenge(code_hash, org_id, str(member["uid"])))
    org_name = (tenancy.load_org(org_id) or {}).get("name", "Justo Lead")
    mail.mailer().send(
        mail.Email(
            to=key,
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
    status: str  # ok, wrong, dead
    attempts_left: int = 0
    org_id: str = ""
    uid: str = ""
    failed_before: int = 0


def _left(mine: int, total: int) -> int:
    return max(0, min(ATTEMPTS_PER_CLIENT - mine, MAX_ATTEMPTS - total))


def _check_code(email: str, code: str, client: str) -> _Outcome:
    """Compare the code with the challenge in a transaction that counts the attempt (per client and in all).

    The audit trail gets at most two entries per challenge from here, both while it is live: its first wrong
    code and its lockout. A decoy, used, expired or dead challenge never writes to it.
    """
    from google.cloud import firestore

    db = clients.db()
    ref = db.collection(CHALLENGES).document(email_key(email))
    offered = _code_hash(email, code)
    me = client_key(client)
    now = clock.now()

    @firestore.transactional
    def attempt(transaction: Any) -> _Outcome:
        snapshot = ref.get(transaction=transaction)
        exists = snapshot.exists
        challenge = (snapshot.to_dict() or {}) if exists else _challenge(_decoy_hash(), None, None)
        mine = int((challenge.get("clients") or {}).get(me, 0))
        total = int(challenge.get("attempts", 0))
        if _left(mine, total) == 0:
            return _Outcome("dead")
        org_id, uid = challenge.get("orgId"), challenge.get("uid")
        live = bool(org_id and uid) and not challenge.get("used") and challenge["expiresAt"] > now
        if live and same(str(challenge["codeHash"]), offered):
            transaction.update(ref, {"used": True, "usedAt": now})
            return _Outcome("ok", _left(mine + 1, total + 1), str(org_id), str(uid), failed_before=total)
        mine, total = mine + 1, total + 1
        left = _left(mine, total)
        changes: dict[str, Any] = {"attempts": total, f"clients.{me}": mine}
        entries: list[tuple[str, dict[str, Any]]] = []
        if live and not challenge.get("failureAudited"):
            changes["failureAudited"] = True
            entries.append(("login.failed", {}))
        if live and left == 0 and not challenge.get("lockoutAudited"):
            changes["lockoutAudited"] = True
            entries.append(("login.locked", {"failedAttempts": total}))
        head = audit.read_head(transaction, str(org_id)) if entries else {}  # reads before any write
        if exists:
            transaction.update(ref, changes)
        else:
            transaction.set(ref, challenge | {"attempts": total, "clients": {me: mine}})
        for action, details in entries:
            audit.append_in(transaction, str(org_id), head, action, actor=str(uid), **details)
        return _Outcome("wrong", left)

    result: _Outcome = transactions.run(attempt, db)
    return result


def _refusal(outcome: _Outcome) -> ApiError:
    """The one answer of every failed verify: 401 with attemptsLeft, or 429 once dead for this client."""
    if outcome.status == "dead":
        return ApiError("RESOURCE_EXHAUSTED", "Too many wrong codes; ask for a new code", headers={"Retry-After": "30"})
    return ApiError("UNAUTHENTICATED", WRONG_CODE, attemptsLeft=outcome.attempts_left)


def policy_acceptance_required(member: dict[str, Any]) -> bool:
    """True when a privacy policy is published and the member has not accepted its current version."""
    policy = clients.db().collection("platform").document("privacyPolicy").get()
    if not policy.exists:
        return False
    return (policy.to_dict() or {}).get("version") != member.get("acceptedPolicyVersion")


def verify_code(*, email: str, code: str, client: str) -> dict[str, Any]:
    """Check a code; on success make sure the member's Auth user and claims exist and mint a custom token."""
    throttle.hit(VERIFY_PER_CLIENT, client)
    outcome = _check_code(email, code, client)
    if outcome.status != "ok":
        raise _refusal(outcome)
    eligible = _eligible(email)
    if eligible is None or eligible[1]["uid"] != outcome.uid:
        # The right code of a member dismissed since it was sent: answered as a wrong one (the code is spent).
        raise _refusal(_Outcome("wrong", outcome.attempts_left))
    org_id, member = eligible
    claims = {"orgId": org_id, "role": member["role"], "teamId": member.get("teamId")}
    token = _issue_token(member, claims)
    tenancy.member_ref(org_id, member["uid"]).update({"lastLoginAt": clock.now()})
    details: dict[str, Any] = {"failedAttempts": outcome.failed_before} if outcome.failed_before else {}
    audit.record(org_id, "login", actor=member["uid"], **details)
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
    """Ensure a stable, enabled Auth user for the member with current claims; a custom token for a new session.

    The token's `loginAt` starts the session (auth/sessions.py): ending sessions later refuses every ID token
    signed in with it, even one signed in after the end.
    """
    from firebase_admin import auth

    app = clients.firebase_app()
    uid = str(member["uid"])
    try:
        auth.create_user(uid=uid, email=member.get("email"), display_name=member.get("name") or None, app=app)
    except auth.UidAlreadyExistsError:
        pass
    except auth.EmailAlreadyExistsError:
        auth.create_user(uid=uid, display_name=member.get("name") or None, app=app)
    # Enabled here too: the member is active (checked just now), whatever a failed re-enable left behind.
    auth.update_user(uid, custom_claims=claims, disabled=False, app=app)
    token = auth.create_custom_token(uid, claims | {"loginAt": sessions.login_at()}, app=app)
    return token.decode() if isinstance(token, bytes) else str(token)


def logout(*, org_id: str, uid: str) -> None:
    """End the member's sessions: the API and the listeners refuse them, Auth refreshes no token of them."""
    sessions.end_sessions(org_id=org_id, uid=uid)
    audit.record(org_id, "logout", actor=uid)
