"""Single emulators for the test tiers, each on a free port: the Firestore jar, the Auth emulator."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from devtools import toolchain

ROOT = toolchain.ROOT


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited early; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"emulator not ready after {timeout:.0f} s; see {log}")


class Emulator:
    """One emulator process in its own process group."""

    def __init__(
        self, name: str, command: list[str], port: int, ready_url: str, env: dict[str, str] | None = None
    ) -> None:
        self.name, self.command, self.port, self.ready_url = name, command, port, ready_url
        self.env = env or dict(os.environ)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = toolchain.CACHE / f"{name}-{port}.log"

    @property
    def host(self) -> str:
        """host:port."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Emulator:
        """Start and wait until it answers."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait_http(self.ready_url, self.process, timeout, self.log)
        return self

    def stop(self) -> None:
        """End the process group."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


def firestore(rules: Path | None = ROOT / "firestore.rules") -> Emulator:
    """The official Firestore emulator jar (google-cloud-cli package), started directly."""
    jar = toolchain.firestore_jar()
    if jar is None:
        raise FileNotFoundError(
            "the Firestore emulator jar is missing: apt-get install google-cloud-cli-firestore-emulator"
        )
    launcher = jar.parent / "cloud_firestore_emulator"
    port = free_port()
    command = [str(launcher), "start", "--host=127.0.0.1", f"--port={port}"]
    if rules is not None:
        command.append(f"--rules={rules}")
    env = dict(os.environ)
    java = shutil.which("java")
    if java is None and toolchain.java_bin_dir():
        env["PATH"] = f"{toolchain.java_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    return Emulator("firestore", command, port, f"http://127.0.0.1:{port}/", env)


def auth() -> Emulator:
    """The firebase-tools Auth emulator alone, on a free port."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="auth-emulator-", dir=toolchain.CACHE))
    config = {
        "emulators": {
            "auth": {"host": "127.0.0.1", "port": port},
            "ui": {"enabled": False},
            "hub": {"host": "127.0.0.1", "port": free_port()},
            "logging": {"host": "127.0.0.1", "port": free_port()},
        }
    }
    (workdir / "firebase.json").write_text(json.dumps(config))
    firebase = str(ROOT / "node_modules" / ".bin" / "firebase")
    command = [
        firebase,
        "emulators:start",
        "--only",
        "auth",
        "--project",
        "demo-justo",
        "--config",
        str(workdir / "firebase.json"),
    ]
    return Emulator("auth", command, port, f"http://127.0.0.1:{port}/", toolchain.emulator_env())


def clear_firestore(host: str, project: str, attempts: int = 5) -> None:
    """Delete every document of the emulator's default database.

    The 1.19.9 jar answers 500 when a listen stream the server itself completed (a rules denial) is still
    registered: clearing notifies it and fails ("Stream is already completed"), then forgets it; so retry."""
    import time
    import urllib.error

    for attempt in range(attempts):
        request = urllib.request.Request(
            f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents", method="DELETE"
        )
        try:
            with urllib.request.urlopen(request, timeout=120):
                return
        except urllib.error.HTTPError as error:
            if error.code != 500 or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def clear_auth(host: str, project: str) -> None:
    """Delete every Auth emulator account."""
    request = urllib.request.Request(f"http://{host}/emulator/v1/projects/{project}/accounts", method="DELETE")
    with urllib.request.urlopen(request, timeout=120):
        pass
