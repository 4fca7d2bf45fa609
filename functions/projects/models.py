"""Projects as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from core.models import ApiModel, ApiOut, ApiPatch
from core.pagination import PageQuery


class GeoPoint(ApiModel):
    """A position."""

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees")
    lng: float = Field(ge=-180, le=180, description="Longitude, degrees")


class ProjectCreate(ApiModel):
    """A new project (admin)."""

    name: str = Field(min_length=1, max_length=120, description="Project name")
    city: str = Field(min_length=1, max_length=80, description="City")
    address: str | None = Field(None, max_length=300, description="Street address")
    location: GeoPoint = Field(description="Site position, used for visit check-ins")
    checkin_radius_m: int = Field(
        200, ge=10, le=5000, description="A check-in within this many metres counts as on site"
    )


class ProjectUpdate(ApiPatch):
    """A partial change of a project (admin); address null removes it."""

    clearable = frozenset({"address"})

    name: str | None = Field(None, min_length=1, max_length=120, description="Project name")
    city: str | None = Field(None, min_length=1, max_length=80, description="City")
    address: str | None = Field(None, max_length=300, description="Street address")
    location: GeoPoint | None = Field(None, description="Site position")
    checkin_radius_m: int | None = Field(None, ge=10, le=5000, description="Check-in radius, metres")
    active: bool | None = Field(None, description="false: no longer offered (new leads cannot pick it)")


class GeoPointOut(ApiOut):
    """A position."""

    lat: float = Field(description="Latitude")
    lng: float = Field(description="Longitude")


class Project(ApiOut):
    """A project of the organization."""

    id: str = Field(description="Project id")
    name: str = Field(description="Project name")
    city: str = Field(description="City")
    address: str | None = Field(None, description="Street address")
    location: GeoPointOut = Field(description="Site position")
    checkin_radius_m: int = Field(description="Check-in radius, metres")
    active: bool = Field(True, description="false once no longer offered")
    version: int = Field(description="Version, for If-Match")
    created_at: datetime = Field(description="When created")
    updated_at: datetime = Field(description="Last change")


class ProjectListQuery(PageQuery):
    """Paging of GET /projects."""
