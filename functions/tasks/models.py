"""Tasks as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Instant
from core.pagination import PageQuery

Status = Literal["open", "done"]


class TaskCreate(ApiModel):
    """A new task."""

    title: str = Field(min_length=1, max_length=200, description="What to do")
    description: str | None = Field(None, max_length=5000, description="Details")
    lead_id: DocId | None = Field(None, description="The lead it is about (must be visible to the creator)")
    assignee_id: DocId | None = Field(
        None, description="Who does it (the creator when absent; others need tasks.assign and must be reachable)"
    )
    team_id: DocId | None = Field(
        None, description="The assignee's team (taken from the assignee; when given, it must be that team)"
    )
    due_at: Instant = Field(description="When it is due (RFC 3339 with an offset)")
    status: Status = Field("open", description="open or done")


class TaskUpdate(ApiPatch):
    """A partial change of a task; description null removes it."""

    clearable = frozenset({"description"})

    title: str | None = Field(None, min_length=1, max_length=200, description="What to do")
    description: str | None = Field(None, max_length=5000, description="Details")
    assignee_id: DocId | None = Field(None, description="New assignee (tasks.assign; must be reachable)")
    due_at: Instant | None = Field(None, description="When it is due")
    status: Status | None = Field(None, description="open or done")


class Task(ApiOut):
    """A task."""

    id: str = Field(description="Task id")
    title: str = Field(description="What to do")
    description: str | None = Field(None, description="Details")
    lead_id: DocId | None = Field(None, description="The lead it is about")
    assignee_id: DocId = Field(description="Who does it")
    team_id: DocId | None = Field(None, description="The assignee's team")
    due_at: datetime = Field(description="When it is due")
    status: Status = Field(description="open or done")
    completed_at: datetime | None = Field(None, description="When it was done")
    created_by: str | None = Field(None, description="Creator uid")
    created_at: datetime = Field(description="When created")
    updated_at: datetime = Field(description="Last change")
    version: int = Field(description="Version, for If-Match")


class TaskListQuery(PageQuery):
    """Filters of GET /tasks (newest due first)."""

    assignee_id: DocId | None = Field(None, description="Only this assignee's")
    status: Status | None = Field(None, description="Only open or only done")
    due_before: Instant | None = Field(None, description="Only tasks due before this time")
