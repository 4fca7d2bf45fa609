"""Fixtures of the prod tier: the stand-ins, the deploy manifest, every function started in production shape,
and an organization seeded with the admin client (see tests/prod/README.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.prod import harness
from tests.prod.standins import Standins

SMTP_USER = "justo-mailer"
_started: dict[str, int] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many functions the tier started (of how many the manifest lists)."""
    if _started:
        terminalreporter.write_line(f"prod: started {_started['started']} functions (manifest: {_started['manifest']})")


@pytest.fixture(scope="session")
def prod_project(firestore_emulator: str) -> Iterator[str]:
    """The test process's admin client on project justo-prodtest of the Firestore emulator."""
    from tests.conftest import _reset_process_state

    saved = {key: os.environ.get(key) for key in ("GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT", "STORAGE_BUCKET")}
    os.environ.update(
        {"GCLOUD_PROJECT": harness.PROJECT, "GOOGLE_CLOUD_PROJECT": harness.PROJECT, "STORAGE_BUCKET": harness.BUCKET}
    )
    _reset_process_state()
    yield harness.PROJECT
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _reset_process_state()


@pytest.fixture(scope="session")
def standins() -> Iterator[Standins]:
    """Google's endpoints, the providers and an SMTP relay, on loopback."""
    running = Standins(harness.PROJECT, harness.ROOT / ".cache" / "prodtest-tls", SMTP_USER).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def manifest() -> dict[str, harness.Endpoint]:
    """The deploy manifest's endpoints."""
    return harness.endpoints(harness.build_manifest())


@pytest.fixture(scope="session")
def fleet(
    manifest: dict[str, harness.Endpoint], standins: Standins, firestore_emulator: str, world: World
) -> Iterator[harness.Fleet]:
    """Every endpoint of the manifest, started as Cloud Functions starts it (after the seed: all the cold starts
    at once keep both cores busy for a while)."""
    network = {
        "PRODTEST_GOOGLE_APIS": standins.address,
        "PRODTEST_FIRESTORE_GRPC": firestore_emulator,
        "GCE_METADATA_HOST": standins.address,
        "GCE_METADATA_IP": standins.address,
        "SSL_CERT_FILE": str(standins.ca_file),
    }
    settings = harness.plain_settings({"SMTP_PORT": str(standins.smtp_port), "STANDINS": standins.address})
    running = harness.Fleet(manifest, network, settings, harness.ROOT / ".cache" / "prodtest-logs")
    try:
        running.start()
        _started.update(started=len(running.started), manifest=len(manifest))
        print(f"prod: started {len(running.started)} functions")
        yield running
    finally:
        running.stop()


@dataclass
class Member:
    """A seeded member and how to sign in as it."""

    uid: str
    org_id: str
    role: str
    team_id: str | None
    email: str
    device_token: str
    standins: Standins

    def token(self, **claims: Any) -> str:
        """An RS256 ID token for this member, as Firebase Auth issues it."""
        base = {"orgId": self.org_id, "role": self.role, "teamId": self.team_id}
        return harness.id_token(self.standins.keys.token_key, self.standins.keys.token_kid, self.uid, base | claims)

    def headers(self) -> dict[str, str]:
        """Authorization header."""
        return {"Authorization": f"Bearer {self.token()}"}


@dataclass
class World:
    """The seeded organization."""

    org_id: str
    admin: Member
    manager: Member
    agent: Member
    rm: Member  # signs in and out (the auth driver), so no other driver's session is revoked


@pytest.fixture(scope="session")
def world(prod_project: str, standins: Standins) -> World:
    """An organization with an admin, a manager, an agent and an rm of team north, each with a device;
    templates and the WhatsApp number routed to it."""
    from comms import seed as comms_seed
    from core import clock, tenancy
    from core.caller import caller_of
    from devices.models import DeviceRegister
    from devices.service import register
    from members.models import MemberCreate
    from members.service import add_member
    from ops.orgs import create_org

    org_id = "prodorg"
    created = create_org(
        org_id=org_id,
        name="Prod Realty",
        seats=10,
        subscription_ends_at=clock.now() + timedelta(days=60),
        admin_email="admin@prodorg.example.com",
        admin_name="Prod Admin",
        admin_uid="prodorg-admin",
    )
    tenancy.org_ref(org_id).collection("teams").document("north").set(
        {"name": "North", "managerIds": [], "version": 1, "createdAt": clock.now(), "updatedAt": clock.now()}
    )
    people: dict[str, tuple[str, str, str | None]] = {
        "admin": (created["admin"]["uid"], created["admin"]["email"], None)
    }
    for role in ("manager", "agent", "rm"):
        uid, email = f"prodorg-{role}", f"{role}@prodorg.example.com"
        add_member(
            org_id=org_id,
            actor=None,
            uid=uid,
            data=MemberCreate.model_validate(
                {"email": email, "name": f"Prod {role.title()}", "role": role, "teamId": "north"}
            ),
        )
        people[role] = (uid, email, "north")
    with pytest.MonkeyPatch.context() as env:  # sealed under the key the fleet's functions are given
        env.setenv("CHANNELS_KEY", harness.secret_value("CHANNELS_KEY"))
        comms_seed.seed(org_id)
    tenancy.cache.clear()
    members: dict[str, Member] = {}
    org = tenancy.load_org(org_id, fresh=True) or {}
    for role, (uid, email, team) in people.items():
        member = tenancy.load_member(org_id, uid, fresh=True) or {}
        token = f"fcm-{role}-token"
        register(
            caller=caller_of(org_id, uid, member, org),
            data=DeviceRegister.model_validate(
                {
                    "deviceId": f"{role}-phone",
                    "fcmToken": token,
                    "platform": "android",
                    "model": "Pixel",
                    "osVersion": "15",
                    "appVersion": "1.0",
                }
            ),
        )
        members[role] = Member(uid, org_id, role, team, email, token, standins)
    return World(org_id, members["admin"], members["manager"], members["agent"], members["rm"])
