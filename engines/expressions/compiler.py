"""Templates and expressions, compiled once and evaluated many times.

A *template* is any JSON value whose strings may hold Jinja: a string that is exactly one
`{{ expr }}` yields the expression's native value, any other string containing Jinja is
interpolated into a string, dicts and lists resolve item by item, and everything else is a
literal. An *expression* is a bare Jinja expression (`inputs.n > 3`), as used by conditions,
router routes and while-loops.

Expressions are the engines' hot path, so plain path references (`{{ inputs.a.b }}`,
`{{ nodes['x'].output[0] }}`), and text made only of such references, are evaluated by
walking the data directly, without Jinja. Whenever the walk meets anything unusual (a missing
key, a non-container) it hands the same evaluation to Jinja, so both paths always agree:
the fast path only ever answers when Jinja would have answered the same. That includes the
budgets (docs/semantics.md §5, "Budgets"): a list or mapping printed into text, and text
longer than MAX_OUTPUT, are Jinja's to measure and refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Undefined
from jinja2 import nodes as jn
from jinja2.environment import TemplateExpression
from jinja2.exceptions import TemplateError, TemplateSyntaxError
from jinja2.parser import Parser

from engines.errors import ExpressionError, ExpressionSyntaxError
from engines.expressions.budgets import MAX_OUTPUT
from engines.expressions.environment import ENV, SCOPE_NAMES
from engines.expressions.references import NO_REFERENCES, References, collect, path_references
from engines.expressions.values import as_json, undefined_message

Scope = Mapping[str, Any]
_MISS = object()
#: Types a path walk may hand back as it is; anything else is given to Jinja (and to `as_json`).
_DATA_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
#: Types a text walk prints itself; a list or mapping printed into text is Jinja's to measure
#: (docs/semantics.md §5, "Budgets").
_TEXT_TYPES = frozenset({str, int, float, bool, type(None)})


def _snippet(source: str) -> str:
    return source if len(source) <= 80 else source[:77] + "..."


def _failure(source: str, exc: BaseException) -> ExpressionError:
    if isinstance(exc, ExpressionError):
        return ExpressionError(f"{_snippet(source)}: {exc.message}")
    if isinstance(exc, TemplateError):
        detail = str(exc) or type(exc).__name__
    else:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return ExpressionError(f"{_snippet(source)}: {detail}")


class Template:
    """A compiled template value. Immutable and shared: compile results are cached."""

    __slots__ = ("references", "source")
    #: True when rendering cannot depend on the scope (no Jinja anywhere inside).
    is_static = False
    #: True when rendering never goes through Jinja unless the data is unusual.
    is_fast = False

    def __init__(self, source: Any, references: References) -> None:
        self.source = source
        self.references = references

    def render(self, scope: Scope) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.source == self.source  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), repr(self.source)))


class LiteralTemplate(Template):
    """A value with no Jinja in it: renders to itself."""

    __slots__ = ()
    is_static = True
    is_fast = True

    def __init__(self, source: Any) -> None:
        super().__init__(source, NO_REFERENCES)

    def render(self, scope: Scope) -> Any:
        return self.source


class JinjaValueTemplate(Template):
    """`{{ expr }}` (or a bare expression) evaluated by Jinja to a native value."""

    __slots__ = ("_expr",)

    def __init__(self, source: str, expr: jn.Expr, references: References) -> None:
        super().__init__(source, references)
        body = [jn.Assign(jn.Name("result", "store"), expr, lineno=1)]
        self._expr = TemplateExpression(ENV.from_string(jn.Template(body, lineno=1)), False)

    def render(self, scope: Scope) -> Any:
        try:
            value = self._expr(scope)
            if isinstance(value, Undefined):
                raise ExpressionError(undefined_message(value))
            return as_json(value)
        except Exception as exc:
            raise _failure(self.source, exc) from None


def _walk(value: Any, steps: tuple[str | int, ...]) -> Any:
    for key in steps:
        kind = type(value)
        if kind is dict:
            try:
                value = value[key]
            except KeyError:
                return _MISS
        elif kind is list:
            if type(key) is int and key < len(value):
                value = value[key]
            else:
                return _MISS
        elif isinstance(value, Mapping) and kind is not str:
            try:
                value = value[key]
            except (KeyError, TypeError):
                return _MISS
        else:
            return _MISS
    return value


class PathTemplate(Template):
    """`{{ root.a['b'][0] }}`: walks the data; hands anything unusual to Jinja."""

    __slots__ = ("_fallback", "root", "steps")
    is_fast = True

    def __init__(
        self, source: str, root: str, steps: tuple[str | int, ...], fallback: Template
    ) -> None:
        super().__init__(source, path_references(root, steps[0] if steps else None))
        self.root = root
        self.steps = steps
        self._fallback = fallback

    def render(self, scope: Scope) -> Any:
        try:
            value = scope[self.root]
        except KeyError:
            return self._fallback.render(scope)
        for key in self.steps:
            kind = type(value)
            if kind is dict:
                try:
                    value = value[key]
                    continue
                except KeyError:
                    return self._fallback.render(scope)
            if kind is list and type(key) is int and key < len(value):
                value = value[key]
                continue
            value = _walk(value, (key,))
            if value is _MISS:
                return self._fallback.render(scope)
        if type(value) not in _DATA_TYPES:
            return self._fallback.render(scope)
        return value


class KeyTemplate(PathTemplate):
    """`{{ root.key }}`, the commonest template (`inputs.x`, `vars.total`): one dict lookup
    more than the scope's; anything else is `PathTemplate`'s, with the same result."""

    __slots__ = ("key",)

    def __init__(self, source: str, root: str, key: str, fallback: Template) -> None:
        super().__init__(source, root, (key,), fallback)
        self.key = key

    def render(self, scope: Scope) -> Any:
        try:
            value = scope[self.root]
            if type(value) is dict:
                value = value[self.key]
                if type(value) in _DATA_TYPES:
                    return value
        except KeyError:
            pass
        return PathTemplate.render(self, scope)


def path_template(
    source: str, root: str, steps: tuple[str | int, ...], fallback: Template
) -> PathTemplate:
    if len(steps) == 1 and type(steps[0]) is str:
        return KeyTemplate(source, root, steps[0], fallback)
    return PathTemplate(source, root, steps, fallback)


class JinjaTextTemplate(Template):
    """A string with Jinja in it, rendered by Jinja into a string."""

    __slots__ = ("_template",)

    def __init__(self, source: str, tree: jn.Template, references: References) -> None:
        super().__init__(source, references)
        self._template = ENV.from_string(tree)

    def render(self, scope: Scope) -> Any:
        try:
            return self._template.render(scope)
        except Exception as exc:
            raise _failure(self.source, exc) from None


class PathTextTemplate(Template):
    """Text made only of literal pieces and plain path references, joined without Jinja."""

    __slots__ = ("_fallback", "_parts")
    is_fast = True

    def __init__(
        self,
        source: str,
        parts: tuple[str | tuple[str, tuple[str | int, ...]], ...],
        fallback: Template,
    ) -> None:
        super().__init__(source, fallback.references)
        self._parts = parts
        self._fallback = fallback

    def render(self, scope: Scope) -> Any:
        out = []
        for part in self._parts:
            if type(part) is str:
                out.append(part)
                continue
            root, steps = part
            value = scope.get(root, _MISS)
            if value is not _MISS:
                value = _walk(value, steps)
            if value is _MISS or type(value) not in _TEXT_TYPES:
                return self._fallback.render(scope)
            out.append(str(value))
        text = "".join(out)
        if len(text) > MAX_OUTPUT:  # Jinja refuses it, with its own message
            return self._fallback.render(scope)
        return text


class DictTemplate(Template):
    __slots__ = ("_items",)

    def __init__(self, source: dict[str, Any], items: tuple[tuple[str, Template], ...]) -> None:
        refs = NO_REFERENCES
        for _, item in items:
            refs = refs | item.references
        super().__init__(source, refs)
        self._items = items

    @property
    def is_fast(self) -> bool:  # type: ignore[override]
        return all(item.is_fast for _, item in self._items)

    def render(self, scope: Scope) -> Any:
        return {key: item.render(scope) for key, item in self._items}


class ListTemplate(Template):
    __slots__ = ("_items",)

    def __init__(self, source: list[Any], items: tuple[Template, ...]) -> None:
        refs = NO_REFERENCES
        for item in items:
            refs = refs | item.references
        super().__init__(source, refs)
        self._items = items

    @property
    def is_fast(self) -> bool:  # type: ignore[override]
        return all(item.is_fast for item in self._items)

    def render(self, scope: Scope) -> Any:
        return [item.render(scope) for item in self._items]


class Expression:
    """A compiled bare expression. `evaluate` gives its value, `test` its truthiness."""

    __slots__ = ("_template", "source")

    def __init__(self, source: str, template: Template) -> None:
        self.source = source
        self._template = template

    @property
    def references(self) -> References:
        return self._template.references

    @property
    def is_fast(self) -> bool:
        return self._template.is_fast

    def evaluate(self, scope: Scope) -> Any:
        return self._template.render(scope)

    def test(self, scope: Scope) -> bool:
        return bool(self._template.render(scope))

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.source == self.source

    def __hash__(self) -> int:
        return hash(("Expression", self.source))


# --------------------------------------------------------------------------- compiling


def _path_of(expr: jn.Node) -> tuple[str, tuple[str | int, ...]] | None:
    """(root, steps) when `expr` is a plain path over a scope name, else None."""
    steps: list[str | int] = []
    node = expr
    while True:
        if isinstance(node, jn.Getattr):
            steps.append(node.attr)
            node = node.node
        elif isinstance(node, jn.Getitem) and isinstance(node.arg, jn.Const):
            key = node.arg.value
            if isinstance(key, str) or (type(key) is int and key >= 0):
                steps.append(key)
                node = node.node
            else:
                return None
        elif isinstance(node, jn.Name) and node.ctx == "load" and node.name in SCOPE_NAMES:
            return node.name, tuple(reversed(steps))
        else:
            return None


def _syntax_message(kind: str, exc: TemplateSyntaxError, source: str) -> str:
    line = f", line {exc.lineno}" if exc.lineno and exc.lineno > 1 else ""
    return f"{kind} does not parse: {exc.message} (in {_snippet(source)!r}{line})"


@lru_cache(maxsize=8192)
def _compile_string(source: str, fast: bool) -> Template:
    if "{{" not in source and "{%" not in source and "{#" not in source:
        return LiteralTemplate(source)
    try:
        return _compile_jinja_string(source, fast)
    except TemplateSyntaxError as exc:  # includes unknown filters and tests
        raise ExpressionSyntaxError(_syntax_message("template", exc, source)) from None


def _compile_jinja_string(source: str, fast: bool) -> Template:
    tree = ENV.parse(source)
    references = collect(tree)
    body = tree.body
    if (
        len(body) == 1
        and isinstance(body[0], jn.Output)
        and len(body[0].nodes) == 1
        and not isinstance(body[0].nodes[0], jn.TemplateData)
        and source.startswith("{{")
        and source.endswith("}}")
    ):
        expr = body[0].nodes[0]
        native = JinjaValueTemplate(source, expr, references)
        path = _path_of(expr) if fast else None
        if path is not None:
            return path_template(source, path[0], path[1], native)
        return native
    text = JinjaTextTemplate(source, tree, references)
    if fast and all(isinstance(n, jn.Output) for n in body):
        parts: list[str | tuple[str, tuple[str | int, ...]]] = []
        for output in body:
            for child in output.nodes:  # type: ignore[attr-defined]
                if isinstance(child, jn.TemplateData):
                    parts.append(child.data)
                    continue
                path = _path_of(child)
                if path is None:
                    return text
                parts.append(path)
        return PathTextTemplate(source, tuple(parts), text)
    return text


def compile_template(value: Any, *, fast: bool = True) -> Template:
    """Compile a template value. `fast=False` forces every evaluation through Jinja (for tests
    and benchmarks that compare the two paths). Raises `ExpressionSyntaxError`."""
    if isinstance(value, Template):
        return value
    if type(value) is str:
        return _compile_string(value, fast)
    if type(value) is dict:
        items = tuple((key, _compile_item(item, f".{key}", fast)) for key, item in value.items())
        if all(item.is_static for _, item in items):
            return LiteralTemplate(value)
        return DictTemplate(value, items)
    if type(value) is list:
        compiled = tuple(_compile_item(item, f"[{i}]", fast) for i, item in enumerate(value))
        if all(item.is_static for item in compiled):
            return LiteralTemplate(value)
        return ListTemplate(value, compiled)
    return LiteralTemplate(value)


def _compile_item(value: Any, step: str, fast: bool) -> Template:
    try:
        return compile_template(value, fast=fast)
    except ExpressionSyntaxError as exc:
        raise exc.within(step) from None


def _unwrap(source: str) -> str:
    text = source.strip()
    if text.startswith("{{") and text.endswith("}}"):
        return text[2:-2].strip().removeprefix("-").removesuffix("-").strip()
    return source


@lru_cache(maxsize=8192)
def _compile_expression(source: str, fast: bool) -> Expression:
    text = _unwrap(source)
    if not text.strip():
        raise ExpressionSyntaxError("expression is empty")
    try:
        parser = Parser(ENV, text, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError(
                f"unexpected {parser.stream.current.value!r} after the expression",
                parser.stream.current.lineno,
            )
        expr.set_environment(ENV)
        native = JinjaValueTemplate(text, expr, collect(expr))
    except TemplateSyntaxError as exc:  # includes unknown filters and tests
        raise ExpressionSyntaxError(_syntax_message("expression", exc, source)) from None
    path = _path_of(expr) if fast else None
    template: Template = native if path is None else path_template(text, *path, native)
    return Expression(source, template)


def compile_expression(source: str, *, fast: bool = True) -> Expression:
    """Compile a bare expression (a surrounding `{{ }}` is accepted and ignored)."""
    if isinstance(source, Expression):
        return source
    if not isinstance(source, str):
        raise ExpressionSyntaxError(f"an expression must be a string, not {type(source).__name__}")
    return _compile_expression(source, fast)
