"""The prod tier's harness: the deploy manifest, functions started as Cloud Functions gen2 starts them, events.

- `build_manifest()` asks the firebase-functions SDK's own serving module, in the runtime venv, for the
  manifest `firebase deploy` reads (no emulator variables, no FUNCTION_TARGET), over the files a deploy
  uploads (`deployed_source()`).
- `Fleet` starts every endpoint of that manifest with functions-framework, `FUNCTION_TARGET`, `K_SERVICE`,
  a non-demo project, the plain settings of `env.justo-prodtest` and values for exactly the secrets its
  manifest entry declares (random, never the development ones). Nothing tells a function it is under test:
  no emulator variable, no JUSTO_ENV; only the network (tests/prod/network/sitecustomize.py) is loopback.
- `document_event()` is a Firestore CloudEvent as Eventarc delivers it (binary mode, protobuf
  `DocumentEventData`); `id_token()` an RS256 ID token as Firebase Auth issues it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
RUNTIME_PYTHON = FUNCTIONS / "venv" / "bin" / "python"
HERE = Path(__file__).resolve().parent
PROJECT = "justo-prodtest"
REGION = "asia-south1"
BUCKET = f"{PROJECT}.appspot.com"
ENV_FILE = HERE / f"env.{PROJECT}"
NETWORK = HERE / "network"

# What only an emulator or a test sets: a production start has none of them.
EMULATOR_VARIABLES = (
    "FUNCTIONS_EMULATOR",
    "FIRESTORE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "FIREBASE_STORAGE_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "CLOUD_TASKS_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "JUSTO_ENV",
    "COMMS_PROVIDERS",
)
# Names that hold credentials: never plain settings, only declared secrets.
CREDENTIAL_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PEPPER|PRIVATE_KEY|API_KEY)$")

MANIFEST_SCRIPT = """
from firebase_functions.private import serving
print(serving.functions_as_yaml(serving.get_functions()))
"""


@dataclass(frozen=True)
class Endpoint:
    """One function of the deploy manifest."""

    name: str
    spec: dict[str, Any]

    @property
    def kind(self) -> str:
        """https, event, schedule or task."""
        for key, kind in (
            ("httpsTrigger", "https"),
            ("eventTrigger", "event"),
            ("scheduleTrigger", "schedule"),
            ("taskQueueTrigger", "task"),
            ("callableTrigger", "https"),
        ):
            if key in self.spec:
                return kind
        raise AssertionError(f"{self.name}: unknown trigger in {sorted(self.spec)}")

    @property
    def signature_type(self) -> str:
        """How functions-framework serves it: Eventarc delivers CloudEvents, everything else is HTTP."""
        return "cloudevent" if self.kind == "event" else "http"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets it declares (`secretEnvironmentVariables`)."""
        return tuple(str(item["key"]) for item in self.spec.get("secretEnvironmentVariables") or [])

    @property
    def event_type(self) -> str:
        """The Eventarc event type of a trigger."""
        return str(self.spec["eventTrigger"]["eventType"])

    @property
    def document(self) -> str:
        """The document pattern of a Firestore trigger."""
        return str(self.spec["eventTrigger"]["eventFilterPathPatterns"]["document"])


_source: Path | None = None


def deployed_source() -> Path:
    """A copy of functions/ holding only what `firebase deploy` uploads (firebase.json's `ignore` leaves out
    dev/, ops/ and local files), made once per run: a function that imports what is not uploaded fails here."""
    global _source
    if _source is None:
        import tempfile

        from devtools.deploy_check import upload_copy

        _source = upload_copy(Path(tempfile.mkdtemp(prefix="justo-prod-source-")) / "functions")
    return _source


def build_manifest() -> dict[str, Any]:
    """The manifest `firebase deploy` reads, built by the SDK's serving module in the runtime venv."""
    env = {key: value for key, value in base_environment().items() if key not in {"FUNCTION_TARGET", "PORT"}}
    result = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", MANIFEST_SCRIPT],
        cwd=deployed_source(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"building the deploy manifest failed:\n{result.stderr[-4000:]}")
    manifest = yaml.safe_load(result.stdout)
    assert isinstance(manifest, dict) and "endpoints" in manifest, result.stdout[:2000]
    return manifest


def endpoints(manifest: dict[str, Any]) -> dict[str, Endpoint]:
    """The manifest's endpoints by name."""
    return {name: Endpoint(name, dict(spec)) for name, spec in sorted(manifest["endpoints"].items())}


