"""Cold start: what starting each HTTPS function imports (main.py with its FUNCTION_TARGET, as Cloud Functions
starts it). The heavy clients and parsers that only some requests use are imported by those requests, never
at start; a new HTTPS function is walked too (the list comes from the registry's deploy manifest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"

# Imported on first use only: none is needed to start, or by most first requests (bench/coldstart.py).
NEVER_AT_START = (
    "google.cloud.firestore",  # the client is made lazily (core.clients), on the first request that reads
    "grpc",
    "google.cloud.storage",  # attachments and imports, through core.storage
    "google.cloud.tasks_v2",
    "firebase_admin.messaging",  # pushes
    "firebase_admin.functions",  # task queues
    "phonenumbers",  # parsing a phone a request sends
    "email_validator",  # validating an email a request sends
    "defusedxml",  # the 99acres pull
    "matplotlib",  # the weekly report's chart
)
# Needed only by the routes that move leads between members (routing), by the capture-source and capture
# routes (their services), or by the channel and routing settings' routes: not by the start of these
# functions, whose first request is most often a read.
ROUTING = ("routing.engine", "routing.queue", "routing.config")
NOT_AT_START_OF = {
    "members": ROUTING[:2],
    "leads": (*ROUTING, "leads.capture.pipeline", "leads.capture.sources"),
    "org": ("routing.config", "org.channels", "comms.channels", "comms.providers"),
}

_PROBE = """
import json, os, sys
sys.path.insert(0, os.getcwd())
import main
print(json.dumps(sorted(sys.modules)))
"""


def https_functions() -> list[str]:
    """Every HTTPS function of the deploy (the registry's functions whose endpoint is an HTTPS trigger)."""
    script = (
        "import importlib, json, sys; sys.path.insert(0, '.'); from registry import FUNCTIONS;"
        "print(json.dumps(sorted(n for n, m in FUNCTIONS.items() if getattr(getattr(getattr("
        "importlib.import_module(m), n), '__firebase_endpoint__', None), 'httpsTrigger', None) is not None)))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=FUNCTIONS, capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def modules_at_start(target: str) -> set[str]:
    """The modules a fresh interpreter holds once main.py has loaded the function named target."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env |= {"FUNCTION_TARGET": target, "GCLOUD_PROJECT": "demo-justo", "JUSTO_ENV": "local"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=FUNCTIONS, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_every_https_function_is_walked() -> None:
    names = https_functions()
    assert {"leads", "members", "webhooks"} <= set(names) and len(names) >= 10, names


@pytest.mark.parametrize("target", https_functions())
def test_starting_a_function_imports_no_heavy_client_or_parser(target: str) -> None:
    loaded = modules_at_start(target)
    forbidden = NEVER_AT_START + NOT_AT_START_OF.get(target, ())
    assert sorted(name for name in forbidden if name in loaded) == []
