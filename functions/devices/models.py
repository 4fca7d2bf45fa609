"""Device registration."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from core.models import ApiModel, ApiOut, DocId


class DeviceRegister(ApiModel):
    """A device of the caller and its FCM token."""

    device_id: DocId = Field(
        max_length=128, pattern=r"^[A-Za-z0-9._:-]+$", description="Stable id of the install (not . or ..)"
    )
    fcm_token: str = Field(min_length=1, max_length=4096, description="FCM registration token")
    platform: Literal["android", "ios"] = Field(description="android or ios")
    model: str = Field("", max_length=120, description="Device model")
    os_version: str = Field("", max_length=40, description="OS version")
    app_version: str = Field("", max_length=40, description="App version")


class Device(ApiOut):
    """A registered device."""

    device_id: str = Field(description="Stable id of the install")
    platform: str = Field(description="android or ios")
    model: str = Field(description="Device model")
    os_version: str = Field(description="OS version")
    app_version: str = Field(description="App version")
    created_at: datetime = Field(description="First registration")
    updated_at: datetime = Field(description="Last registration")
