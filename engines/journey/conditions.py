"""Transition conditions as sentences.

Parlant judges a transition's condition written in words; the journey engine decides it from
the expression, but exports the words, so a team migrating a workflow to a Parlant agent
starts from readable conditions ("the input amount is greater than 100") rather than Jinja.
"""

from __future__ import annotations

from jinja2 import nodes as jn
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser

from engines.expressions import Expression
from engines.expressions.environment import ENV

_COMPARE = {
    "gt": "is greater than",
    "gteq": "is at least",
    "lt": "is less than",
    "lteq": "is at most",
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "notin": "is not one of",
}
_SCOPES = {
    "inputs": "the input",
    "vars": "the variable",
    "loop": "the loop's",
    "env": "the setting",
}


def _path(node: jn.Node) -> str | None:
    steps: list[str] = []
    while isinstance(node, (jn.Getattr, jn.Getitem)):
        if isinstance(node, jn.Getattr):
            steps.append(node.attr)
        elif isinstance(node.arg, jn.Const):
            steps.append(str(node.arg.value))
        else:
            return None
        node = node.node
    if not isinstance(node, jn.Name):
        return None
    steps.reverse()
    root = node.name
    if root == "nodes" and len(steps) >= 2 and steps[1] in ("output", "error", "status"):
        what = {"output": "the result of", "error": "the error of", "status": "the status of"}
        rest = ".".join(steps[2:])
        return f"{what[steps[1]]} {steps[0]}" + (f" ({rest})" if rest else "")
    if root in _SCOPES and steps:
        return f"{_SCOPES[root]} {'.'.join(steps)}"
    return ".".join([root, *steps])


def _words(node: jn.Node) -> str:
    path = _path(node)
    if path is not None:
        return path
    if isinstance(node, jn.Const):
        return repr(node.value) if isinstance(node.value, str) else str(node.value).lower()
    if isinstance(node, jn.Compare) and len(node.ops) == 1:
        return (
            f"{_words(node.expr)} {_COMPARE.get(node.ops[0].op, node.ops[0].op)} "
            f"{_words(node.ops[0].expr)}"
        )
    if isinstance(node, jn.And):
        return f"{_claim(node.left)} and {_claim(node.right)}"
    if isinstance(node, jn.Or):
        return f"{_claim(node.left)} or {_claim(node.right)}"
    if isinstance(node, jn.Not):
        return f"it is not the case that {_claim(node.node)}"
    if isinstance(node, jn.Test) and node.name == "defined":
        return f"{_words(node.node)} is given"
    if isinstance(node, jn.Filter) and node.name == "length" and node.node is not None:
        return f"the number of {_words(node.node)}"
    if isinstance(node, (jn.List, jn.Tuple)):
        return "[" + ", ".join(_words(item) for item in node.items) + "]"
    raise ValueError("no words for this expression")


def _claim(node: jn.Node) -> str:
    """A node read as a statement: a bare value is a truth test."""
    words = _words(node)
    return f"{words} is true" if _path(node) is not None else words


def sentence(expression: Expression) -> str:
    """A readable condition for `expression` (the expression itself, quoted, when it has
    no simple reading)."""
    source = expression.source.strip()
    if source.startswith("{{") and source.endswith("}}"):
        source = source[2:-2].strip()
    try:
        tree = Parser(ENV, source, state="variable").parse_expression()
        return _claim(tree)
    except (ValueError, TemplateSyntaxError):
        return f"`{source}` holds"
