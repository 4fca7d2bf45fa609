"""The deploy manifest (what `firebase deploy` reads) against registry.py and firebase.json, the plain
settings against the secrets, and the harness's own failure reporting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry import EMULATOR_ONLY, FUNCTIONS, SCHEDULES
from tests.prod import harness

pytestmark = pytest.mark.prod


def test_the_manifest_deploys_exactly_the_registry(manifest: dict[str, harness.Endpoint]) -> None:
    """Every function of registry.FUNCTIONS is deployed, nothing else is, and no emulator-only one."""
    assert sorted(manifest) == sorted(FUNCTIONS)
    assert not set(manifest) & set(EMULATOR_ONLY)
    for name, endpoint in manifest.items():
        assert endpoint.spec["entryPoint"] == name
        assert endpoint.spec["platform"] == "gcfv2"
        assert endpoint.spec["region"] == [harness.REGION], f"{name} is not deployed to {harness.REGION}"


def test_schedules_deploy_as_registered(manifest: dict[str, harness.Endpoint]) -> None:
    """The manifest's cron and time zone of each schedule are registry.SCHEDULES' (the local runner's)."""
    deployed = {
        name: (endpoint.spec["scheduleTrigger"]["schedule"], endpoint.spec["scheduleTrigger"]["timeZone"])
        for name, endpoint in manifest.items()
        if endpoint.kind == "schedule"
    }
    assert deployed == {name: SCHEDULES[name] for name in SCHEDULES if name in FUNCTIONS}


def test_every_endpoint_has_a_trigger_the_tier_can_start(manifest: dict[str, harness.Endpoint]) -> None:
    """HTTPS, Firestore, schedule and task-queue triggers only; Firestore ones on the default database."""
    for name, endpoint in manifest.items():
        assert endpoint.kind in {"https", "event", "schedule", "task"}, name
        if endpoint.kind == "event":
            assert endpoint.event_type.startswith("google.cloud.firestore.document.v1."), name
            assert endpoint.spec["eventTrigger"]["eventFilters"]["database"] == "(default)", name


def test_firebase_json_deploys_the_functions_folder_on_python311() -> None:
    """firebase.json's functions entry: source functions, runtime python311, the venv left out of the upload."""
    config = json.loads((harness.ROOT / "firebase.json").read_text())
    entries = config["functions"] if isinstance(config["functions"], list) else [config["functions"]]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["source"] == "functions" and entry["runtime"] == "python311"
    assert "venv" in entry.get("ignore", [])
    for module in set(FUNCTIONS.values()):
        top = module.split(".")[0]
        assert top not in entry.get("ignore", []), f"{top} (deployed function code) is ignored by the upload"


def test_plain_settings_hold_no_secret(manifest: dict[str, harness.Endpoint]) -> None:
    """env.justo-prodtest is plain configuration: no declared secret, no credential-like name, no emulator switch."""
    from core import secrets

    settings = harness.plain_settings({"SMTP_PORT": "1", "STANDINS": "127.0.0.1:1"})
    declared = {name for endpoint in manifest.values() for name in endpoint.secrets}
    assert not set(settings) & (declared | {secret.name for secret in secrets.ALL}), "a secret is a plain setting"
    assert [name for name in settings if harness.CREDENTIAL_NAME.search(name)] == []
    assert not set(settings) & set(harness.EMULATOR_VARIABLES)


def test_a_function_starts_with_only_its_declared_secrets(
    manifest: dict[str, harness.Endpoint], tmp_path: Path
) -> None:
    """The environment a function gets: its own secrets (fresh, never development values), nothing of another's."""
    from core import secrets

    development = {secret.name: secret.dev_value for secret in secrets.ALL}
    fleet = harness.Fleet(manifest, {}, {"SMTP_HOST": "127.0.0.1"}, tmp_path)
    every = {name for endpoint in manifest.values() for name in endpoint.secrets} | set(development)
    for name, endpoint in manifest.items():
        env = fleet.environment(endpoint, 8080)
        assert {key for key in env if key in every} == set(endpoint.secrets), name
        assert all(env[key] != development.get(key) for key in endpoint.secrets), name
        assert env["FUNCTION_TARGET"] == env["K_SERVICE"] == name
        assert env["GOOGLE_CLOUD_PROJECT"] == env["GCLOUD_PROJECT"] == harness.PROJECT
        assert not harness.PROJECT.startswith("demo-")
        assert json.loads(env["FIREBASE_CONFIG"]) == {"projectId": harness.PROJECT, "storageBucket": harness.BUCKET}
        assert not set(env) & set(harness.EMULATOR_VARIABLES), name


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            json.dumps(
                {
                    "severity": "ERROR",
                    "message": "unhandled error in leads GET",
                    "stack_trace": 'Traceback (most recent call last):\n  File "x.py", line 1, in f\n'
                    "core.settings.SettingsError: Secret SEARCH_KEY is not available to this function",
                }
            ),
            "core.settings.SettingsError: Secret SEARCH_KEY is not available to this function",
        ),
        (
            "Traceback (most recent call last):\n  File \"main.py\", line 3\nKeyError: 'TURN_SECRET'",
            "traceback: KeyError: 'TURN_SECRET'",
        ),
        ("[ERROR] Worker failed to boot.", "[ERROR] Worker failed to boot."),
    ],
)
def test_the_harness_reports_what_a_function_missed(line: str, shown: str, tmp_path: Path) -> None:
    """A SettingsError or traceback in a function's log (plain or functions-framework's JSON lines) is named."""
    log = tmp_path / "fn.log"
    log.write_text(line + "\n")
    endpoint = harness.Endpoint("leads", {"httpsTrigger": {}})
    function = harness.Function(endpoint, 1, {}, log)
    assert any(shown in problem for problem in function.problems()), function.problems()


def test_a_quiet_log_shows_no_problem(tmp_path: Path) -> None:
    """Ordinary log lines are not failures."""
    log = tmp_path / "fn.log"
    log.write_text(json.dumps({"message": "reminder task: sent", "severity": "INFO"}) + "\n")
    function = harness.Function(harness.Endpoint("remind", {"taskQueueTrigger": {}}), 1, {}, log)
    assert function.problems() == []
