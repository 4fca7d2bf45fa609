"""The Storage emulator fixture: gcp-storage-emulator in-process on a free port."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

BUCKET = "demo-justo.appspot.com"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def storage_emulator() -> Iterator[str]:
    """gcp-storage-emulator in memory with the default bucket; STORAGE_EMULATOR_HOST points at it."""
    from gcp_storage_emulator.server import create_server

    from attachments import storage

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    storage.reset()
    yield os.environ["STORAGE_EMULATOR_HOST"]
    server.stop()
    if previous is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = previous
    storage.reset()
