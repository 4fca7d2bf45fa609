"""The `projects` HTTPS function: /projects, /projects/{id}."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core.deploy import https_options
from core.http import Call, Page, Reply, Router, created
from projects import service
from projects.models import Project, ProjectCreate, ProjectListQuery, ProjectUpdate

router = Router("projects")


@router.get("/", query=ProjectListQuery, items=Project)
def list_projects(call: Call) -> Page:
    """A page of the organization's projects, newest first (every member)."""
    items, cursor = service.list_projects(caller=call.caller, query=call.query(ProjectListQuery))
    return Page(items, cursor)


@router.post("/", idempotent=True, body=ProjectCreate, response=Project, status=201)
def create_project(call: Call) -> Reply:
    """Create a project (admin)."""
    call.caller.require("projects.manage")
    data = call.body(ProjectCreate)
    project = service.create_project(org_id=call.caller.org_id, actor=call.caller.uid, data=data)
    return created(project)


@router.get("/{project_id}", response=Project)
def get_project(call: Call) -> dict[str, Any]:
    """One project."""
    return service.get_project(caller=call.caller, project_id=call.params["project_id"])


@router.patch("/{project_id}", body=ProjectUpdate, response=Project)
def update_project(call: Call) -> dict[str, Any]:
    """Change a project (admin; If-Match: its version)."""
    call.caller.require("projects.manage")
    data = call.body(ProjectUpdate)
    project = service.update_project(
        caller=call.caller, project_id=call.params["project_id"], data=data, if_match=call.if_match()
    )
    return project


@https_fn.on_request(**https_options())
def projects(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `projects`."""
    return router(req)
