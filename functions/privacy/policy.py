"""Privacy policy versions: the platform publishes one, every member is told (feed and email) and accepts it."""

from __future__ import annotations

from typing import Any

from core import audit, clients, clock, mail, notify, tenancy
from core.caller import SYSTEM, Caller
from core.errors import not_found, precondition

POLICY_DOC = ("platform", "privacyPolicy")


def _ref() -> Any:
    return clients.db().collection(POLICY_DOC[0]).document(POLICY_DOC[1])


def current() -> dict[str, Any] | None:
    """The published policy {version, url, summary, publishedAt}, or None."""
    snapshot = _ref().get()
    return (snapshot.to_dict() or {}) if snapshot.exists else None


def status(*, caller: Caller) -> dict[str, Any]:
    """The current policy and the caller's acceptance of it."""
    policy = current() or {}
    member = tenancy.member_ref(caller.org_id, caller.uid).get().to_dict() or {}
    accepted = member.get("acceptedPolicyVersion")
    return {
        "version": policy.get("version"),
        "url": policy.get("url"),
        "summary": policy.get("summary"),
        "publishedAt": policy.get("publishedAt"),
        "acceptedVersion": accepted,
        "acceptedAt": member.get("acceptedPolicyAt"),
        "acceptanceRequired": bool(policy) and policy.get("version") != accepted,
    }


def accept(*, caller: Caller, version: str | None) -> dict[str, Any]:
    """Record that the caller accepted the current version (the one named, or the current one when none is);
    409 when another version is current."""
    policy = current()
    if policy is None:
        raise not_found("Privacy policy")
    version = version or str(policy.get("version"))
    if policy.get("version") != version:
        raise precondition("This is not the current policy version", currentVersion=policy.get("version"))
    ref = tenancy.member_ref(caller.org_id, caller.uid)
    ref.update({"acceptedPolicyVersion": version, "acceptedPolicyAt": clock.now()})
    tenancy.cache.forget(ref.path)
    audit.record(caller.org_id, "policy.accepted", actor=caller.uid, target=caller.uid, version=version)
    return status(caller=caller)


def publish(*, version: str, url: str, summary: str) -> dict[str, int]:
    """Publish a version and tell every active member of every organization, in the feed and by email.

    Re-running with the same version resumes: members already told are not told again.
    """
    now = clock.now()
    existing = current()
    if existing and existing.get("version") == version:
        now = existing.get("publishedAt", now)
    else:
        _ref().set({"version": version, "url": url, "summary": summary, "publishedAt": now})
    orgs = notified = 0
    for org in clients.db().collection("orgs").stream():
        orgs += 1
        told_here = 0
        members = org.reference.collection("members").where(filter=clients.where("active", "==", True))
        for member in members.stream():
            data = member.to_dict() or {}
            push = notify.Push(
                uid=member.id,
                kind="policy-updated",
                title="Our privacy policy changed",
                body=f"Please read and accept version {version} of the privacy policy.",
                data={"version": version, "url": url},
            )
            if not notify.send(push, dedupe_key=f"policy:{version}:{member.id}"):
                continue
            told_here += 1
            if data.get("email"):
                mail.mailer().send(
                    mail.Email(
                        to=str(data["email"]),
                        subject=f"Justo Lead privacy policy, version {version}",
                        text=(
                            f"Hello {data.get('name', '')},\n\nWe have published version {version} of our privacy "
                            f"policy.\n\n{summary}\n\nRead it at {url}. The app will ask you to accept it at your "
                            "next sign-in.\n"
                        ),
                        refs=(member.id,),
                    )
                )
        if told_here:
            audit.record(org.id, "policy.published", actor=SYSTEM.uid, version=version, notified=told_here)
        notified += told_here
    return {"orgs": orgs, "notified": notified}
