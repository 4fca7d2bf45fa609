"""Each organization's own channels: its WhatsApp Business number, DLT entity and SMS headers, email sender and
voice caller ids, in one server-only document, `orgs/{orgId}/config/channels`.

The platform's provider accounts (the Plivo account, the Meta app) carry every organization's traffic; what
the buyer sees, and what TRAI's DLT rules bind to the sender, is the organization's own. Credentials (the
WhatsApp access token) are sealed (core/sealing.py, secret CHANNELS_KEY) and bound to this document and
field, opened only in memory when a message goes out; reads of the configuration show `set` and the last 4.

The webhook routing tables (`whatsappNumbers`, `voiceNumbers`: which organization a provider's number belongs
to) are written from this configuration, in the transaction that changes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core import audit, clients, clock, sealing, secrets, tenancy, transactions
from core.errors import ApiError, precondition
from core.versioning import check

SECTIONS = ("whatsapp", "sms", "email", "voice")
SEALED = {"whatsapp": ("accessToken",)}  # a section's fields that are credentials: sealed, write-only
# What the conversations helper answers a STOP with, until an admin words its own (optOutText).
DEFAULT_OPT_OUT_TEXT = "You will no longer receive WhatsApp messages from us. Reply START to receive them again."


def ref(org_id: str) -> Any:
    """The channels configuration's document."""
    return tenancy.org_ref(org_id).collection("config").document("channels")


@dataclass(frozen=True, slots=True)
class WhatsAppChannel:
    """The organization's WhatsApp Business number on the Cloud API (the token in clear, in memory only)."""

    phone_number_id: str
    waba_id: str
    access_token: str = ""

    def __repr__(self) -> str:  # never the token, whatever logs the object
        return f"WhatsAppChannel(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r})"


@dataclass(frozen=True, slots=True)
class SmsChannel:
    """The organization's DLT principal entity and its registered headers (sender ids), the first the default."""

    dlt_entity_id: str
    sender_ids: tuple[str, ...]

    @property
    def sender_id(self) -> str:
        """The header messages go out with."""
        return self.sender_ids[0]

    def header_for(self, dlt_category: str) -> str | None:
        """The header a message of this DLT category goes out from (TRAI's rule): a 6-digit one for promotional
        messages, a 6-letter one for transactional and service ones; None when none of that kind is registered."""
        numeric = dlt_category == "promotional"
        return next((header for header in self.sender_ids if header.isdigit() == numeric), None)


@dataclass(frozen=True, slots=True)
class EmailChannel:
    """The address the organization's emails come from, and where replies go."""

    from_address: str
    from_name: str | None = None
    reply_to: str | None = None

    @property
    def sender(self) -> str:
        """The From header: `Name <address>`, or the address alone."""
        from email.utils import formataddr

        return formataddr((self.from_name, self.from_address)) if self.from_name else self.from_address


@dataclass(frozen=True, slots=True)
class VoiceChannel:
    """The organization's numbers (E.164) on the platform's telephony account: caller ids, and where leads call."""

    caller_ids: tuple[str, ...]

    @property
    def caller_id(self) -> str:
        """The number calls show."""
        return self.caller_ids[0]


@dataclass(frozen=True, slots=True)
class Channels:
    """The organization's channels; None for one it has not set up."""

    whatsapp: WhatsAppChannel | None = None
    sms: SmsChannel | None = None
    email: EmailChannel | None = None
    voice: VoiceChannel | None = None
    opt_out_text: str = DEFAULT_OPT_OUT_TEXT
    version: int = 0


def context(org_id: str, section: str, field: str) -> str:
    """What a sealed credential is bound to: its document and field (a sealed value copied elsewhere does not open)."""
    return f"orgs/{org_id}/config/channels#{section}.{field}"


def _opened(org_id: str, section: str, field: str, stored: Any) -> str:
    sealed = (stored or {}).get("sealed") if isinstance(stored, Mapping) else None
    if not isinstance(sealed, str):
        return ""
    return sealing.unseal(secrets.CHANNELS_KEY, sealed, context=context(org_id, section, field)) or ""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value if isinstance(v, str) and v) if isinstance(value, list) else ()


