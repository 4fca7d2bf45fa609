"""Loopback stand-ins for what a deployed function talks to: Google's endpoints, the providers, an SMTP server.

One threaded HTTP server answers for every Google API host (the child's sitecustomize sends `*.googleapis.com`
here with the original Host header) and, by path, for the GCE metadata server and the provider stubs. Each
stand-in checks what production checks (the metadata flavour header, the `Bearer` access token, the project,
the service account) and records every request, so tests assert what was sent.

- metadata server (`GCE_METADATA_HOST`): project id, the service account and its access token `owner`
  (the Firestore emulator grants admin to `Bearer owner`)
- www.googleapis.com: the securetoken x509 certificates ID tokens are verified against
- iamcredentials: signBlob with the service account's test key (custom tokens, signed URLs)
- identitytoolkit: users, custom claims, validSince (create, update, lookup, delete)
- fcm: v1 messages:send; cloudtasks: createTask (names are unique) and deleteTask
- storage: the JSON API (object metadata, media download, list, delete, generation preconditions) and
  signed-URL uploads and downloads, whose v4 signature is checked against the service account's key and
  whose signed length range, create-only precondition and pinned generation are enforced
- /plivo and /graph: the SMS and WhatsApp providers (WhatsApp media by id, downloaded from /graph-media);
  /99acres/pull: 99acres' lead pull; SMTP with STARTTLS and AUTH on its own port
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from requests.structures import CaseInsensitiveDict

ACCESS_TOKEN = "owner"
CERTS_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"


@dataclass
class Recorded:
    """One request a stand-in received."""

    host: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]
    body: bytes

    def json(self) -> Any:
        """The JSON body."""
        return json.loads(self.body or b"null")


@dataclass
class Mail:
    """One email the SMTP server accepted."""

    sender: str
    recipients: list[str]
    message: Message
    login: str | None

    def text(self) -> str:
        """The plain-text part."""
        for part in self.message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                return payload.decode() if isinstance(payload, bytes) else str(payload)
        return ""


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject_key: rsa.RSAPrivateKey,
    name: str,
    *,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None = None,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    import ipaddress

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, subject_key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


class Keys:
    """The test keys: the service account's (signBlob), the securetoken signer's (ID tokens), a test CA."""

    def __init__(self, project: str) -> None:
        self.service_account = f"justo-functions@{project}.iam.gserviceaccount.com"
        self.account_key = _new_key()
        self.token_key = _new_key()
        self.token_kid = hashlib.sha1(str(id(self.token_key)).encode()).hexdigest()
        self.token_cert = _certificate(self.token_key, "securetoken.system.gserviceaccount.com")
        self.ca_key = _new_key()
        self.ca_cert = _certificate(self.ca_key, "Justo prod-tier test CA", ca=True)
        self.smtp_key = _new_key()
        self.smtp_cert = _certificate(
            self.smtp_key, "127.0.0.1", issuer=(self.ca_cert.subject, self.ca_key), ip="127.0.0.1"
        )

    def sign_as_account(self, payload: bytes) -> bytes:
        """What IAM signBlob answers for the service account: RSA-SHA256 PKCS#1 v1.5."""
        return self.account_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())

    def account_signed(self, payload: bytes, signature: bytes) -> bool:
        """True when signature is the service account's over payload."""
        from cryptography.exceptions import InvalidSignature

        try:
            self.account_key.public_key().verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def write_tls_files(self, folder: Path) -> tuple[Path, Path, Path]:
        """(CA bundle, SMTP certificate, SMTP key) as PEM files."""
        folder.mkdir(parents=True, exist_ok=True)
        ca, cert, key = folder / "ca.pem", folder / "smtp.pem", folder / "smtp.key"
        ca.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        cert.write_bytes(self.smtp_cert.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(_pem(self.smtp_key))
        return ca, cert, key


@dataclass
class StoredObject:
    """An object in the Cloud Storage stand-in."""

    data: bytes
    content_type: str
    generation: int


@dataclass
class State:
    """What the stand-ins hold and saw."""

    project: str
    keys: Keys
    requests: list[Recorded] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[tuple[str, str], StoredObject] = field(default_factory=dict)
    acres99: str = '<Xml ActionStatus="true"></Xml>'  # what the 99acres pull answers
    meta_leads: dict[str, dict[str, Any]] = field(default_factory=dict)  # leadgen id -> what the Graph API answers
    whatsapp_media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # media id -> (MIME type, bytes)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


def _google_error(status: int, message: str, code: str = "") -> _Reply:
    return _Reply(status, {"error": {"code": status, "message": message, "status": code or message}})


class Handler(BaseHTTPRequestHandler):
    """Dispatches on the Host header (Google's hosts) or the path (metadata, providers)."""

    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        headers = CaseInsensitiveDict(dict(self.headers.items()))
        record = Recorded(host, self.command, unquote(parts.path), parse_qs(parts.query), headers, body)
        state = self.server.state
        with state.lock:
            state.requests.append(record)
        try:
            route = GOOGLE.get(host) if host.endswith("googleapis.com") else None
            if host.endswith("googleapis.com") and route is None:
                raise _Reply(404, {"error": f"no stand-in for {host}"})
            if route is None:
                route = _metadata if parts.path.startswith("/computeMetadata") or parts.path == "/" else _provider
            raise route(state, record, parts.path)
        except _Reply as reply:
            self._answer(reply)

    def _answer(self, reply: _Reply) -> None:
        body = reply.body
        headers = dict(reply.headers)
        if isinstance(body, dict | list):
            payload = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            payload = body.encode()
            headers.setdefault("Content-Type", "text/plain")
        else:
            payload = body or b""
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


def _bearer(record: Recorded) -> None:
    """Google's APIs refuse a request without the function's access token."""
    if record.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
        raise _google_error(401, "Request had invalid authentication credentials", "UNAUTHENTICATED")


def _project(state: State, project: str) -> None:
    if project not in (state.project, "-"):
        raise _google_error(403, f"project {project} is not the function's project", "PERMISSION_DENIED")


# ---- metadata server ---------------------------------------------------------------------------


def _metadata(state: State, record: Recorded, path: str) -> _Reply:
    flavour = {"Metadata-Flavor": "Google"}
    if record.headers.get("Metadata-Flavor") != "Google":
        return _Reply(403, "Missing Metadata-Flavor:Google header", flavour)
    if path == "/":
        return _Reply(200, "ok", flavour)
    key = path.removeprefix("/computeMetadata/v1/").rstrip("/")
    account = {"email": state.keys.service_account, "aliases": ["default"], "scopes": ["cloud-platform"]}
    answers: dict[str, Any] = {
        "project/project-id": state.project,
        "project/numeric-project-id": "424242424242",
        "universe/universe-domain": "googleapis.com",
        "instance/region": "projects/424242424242/regions/asia-south1",
        "instance/service-accounts/default": account,
        f"instance/service-accounts/{state.keys.service_account}": account,
        "instance/service-accounts/default/email": state.keys.service_account,
        f"instance/service-accounts/{state.keys.service_account}/email": state.keys.service_account,
    }
    if key.endswith("/token") and key.startswith("instance/service-accounts/"):
        return _Reply(200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}, flavour)
    if key not in answers:
        return _Reply(404, "not found", flavour)
    answer = answers[key]
    return _Reply(200, answer if isinstance(answer, dict) else str(answer), flavour)


