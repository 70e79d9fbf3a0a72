"""Reading JSON and YAML files into plain data, with errors that say where the text is wrong.

YAML is read with the safe loader (no object construction from tags), and both formats
refuse duplicate keys, which would otherwise silently drop one of the values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from engines.errors import DocumentError

YAML_SUFFIXES = (".yaml", ".yml")
DOCUMENT_SUFFIXES = (".json", *YAML_SUFFIXES)


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key that appears twice in one mapping."""


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
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]')


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
                    f".{f['key']}" if f["object"] else f"[{f['index']}]" for f in stack[:-1]
                ).lstrip(".")
                where = f"{path or 'the top level'}, {_line_column(text, match.start())}"
                return f"duplicate key {key!r} at {where}"
            top["keys"].add(key)
            top["key"] = key
    return "duplicate key"


_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN')


class _NotJsonNumber(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJsonNumber(name)


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _locate_constant(text: str, name: str) -> str:
    for match in _CONSTANT.finditer(text):
        if not match.group().startswith('"'):
            return f"{name} is not a JSON number ({_line_column(text, match.start())})"
    return f"{name} is not a JSON number"


def parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            source, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _DuplicateKey:
        raise DocumentError(source, f"not valid JSON: {_locate_duplicate(text)}") from None
    except _NotJsonNumber as exc:
        raise DocumentError(source, f"not valid JSON: {_locate_constant(text, str(exc))}") from None
    except (ValueError, RecursionError) as exc:
        raise DocumentError(source, f"not valid JSON: {exc}") from None


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise DocumentError(source, f"not valid YAML: {problem}{where}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise DocumentError(source, f"not valid YAML: {exc}") from None


def read_document(path: str | Path) -> Any:
    """Parse a JSON (`.json`) or YAML (`.yaml`, `.yml`) file; other suffixes are tried as
    JSON, then YAML."""
    file = Path(path)
    source = str(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise DocumentError(source, "no such file") from None
    except IsADirectoryError:
        raise DocumentError(source, "is a directory, not a document") from None
    except OSError as exc:
        raise DocumentError(source, f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(source, f"not UTF-8 text (byte {exc.start})") from None
    suffix = file.suffix.lower()
    if suffix == ".json":
        return parse_json(text, source)
    if suffix in YAML_SUFFIXES:
        return parse_yaml(text, source)
    try:
        return parse_json(text, source)
    except DocumentError:
        return parse_yaml(text, source)
