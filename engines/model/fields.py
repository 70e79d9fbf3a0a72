"""Field types that compile templates and expressions while the model is validated.

A workflow is checked when it is built, not while it runs: a template that does not parse
is a validation error at its exact place (`nodes[3].params.routes[0].when`), and a literal
that can be checked statically (a negative count) is checked here by the same function that
checks the rendered value at run time, so both engines apply one rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from engines.errors import ExpressionError, ExpressionSyntaxError
from engines.expressions import Expression, References, Template, as_json, compile_expression
from engines.expressions import compile_template as _compile
from engines.expressions.environment import describe

Check = Callable[[Any], Any]


class TypedTemplate:
    """A template whose rendered value must pass a check (a count, a list, seconds ...)."""

    __slots__ = ("check", "template")

    def __init__(self, template: Template, check: Check) -> None:
        self.template = template
        self.check = check

    @property
    def source(self) -> Any:
        return self.template.source

    @property
    def references(self) -> References:
        return self.template.references

    @property
    def is_static(self) -> bool:
        return self.template.is_static

    def render(self, scope: Mapping[str, Any]) -> Any:
        """Render and check; a value of the wrong kind is an `ExpressionError`."""
        return self.check(self.template.render(scope))

    def __repr__(self) -> str:
        return f"TypedTemplate({self.template.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypedTemplate) and other.template == self.template

    def __hash__(self) -> int:
        return hash(self.template)


# --------------------------------------------------------------------------- checks


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def check_count(value: Any) -> int:
    number = _as_int(value)
    if number is None or number < 0:
        raise ExpressionError(f"must be a whole number >= 0, got {describe(value)}")
    return number


def check_positive(value: Any) -> int:
    number = _as_int(value)
    if number is None or number < 1:
        raise ExpressionError(f"must be a whole number >= 1, got {describe(value)}")
    return number


def check_items(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ExpressionError(f"must be a list, got {describe(value)}")
    return value


def check_seconds(value: Any) -> float:
    if not _is_number(value) or value < 0 or value > 1e300:  # an int too big for a float
        raise ExpressionError(f"must be a number of seconds >= 0, got {describe(value)}")
    return float(value)


def check_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def check_code(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        raise ExpressionError(
            f"must be a non-empty error code without spaces, got {describe(value)}"
        )
    return value


# --------------------------------------------------------------------------- field types


def _template_validator(check: Check | None, mapping: bool) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if isinstance(value, (Template, TypedTemplate)):
            return value
        if mapping and not isinstance(value, dict):
            raise PydanticCustomError(
                "mapping_type", "must be a mapping, not {kind}", {"kind": type(value).__name__}
            )
        try:
            as_json(value)
        except ExpressionError as exc:
            raise PydanticCustomError(
                "not_json", "not JSON data: {detail}", {"detail": exc.message}
            ) from None
        try:
            template = _compile(value)
        except ExpressionSyntaxError as exc:
            raise PydanticCustomError(
                "template_syntax", "{detail}", {"detail": exc.detail, "path": exc.path}
            ) from None
        if check is None:
            return template
        if template.is_static:
            try:
                check(template.source)
            except ExpressionError as exc:
                raise PydanticCustomError("template_value", exc.message) from None
        return TypedTemplate(template, check)

    return validate


def _source(value: Template | TypedTemplate | Expression) -> Any:
    return value.source


def _typed(check: Check | None, schema: dict[str, Any], mapping: bool = False) -> Any:
    return (
        PlainValidator(_template_validator(check, mapping)),
        PlainSerializer(_source, return_type=Any),
        WithJsonSchema(schema),
    )


_TEMPLATE_SCHEMA: dict[str, Any] = {"description": "any JSON value; strings may hold Jinja"}
_JINJA_STR = {"type": "string", "pattern": r"\{[{%#]"}

#: Any JSON value, strings may hold Jinja. Renders to JSON data.
TemplateValue = Annotated[Template, *_typed(None, _TEMPLATE_SCHEMA)]
#: A mapping whose values are templates (tool args, sub-workflow inputs).
TemplateMap = Annotated[
    Template,
    *_typed(None, {"type": "object", "additionalProperties": _TEMPLATE_SCHEMA}, mapping=True),
]
TextTemplate = Annotated[TypedTemplate, *_typed(check_text, {"type": "string"})]
CodeTemplate = Annotated[TypedTemplate, *_typed(check_code, {"type": "string"})]
CountTemplate = Annotated[
    TypedTemplate, *_typed(check_count, {"anyOf": [{"type": "integer", "minimum": 0}, _JINJA_STR]})
]
PositiveTemplate = Annotated[
    TypedTemplate,
    *_typed(check_positive, {"anyOf": [{"type": "integer", "minimum": 1}, _JINJA_STR]}),
]
ItemsTemplate = Annotated[
    TypedTemplate, *_typed(check_items, {"anyOf": [{"type": "array"}, _JINJA_STR]})
]
SecondsTemplate = Annotated[
    TypedTemplate,
    *_typed(check_seconds, {"anyOf": [{"type": "number", "minimum": 0}, _JINJA_STR]}),
]


def _expression_validator(value: Any) -> Expression:
    if isinstance(value, Expression):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "expression_type",
            "an expression must be a string, not {kind}",
            {"kind": type(value).__name__},
        )
    try:
        return compile_expression(value)
    except ExpressionSyntaxError as exc:
        raise PydanticCustomError("expression_syntax", "{detail}", {"detail": exc.detail}) from None


ExpressionField = Annotated[
    Expression,
    PlainValidator(_expression_validator),
    PlainSerializer(_source, return_type=str),
    WithJsonSchema({"type": "string", "description": "a Jinja expression"}),
]


def _json_data(value: Any) -> Any:
    try:
        return as_json(value)
    except ExpressionError as exc:
        raise PydanticCustomError(
            "not_json", "not JSON data: {detail}", {"detail": exc.message}
        ) from None


#: Plain JSON data (fixture inputs, payloads, expected values): no NaN, no non-string keys.
JsonData = Annotated[Any, AfterValidator(_json_data)]