# ---- Google APIs -------------------------------------------------------------------------------


def _www(state: State, record: Recorded, path: str) -> _Reply:
    if path == CERTS_PATH:
        pem = state.keys.token_cert.public_bytes(serialization.Encoding.PEM).decode()
        return _Reply(200, {state.keys.token_kid: pem}, {"Cache-Control": "public, max-age=19000"})
    return _Reply(404, {"error": "no such resource"})


def _iam(state: State, record: Recorded, path: str) -> _Reply:
    _bearer(record)
    found = re.fullmatch(r"/v1/projects/-/serviceAccounts/(.+):signBlob", path)
    if record.method != "POST" or not found:
        return _google_error(404, "no such method", "NOT_FOUND")
    if unquote(found.group(1)) != state.keys.service_account:
        return _google_error(403, "Permission 'iam.serviceAccounts.signBlob' denied", "PERMISSION_DENIED")
    payload = base64.b64decode(record.json()["payload"])
    signed = base64.b64encode(state.keys.sign_as_account(payload)).decode()
    return _Reply(200, {"keyId": "prodtest-key", "signedBlob": signed})


def _identity(state: State, record: Recorded, path: str) -> _Reply:
    _bearer(record)
    found = re.fullmatch(r"/v1/projects/([^/]+)/accounts(?::(\w+))?", path)
    if record.method != "POST" or not found:
        return _google_error(404, "no such method", "NOT_FOUND")
    _project(state, found.group(1))
    verb, body = found.group(2) or "create", record.json() or {}
    with state.lock:
        if verb == "create":
            uid = body.get("localId") or f"u{len(state.users)}"
            if uid in state.users:
                return _google_error(400, "DUPLICATE_LOCAL_ID")
            if body.get("email") and any(u.get("email") == body["email"] for u in state.users.values()):
                return _google_error(400, "EMAIL_EXISTS")
            state.users[uid] = {"localId": uid, **{k: v for k, v in body.items() if k != "localId"}}
            return _Reply(200, {"localId": uid})
        if verb == "update":
            user = state.users.get(body.get("localId", ""))
            if user is None:
                return _google_error(400, "USER_NOT_FOUND")
            changes = {k: v for k, v in body.items() if k not in {"localId", "deleteAttribute", "deleteProvider"}}
            if "disableUser" in changes:
                changes["disabled"] = changes.pop("disableUser")
            user.update(changes)
            return _Reply(200, {"localId": user["localId"]})
        if verb == "lookup":
            users = [state.users[uid] for uid in body.get("localId") or [] if uid in state.users]
            return _Reply(200, {"kind": "identitytoolkit#GetAccountInfoResponse", "users": users} if users else {})
        if verb == "delete":
            state.users.pop(body.get("localId", ""), None)
            return _Reply(200, {})
    return _google_error(404, "no such method", "NOT_FOUND")


