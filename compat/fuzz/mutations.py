"""Turning valid documents into invalid ones, for `compat fuzz --invalid`.

`make_input(seed, index)` is the whole generator: input number `index` of a run with `seed`
is drawn from its own `random.Random`, so any input can be made again on its own (a worker
makes its batch, the parent makes a finding's reproducer, each the same). An input starts
from a seed document (compat/fuzz/invalid_seeds.py) broken by one to three structure-aware
mutations (`DATA_MUTATIONS`) and is written as JSON or YAML; a third of them are then broken
as text (`TEXT_MUTATIONS`), and some inputs are random JSON or YAML from scratch.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from compat.fuzz.invalid_seeds import WORKFLOW_PATHS, seed_documents
from compat.fuzz.invalid_text import TEXT_MUTATIONS, random_json, random_yaml

#: Where inputs come from besides mutated seeds.
RANDOM_ORIGINS = ("random_json", "random_yaml")


class NotApplicable(Exception):
    """This mutation cannot apply to this document (no edge to break, not a fixture ...)."""


@dataclass(frozen=True)
class FuzzInput:
    """One input: `data` (when `has_data`) is what in-memory entry points get, `raw` the
    bytes of the file the others read (None when `data` cannot be written as a file)."""

    index: int
    origin: str
    kind: str
    mutations: tuple[str, ...]
    has_data: bool
    data: Any
    raw: bytes | None
    suffix: str


# --------------------------------------------------------------------------- values

_NAN, _INF = math.nan, math.inf
WRONG_VALUES: tuple[Any, ...] = (
    None, True, False, 0, 1, -1, 2**63, 10**4200, -(10**300), 1.5, -0.0, _NAN, _INF, -_INF,
    1e308, "", " ", "x", "$x", "{{", "\x00", "\x1b[31mred\x1b[0m", "\u202eevil", "a" * 5000,
    [], [None], [[[]]], {}, {"x": 1}, {"": None}, {1: 2}, datetime.date(2001, 12, 14),
    datetime.datetime(2001, 12, 14, 21, 59, 43), b"\x00\xff",
)  # fmt: skip
NODE_TYPE_VALUES: tuple[Any, ...] = (
    "wiat", "Start", "START", "", " start", "start ", None, 3, ["start"], {"t": 1},
    "customNode", "genericNode", "loop\x00", "default", "input ", "fail!", "parallel-2",
)  # fmt: skip
BAD_IDS: tuple[Any, ...] = (
    " a", "a b", "a\tb", "a\nb", "$variables", "$outputs", "$x", "", 1, None, True, "é",
    "x" * 2000, "\x00", "nodes", "a.b", "a'b", 'a"b', "{{ x }}", "\u200b", 1.5, [], {},
)  # fmt: skip
HANDLES: tuple[Any, ...] = (
    "", "nope", None, 1, "error", "true", "false", "default", "out", "small", "OUT", " out",
    ["out"], {"h": 1},
)  # fmt: skip
REFERENCES: tuple[Any, ...] = ("ghost", "", None, 5, "start ", "$variables", "$outputs", [])
BROKEN_TEMPLATES: tuple[str, ...] = (
    "{{", "{{ x", "}}", "{% for x in y %}", "{% if %}", "{% endfor %}", "{# open",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}", "{{ self }}", "{{ config }}",
    "{% include 'x' %}", "{% extends 'x' %}", "{% import 'x' as y %}",
    "{% macro m() %}{% endmacro %}", "{% set x = 1 %}", "{{ nodes[vars.x] }}",
    "{{ nodes.missing.output }}", "{{ nodes['a b'].output }}", "{{ vars.x | nosuchfilter }}",
    "{{ range(10**9) | list }}", "{{ 'a' * 10**10 }}", "{{ 9 ** 9 ** 9 }}", "{{ 1/0 }}",
    "{{ loop.index }}", "{{ parallel.item }}", "{{ env }}", "{{ inputs..a }}", "{{ @ }}",
    "1 +", "x ==", "{{ a }}", "", "{% raw %}", "{{ x }", "{{ (1, 2) }}", "{{ x.__dict__ }}",
    "{% filter upper %}", "{{ '%s' % 1 }}", "{{ [].append(1) }}", "{{ {}.update(a=1) }}",
    "{{ '{{' }}", "{{ \"\\x00\" }}", "{%- if true -%}{% else %}{% else %}{% endif %}",
)  # fmt: skip
OPTION_VALUES: dict[str, tuple[Any, ...]] = {
    "retry": (
        {"max_attempts": 0}, {"max_attempts": -1}, {"max_attempts": 1.5},
        {"initial_interval": -1}, {"backoff_coefficient": 0.5}, {"max_attempts": _NAN},
        {"max_interval": 0.1, "initial_interval": 1}, {"non_retryable_codes": "X"},
        {"unknown": 1}, {"max_attempts": 10**4000}, {"initial_interval": _INF}, 3, [], {},
    ),
    "timeout": (0, -1, _NAN, _INF, "5", "{{ inputs.t }}", True, [], 1e-300, 10**400),
    "compensate": (
        {}, {"tool": ""}, {"tool": 1}, {"tool": "echo", "args": "x"}, "echo",
        {"tool": "echo", "args": {"v": "{{"}}, {"tool": "nope"}, {"tool": "echo", "x": 1},
    ),
    "idempotency_key": ("", "{{", 1, [], {"k": 1}, "{{ nodes.ghost.output }}", None),
}  # fmt: skip
PARAM_VALUES: dict[str, tuple[Any, ...]] = {
    "mode": ("for", "forEach", "while", "doWhile", "count", "collection", "", None, "FOR", 1),
    "count": (-1, 1.5, "x", True, None, "{{", 10**20, _NAN, "{{ inputs.n }}", 3.0, []),
    "items": ("x", 1, {}, "{{ inputs.x }}", None, [[]], "{% for %}"),
    "condition": ("", "1 +", "{{ x }}", 1, None, "loop.index < 2", "parallel.index"),
    "max_iterations": (0, -1, 1.5, "x", 10**30, True, "{{ inputs.n }}"),
    "max_concurrency": (0, -1, 1.5, "x", 10**30, True, None),
    "seconds": (-1, "x", _NAN, _INF, None, [], "{{ inputs.s }}", 10**300, True),
    "code": ("a b", "", 1, None, "{{ x }}", "OK\n", "{{"),
    "routes": ([], None, "x", [{"name": "default", "when": "true"}],
               [{"name": "a", "when": "true"}, {"name": "a", "when": "false"}],
               [{"name": "a"}], [{"when": "true"}], [{"name": "error", "when": "1"}]),
    "schema": ({"type": "weird"}, {"$ref": "#"}, {"properties": []}, {"type": ["string", 1]},
               {"required": "x"}, {"items": 3}, {"enum": 1}, "string", {"type": None},
               {"properties": {"a": {"type": "nope"}}}, {"additionalProperties": False}),
    "values": ({}, {"1x": 1}, {"a b": 2}, {"": 3}, None, [1], {"ok": "{{"}),
    "all_matching": ("yes", 1, None, [], 2),
    "recoverable": ("yes", 2, None),
    "expression": ("", "1 +", "{{ x }}", 1, None, "nodes[x]", "a.__class__"),
    "tool": ("", None, 1, "nope", "crash "),
    "workflow": ("", None, 1, "ghost", "conversation", "{{ inputs.w }}"),
}  # fmt: skip
CASE_VALUES: dict[str, tuple[Any, ...]] = {
    "name": ("", None, 1, "a" * 3000, "one"),
    "inputs": ([], "x", 1, None, {1: 2}, {"n": _NAN}, {"n": 10**4200}),
    "conversation": ({}, "x", 1, None, [_NAN], [[[[]]]]),
    "cancel": ({}, {"at": -1}, {"at": _NAN}, {"at": _INF}, {"when": "later"}, "paused",
               {"at": 1, "when": "paused"}, {"at": "1"}, {"at": True}, {"x": 1}, 3),
    "covers": (["99"], [4.1], [None], "7.4", ["7.4", "7.4"], ["4.9"], [""], {}),
    "expect": ({"status": "weird"}, {"outputs": 3}, {"vars": []}, {"errors": "x"},
               {"errors": [{"node": "ghost", "code": "X"}]}, {"errors": [{"node": ""}]},
               {"x": 1}, [], {"status": None, "outputs": {"a": _NAN}}),
    "description": (1, [], None),
}  # fmt: skip
WORKFLOWS_VALUES: tuple[Any, ...] = (
    "x", 3, None, [3], [None], [[]], [""], {"a": 1}, ["flow.yaml", "flow.yaml"],
    [{"nodes": []}], [{"id": "child"}], ["not_a_workflow.yaml"], ["pipe.yaml"],
    ["../outside/secret.yaml"], ["input.yaml"], [{"cases": []}],
)  # fmt: skip
_WRAPPERS = (("data",), ("flow",), ("rfInstance",), ("dsl", "graph"), ("graph",), ("reactflow",))
_OPTIONS = tuple(OPTION_VALUES)


# --------------------------------------------------------------------------- places


def _walk(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) slot of a document, bounded in number."""
    slots: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack and len(slots) < 5000:
        value = stack.pop()
        if isinstance(value, dict):
            keys: Any = list(value)
        elif isinstance(value, list):
            keys = range(len(value))
        else:
            continue
        for key in keys:
            slots.append((value, key))
            stack.append(value[key])
    return slots


