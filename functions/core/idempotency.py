"""`Idempotency-Key` replay: a retried create returns the first reply and creates nothing new."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from core import clients, clock, transactions
from core.caller import Caller
from core.errors import ApiError, invalid
from core.ids import sha256_hex
from core.jsonutil import to_json
from core.reply import Reply

COLLECTION = "idempotency"
TTL = timedelta(hours=24)
# A pending record older than this belongs to a request that died (past the function timeout): a retry
# with the same key takes it over instead of being told "in progress" until the record expires.
LEASE = timedelta(seconds=70)


class Call(Protocol):
    """What the step reads of a request (core.http.Call is one): its caller, a header, the body, the path."""

    request: Any

    @property
    def caller(self) -> Caller:
        """The authenticated caller."""
        ...

    def header(self, name: str) -> str | None:
        """A request header, or None."""
        ...

    def raw_body(self) -> bytes:
        """The request body, bounded."""
        ...


def _subject_ids(body: Any) -> list[str]:
    """Ids a stored reply names, so erasure can find the record."""
    if not isinstance(body, dict):
        return []
    return sorted({str(body[key]) for key in ("id", "leadId") if isinstance(body.get(key), str)})


def run(call: Call, function: str, handler: Callable[[], Reply]) -> Reply:
    """Run handler once per (caller, function, key); replay its stored reply on a retry."""
    from google.api_core.exceptions import AlreadyExists

    key = call.header("Idempotency-Key")
    if not key:
        return handler()
    if len(key) > 200:
        raise invalid("Idempotency-Key", "at most 200 characters")
    caller = call.caller
    body_hash = hashlib.sha256(call.raw_body()).hexdigest()
    ref = clients.db().collection(COLLECTION).document(sha256_hex(caller.uid, function, call.request.path, key))
    now = clock.now()
    try:
        ref.create(
            {
                "state": "pending",
                "bodyHash": body_hash,
                "uid": caller.uid,
                "orgId": caller.org_id,
                "createdAt": now,
                "leaseUntil": now + LEASE,
                "expiresAt": now + TTL,
            }
        )
    except AlreadyExists:
        record = ref.get().to_dict() or {}
        if record.get("bodyHash") != body_hash:
            raise invalid("Idempotency-Key", "already used with a different body") from None
        if record.get("state") == "done":
            return Reply(_replayed(ref, record), int(record["status"]), {"Idempotent-Replayed": "true"})
        if not _take_over(ref, now):
            raise ApiError(
                "ALREADY_EXISTS", "A request with this Idempotency-Key is in progress", headers={"Retry-After": "1"}
            ) from None
    try:
        reply = handler()
    except ApiError as error:
        if error.status >= 500:
            ref.delete()
        else:
            ref.update({"state": "done", "status": error.status, "body": json.dumps(error.body())})
        raise
    except Exception:
        ref.delete()
        raise
    body, sealed = _sealed(ref, reply)
    _mark_done(
        ref,
        {
            "state": "done",
            "status": reply.status,
            "body": json.dumps(to_json(body)),
            "subjectIds": _subject_ids(reply.body),
            **({"sealed": sealed} if sealed else {}),
        },
    )
    return reply


def _sealed(ref: Any, reply: Reply) -> tuple[Any, dict[str, dict[str, str]]]:
    """(the body to store in clear, its secret fields sealed): a secret shown once is never stored in clear."""
    from core import sealing

    if not reply.sealed or not isinstance(reply.body, dict):
        return reply.body, {}
    body = {k: v for k, v in reply.body.items() if k not in reply.sealed}
    sealed = {
        name: {"secret": secret.name, "value": sealing.seal(secret, str(reply.body[name]), context=ref.id)}
        for name, secret in reply.sealed.items()
        if reply.body.get(name) is not None
    }
    return body, sealed


def _replayed(ref: Any, record: dict[str, Any]) -> Any:
    """The stored reply's body with its sealed fields opened; 409 when one no longer opens (its secret rotated)."""
    from core import sealing, secrets

    body = json.loads(record["body"])
    by_name = {secret.name: secret for secret in secrets.ALL}
    for name, item in (record.get("sealed") or {}).items():
        secret = by_name.get(str(item.get("secret")))
        opened = sealing.unseal(secret, str(item.get("value")), context=ref.id) if secret else None
        if opened is None:
            raise ApiError("ALREADY_EXISTS", "This request was done; its reply can no longer be replayed")
        body[name] = opened
    return body


def _take_over(ref: Any, now: Any) -> bool:
    """Claim a pending record whose lease ran out (its request died); False while the lease holds."""
    from google.cloud import firestore

    @firestore.transactional
    def claim(transaction: Any) -> bool:
        record = ref.get(transaction=transaction).to_dict() or {}
        lease = record.get("leaseUntil")
        if record.get("state") == "done" or (lease is not None and lease > now):
            return False
        transaction.update(ref, {"leaseUntil": now + LEASE})
        return True

    return bool(transactions.run(claim))


def _mark_done(ref: Any, update: dict[str, Any], attempts: int = 3) -> None:
    """Store the reply; the work is already done, so a failing write is retried, and if it still fails
    the caller gets its reply anyway (a later retry with the key re-runs after the lease)."""
    import logging
    import time

    from google.api_core import exceptions as gexc

    for attempt in range(attempts):
        try:
            ref.update(update)
            return
        except (gexc.GoogleAPICallError, gexc.RetryError):
            if attempt == attempts - 1:
                logging.getLogger("justo").warning("idempotency record not marked done; its lease will expire")
                return
            time.sleep(0.2 * (attempt + 1))