def _fcm(state: State, record: Recorded, path: str) -> _Reply:
    _bearer(record)
    found = re.fullmatch(r"/v1/projects/([^/]+)/messages:send", path)
    if record.method != "POST" or not found:
        return _google_error(404, "no such method", "NOT_FOUND")
    _project(state, found.group(1))
    message = (record.json() or {}).get("message") or {}
    if not message.get("token"):
        return _google_error(400, "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT")
    return _Reply(200, {"name": f"projects/{state.project}/messages/{time.monotonic_ns()}"})


def _tasks(state: State, record: Recorded, path: str) -> _Reply:
    _bearer(record)
    found = re.fullmatch(r"/v2/projects/([^/]+)/locations/([^/]+)/queues/([^/]+)/tasks(?:/([^/]+))?", path)
    if not found:
        return _google_error(404, "no such method", "NOT_FOUND")
    project, location, queue, task_id = found.groups()
    _project(state, project)
    parent = f"projects/{project}/locations/{location}/queues/{queue}/tasks"
    with state.lock:
        if record.method == "POST" and task_id is None:
            task = dict((record.json() or {}).get("task") or {})
            name = task.get("name") or f"{parent}/{time.monotonic_ns()}"
            if name in state.tasks:
                return _google_error(409, "Requested entity already exists", "ALREADY_EXISTS")
            task["name"] = name
            state.tasks[name] = task
            return _Reply(200, task)
        if record.method == "DELETE" and task_id:
            if state.tasks.pop(f"{parent}/{task_id}", None) is None:
                return _google_error(404, "Requested entity was not found.", "NOT_FOUND")
            return _Reply(200, {})
    return _google_error(404, "no such method", "NOT_FOUND")


