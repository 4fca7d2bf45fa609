"""The whole local stack in one process group: the Firebase Emulator Suite and the Storage emulator."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devtools import toolchain

ROOT = toolchain.ROOT
PROJECT = "demo-justo"
REGION = "asia-south1"
PORTS = {"auth": 9099, "functions": 5001, "firestore": 8080, "tasks": 9499, "hub": 4400, "storage": 9023}
BUCKET = f"{PROJECT}.appspot.com"
PGID_FILE = toolchain.CACHE / "stack.pgid"
FUNCTIONS_BASE = f"http://127.0.0.1:{PORTS['functions']}/{PROJECT}/{REGION}"


def client_env() -> dict[str, str]:
    """What a process talking to the local stack needs (tests, seed, benchmarks)."""
    return {
        "GCLOUD_PROJECT": PROJECT,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{PORTS['firestore']}",
        "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{PORTS['auth']}",
        "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{PORTS['tasks']}",
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{PORTS['storage']}",
        "STORAGE_BUCKET": BUCKET,
        "JUSTO_ENV": "local",
    }


def port_open(port: int) -> bool:
    """True when something listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_leftover() -> None:
    """End a stack a previous run left behind (its process group id is in .cache/stack.pgid)."""
    if not PGID_FILE.exists():
        return
    try:
        os.killpg(int(PGID_FILE.read_text().strip()), signal.SIGTERM)
        time.sleep(2)
        os.killpg(int(PGID_FILE.read_text().strip()), signal.SIGKILL)
    except (ProcessLookupError, ValueError, PermissionError):
        pass
    kill_strays()
    PGID_FILE.unlink(missing_ok=True)


class Stack:
    """Start with `start()`, end with `stop()`; every process shares one process group."""

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path or toolchain.CACHE / "emulators.log"
        self.suite: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        """Start the suite and the Storage emulator; return when functions answer."""
        stop_leftover()
        busy = [name for name, port in PORTS.items() if port_open(port)]
        if busy:
            raise RuntimeError(f"ports in use for {', '.join(busy)}: is another stack running?")
        if toolchain.firestore_jar() is None:
            print(
                "stack: WARNING no local Firestore emulator jar; firebase-tools will try to download one",
                file=sys.stderr,
            )
        env = toolchain.emulator_env() | {"GCLOUD_PROJECT": PROJECT}
        (ROOT / "functions" / ".env.local").write_text(
            "".join(
                f"{key}={value}\n"
                for key, value in client_env().items()
                if key in {"STORAGE_EMULATOR_HOST", "STORAGE_BUCKET", "JUSTO_ENV"}
            )
        )
        toolchain.write_local_secrets()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        firebase = str(ROOT / "node_modules" / ".bin" / "firebase")
        storage = str(ROOT / ".venv" / "bin" / "gcp-storage-emulator")
        # One new session and process group for both: the shell starts the Storage emulator in the
        # background, then becomes firebase-tools; `kill -- -PGID` ends them and the Python workers.
        script = (
            f"{shlex.quote(storage)} start --host 127.0.0.1 --port {PORTS['storage']} --in-memory "
            f"--default-bucket {BUCKET} -q & "
            f"exec {shlex.quote(firebase)} emulators:start --only auth,functions,firestore,tasks --project {PROJECT}"
        )
        self.suite = subprocess.Popen(
            ["bash", "-c", script],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        PGID_FILE.write_text(str(self.suite.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.suite.poll() is not None:
                raise RuntimeError(f"the Emulator Suite exited; see {self.log_path}")
            ready = "All emulators ready" in self.log_path.read_text(errors="replace")
            if ready and port_open(PORTS["storage"]) and self._functions_loaded():
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the Emulator Suite was not ready in {timeout:.0f} s; see {self.log_path}")

    def _functions_loaded(self) -> bool:
        try:
            with urllib.request.urlopen(f"{FUNCTIONS_BASE}/members/__/health", timeout=30) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """End every process of the group (the Python workers outlive the CLI otherwise)."""
        if self.suite is None:
            return
        pgid = self.suite.pid
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.suite.wait(timeout=8 if sig == signal.SIGINT else 3)
            except subprocess.TimeoutExpired:
                continue
            if sig != signal.SIGKILL:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
            break
        kill_strays()
        PGID_FILE.unlink(missing_ok=True)
        self.suite = None


def kill_strays(timeout: float = 10.0) -> None:
    """End processes firebase-tools started detached (the Firestore emulator's java, in its own group)."""
    marker = str(toolchain.SHIM)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(port_open(port) for port in PORTS.values()):
        time.sleep(0.2)


def login(base: str, email: str) -> str:
    """An ID token for a seeded member, as the app gets one: OTP request, code from the outbox, verify,
    custom-token exchange at the Auth emulator."""
    import re

    import httpx

    with httpx.Client(base_url=base, timeout=60) as client:
        client.post("/auth/otp/request", json={"email": email}).raise_for_status()
        outbox = client.get("/dev/outbox", params={"to": email}).json()["items"]
        found = re.search(r"\b(\d{6})\b", outbox[0]["subject"] + " " + outbox[0].get("text", ""))
        if not found:
            raise RuntimeError(f"no login code in the outbox for {email}")
        verified = client.post("/auth/otp/verify", json={"email": email, "code": found.group(1)})
        verified.raise_for_status()
        custom = verified.json()["customToken"]
    exchange = httpx.post(
        f"http://127.0.0.1:{PORTS['auth']}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=any",
        json={"token": custom, "returnSecureToken": True},
        timeout=30,
    )
    exchange.raise_for_status()
    return str(exchange.json()["idToken"])
