"""docs/openapi.json from the routers and their pydantic models: `write` regenerates, `check` fails when stale."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))
TARGET = ROOT / "docs" / "openapi.json"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "additionalProperties": True,
        }
    },
}
ERROR_STATUSES = {
    "400": "Invalid input",
    "401": "Unauthenticated",
    "403": "Forbidden",
    "404": "Not found",
    "409": "Conflict or illegal state",
    "412": "Stale If-Match",
    "429": "Throttled",
    "500": "Internal error",
    "503": "A backing service is unavailable",
}


def _schema(model: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, mode=mode, ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every deployed route."""
    from registry import FUNCTIONS

    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for function, module_name in sorted(FUNCTIONS.items()):
        module = importlib.import_module(module_name)
        router = getattr(module, "router", None)
        if router is None:
            continue
        for route in router.routes:
            sub = route.path.rstrip("/")
            path = f"/{function}{sub}"
            params = re.findall(r"\{(\w+)\}", path)
            operation: dict[str, Any] = {
                "operationId": f"{function}_{route.handler.__name__}",
                "summary": (route.handler.__doc__ or "").strip().splitlines()[0] if route.handler.__doc__ else "",
                "tags": [function],
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in params
                ],
                "responses": {},
            }
            if not route.public:
                operation["security"] = [{"firebaseIdToken": []}]
            doc = route.doc
            if doc.query is not None:
                for name, field in doc.query.model_fields.items():
                    alias = field.alias or name
                    prop = doc.query.model_json_schema(by_alias=True)["properties"][alias]
                    operation["parameters"].append(
                        {
                            "name": alias,
                            "in": "query",
                            "required": field.is_required(),
                            "schema": prop,
                            "description": field.description or "",
                        }
                    )
            if route.idempotent:
                operation["parameters"].append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                    }
                )
            if route.method == "PATCH":
                operation["parameters"].append(
                    {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"}}
                )
            if doc.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {doc.body_content_type: {"schema": _schema(doc.body, components, "validation")}},
                }
            success: dict[str, Any] = {"description": "Success"}
            if doc.response is not None:
                success["content"] = {doc.content_type: {"schema": _schema(doc.response, components, "serialization")}}
            elif doc.items is not None:
                success["content"] = {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["items", "nextCursor"],
                            "properties": {
                                "items": {"type": "array", "items": _schema(doc.items, components, "serialization")},
                                "nextCursor": {"type": ["string", "null"]},
                            },
                        }
                    }
                }
            elif doc.status != 204:
                success["content"] = {doc.content_type: {"schema": {}}}
            operation["responses"][str(doc.status)] = success
            for status, description in ERROR_STATUSES.items():
                operation["responses"][status] = {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            paths.setdefault(path or "/", {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Justo Lead API",
            "version": "1.0.0",
            "description": "The contract of ../shared/API.md, generated from the pydantic models.",
        },
        "servers": [{"url": "http://127.0.0.1:5001/demo-justo/asia-south1", "description": "local emulators"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"firebaseIdToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render() -> str:
    """The document as committed."""
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    """`write` or `check`."""
    command = argv[0] if argv else "check"
    text = render()
    if command == "write":
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(text)
        print(f"wrote {TARGET.relative_to(ROOT)}")
        return 0
    if not TARGET.exists() or TARGET.read_text() != text:
        print("docs/openapi.json is stale: run `make openapi`", file=sys.stderr)
        return 1
    print("docs/openapi.json is current")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