def _object_json(bucket: str, name: str, stored: StoredObject) -> dict[str, Any]:
    return {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{stored.generation}",
        "name": name,
        "bucket": bucket,
        "generation": str(stored.generation),
        "metageneration": "1",
        "contentType": stored.content_type,
        "size": str(len(stored.data)),
        "md5Hash": base64.b64encode(hashlib.md5(stored.data).digest()).decode(),
    }


def _storage(state: State, record: Recorded, path: str) -> _Reply:
    if "X-Goog-Signature" in record.query:
        return _signed_object(state, record, path)
    _bearer(record)
    upload = re.fullmatch(r"/upload/storage/v1/b/([^/]+)/o", path)
    if upload and record.method == "POST" and record.query.get("uploadType") == ["multipart"]:
        return _multipart_upload(state, record, upload.group(1))
    found = re.fullmatch(r"/(download/)?storage/v1/b/([^/]+)/o(?:/(.+))?", path)
    if not found:
        return _google_error(404, "no such method", "NOT_FOUND")
    download, bucket, quoted = found.groups()
    name = unquote(quoted) if quoted is not None else None
    with state.lock:
        if name is None and record.method == "GET":
            prefix = (record.query.get("prefix") or [""])[0]
            items = [
                _object_json(b, n, o)
                for (b, n), o in sorted(state.objects.items())
                if b == bucket and n.startswith(prefix)
            ]
            return _Reply(200, {"kind": "storage#objects", "items": items})
        stored = state.objects.get((bucket, name or ""))
        if stored is None:
            return _google_error(404, "No such object", "NOT_FOUND")
        match = record.query.get("ifGenerationMatch")
        if match and int(match[0]) != stored.generation:
            return _google_error(
                412, "At least one of the pre-conditions you specified did not hold.", "FAILED_PRECONDITION"
            )
        if record.method == "DELETE":
            del state.objects[(bucket, name or "")]
            return _Reply(204)
        if download or record.query.get("alt") == ["media"]:
            return _media(stored, record)
        return _Reply(200, _object_json(bucket, name or "", stored))


def _multipart_upload(state: State, record: Recorded, bucket: str) -> _Reply:
    """The JSON API's one-request upload (`uploadType=multipart`): a metadata part, then the media part."""
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {record.headers.get('Content-Type', '')}\r\n\r\n".encode()
    parts = list(BytesParser(policy=HTTP).parsebytes(head + record.body).iter_parts())
    if len(parts) != 2:
        return _google_error(400, "a multipart upload has a metadata part and a media part", "INVALID_ARGUMENT")
    metadata = json.loads(bytes(parts[0].get_payload(decode=True) or b"{}"))
    name = str(metadata.get("name") or (record.query.get("name") or [""])[0])
    data = bytes(parts[1].get_payload(decode=True) or b"")
    content_type = str(metadata.get("contentType") or parts[1].get_content_type())
    with state.lock:
        previous = state.objects.get((bucket, name))
        match = record.query.get("ifGenerationMatch")
        if match and int(match[0]) != (previous.generation if previous else 0):
            return _google_error(
                412, "At least one of the pre-conditions you specified did not hold.", "FAILED_PRECONDITION"
            )
        stored = StoredObject(data, content_type, (previous.generation + 1) if previous else 1)
        state.objects[(bucket, name)] = stored
    return _Reply(200, _object_json(bucket, name, stored))


