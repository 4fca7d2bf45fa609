"""The `auth` HTTPS function: /auth/otp/request, /auth/otp/verify, /auth/logout."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from auth import service
from auth.models import OtpRequest, OtpVerified, OtpVerify
from core import secrets, settings
from core.deploy import https_options
from core.errors import unauthenticated
from core.http import Call, Reply, Router, no_content

router = Router("auth")


def _check_app(call: Call) -> None:
    """Verify the App Check token where the deployment requires it."""
    if not settings.get().app_check_required:
        return
    token = call.header("X-Firebase-AppCheck")
    if not token:
        raise unauthenticated("Missing App Check token")
    from firebase_admin import app_check

    from core import clients

    try:
        app_check.verify_token(token, app=clients.firebase_app())
    except Exception as error:
        raise unauthenticated("Invalid App Check token") from error


@router.post("/otp/request", public=True, body=OtpRequest, status=202)
def request_code(call: Call) -> Reply:
    """Send a login code; 202 whatever the email."""
    _check_app(call)
    body = call.body(OtpRequest)
    service.request_code(email=str(body.email), client=call.client_ip)
    return Reply({"status": "sent-if-eligible"}, 202)


@router.post("/otp/verify", public=True, body=OtpVerify, response=OtpVerified)
def verify_code(call: Call) -> dict[str, Any]:
    """Exchange a code for a custom token."""
    _check_app(call)
    body = call.body(OtpVerify)
    return service.verify_code(email=str(body.email), code=body.code, client=call.client_ip)


@router.post("/logout", status=204)
def logout(call: Call) -> Reply:
    """Revoke the caller's sessions."""
    service.logout(org_id=call.caller.org_id, uid=call.caller.uid)
    return no_content()


@https_fn.on_request(**https_options(secrets=secrets.names(secrets.OTP_PEPPER, secrets.MAIL)))
def auth(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `auth`."""
    return router(req)
