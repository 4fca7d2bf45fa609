"""The `tasks` HTTPS function: /tasks, /tasks/{id}."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core.deploy import https_options
from core.http import Call, Page, Reply, Router, created
from tasks import service
from tasks.models import Task, TaskCreate, TaskListQuery, TaskUpdate

router = Router("tasks")


@router.get("/", query=TaskListQuery, items=Task)
def list_tasks(call: Call) -> Page:
    """A page of visible tasks, newest due first."""
    items, cursor = service.list_tasks(caller=call.caller, query=call.query(TaskListQuery))
    return Page(items, cursor)


@router.post("/", idempotent=True, body=TaskCreate, response=Task, status=201)
def create_task(call: Call) -> Reply:
    """Create a task for yourself or someone you may assign to."""
    task = service.create_task(caller=call.caller, data=call.body(TaskCreate))
    return created(task)


@router.get("/{task_id}", response=Task)
def get_task(call: Call) -> dict[str, Any]:
    """One task."""
    return service.get_task(caller=call.caller, task_id=call.params["task_id"])


@router.patch("/{task_id}", body=TaskUpdate, response=Task)
def update_task(call: Call) -> dict[str, Any]:
    """Change a task (If-Match: its version); status done completes it."""
    data = call.body(TaskUpdate)
    task = service.update_task(caller=call.caller, task_id=call.params["task_id"], data=data, if_match=call.if_match())
    return task


@https_fn.on_request(**https_options())
def tasks(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `tasks`."""
    return router(req)
