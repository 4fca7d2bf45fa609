"""Local seed: two projects with a location per organization (emulator only; devtools.seed calls it)."""

from __future__ import annotations

from typing import Any

from projects.models import ProjectCreate
from projects.service import create_project

PROJECTS = [
    ("skyline", "Skyline Residency", "Bengaluru", "Hennur Main Road", 13.0358, 77.6431, 250),
    ("greenwoods", "Greenwoods Villas", "Pune", "Hinjewadi Phase 2", 18.5912, 73.7389, 400),
]


def seed(org_id: str, members: dict[str, Any]) -> None:
    """Create the organization's two projects, ids `<org>-skyline` and `<org>-greenwoods`."""
    admin = next((uid for uid, member in members.items() if member[3] == "admin"), None)
    for slug, name, city, address, lat, lng, radius in PROJECTS:
        data = ProjectCreate.model_validate(
            {
                "name": name,
                "city": city,
                "address": address,
                "location": {"lat": lat, "lng": lng},
                "checkinRadiusM": radius,
            }
        )
        create_project(org_id=org_id, actor=admin, data=data, project_id=f"{org_id}-{slug}")
