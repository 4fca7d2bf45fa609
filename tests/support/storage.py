"""The one Cloud Storage emulator of the tests (gcp-storage-emulator on a free port, in its own process group):
fixtures `storage_emulator` and `bucket`, offered to every tier by tests/conftest.py."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PROJECT, ROOT

BUCKET = f"{PROJECT}.appspot.com"


def _reset_storage_clients() -> None:
    from core import settings
    from privacy import storage

    settings.reset()
    storage.reset()
    with contextlib.suppress(ImportError):
        from core import storage as core_storage

        core_storage.reset()


@pytest.fixture(scope="session")
def storage_emulator() -> Iterator[str]:
    """gcp-storage-emulator in memory, with the project's default bucket, in its own process group."""
    from devtools.emulators import free_port

    binary = ROOT / ".venv" / "bin" / "gcp-storage-emulator"
    if not binary.exists():
        pytest.skip(f"Storage emulator unavailable: {binary} is missing (make setup)")
    port = free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--in-memory",
            "--default-bucket",
            BUCKET,
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/storage/v1/b/{BUCKET}", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                pytest.skip("Storage emulator did not start")
            time.sleep(0.2)
    previous = {key: os.environ.get(key) for key in ("STORAGE_EMULATOR_HOST", "STORAGE_BUCKET")}
    os.environ.update({"STORAGE_EMULATOR_HOST": url, "STORAGE_BUCKET": BUCKET})
    _reset_storage_clients()
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _reset_storage_clients()


@pytest.fixture
def bucket(storage_emulator: str) -> Iterator[Any]:
    """The emulator's bucket, emptied for one test."""
    from privacy import storage

    target = storage.bucket()
    for blob in list(target.list_blobs()):
        blob.delete()
    yield target
