"""The JSON-Schema subset an `input` node declares for the payload it waits for.

Only `type`, `properties`, `required`, `enum` and `items` are accepted (anything else is a
validation error, so a schema never silently means less than its author thinks); payloads
are checked with the `jsonschema` library against exactly that subset.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any

import jsonschema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_serializer, model_validator

from engines.errors import InputInvalid

JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")


def _json_type(value: Any) -> Any:
    names = value if isinstance(value, list) else [value]
    if not names or any(not isinstance(n, str) or n not in JSON_TYPES for n in names):
        raise ValueError(f"must be one of {', '.join(JSON_TYPES)}, or a list of them")
    return value


JsonType = Annotated[Any, AfterValidator(_json_type)]


class InputSchema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: JsonType | None = None
    properties: dict[str, InputSchema] | None = None
    required: list[str] | None = None
    enum: list[Any] | None = Field(default=None, min_length=1)
    items: InputSchema | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InputSchema:
        if self.required and self.properties is not None:
            missing = [name for name in self.required if name not in self.properties]
            if missing:
                raise ValueError(f"required names properties that are not declared: {missing}")
        return self

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: Any) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}

    def as_json_schema(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @cached_property
    def _validator(self) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(self.as_json_schema())

    def check(self, payload: Any) -> None:
        """Raise `InputInvalid` naming every place where `payload` breaks the schema."""
        errors = sorted(
            self._validator.iter_errors(payload),
            key=lambda e: (
                [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.absolute_path],
                e.message,
            ),
        )
        if not errors:
            return
        parts = []
        for error in errors[:5]:
            where = "payload" + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
            )
            parts.append(f"{where}: {error.message}")
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InputInvalid("; ".join(parts) + more)
