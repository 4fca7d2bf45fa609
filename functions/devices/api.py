"""The `devices` HTTPS function: POST /devices, DELETE /devices/{deviceId}."""

from __future__ import annotations

from firebase_functions import https_fn

from core.deploy import https_options
from core.http import Call, Reply, Router, created, no_content
from devices import service
from devices.models import Device, DeviceRegister

router = Router("devices")


# fresh: a session ended seconds ago (member cache) must not register a device that would receive pushes
@router.post("/", body=DeviceRegister, response=Device, status=201, fresh=True)
def register(call: Call) -> Reply:
    """Register or refresh the caller's device (201; a repeat updates the same device)."""
    device = service.register(caller=call.caller, data=call.body(DeviceRegister))
    return created(device)


@router.delete("/{device_id}", status=204)
def unregister(call: Call) -> Reply:
    """Forget one of the caller's devices."""
    service.unregister(caller=call.caller, device_id=call.params["device_id"])
    return no_content()


@https_fn.on_request(**https_options())
def devices(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `devices`."""
    return router(req)
