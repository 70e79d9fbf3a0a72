"""Reading JSON and YAML files into plain data, with errors that say where the text is wrong.

YAML is read with the safe loader (no object construction from tags), and both formats
refuse duplicate keys, which would otherwise silently drop one of the values.

Hostile text is bounded before it can cost much (docs/semantics.md §1, "Reading files"):
only regular files of at most `MAX_FILE_BYTES` are read (engines/documents/files.py);
YAML aliases may add at most `MAX_ALIAS_NODES` nodes (an "alias bomb" is a few hundred
bytes that expand to billions), and none may refer to a node containing it; documents nest
at most `MAX_DEPTH` levels; integers have at most `MAX_INT_DIGITS` digits (Python cannot
print a longer one). A parse error says where and what, never the text it found there: the
file may not be a workflow document at all, and its content is nobody's business.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from engines.documents.files import MAX_FILE_BYTES, read_regular
from engines.errors import DocumentError

YAML_SUFFIXES = (".yaml", ".yml")
DOCUMENT_SUFFIXES = (".json", *YAML_SUFFIXES)

#: Nodes YAML aliases may add to a document once expanded, beyond those written.
MAX_ALIAS_NODES = 100_000
#: Levels of nested mappings and lists a document may have (aliases expanded).
MAX_DEPTH = 100
#: Decimal digits an integer may have: Python's limit on converting one to text.
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS

__all__ = [
    "DOCUMENT_SUFFIXES",
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INT_DIGITS",
    "parse_json",
    "parse_yaml",
    "read_document",
]

_NAME = re.compile(r"[\w.$@/+-]{1,64}")


def _name(key: Any) -> str:
    """A key as a message may quote it: plain names only (content is never echoed)."""
    if isinstance(key, str) and _NAME.fullmatch(key):
        return repr(key)
    if isinstance(key, (int, float, bool)) and len(repr(key)) <= 20:
        return repr(key)
    return "(a key not shown: not a plain name)"


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels (the limit of a document)"


def _int_too_large(digits: int) -> str:
    return f"an integer of {digits} digits is over the limit of {MAX_INT_DIGITS} digits"


# --------------------------------------------------------------------------- YAML


class _SafeProblem(yaml.constructor.ConstructorError):
    """A problem whose text is ours: it quotes nothing from the file but plain names."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key that appears twice in one mapping, nesting deeper
    than `MAX_DEPTH` and aliases that expand the document by more than `MAX_ALIAS_NODES`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._first_alias: yaml.Mark | None = None

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            if self._first_alias is None:
                self._first_alias = self.peek_event().start_mark
            return super().compose_node(parent, index)
        if not self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _SafeProblem(None, None, _too_deep(), self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A node, or a `_SafeProblem` at its place when its tag's constructor fails on the
        value (`!!int 0b`, a date such as 2001-13-45, `!!timestamp x`): PyYAML raises
        Python's own errors there, which quote the value and name no place."""
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[no-untyped-call]
        except (yaml.YAMLError, RecursionError, MemoryError):
            raise
        except Exception:
            name = str(node.tag).rpartition(":")[2] or "value"
            raise _SafeProblem(None, None, f"an invalid {name}", node.start_mark) from None

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if self._first_alias is not None:
            _check_expansion(node, self._first_alias)
        return self.construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


_CAP = 1 << 62  # sizes saturate here: a bomb's true size is astronomically large


def _check_expansion(root: yaml.Node, first_alias: yaml.Mark) -> None:
    """Refuse a node graph whose aliases expand it too much, too deep, or without end.
    Linear in the nodes written: every node's expanded size is computed once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    active: set[int] = set()
    written = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            active.discard(key)
            kids = _children(node)
            size[key] = min(_CAP, 1 + sum(size[id(k)] for k in kids))
            nested = isinstance(node, (yaml.MappingNode, yaml.SequenceNode))
            depth[key] = max((depth[id(k)] for k in kids), default=0) + nested
            continue
        if key in size:
            continue
        if key in active:
            raise _SafeProblem(
                None,
                None,
                "a YAML alias refers to a node that contains it (a structure without end, "
                "which is not JSON data)",
                node.start_mark,
            )
        active.add(key)
        written += 1
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)
    if size[id(root)] - written > MAX_ALIAS_NODES:
        raise _SafeProblem(
            None,
            None,
            f"YAML aliases (the first at line {first_alias.line + 1}) expand the document by "
            f"more than {MAX_ALIAS_NODES:,} nodes, the limit against alias bombs",
            None,
        )
    if depth[id(root)] > MAX_DEPTH:
        raise _SafeProblem(None, None, f"once its aliases are expanded, {_too_deep()}", None)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        try:
            duplicate = key in seen
        except TypeError:
            continue
        if duplicate:
            mark = key_node.start_mark
            raise _SafeProblem(None, None, f"duplicate key {_name(key)}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """An integer, refused when over `MAX_INT_DIGITS` digits (in any base: YAML has hex,
    octal, binary and base 60) before Python is asked to build or print it."""
    text = str(node.value).replace("_", "").lstrip("+-")
    if len(text) > MAX_INT_DIGITS:
        raise _SafeProblem(None, None, _int_too_large(len(text)), node.start_mark)
    value = loader.construct_yaml_int(node)
    if abs(value) >= _INT_LIMIT:
        raise _SafeProblem(None, None, _int_too_large(MAX_INT_DIGITS + 1), node.start_mark)
    return value


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[arg-type]

#: A quoted fragment of a PyYAML message (it quotes the text it found).
_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")


def _keep(fragment: str) -> bool:
    """Token names (`'<stream end>'`) and single characters (`'\\t'`) say what, not the text."""
    inner = fragment[1:-1]
    return bool(re.fullmatch(r"<[a-z ]+>|.|\\.|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}", inner))


def _plain(problem: str) -> str:
    """A PyYAML message without the text it quotes from the file."""
    text = _QUOTED.sub(lambda m: m.group() if _keep(m.group()) else "", problem)
    return re.sub(r"\s+([;,])", r"\1", re.sub(r" {2,}", " ", text)).strip(" ;,") or "invalid"


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, at an offset
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        where = _line_column(text, exc.position)
        raise DocumentError(
            source, f"not valid YAML: a character YAML does not allow (#x{code:04x}) ({where})"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if not isinstance(exc, _SafeProblem):
            problem = _plain(problem)
        raise DocumentError(source, f"not valid YAML: {problem}{where}") from None
    except RecursionError:
        raise DocumentError(source, f"not valid YAML: {_too_deep()}") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise DocumentError(source, f"not valid YAML: {_plain(str(exc))}") from None


# --------------------------------------------------------------------------- JSON


class _DuplicateKey(ValueError):
    pass


class _IntTooLarge(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _bounded_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise _IntTooLarge(text)
    return int(text)


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]')


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _locate_duplicate(text: str) -> str:
    """Where the first repeated key of valid-but-duplicated JSON is: path, line, column.
    Runs only after parsing failed, so the text is known to be well-formed JSON."""
    stack: list[dict[str, Any]] = []
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token in "{[":
            stack.append(
                {
                    "object": token == "{",
                    "keys": set(),
                    "key": None,
                    "index": 0,
                    "expect_key": token == "{",
                }
            )
        elif token in "}]":
            stack.pop()
        elif token == ",":
            if top is not None:
                top["index"] += 1
                top["expect_key"] = top["object"]
        elif top is not None and top["object"] and top["expect_key"]:
            key = json.loads(token)
            top["expect_key"] = False
            if key in top["keys"]:
                path = "".join(
                    (f".{f['key']}" if _NAME.fullmatch(f["key"]) else ".?")
                    if f["object"]
                    else f"[{f['index']}]"
                    for f in stack[:-1]
                ).lstrip(".")
                where = f"{path or 'the top level'}, {_line_column(text, match.start())}"
                return f"duplicate key {_name(key)} at {where}"
            top["keys"].add(key)
            top["key"] = key
    return "duplicate key"


def _locate_depth(text: str) -> str:
    """Where well- or ill-formed JSON first nests deeper than `MAX_DEPTH`."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            depth += 1
            if depth > MAX_DEPTH:
                return f"{_too_deep()} ({_line_column(text, match.start())})"
        elif token in "}]":
            depth -= 1
    return _too_deep()


def _deeper_than_limit(data: Any) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))
    return False