def parse(org_id: str, document: Mapping[str, Any] | None, *, open_secrets: bool = True) -> Channels:
    """The stored document, typed; a section missing what it needs is None (never raises)."""
    data = document or {}
    whatsapp = sms = email = voice = None
    wa = data.get("whatsapp") or {}
    if isinstance(wa, Mapping) and wa.get("phoneNumberId"):
        token = _opened(org_id, "whatsapp", "accessToken", wa.get("accessToken")) if open_secrets else ""
        whatsapp = WhatsAppChannel(str(wa["phoneNumberId"]), str(wa.get("wabaId") or ""), token)
    sm = data.get("sms") or {}
    if isinstance(sm, Mapping) and sm.get("dltEntityId") and _strings(sm.get("senderIds")):
        sms = SmsChannel(str(sm["dltEntityId"]), _strings(sm.get("senderIds")))
    em = data.get("email") or {}
    if isinstance(em, Mapping) and em.get("fromAddress"):
        email = EmailChannel(str(em["fromAddress"]), em.get("fromName") or None, em.get("replyTo") or None)
    vo = data.get("voice") or {}
    if isinstance(vo, Mapping) and _strings(vo.get("callerIds")):
        voice = VoiceChannel(_strings(vo.get("callerIds")))
    opt_out = data.get("optOutText")
    return Channels(
        whatsapp,
        sms,
        email,
        voice,
        opt_out if isinstance(opt_out, str) and opt_out.strip() else DEFAULT_OPT_OUT_TEXT,
        int(data.get("version") or 0),
    )


def load(org_id: str, *, transaction: Any = None) -> Channels:
    """The organization's channels, credentials opened (in memory only)."""
    snapshot = ref(org_id).get(transaction=transaction)
    return parse(org_id, snapshot.to_dict() if snapshot.exists else None)


def load_plain(org_id: str) -> Channels:
    """The organization's channels without opening credentials (a function without CHANNELS_KEY reads its
    email sender and caller ids)."""
    snapshot = ref(org_id).get()
    return parse(org_id, snapshot.to_dict() if snapshot.exists else None, open_secrets=False)


def whatsapp(org_id: str) -> WhatsAppChannel:
    """The organization's WhatsApp number with its token, or 409 naming what an admin sets."""
    channel = load(org_id).whatsapp
    if channel is None or not channel.access_token:
        missing = "whatsapp.phoneNumberId" if channel is None else "whatsapp.accessToken"
        raise precondition(
            f"The organization has no WhatsApp Business number of its own; an admin sets {missing} in /org/channels",
            setting=missing,
        )
    return channel


def sms(org_id: str) -> SmsChannel:
    """The organization's DLT entity and headers, or 409 naming what an admin sets."""
    channel = load(org_id).sms
    if channel is None:
        raise precondition(
            "The organization has no DLT entity and SMS header of its own; an admin sets sms.dltEntityId and "
            "sms.senderIds in /org/channels",
            setting="sms.dltEntityId",
        )
    return channel


def email(org_id: str) -> EmailChannel:
    """The organization's email sender, or 409 naming what an admin sets."""
    channel = load_plain(org_id).email
    if channel is None:
        raise precondition(
            "The organization has no email sender of its own; an admin sets email.fromAddress in /org/channels",
            setting="email.fromAddress",
        )
    return channel


def sender_or_platform(org_id: str, org_name: str) -> tuple[str, str | None]:
    """(From, Reply-To) of an email the organization sends without asking (visit invitations): its own sender,
    else the platform's address under the organization's name."""
    from email.utils import formataddr, parseaddr

    from core import mail

    own = load_plain(org_id).email
    if own is not None:
        return own.sender, own.reply_to
    return formataddr((org_name, parseaddr(mail.platform_sender())[1])), None


def voice(org_id: str) -> VoiceChannel:
    """The organization's voice numbers (its caller id first), or 409 naming what an admin sets."""
    channel = load_plain(org_id).voice
    if channel is None:
        raise precondition(
            "The organization has no caller id for VoIP calls; an admin sets voice.callerIds in /org/channels",
            setting="voice.callerIds",
        )
    return channel