def plain_settings(values: dict[str, str]) -> dict[str, str]:
    """env.justo-prodtest with the tier's loopback addresses filled in."""
    settings: dict[str, str] = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        settings[key.strip()] = Template(value.strip()).substitute(values)
    return settings


def base_environment() -> dict[str, str]:
    """What every function's environment starts from: a clean process, the project, no credentials file."""
    home = ROOT / ".cache" / "prodtest-home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "CLOUDSDK_CONFIG": str(home / "gcloud"),  # no gcloud application-default credentials to find
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "GCLOUD_PROJECT": PROJECT,
        "FIREBASE_CONFIG": json.dumps({"projectId": PROJECT, "storageBucket": BUCKET}),
    }


@functools.cache
def secret_value(name: str) -> str:
    """The run's random value of one secret (never a development value): one Secret Manager secret has one value
    for every function that declares it (a token one function seals, another opens)."""
    return f"prodtest-{name.lower()}-{secrets.token_urlsafe(24)}"


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nobody listens on now. All are held until all are chosen: a port picked and let go
    one at a time can be handed out again before its function binds it (CI once had `reportvisits`' events
    answered by an HTTPS function's router, "No such endpoint", on the port both were given)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


@dataclass
class Function:
    """One started function: its process, port, log and the secrets it was given."""

    endpoint: Endpoint
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    ready: bool = False

    @property
    def name(self) -> str:
        """The function's name."""
        return self.endpoint.name

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def secrets(self) -> dict[str, str]:
        """The secrets it was started with."""
        return {name: self.env[name] for name in self.endpoint.secrets}

    def secret(self, name: str) -> str:
        """The value of a secret it was given; a placeholder (that will not verify) when it declares none."""
        return self.env[name] if name in self.endpoint.secrets else f"undeclared-{name}"

    def log(self) -> str:
        """Everything it printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def problems(self) -> list[str]:
        """What its log shows went wrong: SettingsErrors, tracebacks (by their last line), a worker that died."""
        lines = [text for raw in self.log().splitlines() for text in _log_text(raw).splitlines()]
        found: list[str] = []
        for number, line in enumerate(lines):
            if "Traceback (most recent call last)" in line:
                tail = next((ln for ln in lines[number + 1 :] if ln and not ln.startswith((" ", "\t"))), "")
                found.append(f"traceback: {tail}")
            elif any(marker in line for marker in ("SettingsError", "Worker failed to boot", "Exception in worker")):
                found.append(line.strip())
        return list(dict.fromkeys(found))

    def stop(self) -> None:
        """End its process group."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Fleet:
    """Every endpoint of the manifest, started as Cloud Functions gen2 starts them."""

    manifest: dict[str, Endpoint]
    network: dict[str, str]  # the sitecustomize's routes and the metadata server's address
    settings: dict[str, str]
    logs: Path
    functions: dict[str, Function] = field(default_factory=dict)

    def environment(self, endpoint: Endpoint, port: int) -> dict[str, str]:
        """The environment Cloud Functions gives this endpoint: runtime variables, settings, its secrets only."""
        env = base_environment() | self.settings | self.network
        env |= {
            "FUNCTION_TARGET": endpoint.name,
            "FUNCTION_SIGNATURE_TYPE": endpoint.signature_type,
            "K_SERVICE": endpoint.name,
            "K_REVISION": f"{endpoint.name}-00001-prd",
            "K_CONFIGURATION": endpoint.name,
            "PORT": str(port),
            "LOG_EXECUTION_ID": "true",
            "PYTHONPATH": str(NETWORK),
        }
        if endpoint.kind == "event":
            env["EVENTARC_CLOUD_EVENT_SOURCE"] = f"projects/{PROJECT}/locations/{REGION}/services/{endpoint.name}"
        env |= {name: secret_value(name) for name in endpoint.secrets}
        leaked = [name for name in EMULATOR_VARIABLES if name in env]
        assert not leaked, f"{endpoint.name} would start with emulator variables {leaked}"
        return env

    def start(self, timeout: float = 300.0) -> None:
        """Start every endpoint at once, then wait until each listens (or has died)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        for endpoint, port in zip(self.manifest.values(), free_ports(len(self.manifest)), strict=True):
            function = Function(endpoint, port, self.environment(endpoint, port), self.logs / f"{endpoint.name}.log")
            with function.log_path.open("wb") as log:
                function.process = subprocess.Popen(
                    [
                        str(RUNTIME_PYTHON),
                        "-m",
                        "functions_framework",
                        "--target",
                        endpoint.name,
                        "--signature-type",
                        endpoint.signature_type,
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                    ],
                    cwd=deployed_source(),
                    env=function.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.functions[endpoint.name] = function
        deadline = time.monotonic() + timeout
        waiting = dict(self.functions)
        while waiting and time.monotonic() < deadline:
            for name, function in list(waiting.items()):
                assert function.process is not None
                if function.process.poll() is not None:
                    del waiting[name]
                elif _listening(function.port):
                    function.ready = True
                    del waiting[name]
            time.sleep(0.2)
        time.sleep(1.0)
        for function in self.functions.values():  # one that found its port taken exits after something answered
            assert function.process is not None
            function.ready = function.ready and function.process.poll() is None

    @property
    def started(self) -> list[str]:
        """The functions that started and listen."""
        return [name for name, function in self.functions.items() if function.ready]

    def stop(self) -> None:
        """End every function."""
        for function in self.functions.values():
            function.stop()


def _log_text(line: str) -> str:
    """A log line's text: in production every line is a JSON object (Cloud Logging's structured shape), its
    `message` and, for an exception, its `stack_trace`."""
    if line.startswith("{"):
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and "message" in entry:
                return "\n".join(str(entry[key]) for key in ("message", "stack_trace") if entry.get(key))
    return line


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# ---- what Google sends ------------------------------------------------------------------------


def document_name(path: str) -> str:
    """A document's full resource name."""
    return f"projects/{PROJECT}/databases/(default)/documents/{path}"


