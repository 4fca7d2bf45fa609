"""The base of every API model: camelCase on the wire, unknown fields refused on input."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """An input model: camelCase JSON, extra fields are an error."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )


class ApiOut(BaseModel):
    """An output model: camelCase JSON, extra stored fields are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def json_body(self) -> dict[str, Any]:
        """The model as API JSON."""
        return self.model_dump(by_alias=True, mode="json")