_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN')
_LONG_INT = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d{' + str(MAX_INT_DIGITS + 1) + ",}")


class _NotJsonNumber(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJsonNumber(name)


def _locate(text: str, pattern: re.Pattern[str]) -> str:
    """The line and column of the first match of `pattern` outside a string, or ''."""
    for match in pattern.finditer(text):
        if not match.group().startswith('"'):
            return f" ({_line_column(text, match.start())})"
    return ""


def parse_json(text: str, source: str) -> Any:
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_pairs,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
        )
    except json.JSONDecodeError as exc:
        raise DocumentError(
            source, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _DuplicateKey:
        raise DocumentError(source, f"not valid JSON: {_locate_duplicate(text)}") from None
    except _NotJsonNumber as exc:
        where = _locate(text, _CONSTANT)
        raise DocumentError(source, f"not valid JSON: {exc} is not a JSON number{where}") from None
    except _IntTooLarge as exc:
        digits = len(str(exc).lstrip("-"))
        where = _locate(text, _LONG_INT)
        raise DocumentError(source, f"not valid JSON: {_int_too_large(digits)}{where}") from None
    except RecursionError:
        raise DocumentError(source, f"not valid JSON: {_locate_depth(text)}") from None
    except ValueError:
        raise DocumentError(source, "not valid JSON") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than_limit(data):
        raise DocumentError(source, f"not valid JSON: {_locate_depth(text)}")
    return data


# --------------------------------------------------------------------------- files


def decode(raw: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), or a `DocumentError` naming the byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(source, f"not UTF-8 text (byte {exc.start})") from None


def read_document(path: str | Path) -> Any:
    """Parse a JSON (`.json`) or YAML (`.yaml`, `.yml`) file; other suffixes are tried as
    JSON, then YAML. Only a regular file is opened (engines/documents/files.py)."""
    file = Path(path)
    source = str(path)
    text = decode(read_regular(file, source), source)
    suffix = file.suffix.lower()
    if suffix == ".json":
        return parse_json(text, source)
    if suffix in YAML_SUFFIXES:
        return parse_yaml(text, source)
    try:
        return parse_json(text, source)
    except DocumentError:
        return parse_yaml(text, source)
