"""The deployed functions. Only the one named by FUNCTION_TARGET is imported (cold start);
deploy discovery, which sets no target, sees every function. Logs go out as Cloud Logging's JSON."""

from __future__ import annotations

import importlib
import os

from core import logs
from registry import EMULATOR_ONLY, FUNCTIONS

# No pydantic plugin is used: without this, building a function's first validator (pydantic reads it then)
# scans every installed distribution's entry points for one (about 1 % of a cold start, bench.coldstart).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
logs.install()

_target = os.environ.get("FUNCTION_TARGET")
_available = dict(FUNCTIONS)
if os.environ.get("FUNCTIONS_EMULATOR") == "true":
    _available.update(EMULATOR_ONLY)

for _name, _module in _available.items():
    if _target in (None, "", _name) or (_target and _target.startswith(_name + "-")):
        globals()[_name] = getattr(importlib.import_module(_module), _name)