def _document(path: str, data: dict[str, Any] | None, created: datetime, updated: datetime) -> Any:
    """A google.events Firestore Document with the data encoded as Firestore encodes it."""
    from google.cloud.firestore_v1 import _helpers
    from google.cloud.firestore_v1.types import Document as FirestoreDocument
    from google.events.cloud.firestore import Document

    encoded = FirestoreDocument(
        name=document_name(path), fields=_helpers.encode_dict(data or {}), create_time=created, update_time=updated
    )
    return Document.deserialize(FirestoreDocument.serialize(encoded))


def document_event(
    endpoint: Endpoint,
    path: str,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    event_id: str | None = None,
    at: datetime | None = None,
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a Firestore CloudEvent in binary mode, as Eventarc POSTs it; `at` is the write's time
    (a redelivery keeps its first time and id)."""
    from google.events.cloud.firestore import DocumentEventData

    now = at or datetime.now(UTC)
    data = DocumentEventData()
    if after is not None:
        data.value = _document(path, after, now, now)
    if before is not None:
        data.old_value = _document(path, before, now, now)
    headers = {
        "Content-Type": "application/protobuf",
        "ce-specversion": "1.0",
        "ce-id": event_id or uuid.uuid4().hex,
        "ce-source": f"//firestore.googleapis.com/projects/{PROJECT}/databases/(default)",
        "ce-type": endpoint.event_type,
        "ce-subject": f"documents/{path}",
        "ce-time": now.isoformat().replace("+00:00", "Z"),
        "ce-location": REGION,
        "ce-project": PROJECT,
        "ce-database": "(default)",
        "ce-namespace": "(default)",
        "ce-document": path,
    }
    return headers, DocumentEventData.serialize(data)


def scheduler_headers(job: str, at: datetime) -> dict[str, str]:
    """The headers Cloud Scheduler sends with a job's POST."""
    return {
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": f"firebase-schedule-{job}-{REGION}",
        "X-CloudScheduler-ScheduleTime": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "Content-Type": "application/octet-stream",
        "User-Agent": "Google-Cloud-Scheduler",
    }


def id_token(private_key: Any, kid: str, uid: str, claims: dict[str, Any], *, issued: int | None = None) -> str:
    """An RS256 Firebase ID token for the project, signed by the securetoken test key."""
    import jwt

    now = int(time.time()) - 5 if issued is None else issued
    payload = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "sub": uid,
        "user_id": uid,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "firebase": {"sign_in_provider": "custom", "identities": {}},
        **claims,
    }
    return jwt.encode(payload, private_key, algorithm="RS256", headers={"kid": kid})
