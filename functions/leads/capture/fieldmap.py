"""From a provider's payload to lead fields, without I/O: the source's field map, then normalization
(phones to E.164 with the organization's default country code, emails lower-cased and checked).

A field map names, for each payload field (dotted for nested objects: `lead.phone`), the lead field it fills.
Several payload fields may fill one lead field: the first present wins, in the map's order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ApiError
from leads import phones

TARGETS = frozenset(
    {
        "name",
        "firstName",
        "lastName",
        "salutation",
        "primaryPhone",
        "alternatePhone",
        "countryCode",
        "email",
        "location.city",
        "location.locality",
        "location.address",
        "budget.min",
        "budget.max",
        "configurations",
        "note",
        "providerId",
        "campaign.id",
        "campaign.name",
        "campaign.adId",
        "campaign.formId",
    }
)
WEBSITE_MAP: dict[str, str] = {
    "name": "name",
    "phone": "primaryPhone",
    "email": "email",
    "city": "location.city",
    "message": "note",
}
# Missed-call providers post the caller's number under one of these names.
MISSEDCALL_MAP: dict[str, str] = {"caller": "primaryPhone", "from": "primaryPhone", "phone": "primaryPhone"}
DEFAULT_MAPS: dict[str, dict[str, str]] = {
    "website": WEBSITE_MAP,
    "generic": WEBSITE_MAP,
    "magicbricks": WEBSITE_MAP,
    "housing": WEBSITE_MAP,
    "missedcall": MISSEDCALL_MAP,
}
# Google Ads lead form column ids (developers.google.com/google-ads/webhook/docs/implementation).
GOOGLE_COLUMNS: dict[str, str] = {
    "FULL_NAME": "name",
    "FIRST_NAME": "firstName",
    "LAST_NAME": "lastName",
    "PHONE_NUMBER": "primaryPhone",
    "WORK_PHONE": "alternatePhone",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "CITY": "location.city",
    "STREET_ADDRESS": "location.address",
    "POSTAL_CODE": "location.locality",
}
UNNAMED = "Unnamed enquiry"
MAX_VALUE = 500
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_CONFIGURATION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z. _-]*$")


def default_map(kind: str) -> dict[str, str]:
    """The field map a source of this kind uses when it sets none (meta and google map themselves)."""
    return dict(DEFAULT_MAPS.get(kind, WEBSITE_MAP))


def bad_targets(field_map: Mapping[str, str]) -> list[str]:
    """The payload fields of a map whose lead field is not one we fill (a 400 names them)."""
    return [source for source, target in field_map.items() if target not in TARGETS]


def lookup(payload: Any, path: str) -> Any:
    """The value at a dotted path of nested objects (a top-level key containing dots wins); None when absent."""
    if isinstance(payload, Mapping) and path in payload:
        return payload[path]
    value = payload
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def text_of(value: Any) -> str | None:
    """A payload value as trimmed text (the first of a list, as form posts and Meta's values give), bounded."""
    if isinstance(value, list | tuple):
        value = next((item for item in value if item not in (None, "")), None)
    if value is None or isinstance(value, (Mapping, bool)):
        return None
    text = str(value).strip()
    return text[:MAX_VALUE] or None


def map_payload(payload: Mapping[str, Any], field_map: Mapping[str, str]) -> dict[str, str]:
    """Lead field -> text by the field map; the first payload field present wins."""
    mapped: dict[str, str] = {}
    for source, target in field_map.items():
        if target in TARGETS and target not in mapped:
            text = text_of(lookup(payload, source))
            if text is not None:
                mapped[target] = text
    return mapped


def google_fields(columns: Any) -> dict[str, str]:
    """Google's `user_column_data [{column_id, string_value}]` as lead fields (unknown columns go to the note)."""
    mapped: dict[str, str] = {}
    extra: list[str] = []
    for column in columns if isinstance(columns, list) else []:
        if not isinstance(column, Mapping):
            continue
        value = text_of(column.get("string_value"))
        column_id = str(column.get("column_id") or "")
        if value is None:
            continue
        target = GOOGLE_COLUMNS.get(column_id)
        if target is not None:
            mapped.setdefault(target, value)
        else:
            label = text_of(column.get("column_name")) or column_id or "answer"
            extra.append(f"{label}: {value}")
    if extra:
        mapped["note"] = "\n".join(extra)[: MAX_VALUE * 4]
    return mapped


@dataclass(frozen=True)
class Normalized:
    """Mapped fields made ready for a lead: what was valid, and why the rest was dropped."""

    name: str
    primary: phones.ParsedPhone | None
    alternate: phones.ParsedPhone | None
    emails: tuple[str, ...]
    lead: dict[str, Any]  # the other LeadCreate fields (location, budget, configurations, salutation)
    note: str | None
    campaign: dict[str, str]
    problems: tuple[str, ...] = field(default=())

    @property
    def reachable(self) -> bool:
        """True when the buyer can be reached: a valid phone or an email."""
        return self.primary is not None or bool(self.emails)


def _phone(value: str | None, country_code: str | None, default: str, label: str) -> tuple[Any, str | None]:
    if not value:
        return None, None
    try:
        return phones.parse(value, country_code, default_country_code=default, field=label), None
    except ApiError:
        return None, f"{label} is not a valid phone number"


def _email(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    address = value.strip().lower()
    if not _EMAIL.match(address) or not _valid_email(address):
        return None, "email is not a valid address"
    return address, None


def _valid_email(address: str) -> bool:
    from pydantic import EmailStr, TypeAdapter, ValidationError

    try:
        TypeAdapter(EmailStr).validate_python(address)
    except ValidationError:
        return False
    return True


def _amount(value: str | None) -> int | None:
    digits = phones.digits(value or "")
    return int(digits) if digits and len(digits) <= 15 else None


def normalize(mapped: Mapping[str, str], *, default_country_code: str) -> Normalized:
    """Mapped text -> valid lead fields; an invalid phone or email is dropped with the reason kept."""
    code = mapped.get("countryCode")
    if code is not None and not re.fullmatch(r"\+?[0-9]{1,3}", code):
        code = None
    if code is not None and not code.startswith("+"):
        code = "+" + code
    primary, primary_problem = _phone(mapped.get("primaryPhone"), code, default_country_code, "primaryPhone")
    alternate, alternate_problem = _phone(mapped.get("alternatePhone"), code, default_country_code, "alternatePhone")
    if primary is None and alternate is not None:
        primary, alternate = alternate, None
    if alternate is not None and primary is not None and alternate.e164 == primary.e164:
        alternate = None
    email, email_problem = _email(mapped.get("email"))
    name = mapped.get("name") or " ".join(p for p in (mapped.get("firstName"), mapped.get("lastName")) if p)
    lead: dict[str, Any] = {}
    location = {
        key: mapped[f"location.{key}"][:80] for key in ("city", "locality", "address") if mapped.get(f"location.{key}")
    }
    if location:
        lead["location"] = location
    budget = {key: _amount(mapped.get(f"budget.{key}")) for key in ("min", "max")}
    if all(budget.values()) and budget["min"] <= budget["max"]:  # type: ignore[operator]
        lead["budget"] = budget
    elif any(budget.values()) and not all(budget.values()):
        lead["budget"] = {key: value for key, value in budget.items() if value}
    configuration = mapped.get("configurations")
    if configuration and _CONFIGURATION.match(configuration) and len(configuration) <= 40:
        lead["configurations"] = [configuration.replace(" ", "").upper().replace("VILLA", "villa")]
    if mapped.get("salutation"):
        lead["salutation"] = mapped["salutation"][:20]
    campaign = {
        key: mapped[f"campaign.{key}"][:120]
        for key in ("id", "name", "adId", "formId")
        if mapped.get(f"campaign.{key}")
    }
    problems = tuple(p for p in (primary_problem, alternate_problem, email_problem) if p)
    return Normalized(
        name=(name or UNNAMED)[:120],
        primary=primary,
        alternate=alternate,
        emails=(email,) if email else (),
        lead=lead,
        note=mapped.get("note"),
        campaign=campaign,
        problems=problems,
    )


def rejection(normalized: Normalized) -> str | None:
    """Why no lead can be made of these fields (None when one can)."""
    if normalized.reachable:
        return None
    found = "; ".join(normalized.problems)
    return "no valid phone and no email" + (f" ({found})" if found else "")


_NUMBER = re.compile(r"\+?[0-9][0-9 ().-]{5,}[0-9]")


def mask_numbers(value: Any) -> Any:
    """The value with every run of 7 or more digits (a phone, however written) hidden but its first and last 2."""
    if isinstance(value, str):
        return _NUMBER.sub(_hide, value)
    if isinstance(value, Mapping):
        return {key: mask_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_numbers(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1_000_000:
        return _hide_digits(str(value))
    return value


def _hide(match: re.Match[str]) -> str:
    text = match.group(0)
    return _hide_digits(text) if len(phones.digits(text)) >= 7 else text


def _hide_digits(text: str) -> str:
    digits = phones.digits(text)
    return digits[:2] + "X" * (len(digits) - 4) + digits[-2:]