def _dicts(doc: Any) -> list[dict[Any, Any]]:
    found = [doc] if isinstance(doc, dict) else []
    return found + [c[k] for c, k in _walk(doc) if isinstance(c[k], dict)]


def _lists(doc: Any) -> list[list[Any]]:
    found = [doc] if isinstance(doc, list) else []
    return found + [c[k] for c, k in _walk(doc) if isinstance(c[k], list)]


def _any(rng: random.Random, palette: tuple[Any, ...] | list[Any]) -> Any:
    """A value from a palette, copied: later mutations must not change the palette."""
    return copy.deepcopy(rng.choice(palette))


def _pick(rng: random.Random, items: list[Any]) -> Any:
    if not items:
        raise NotApplicable
    return rng.choice(items)


def _graph(rng: random.Random, doc: Any, kind: str) -> dict[str, Any]:
    """The workflow or flow (a mapping with `nodes`) a structural mutation works on."""
    if kind == "fixture" and isinstance(doc, dict):
        options = [doc.get("workflow")]
        if isinstance(doc.get("workflows"), list):
            options += doc["workflows"]
        doc = _pick(rng, [w for w in options if isinstance(w, dict)])
    if kind == "reactflow" and isinstance(doc, dict):
        for path in _WRAPPERS:
            inner: Any = doc
            for key in path:
                inner = inner.get(key) if isinstance(inner, dict) else None
            if isinstance(inner, dict) and "nodes" in inner:
                doc = inner
                break
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise NotApplicable
    return doc


