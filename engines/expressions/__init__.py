"""The expression layer both engines share: sandboxed Jinja templates and expressions."""

from engines.expressions.compiler import (
    Expression,
    Template,
    compile_expression,
    compile_template,
)
from engines.expressions.environment import SCOPE_NAMES
from engines.expressions.references import References
from engines.expressions.values import as_json

__all__ = [
    "SCOPE_NAMES",
    "Expression",
    "References",
    "Template",
    "as_json",
    "compile_expression",
    "compile_template",
]
