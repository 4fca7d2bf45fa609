"""The local seed of projects and leads, and the admin command-line import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core import tenancy

pytestmark = pytest.mark.service


def test_seed_gives_each_org_two_located_projects_and_leads_of_its_agents(db: Any, monkeypatch: Any) -> None:
    from devtools import seed as devseed
    from leads import seed as lead_seed
    from projects import seed as project_seed

    monkeypatch.setattr(devseed, "feature_seeders", lambda: [project_seed.seed, lead_seed.seed])
    devseed.seed()
    for org in ("demo", "acme", "lapsed"):
        projects = [s.to_dict() for s in tenancy.org_ref(org).collection("projects").stream()]
        assert len(projects) == 2 and all(p["location"]["lat"] and p["checkinRadiusM"] for p in projects)
        leads = [s.to_dict() for s in tenancy.org_ref(org).collection("leads").stream()]
        assert len(leads) == 5
    demo = [s.to_dict() for s in tenancy.org_ref("demo").collection("leads").stream()]
    owners = {lead["assigneeId"] for lead in demo}
    assert owners <= {"demo-agent1", "demo-agent2", "demo-agent3", "demo-rm"} and len(owners) >= 3
    assert any(lead["stage"] == "booked" and lead["teamId"] == "north" for lead in demo)


def test_cli_import_reports_counts_as_json(db: Any, storage_emulator: str, tmp_path: Path, capsys: Any) -> None:
    import json

    from ops import cli
    from tests.support.leads import make_team

    team = make_team()
    file = tmp_path / "leads.csv"
    file.write_text("Customer Name,Phone Number\nA One,9000000001\nB Two,12\nA Again,9000000001\n", encoding="utf-8")
    assert cli.main(["leads-import", "--org", "org1", "--admin-uid", team.admin.uid, "--file", str(file)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["status"], result["rowsTotal"], result["created"], result["errors"], result["duplicates"]) == (
        "done",
        3,
        1,
        1,
        1,
    ), result
    assert cli.main(["leads-import", "--org", "org1", "--admin-uid", team.agent1.uid, "--file", str(file)]) == 2