def _nodes(rng: random.Random, doc: Any, kind: str) -> list[dict[str, Any]]:
    nodes = [n for n in _graph(rng, doc, kind)["nodes"] if isinstance(n, dict)]
    if not nodes:
        raise NotApplicable
    return nodes


def _edges(rng: random.Random, doc: Any, kind: str) -> list[Any]:
    graph = _graph(rng, doc, kind)
    edges = graph.setdefault("edges", [])
    if not isinstance(edges, list):
        raise NotApplicable
    return edges


def _params(node: dict[str, Any], kind: str) -> dict[str, Any]:
    key = "data" if kind == "reactflow" else "params"
    params = node.setdefault(key, {})
    if not isinstance(params, dict):
        raise NotApplicable
    return params


def _typo(rng: random.Random, key: Any) -> Any:
    text = str(key)
    choice = rng.randrange(9)
    if choice == 0 and len(text) > 1:
        i = rng.randrange(len(text) - 1)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if choice == 1 and text:
        i = rng.randrange(len(text))
        return text[:i] + text[i + 1 :]
    if choice == 2:
        return text + rng.choice(["s", " ", "\t", "_", "\x00"])
    if choice == 3:
        return text.upper()
    if choice == 4:
        return rng.choice([1, None, True, 1.5, -0.0])
    if choice == 5:
        return "$" + text
    if choice == 6:
        return text.replace("a", "а").replace("e", "е").replace("o", "о")  # Cyrillic
    if choice == 7:
        return ""
    return text + text[-1:]


