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

YAML is parsed by libyaml's C parser when PyYAML has it (about ten times faster), with the
same constructors and limits. Its error messages differ from PyYAML's, so when it refuses a
text, or the text breaks a limit, the pure-Python loader reads it again to say what and
where: a message never depends on which parser is installed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from engines.documents.files import MAX_FILE_BYTES, read_regular
from engines.errors import ConfigError, DocumentError

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
    "HAS_LIBYAML",
    "LIBYAML",
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


#: Whether PyYAML has libyaml, whose C parser `parse_yaml` then uses unless told not to.
HAS_LIBYAML: bool = bool(getattr(yaml, "__with_libyaml__", False))
#: Whether `parse_yaml` uses libyaml when not told (so `read_document` does): set it to False
#: to compare with the pure-Python parser (tests, bench/loading.py).
LIBYAML: bool = HAS_LIBYAML


class _SafeProblem(yaml.constructor.ConstructorError):
    """A problem whose text is ours: it quotes nothing from the file but plain names."""


class _Constructor(yaml.constructor.SafeConstructor):
    """The safe constructor both loaders share: duplicate keys and huge integers refused
    (constructors registered below), a failing tag constructor reported at its place."""

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


class _UniqueKeyLoader(_Constructor, yaml.SafeLoader):
    """The pure-Python safe loader, refusing a key that appears twice in one mapping, nesting
    deeper than `MAX_DEPTH` and aliases that expand the document by more than
    `MAX_ALIAS_NODES`. Its messages are the ones users see."""

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

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if self._first_alias is not None:
            _check_expansion(node, self._first_alias)
        return self.construct_document(node)


#: Where a token may start: at the start, after white space or an indicator.
_TOKEN_START = r"(?<![^\s,\[\]{}:?])"
#: Text libyaml and PyYAML's pure-Python parser are known to read differently, which only the
#: latter reads (found by comparing the two on random text, tests/documents/): a tab
#: (libyaml takes it for a space where PyYAML refuses it), a byte-order mark after the start
#: (libyaml skips one at the start of any line), the non-specific tag `!` (on an empty value
#: libyaml makes '' where PyYAML makes null), a tag running into a flow indicator
#: (`[!a, b]`: libyaml ends the tag there, PyYAML reads on), a block scalar's header
#: followed by `#` without a space (libyaml takes it for a comment), and an empty explicit
#: key in a flow collection (`[?,,a]`: libyaml skips the token after the `?`). A `?` inside
#: a plain scalar in a flow collection is found on the nodes instead (`_question_in_flow`).
_LIBYAML_DIFFERS = re.compile(
    rf"\t|(?!\A)\ufeff|{_TOKEN_START}!(?:(?=\s|\Z)|\S*[,\[\]{{}}])|[|>][-+0-9]*#"
    rf"|{_TOKEN_START}\?(?:\s|#[^\n]*)*[,\]:]"
)


class _Unsure(Exception):
    """The C loader's way of saying "ask the pure-Python loader": it found a problem, whose
    message only the pure-Python loader words as users see it."""


if HAS_LIBYAML:

    class _CUniqueKeyLoader(_Constructor, yaml.CSafeLoader):  # type: ignore[misc]
        """libyaml's parser and composer, then the same checks and constructors as
        `_UniqueKeyLoader`. libyaml composes the whole node graph first (it nests at most
        1,000 levels, and shares an aliased node rather than copying it), so nesting and
        aliases are checked on the graph, before anything is constructed."""

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            text = stream if isinstance(stream, str) else None
            # An alias needs a `*` and its anchor a `&`: without both, no node is shared,
            # and the cheap depth walk is enough.
            self._aliases = text is None or ("*" in text and "&" in text)
            self._question = text is None or "?" in text

        def get_single_data(self) -> Any:
            node = self.get_single_node()
            if node is None:
                return None
            added, depth = _expansion(node) if self._aliases else (0, _depth(node))
            if added > MAX_ALIAS_NODES or depth > MAX_DEPTH:
                raise _Unsure
            if self._question and _question_in_flow(node):
                raise _Unsure
            return self.construct_document(node)


def _question_in_flow(root: yaml.Node) -> bool:
    """Whether a plain scalar in a flow collection holds a `?`: PyYAML ends the scalar there
    (and then mostly refuses the text), libyaml reads on (`[a?b]` is `['a?b']` to it)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.id == "scalar" or id(node) in seen:
            continue
        seen.add(id(node))
        kids = _children(node)
        if node.flow_style and any(
            kid.id == "scalar" and not kid.style and "?" in kid.value for kid in kids
        ):
            return True
        stack += kids
    return False


def _depth(root: yaml.Node) -> int:
    """Levels of nested collections in a node tree (no node shared: no aliases)."""
    level = [] if isinstance(root, yaml.ScalarNode) else [root]
    depth = 0
    while level:
        depth += 1
        below: list[yaml.Node] = []
        for node in level:
            if isinstance(node, yaml.MappingNode):
                below += (part for pair in node.value for part in pair if part.id != "scalar")
            else:
                below += (item for item in node.value if item.id != "scalar")
        level = below
    return depth


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


_CAP = 1 << 62  # sizes saturate here: a bomb's true size is astronomically large


def _check_expansion(root: yaml.Node, first_alias: yaml.Mark) -> None:
    """Refuse a node graph whose aliases expand it too much, too deep, or without end."""
    added, depth = _expansion(root)
    if added > MAX_ALIAS_NODES:
        raise _SafeProblem(
            None,
            None,
            f"YAML aliases (the first at line {first_alias.line + 1}) expand the document by "
            f"more than {MAX_ALIAS_NODES:,} nodes, the limit against alias bombs",
            None,
        )
    if depth > MAX_DEPTH:
        raise _SafeProblem(None, None, f"once its aliases are expanded, {_too_deep()}", None)


def _expansion(root: yaml.Node) -> tuple[int, int]:
    """The nodes aliases add to a node graph once expanded, and its depth so expanded; a
    `_SafeProblem` if a node contains itself. Linear in the nodes written: every node's
    expanded size is computed once."""
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
    return size[id(root)] - written, depth[id(root)]


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


_Constructor.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)
_Constructor.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[arg-type]

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


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused: a parse allocates a node and an object per
    value, none of them garbage, and each collection re-scans them all (without the pause,
    parsing a 1 MB file costs twice as much CPU)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_yaml(text: str, source: str, *, libyaml: bool | None = None) -> Any:
    """The YAML document in `text`, or a `DocumentError` naming `source`, what and where.
    `libyaml`: None parses with libyaml when PyYAML has it (`LIBYAML`), False with PyYAML's
    pure-Python parser, True with libyaml; values and messages are the same either way."""
    fast = LIBYAML if libyaml is None else libyaml
    if fast and not HAS_LIBYAML:
        raise ConfigError("parse_yaml: libyaml asked for, but this PyYAML is built without it")
    if fast and not _LIBYAML_DIFFERS.search(text):
        try:
            with _no_collection():
                return yaml.load(text, Loader=_CUniqueKeyLoader)
        except Exception:  # refused or unsure: the pure-Python loader says what and where
            pass
    with _no_collection():
        return _parse_pure(text, source)


def _parse_pure(text: str, source: str) -> Any:
    """`parse_yaml` with PyYAML's pure-Python loader, whose messages are the ones shown."""
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
