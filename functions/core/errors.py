"""One error type for the whole backend, and the one table that turns its codes into HTTP statuses."""

from __future__ import annotations

from typing import Any

STATUS_BY_CODE: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "ALREADY_EXISTS": 409,
    "FAILED_PRECONDITION": 409,
    "CONFLICT": 412,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}


class ApiError(Exception):
    """A failure the caller is told about: a code from STATUS_BY_CODE, a message and optional details."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"unknown error code {code}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}
        self.extra = extra

    @property
    def status(self) -> int:
        """The HTTP status of this error's code."""
        return STATUS_BY_CODE[self.code]

    def body(self) -> dict[str, Any]:
        """The JSON body of API.md: {"error": {code, message, fields?, ...extra}}."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        error.update(self.extra)
        return {"error": error}


def invalid(field: str, why: str, message: str | None = None) -> ApiError:
    """A 400 naming one failing field."""
    return ApiError("INVALID_ARGUMENT", message or f"{field}: {why}", fields={field: why})


def not_found(what: str) -> ApiError:
    """A 404 for a resource that does not exist or belongs to another organization."""
    return ApiError("NOT_FOUND", f"{what} not found")


def forbidden(message: str = "You may not do this") -> ApiError:
    """A 403 for a caller who may see the organization but not this action or resource."""
    return ApiError("PERMISSION_DENIED", message)


def unauthenticated(message: str = "Sign in again") -> ApiError:
    """A 401: missing, bad, expired or revoked credentials."""
    return ApiError("UNAUTHENTICATED", message)


def precondition(message: str, **extra: Any) -> ApiError:
    """A 409 for an illegal state change."""
    return ApiError("FAILED_PRECONDITION", message, **extra)


def stale_version(current: int) -> ApiError:
    """A 412 for an If-Match that no longer matches the stored version."""
    return ApiError("CONFLICT", "The resource changed since you read it", currentVersion=current)