# --------------------------------------------------------------------------- data mutations

Mutation = Callable[[random.Random, Any, str], Any]


def drop_field(rng: random.Random, doc: Any, kind: str) -> Any:
    target = _pick(rng, [d for d in _dicts(doc) if d])
    del target[rng.choice(list(target))]
    return doc


def duplicate(rng: random.Random, doc: Any, kind: str) -> Any:
    target = _pick(rng, [item for item in _lists(doc) if item])
    item = copy.deepcopy(rng.choice(target))
    target.insert(rng.randrange(len(target) + 1), item)
    return doc


def rename_field(rng: random.Random, doc: Any, kind: str) -> Any:
    target = _pick(rng, [d for d in _dicts(doc) if d])
    key = rng.choice(list(target))
    target[_typo(rng, key)] = target.pop(key)
    return doc


def wrong_type(rng: random.Random, doc: Any, kind: str) -> Any:
    if rng.random() < 0.05:
        return rng.choice([None, [], "x", 3, [doc], {"nodes": doc}, True])
    container, key = _pick(rng, _walk(doc))
    old = container[key]
    container[key] = _any(rng, [v for v in WRONG_VALUES if type(v) is not type(old)])
    return doc


def unknown_node_type(rng: random.Random, doc: Any, kind: str) -> Any:
    node = rng.choice(_nodes(rng, doc, kind))
    value = _any(rng, NODE_TYPE_VALUES)
    if kind == "reactflow" and isinstance(node.get("data"), dict) and rng.random() < 0.6:
        node["data"]["type"] = value
    else:
        node["type"] = value
    return doc


def bad_handle(rng: random.Random, doc: Any, kind: str) -> Any:
    edges = [e for e in _edges(rng, doc, kind) if isinstance(e, dict)]
    edge = _pick(rng, edges)
    key = "sourceHandle" if kind == "reactflow" else "handle"
    if key in edge and rng.random() < 0.3:
        del edge[key]
    else:
        edge[key] = _any(rng, HANDLES)
    return doc


def dangling_edge(rng: random.Random, doc: Any, kind: str) -> Any:
    edges = _edges(rng, doc, kind)
    end = rng.choice(["source", "target"])
    dicts = [e for e in edges if isinstance(e, dict)]
    if dicts and rng.random() < 0.6:
        rng.choice(dicts)[end] = _any(rng, REFERENCES)
    else:
        node = rng.choice(_nodes(rng, doc, kind))
        edges.append({"source": node.get("id"), "target": _any(rng, REFERENCES)})
        if rng.random() < 0.3:
            edges.append(rng.choice([None, "a -> b", 3, [], {}]))
    return doc


def cycle(rng: random.Random, doc: Any, kind: str) -> Any:
    nodes = _nodes(rng, doc, kind)
    edges = _edges(rng, doc, kind)
    a, b = rng.choice(nodes).get("id"), rng.choice(nodes).get("id")
    edges += [{"source": a, "target": b}, {"source": b, "target": a}]
    if rng.random() < 0.3:
        edges.append({"source": a, "target": a, "handle": "error"})
    return doc


def parent_cycle(rng: random.Random, doc: Any, kind: str) -> Any:
    nodes = _nodes(rng, doc, kind)
    a, b = rng.choice(nodes), rng.choice(nodes)
    keys = ["parentId", "parentNode"] if kind == "reactflow" else ["parent"]
    choice = rng.randrange(4)
    if choice == 0:
        a[rng.choice(keys)], b[rng.choice(keys)] = b.get("id"), a.get("id")
    elif choice == 1:
        a[rng.choice(keys)] = a.get("id")
    elif choice == 2:
        a[rng.choice(keys)] = _any(rng, REFERENCES)
    else:  # a chain of three, closed
        c = rng.choice(nodes)
        a[keys[0]], b[keys[0]], c[keys[-1]] = b.get("id"), c.get("id"), a.get("id")
    return doc


def duplicate_id(rng: random.Random, doc: Any, kind: str) -> Any:
    nodes = _nodes(rng, doc, kind)
    rng.choice(nodes)["id"] = rng.choice(nodes).get("id")
    return doc


