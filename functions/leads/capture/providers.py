"""Capture provider ports: the Meta Graph API (a Lead Ads lead by its leadgen id) and 99acres' XML pull.

Production adapters speak each provider's real HTTP API (retries as core.provider_calls has them). On the
emulators the Meta client points at the `dev` function's Graph stub (leads registered with `POST
/dev/meta/leads`) and the 99acres client at the `dev` function's pull stub (it answers no leads), so the
same code path runs locally without a network."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from core import settings
from core.provider_calls import USER_AGENT, ProviderError, call_json, scrub, with_retries

GRAPH_VERSION = "v21.0"
GRAPH_BASE = f"https://graph.facebook.com/{GRAPH_VERSION}"
# What a lead's read asks for: without `fields` the Graph API answers only id, created_time and field_data.
LEAD_FIELDS = (
    "id,created_time,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,field_data,is_organic,platform"
)
ACRES99_URL = "https://www.99acres.com/99api/v1/getmy99Response/OeAuXClO43hwseaXEQ/uid/"
# 99acres reads and writes its times in India Standard Time and refuses windows longer than two days.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
ACRES99_MAX_WINDOW = timedelta(days=2)
ACRES99_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class ProviderConfig:
    """Where the capture providers are called, and how hard."""

    graph_base: str
    acres99_url: str
    attempts: int
    backoff_sec: float
    timeout_sec: float


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip() or default


def config() -> ProviderConfig:
    """The providers' configuration from the environment; the emulators default to the dev stubs."""
    base = settings.get()
    local = f"http://127.0.0.1:5001/{base.project_id}/{base.region}/dev"
    return ProviderConfig(
        graph_base=_env("META_GRAPH_API_BASE", f"{local}/meta/graph/{GRAPH_VERSION}" if base.emulator else GRAPH_BASE),
        acres99_url=_env("ACRES99_API_URL", f"{local}/99acres/pull" if base.emulator else ACRES99_URL),
        attempts=int(_env("CAPTURE_RETRY_ATTEMPTS", "3")),
        backoff_sec=float(_env("CAPTURE_RETRY_BACKOFF_SEC", "0.5")),
        timeout_sec=float(_env("CAPTURE_TIMEOUT_SEC", "10")),
    )


# ---- Meta Lead Ads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaLead:
    """A Lead Ads lead as the Graph API answers it: the form's answers and the ad it came through."""

    id: str
    created_time: str
    form_id: str
    ad_id: str
    campaign_id: str
    campaign_name: str
    answers: dict[str, list[str]] = field(default_factory=dict)  # field_data: name -> values
    raw: dict[str, Any] = field(default_factory=dict)  # the whole answer, for the capture record

    def fields(self) -> dict[str, str]:
        """The answers by question name, several values joined (a multiple-choice question)."""
        return {name: ", ".join(values) for name, values in self.answers.items()}