# ---- writing --------------------------------------------------------------------------------

WHATSAPP_NUMBERS = "whatsappNumbers"  # {phone_number_id} -> orgId
VOICE_NUMBERS = "voiceNumbers"  # {digits of an organization's number} -> orgId


def voice_key(e164: str) -> str:
    """The routing document id of a voice number: its digits."""
    return "".join(ch for ch in e164 if ch.isdigit())


def _routes(data: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(collection, document id) of every routing entry a stored configuration owns."""
    found: set[tuple[str, str]] = set()
    wa = data.get("whatsapp") or {}
    if isinstance(wa, Mapping) and wa.get("phoneNumberId"):
        found.add((WHATSAPP_NUMBERS, str(wa["phoneNumberId"])))
    vo = data.get("voice") or {}
    if isinstance(vo, Mapping):
        found.update((VOICE_NUMBERS, voice_key(number)) for number in _strings(vo.get("callerIds")))
    return found


def _sealed(org_id: str, section: str, field: str, value: str) -> dict[str, Any]:
    return {
        "sealed": sealing.seal(secrets.CHANNELS_KEY, value, context=context(org_id, section, field)),
        "last4": value[-4:],
    }


def save(
    org_id: str,
    changes: Mapping[str, Mapping[str, Any] | None],
    *,
    by: str | None = None,
    if_match: int | None = None,
    merge: bool = False,
    complete: Callable[[Mapping[str, Any]], None] | None = None,
    audited: bool = False,
) -> dict[str, Any]:
    """Replace the given sections (None removes one; with merge, the fields given change and the others stay):
    credentials given in clear are sealed, one absent keeps the stored one; the routing tables follow in the
    same transaction. A stale if_match is 412; `complete` checks the new document before it is written (raises
    to refuse it); `audited` appends a `channels.changed` entry (section names only) in the same transaction.
    A number another organization already routes is 409 ALREADY_EXISTS naming the field. Returns the stored
    document (credentials sealed)."""
    from google.cloud import firestore

    db = clients.db()
    doc = ref(org_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = doc.get(transaction=transaction)
        before = snapshot.to_dict() if snapshot.exists else {}
        check({"version": max(int(before.get("version") or 0), 1)}, if_match)
        after = dict(before)
        for section, given in changes.items():
            if section == "optOutText":
                after[section] = given
                continue
            if given is None:
                after[section] = None
                continue
            stored = dict(before.get(section) or {})
            base = {k: v for k, v in stored.items() if k not in SEALED.get(section, ())} if merge else {}
            merged = base | {key: value for key, value in given.items() if key not in SEALED.get(section, ())}
            for field in SEALED.get(section, ()):
                if given.get(field):
                    merged[field] = _sealed(org_id, section, field, str(given[field]))
                elif stored.get(field):
                    merged[field] = stored[field]
            after[section] = merged
        if complete is not None:
            complete(after)
        old, new = _routes(before), _routes(after)
        claimed = {}
        for collection, key in sorted(new - old):
            route = db.collection(collection).document(key)
            held = route.get(transaction=transaction)
            if held.exists and (held.to_dict() or {}).get("orgId") != org_id:
                field = "whatsapp.phoneNumberId" if collection == WHATSAPP_NUMBERS else "voice.callerIds"
                raise ApiError("ALREADY_EXISTS", "Another organization already uses this number", field=field)
            claimed[(collection, key)] = route
        head = audit.read_head(transaction, org_id) if audited else None
        for collection, key in old - new:
            transaction.delete(db.collection(collection).document(key))
        for route in claimed.values():
            transaction.set(route, {"orgId": org_id})
        now = clock.now()
        after.update({"version": max(int(before.get("version") or 0), 1) + 1, "updatedAt": now, "updatedBy": by})
        transaction.set(doc, after)
        if head is not None:
            audit.append_in(transaction, org_id, head, "channels.changed", actor=by, fields=sorted(changes))
        return after

    result: dict[str, Any] = transactions.run(apply, db)
    return result