def bad_id(rng: random.Random, doc: Any, kind: str) -> Any:
    if rng.random() < 0.2:
        _graph(rng, doc, kind)["id"] = _any(rng, BAD_IDS)
    else:
        rng.choice(_nodes(rng, doc, kind))["id"] = _any(rng, BAD_IDS)
    return doc


def broken_template(rng: random.Random, doc: Any, kind: str) -> Any:
    slots = [(c, k) for c, k in _walk(doc) if isinstance(c[k], str)]
    container, key = _pick(rng, slots)
    bad = rng.choice(BROKEN_TEMPLATES)
    container[key] = bad if rng.random() < 0.7 else container[key] + bad
    return doc


def deep_nesting(rng: random.Random, doc: Any, kind: str) -> Any:
    value: Any = rng.choice(["x", 1, None])
    for _ in range(rng.choice([20, 60, 98, 99, 100, 101, 130])):
        value = [value] if rng.random() < 0.5 else {"k": value}
    container, key = _pick(rng, _walk(doc))
    container[key] = value
    return doc


def bad_option(rng: random.Random, doc: Any, kind: str) -> Any:
    node = rng.choice(_nodes(rng, doc, kind))
    option = rng.choice(_OPTIONS)
    where = _params(node, kind) if kind == "reactflow" else node
    where[option] = _any(rng, OPTION_VALUES[option])
    return doc


def bad_params(rng: random.Random, doc: Any, kind: str) -> Any:
    params = _params(rng.choice(_nodes(rng, doc, kind)), kind)
    field = rng.choice(list(PARAM_VALUES))
    if field in params and rng.random() < 0.25:
        del params[field]
    else:
        params[field] = _any(rng, PARAM_VALUES[field])
    return doc


def _fixture(doc: Any, kind: str) -> dict[str, Any]:
    if kind != "fixture" or not isinstance(doc, dict):
        raise NotApplicable
    return doc


def fixture_case(rng: random.Random, doc: Any, kind: str) -> Any:
    fixture = _fixture(doc, kind)
    cases = fixture.get("cases")
    if not isinstance(cases, list) or not cases or rng.random() < 0.1:
        fixture["cases"] = rng.choice([[], None, {}, "x", [None], [[]]])
        return doc
    case = rng.choice(cases)
    if not isinstance(case, dict):
        raise NotApplicable
    if rng.random() < 0.1:
        cases.append(copy.deepcopy(case))  # the same name twice
    else:
        field = rng.choice(list(CASE_VALUES))
        case[field] = _any(rng, CASE_VALUES[field])
    return doc


def fixture_path(rng: random.Random, doc: Any, kind: str) -> Any:
    fixture = _fixture(doc, kind)
    path = rng.choice(WORKFLOW_PATHS)
    if rng.random() < 0.7:
        fixture["workflow"] = path
    else:
        others = fixture.get("workflows")
        fixture["workflows"] = [path, *(others if isinstance(others, list) else [])]
    return doc


def fixture_workflows(rng: random.Random, doc: Any, kind: str) -> Any:
    fixture = _fixture(doc, kind)
    value = _any(rng, WORKFLOWS_VALUES)
    if rng.random() < 0.2:  # the main workflow again: two workflows with one id
        value = [copy.deepcopy(fixture.get("workflow"))]
    if rng.random() < 0.1:  # a fixture as one of its workflows
        value = [{k: v for k, v in fixture.items() if k != "workflows"}]
    fixture["workflows"] = value
    return doc