def parse_meta_lead(payload: Any) -> MetaLead:
    """A Graph API lead object read tolerantly: unknown keys kept in raw, odd values skipped; no id is an error."""
    if not isinstance(payload, dict) or not str(payload.get("id") or "").strip():
        raise ProviderError("the Graph API answered without a lead")
    answers: dict[str, list[str]] = {}
    field_data = payload.get("field_data")
    for item in field_data if isinstance(field_data, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            continue
        values = item.get("values")
        values = values if isinstance(values, list) else [values] if values is not None else []
        answers[item["name"].strip()] = [str(value) for value in values if value is not None and str(value) != ""]

    def text(key: str) -> str:
        value = payload.get(key)
        return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""

    return MetaLead(
        id=text("id"),
        created_time=text("created_time"),
        form_id=text("form_id"),
        ad_id=text("ad_id"),
        campaign_id=text("campaign_id"),
        campaign_name=text("campaign_name"),
        answers=answers,
        raw=payload,
    )


class MetaLeadReader(Protocol):
    """Reads one Lead Ads lead with the page's access token, or raises ProviderError."""

    def lead(self, leadgen_id: str, *, access_token: str) -> MetaLead:
        """The lead of leadgen_id."""
        ...


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """Graph API's appsecret_proof: hex HMAC-SHA256 of the access token under the app secret."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


class MetaGraphClient:
    """Graph API `GET /{leadgen_id}?fields=...&appsecret_proof=...` with the page token as `Authorization: Bearer`.

    The Graph API takes the token as the `access_token` query parameter or as a bearer header; the header keeps
    it out of every logged URL (httpx logs each request's URL at INFO)."""

    def __init__(
        self, *, api_base: str, app_secret: str, attempts: int = 3, backoff_sec: float = 0.5, timeout_sec: float = 10
    ) -> None:
        self.api_base, self.app_secret = api_base.rstrip("/"), app_secret
        self.attempts, self.backoff_sec, self.timeout_sec = attempts, backoff_sec, timeout_sec

    def request(self, leadgen_id: str, *, access_token: str) -> tuple[str, dict[str, str]]:
        """The exact URL (with its query) and headers of the read."""
        query = {"fields": LEAD_FIELDS, "appsecret_proof": appsecret_proof(self.app_secret, access_token)}
        url = f"{self.api_base}/{quote(leadgen_id, safe='')}?{urlencode(query)}"
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        return url, headers

    def lead(self, leadgen_id: str, *, access_token: str) -> MetaLead:
        """Read the lead with retries; ProviderError (the token is never part of its reason) when it fails."""
        url, headers = self.request(leadgen_id, access_token=access_token)
        payload = with_retries(
            lambda: _get_json(url, headers=headers, timeout=self.timeout_sec),
            attempts=self.attempts,
            backoff_sec=self.backoff_sec,
        )
        return parse_meta_lead(payload)


def _get_json(url: str, *, headers: dict[str, str], timeout: float) -> Any:
    """GET once (core.provider_calls.call_json)."""
    return call_json("GET", url, headers=headers, timeout=timeout)


# ---- 99acres ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortalLead:
    """One enquiry of a 99acres pull: its query id, what the buyer left, and the listing it was about."""

    id: str
    received_at: datetime | None  # RcvdOn, read as IST
    fields: dict[str, str]  # name, email, phone, message, project, ... (what a field map reads)
    raw: dict[str, Any]  # every element of the response's <Resp>, flattened


class PortalPuller(Protocol):
    """Pulls a portal's enquiries of a window, or raises ProviderError."""

    def pull(self, *, username: str, password: str, start: datetime, end: datetime) -> list[PortalLead]:
        """The enquiries received from start to end."""
        ...


def acres99_query(*, username: str, password: str, start: datetime, end: datetime) -> str:
    """The XML query 99acres' pull interface reads (the credentials escaped, the window in IST)."""
    return (
        "<?xml version='1.0'?><query>"
        f"<user_name>{escape(username)}</user_name><pswd>{escape(password)}</pswd>"
        f"<start_date>{start.astimezone(IST).strftime(ACRES99_TIME)}</start_date>"
        f"<end_date>{end.astimezone(IST).strftime(ACRES99_TIME)}</end_date>"
        "</query>"
    )


_ACRES99_FIELDS = {  # element -> field name a source's field map reads
    "Name": "name",
    "Email": "email",
    "Phone": "phone",
    "Mobile": "phone",
    "QryInfo": "message",
    "CmpctLabl": "listing",
    "ProjName": "project",
    "ProjId": "projectId",
    "ProdId": "listingId",
    "City": "city",
    "Locality": "locality",
}


def _received(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), ACRES99_TIME).replace(tzinfo=IST).astimezone(UTC)
    except ValueError:
        return None


def parse_acres99(body: bytes | str) -> list[PortalLead]:
    """The enquiries of a pull's XML answer; ActionStatus="false" (bad credentials, a too-long window) and any
    XML that is not the pull's answer are ProviderError. Parsed with defusedxml: the body is the network's."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as error:
        raise ProviderError("99acres answered something that is not its XML") from error
    if root.tag != "Xml":
        raise ProviderError("99acres answered something that is not its XML")
    if str(root.get("ActionStatus", "")).strip().lower() != "true":
        code = (root.findtext("ErrorDetail/Code") or "").strip()
        message = (root.findtext("ErrorDetail/Message") or "").strip()
        detail = ": ".join(part for part in (code, message) if part)
        raise ProviderError("99acres refused the pull" + (f" ({scrub(detail)[:200]})" if detail else ""))
    leads = []
    for resp in root.iter("Resp"):
        raw: dict[str, Any] = {}
        detail = resp.find("QryDtl")
        if detail is not None:
            raw.update({f"QryDtl.{key}": value for key, value in detail.attrib.items()})
        for element in resp.iter():
            if element is resp or len(element):
                continue
            raw.setdefault(element.tag, (element.text or "").strip())
            for key, value in element.attrib.items():
                raw.setdefault(f"{element.tag}.{key}", value)
        query_id = str(raw.get("QryDtl.QueryId") or raw.get("QueryId") or "").strip()
        if not query_id:
            continue  # nothing to tell a redelivery by: 99acres always sets it, a row without it is not an enquiry
        fields: dict[str, str] = {}
        for tag, name in _ACRES99_FIELDS.items():  # Phone before Mobile: the first one given wins
            if raw.get(tag):
                fields.setdefault(name, str(raw[tag]))
        leads.append(PortalLead(id=query_id, received_at=_received(str(raw.get("RcvdOn", ""))), fields=fields, raw=raw))
    return leads


class Acres99Client:
    """99acres' lead pull: POST form field `xml` (the query) to the pull URL; XML comes back."""

    def __init__(self, *, url: str, attempts: int = 3, backoff_sec: float = 0.5, timeout_sec: float = 10) -> None:
        self.url, self.attempts, self.backoff_sec, self.timeout_sec = url, attempts, backoff_sec, timeout_sec

    def request(
        self, *, username: str, password: str, start: datetime, end: datetime
    ) -> tuple[str, dict[str, str], bytes]:
        """The exact URL, headers and form body of the pull."""
        query = acres99_query(username=username, password=password, start=start, end=end)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
        return self.url, headers, urlencode({"xml": query}).encode()

    def pull(self, *, username: str, password: str, start: datetime, end: datetime) -> list[PortalLead]:
        """Pull one window (at most two days, as 99acres allows) with retries."""
        if end - start > ACRES99_MAX_WINDOW:
            raise ValueError("a 99acres pull covers at most two days")
        url, headers, body = self.request(username=username, password=password, start=start, end=end)
        answer = with_retries(
            lambda: _post_form(url, headers=headers, body=body, timeout=self.timeout_sec),
            attempts=self.attempts,
            backoff_sec=self.backoff_sec,
        )
        return parse_acres99(answer)


def _post_form(url: str, *, headers: dict[str, str], body: bytes, timeout: float) -> bytes:
    """POST a form once; 2xx -> the body, 5xx/timeout -> retryable ProviderError, other -> final."""
    import httpx

    try:
        response = httpx.post(url, headers=headers, content=body, timeout=timeout)
    except httpx.TimeoutException as error:
        raise ProviderError("provider timed out", retryable=True) from error
    except httpx.TransportError as error:
        raise ProviderError("provider unreachable", retryable=True) from error
    if response.status_code >= 500:
        raise ProviderError(f"provider error {response.status_code}", retryable=True)
    if response.status_code >= 300:
        raise ProviderError(f"provider refused ({response.status_code})")
    return response.content


# ---- the one place adapters are chosen ------------------------------------------------------

_meta: MetaLeadReader | None = None
_acres99: PortalPuller | None = None


def meta_graph() -> MetaLeadReader:
    """The configured Graph API client (the dev stub on the emulators), proofs signed with the Meta app secret."""
    global _meta
    if _meta is None:
        from core import secrets

        conf = config()
        _meta = MetaGraphClient(
            api_base=conf.graph_base,
            app_secret=secrets.value(secrets.WHATSAPP_APP_SECRET),
            attempts=conf.attempts,
            backoff_sec=conf.backoff_sec,
            timeout_sec=conf.timeout_sec,
        )
    return _meta


def acres99() -> PortalPuller:
    """The configured 99acres pull client (the dev stub on the emulators)."""
    global _acres99
    if _acres99 is None:
        conf = config()
        _acres99 = Acres99Client(
            url=conf.acres99_url, attempts=conf.attempts, backoff_sec=conf.backoff_sec, timeout_sec=conf.timeout_sec
        )
    return _acres99


def install(*, meta: MetaLeadReader | None = None, acres: PortalPuller | None = None) -> None:
    """Replace adapters (tests); None restores the configured choice on next use."""
    global _meta, _acres99
    _meta, _acres99 = meta, acres