def _media(stored: StoredObject, record: Recorded) -> _Reply:
    headers = {"Content-Type": stored.content_type, "X-Goog-Generation": str(stored.generation)}
    ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", record.headers.get("Range") or "")
    if not ranged:
        return _Reply(200, stored.data, headers)
    start = int(ranged.group(1))
    end = min(int(ranged.group(2) or len(stored.data) - 1), len(stored.data) - 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{len(stored.data)}"
    return _Reply(206, stored.data[start : end + 1], headers)


def v4_string_to_sign(record: Recorded, path: str) -> tuple[str, bytes, bytes]:
    """(credential, signature, string to sign) of a v4 signed-URL request, rebuilt as Cloud Storage does."""
    query = {key: values[0] for key, values in record.query.items()}
    signature = bytes.fromhex(query.pop("X-Goog-Signature"))
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
    signed = query.get("X-Goog-SignedHeaders", "host").split(";")
    lower = {k.lower(): v for k, v in record.headers.items()} | {"host": record.host}
    canonical_headers = "".join(f"{name}:{lower.get(name, '').strip()}\n" for name in signed)
    canonical = "\n".join(
        [
            record.method,
            quote(path, safe="/~"),
            canonical_query,
            canonical_headers,
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string = "\n".join(
        ["GOOG4-RSA-SHA256", query["X-Goog-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    return query["X-Goog-Credential"], signature, string.encode()


def _signed_object(state: State, record: Recorded, path: str) -> _Reply:
    credential, signature, string = v4_string_to_sign(record, path)
    if not credential.startswith(state.keys.service_account + "/") or not state.keys.account_signed(string, signature):
        return _Reply(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>", {"Content-Type": "application/xml"})
    bucket, _, name = unquote(path).lstrip("/").partition("/")
    with state.lock:
        if record.method == "PUT":
            previous = state.objects.get((bucket, name))
            length_range = record.headers.get("x-goog-content-length-range")
            if length_range:
                low, _, high = length_range.partition(",")
                if not int(low) <= len(record.body) <= int(high):
                    return _Reply(
                        400, "<Error><Code>EntityTooLarge</Code></Error>", {"Content-Type": "application/xml"}
                    )
            match = record.headers.get("x-goog-if-generation-match")
            if match is not None and int(match) != (previous.generation if previous else 0):
                return _Reply(
                    412, "<Error><Code>PreconditionFailed</Code></Error>", {"Content-Type": "application/xml"}
                )
            generation = (previous.generation + 1) if previous else 1
            content_type = record.headers.get("Content-Type") or "application/octet-stream"
            state.objects[(bucket, name)] = StoredObject(record.body, content_type, generation)
            return _Reply(200, b"")
        stored = state.objects.get((bucket, name))
    pinned = record.query.get("generation")
    if stored is None or (pinned and int(pinned[0]) != stored.generation):
        return _Reply(404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
    return _media(stored, record)


GOOGLE = {
    "www.googleapis.com": _www,
    "iamcredentials.googleapis.com": _iam,
    "identitytoolkit.googleapis.com": _identity,
    "fcm.googleapis.com": _fcm,
    "cloudtasks.googleapis.com": _tasks,
    "storage.googleapis.com": _storage,
}


# ---- providers ---------------------------------------------------------------------------------


def _provider(state: State, record: Recorded, path: str) -> _Reply:
    plivo = re.fullmatch(r"/plivo/v1/Account/([^/]+)/Message/", path)
    if plivo and record.method == "POST":
        if not record.headers.get("Authorization", "").startswith("Basic "):
            return _Reply(401, {"error": "authentication failed"})
        return _Reply(
            202,
            {"api_id": "prodtest", "message": "message(s) queued", "message_uuid": [f"plivo-{time.monotonic_ns()}"]},
        )
    graph = re.fullmatch(r"/graph/(?:v[\d.]+/)?([^/]+)/messages", path)
    if graph and record.method == "POST":
        if not record.headers.get("Authorization", "").startswith("Bearer "):
            return _Reply(401, {"error": {"message": "Invalid OAuth access token", "code": 190}})
        return _Reply(200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{time.monotonic_ns()}"}]})
    download = re.fullmatch(r"/graph-media/([^/]+)", path)
    if download and record.method == "GET":  # WhatsApp media's lookaside url, fetched with the number's token
        if not record.headers.get("Authorization", "").startswith("Bearer "):
            return _Reply(401, {"error": {"message": "An access token is required", "code": 104}})
        held = state.whatsapp_media.get(download.group(1))
        return _Reply(200, held[1], {"Content-Type": held[0]}) if held else _Reply(404, {"error": "no such media"})
    lead = re.fullmatch(r"/graph/(?:v[\d.]+/)?([^/]+)", path)
    if lead and record.method == "GET":  # a Lead Ads lead (the page's token) or WhatsApp media (the number's)
        if not record.headers.get("Authorization", "").startswith("Bearer "):
            return _Reply(400, {"error": {"message": "An access token is required", "code": 104}})
        media = state.whatsapp_media.get(lead.group(1))
        if media is not None:
            url = f"http://{record.headers.get('Host')}/graph-media/{lead.group(1)}"
            sha = hashlib.sha256(media[1]).hexdigest()
            return _Reply(200, {"url": url, "mime_type": media[0], "sha256": sha, "file_size": len(media[1])})
        found = state.meta_leads.get(lead.group(1))
        return (
            _Reply(200, found) if found else _Reply(400, {"error": {"message": "Unsupported get request", "code": 100}})
        )
    if path == "/99acres/pull" and record.method == "POST":
        query = parse_qs(record.body.decode()).get("xml", [""])[0]
        if "<user_name>" not in query or "<pswd>" not in query:
            return _Reply(200, '<Xml ActionStatus="false"><ErrorDetail><Code>1</Code></ErrorDetail></Xml>')
        return _Reply(200, state.acres99, {"Content-Type": "text/xml"})
    return _Reply(404, {"error": f"no stand-in at {path}"})


class Server(ThreadingHTTPServer):
    """The stand-ins' HTTP server."""

    daemon_threads = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state


# ---- SMTP --------------------------------------------------------------------------------------


class SmtpServer:
    """SMTP on loopback that, like a real relay, insists on STARTTLS and AUTH before it takes mail."""

    def __init__(self, cert: Path, key: Path, user: str) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.mails: list[Mail] = []
        self.user = user
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        outer = self

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            login = getattr(auth_data, "login", b"")
            login = login.decode() if isinstance(login, bytes) else str(login)
            return AuthResult(success=login == outer.user, auth_data=login)

        class Collect:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                name = session.auth_data if session.authenticated else None
                outer.mails.append(
                    Mail(
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        message_from_bytes(envelope.original_content or envelope.content),
                        name.decode() if isinstance(name, bytes) else name,
                    )
                )
                return "250 OK"

        self.controller = Controller(
            Collect(),
            hostname="127.0.0.1",
            port=0,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            authenticator=authenticator,
        )

    def start(self) -> int:
        """Start; the port."""
        self.controller.port = _free_port()
        self.controller.start()
        return int(self.controller.port)

    def stop(self) -> None:
        """Stop."""
        self.controller.stop()

    def to(self, address: str) -> list[Mail]:
        """Mails to one address, oldest first."""
        return [mail for mail in self.mails if address in mail.recipients]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Standins:
    """Every stand-in, started together: `address` for PRODTEST_GOOGLE_APIS and GCE_METADATA_HOST."""

    def __init__(self, project: str, folder: Path, smtp_user: str) -> None:
        self.keys = Keys(project)
        self.state = State(project, self.keys)
        self.ca_file, cert, key = self.keys.write_tls_files(folder)
        self.http = Server(self.state)
        self.smtp = SmtpServer(cert, key, smtp_user)
        self.smtp_port = 0
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """host:port of the HTTP stand-ins."""
        return f"127.0.0.1:{self.http.server_address[1]}"

    def start(self) -> Standins:
        """Start the HTTP and SMTP servers."""
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self._thread.start()
        self.smtp_port = self.smtp.start()
        return self

    def stop(self) -> None:
        """Stop both."""
        self.http.shutdown()
        self.http.server_close()
        self.smtp.stop()

    def seen(self, host: str, path: str = "", method: str | None = None) -> list[Recorded]:
        """Requests to a host whose path contains `path` (and of a method), oldest first."""
        with self.state.lock:
            return [
                r
                for r in self.state.requests
                if r.host == host and path in r.path and (method is None or r.method == method)
            ]

    def pushes_to(self, token: str) -> list[dict[str, Any]]:
        """The FCM messages sent to one device token."""
        messages = [(r.json() or {}).get("message") or {} for r in self.seen("fcm.googleapis.com", "messages:send")]
        return [m for m in messages if m.get("token") == token]