def reactflow_shape(rng: random.Random, doc: Any, kind: str) -> Any:
    if kind != "reactflow" or not isinstance(doc, dict):
        raise NotApplicable
    choice = rng.randrange(8)
    if choice == 0:  # wrapped as another tool saves it
        wrapped: Any = doc
        for key in reversed(rng.choice(_WRAPPERS)):
            wrapped = {key: wrapped}
        return wrapped
    graph = _graph(rng, doc, kind)
    nodes = graph["nodes"]
    if choice == 1 and nodes:
        node = rng.choice(nodes)
        if isinstance(node, dict):
            node["data"] = rng.choice([None, "x", [], 3, {"label": []}, {"type": None}])
    elif choice == 2 and nodes:
        nodes[rng.randrange(len(nodes))] = rng.choice([None, "node", 3, [], {}])
    elif choice == 3:
        graph["edges"] = rng.choice([{}, "x", None, [None], [[]], 3])
    elif choice == 4:
        graph.pop("viewport", None)
        for node in nodes:
            if isinstance(node, dict):
                node.pop("position", None)
    elif choice == 5 and nodes:
        node = rng.choice(nodes)
        if isinstance(node, dict):
            node.pop("id", None) if rng.random() < 0.5 else node.update(type=None)
    elif choice == 6:
        graph["viewport"] = rng.choice([None, "x", {"zoom": _NAN}])
        graph["nodes"] = rng.choice([{}, "x", None, nodes + nodes])
    else:
        return {"nodes": copy.deepcopy(nodes), "data": doc, "flow": {"nodes": "x"}}
    return doc


DATA_MUTATIONS: dict[str, Mutation] = {
    f.__name__: f
    for f in (
        drop_field, duplicate, rename_field, wrong_type, unknown_node_type, bad_handle,
        dangling_edge, cycle, parent_cycle, duplicate_id, bad_id, broken_template,
        deep_nesting, bad_option, bad_params, fixture_case, fixture_path, fixture_workflows,
        reactflow_shape,
    )
}  # fmt: skip


# --------------------------------------------------------------------------- inputs


#: libyaml's emitter when PyYAML has it (ten times faster), else the Python one.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(rng: random.Random, data: Any, as_json: bool) -> tuple[bytes, str]:
    if as_json:
        text = json.dumps(data, indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5)
        return text.encode(), rng.choices([".json", ".yaml", ".yml"], [8, 1, 1])[0]
    text = yaml.dump(
        data,
        Dumper=_DUMPER,
        sort_keys=False,
        default_flow_style=rng.choice([False, None, True]),
        allow_unicode=rng.random() < 0.5,
    )
    return text.encode(), rng.choices([".yaml", ".yml", ".json"], [6, 3, 1])[0]


def serialize(rng: random.Random, data: Any) -> tuple[bytes | None, str]:
    """The document as a JSON or YAML file's bytes and suffix (None: it cannot be written)."""
    as_json = rng.random() < 0.7  # JSON parses in C; YAML in Python, at ~100 KB/s
    for form in (as_json, not as_json):
        try:
            return _dump(rng, data, form)
        except (TypeError, ValueError, RecursionError, yaml.YAMLError):
            continue
    return None, ".json"


def make_input(seed: int, index: int) -> FuzzInput:
    """Input number `index` of the run with `seed`: the same on every call and machine."""
    rng = random.Random(f"compat-fuzz-invalid:{seed}:{index}")
    if rng.random() < 0.1:
        origin = rng.choice(RANDOM_ORIGINS)
        raw, suffix = (random_json if origin == "random_json" else random_yaml)(rng)
        return FuzzInput(index, origin, "random", (), False, None, raw, suffix)
    seed_doc = rng.choice(seed_documents(rng))
    doc, kind = copy.deepcopy(seed_doc.document), seed_doc.kind
    origin = f"{kind}:{seed_doc.name}"
    wanted = rng.choice([1, 1, 1, 2, 2, 3]) if rng.random() > 0.03 else 0
    applied: list[str] = []
    names = list(DATA_MUTATIONS)
    for _ in range(8 * wanted):
        if len(applied) == wanted:
            break
        name = rng.choice(names)
        try:
            doc = DATA_MUTATIONS[name](rng, doc, kind)
        except NotApplicable:
            continue
        applied.append(name)
    raw, suffix = serialize(rng, doc)
    if raw is None or rng.random() >= 0.35:
        return FuzzInput(index, origin, kind, tuple(applied), True, doc, raw, suffix)
    for _ in range(rng.choice([1, 1, 2])):
        name = rng.choice(list(TEXT_MUTATIONS))
        raw, suffix = TEXT_MUTATIONS[name](rng, raw, suffix)
        applied.append(name)
    return FuzzInput(index, origin, kind, tuple(applied), False, None, raw, suffix)
