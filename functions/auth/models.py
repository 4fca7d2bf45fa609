"""Login requests and answers."""

from __future__ import annotations

from pydantic import EmailStr, Field

from core.models import ApiModel, ApiOut


class OtpRequest(ApiModel):
    """Ask for a login code."""

    email: EmailStr = Field(description="The member's work email")


class OtpVerify(ApiModel):
    """Exchange a login code for a Firebase custom token."""

    email: EmailStr = Field(description="The email the code was sent to")
    code: str = Field(max_length=6, pattern=r"^[0-9]{6}$", description="The 6-digit code from the email")


class SessionUser(ApiOut):
    """The member who logged in."""

    uid: str = Field(description="Firebase Auth uid, stable per member")
    org_id: str = Field(description="Organization id")
    role: str = Field(description="admin, manager, agent or rm")
    team_id: str | None = Field(description="Team id, or null")
    name: str = Field(description="Display name")
    email: str = Field(description="Work email")


class OtpVerified(ApiOut):
    """A successful login."""

    custom_token: str = Field(description="Sign in with signInWithCustomToken")
    user: SessionUser = Field(description="The member")
    policy_acceptance_required: bool = Field(description="True when the member must accept the current privacy policy")
