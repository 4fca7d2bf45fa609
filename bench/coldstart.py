"""Cold start: from process start to the first response, the way the Functions emulator (and Cloud Run)
starts a Python function: `functions-framework` in functions/ with FUNCTION_TARGET naming the function."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import env

FRAMEWORK = env.FUNCTIONS / "venv" / "bin" / "functions-framework"
FLOOR_SOURCE = env.ROOT / "bench" / "floor" / "main.py"

# The import set of the floor, and of "the whole SDK stack" eagerly imported (issue 2's comparison).
FLOOR_IMPORTS = "firebase_functions.https_fn, firebase_admin.auth, firebase_admin.firestore"
WHOLE_STACK_IMPORTS = (
    "firebase_functions.https_fn, firebase_functions.firestore_fn, firebase_functions.tasks_fn, "
    "firebase_functions.scheduler_fn, firebase_admin.auth, firebase_admin.firestore, firebase_admin.messaging, "
    "firebase_admin.functions, google.cloud.firestore, google.cloud.storage, google.cloud.tasks_v2, pydantic, "
    "email_validator, phonenumbers"
)


@dataclass(frozen=True)
class FirstRequest:
    """The request whose answer ends a cold start: method, sub-path, caller uid (None: public), JSON body."""

    method: str
    path: str
    uid: str | None
    body: dict[str, Any] | None = None


# One representative first request per function; functions not listed get an authenticated GET /.
FIRST_REQUESTS: dict[str, FirstRequest] = {
    "floor": FirstRequest("GET", "/", "demo-agent1"),
    "members": FirstRequest("GET", "/me", "demo-agent1"),
    "org": FirstRequest("GET", "/teams", "demo-admin"),
    "devices": FirstRequest(
        "POST", "/", "demo-agent1", {"deviceId": "bench-device", "fcmToken": "bench-token", "platform": "android"}
    ),
    "auth": FirstRequest("POST", "/otp/request", None, {"email": "nobody-{n}@bench.example.com"}),
    "leads": FirstRequest("GET", "/?limit=20", "demo-agent1"),
    "projects": FirstRequest("GET", "/", "demo-agent1"),
    "tasks": FirstRequest("GET", "/", "demo-agent1"),
    "visits": FirstRequest("GET", "/", "demo-agent1"),
    "comms": FirstRequest("GET", "/templates", "demo-agent1"),
    "audit": FirstRequest("GET", "/", "demo-admin"),
    "privacy": FirstRequest("GET", "/policy", "demo-agent1"),
    "attachments": FirstRequest("GET", "/bench-missing", "demo-agent1"),
    "webhooks": FirstRequest(
        "GET", "/whatsapp?hub.mode=subscribe&hub.verify_token=local-verify-token&hub.challenge=42", None
    ),
}


def _request(port: int, first: FirstRequest, timeout: float) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"}
        if first.uid:
            headers["Authorization"] = f"Bearer {env.token(first.uid)}"
        body = json.dumps(first.body).replace("{n}", uuid.uuid4().hex[:10]) if first.body is not None else None
        connection.request(first.method, first.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return int(response.status)
    finally:
        connection.close()


def cold_start(name: str, firestore_host: str, *, timeout: float = 60.0) -> tuple[float, int]:
    """Seconds from spawning the function's process to its first complete response, and that status."""
    from devtools.emulators import free_port

    port = free_port()
    source = FLOOR_SOURCE if name == "floor" else env.FUNCTIONS / "main.py"
    process_env = dict(os.environ) | env.function_env(firestore_host) | {"FUNCTION_TARGET": name}
    first = FIRST_REQUESTS.get(name, FirstRequest("GET", "/", "demo-admin"))
    command = [str(FRAMEWORK), "--target", name, "--source", str(source), "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=source.parent, env=process_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
            try:
                status = _request(port, first, timeout)
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                time.sleep(0.003)
                continue
            return time.perf_counter() - started, status
        raise TimeoutError(f"{name} gave no response within {timeout:.0f} s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def import_seconds(statement: str, *, extra_env: dict[str, str] | None = None, cwd: Path = env.FUNCTIONS) -> float:
    """Seconds one fresh interpreter spends running `statement` (an import), measured inside it."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    environment = dict(os.environ) | env.function_env("127.0.0.1:9") | (extra_env or {})
    out = subprocess.run(
        [str(env.FUNCTIONS_PYTHON), "-c", code], cwd=cwd, env=environment, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _self_times(statement: str, extra: dict[str, str]) -> dict[str, int]:
    """Microseconds each module's own body took to import (`python -X importtime`)."""
    environment = dict(os.environ) | env.function_env("127.0.0.1:9") | extra
    err = subprocess.run(
        [str(env.FUNCTIONS_PYTHON), "-X", "importtime", "-c", statement],
        cwd=env.FUNCTIONS,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return {
        match.group(2): int(match.group(1)) for match in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", err)
    }


def beyond_floor(target: str, *, runs: int = 3, top: int = 6) -> dict[str, Any]:
    """What a function imports beyond the floor's modules: total self time and the heaviest top-level
    packages, each module's time the best of `runs` (noise on a shared machine only adds)."""
    floor = set(_self_times(f"import {FLOOR_IMPORTS}", {}))
    best: dict[str, int] = {}
    for _ in range(runs):
        for module, micros in _self_times("import main", {"FUNCTION_TARGET": target}).items():
            if module not in floor:
                best[module] = min(micros, best.get(module, micros))
    by_package: dict[str, int] = {}
    for module, micros in best.items():
        package = module.split(".")[0]
        by_package[package] = by_package.get(package, 0) + micros
    ranked = sorted(by_package.items(), key=lambda item: -item[1])[:top]
    return {
        "ms": round(sum(best.values()) / 1000, 1),
        "packages": {package: round(micros / 1000, 1) for package, micros in ranked},
    }
