"""Each AgentFlow v2 node kind as compat nodes (the mapping table of docs/dialects.md).

A mapper returns an `Emitted`: the native nodes (the first receives the node's incoming
edges), the edges between them, and for each Flowise output handle the native node and
handle it leaves from. A mapper raises `Untranslatable` with the reason it cannot map.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engines.documents.dialects.base import DialectOptions, literal, node_ref, quote
from engines.documents.dialects.flowise_graph import (
    AGENT,
    CONDITION,
    HUMAN,
    ITERATION,
    LLM,
    START,
    TOOL,
    FNode,
    conditions_of,
)
from engines.documents.dialects.text import (
    DOUBLE_BRACE,
    Untranslatable,
    html_to_text,
    to_expression,
    to_template,
)

Resolve = Callable[[str], str]

#: The answer a Human Input waits for (Flowise's `humanInput`: `{type, feedback}`).
HUMAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["proceed", "reject"]},
        "feedback": {"type": "string"},
    },
    "required": ["type"],
}


@dataclass
class Emitted:
    nodes: list[dict[str, Any]]
    became: str
    edges: list[dict[str, Any]] = field(default_factory=list)
    #: Flowise handle → (native source id, native handle).
    exits: dict[str, tuple[str, str]] = field(default_factory=dict)


def _base(node: FNode, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node.id, "type": kind}
    if node.label:
        out["name"] = node.label
    return out


def text_template(value: Any, resolve: Resolve) -> Any:
    """A Flowise text field (editor HTML with `{{ }}` variables) as a compat template."""
    if not isinstance(value, str):
        return literal(value)
    return to_template(html_to_text(value), DOUBLE_BRACE, resolve)


def _no_state_update(node: FNode, key: str) -> None:
    if node.inputs.get(key):
        raise Untranslatable(
            f"updating the flow state ({key}) is not mapped; remove it or write a mapping file"
        )


def map_start(node: FNode, resolve: Resolve) -> tuple[Emitted, dict[str, Any]]:
    """Start → `start`; its `startState` entries become the workflow's `variables`."""
    variables: dict[str, Any] = {}
    state = node.inputs.get("startState")
    for entry in state if isinstance(state, list) else []:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not key.isidentifier():
            raise Untranslatable(f"startState key {key!r} is not an identifier")
        variables[key] = text_template(entry.get("value", ""), resolve)
    emitted = Emitted([_base(node, "start")], "start", exits={"out": (node.id, "out")})
    return emitted, variables


_STRING_OPS: dict[str, str] = {
    "equal": "{a} == {b}",
    "notEqual": "{a} != {b}",
    "contains": "{b} in {a}",
    "notContains": "{b} not in {a}",
    "startsWith": "({a}).startswith({b})",
    "endsWith": "({a}).endswith({b})",
    "isEmpty": "not {a}",
    "notEmpty": "not not {a}",
}
_NUMBER_OPS: dict[str, str] = {
    "equal": "{a} == {b}",
    "notEqual": "{a} != {b}",
    "smaller": "{a} < {b}",
    "smallerEqual": "{a} <= {b}",
    "larger": "{a} > {b}",
    "largerEqual": "{a} >= {b}",
    "isEmpty": "{a} in (none, '')",
    "notEmpty": "{a} not in (none, '')",
}


def _condition(index: int, condition: Any, resolve: Resolve) -> str:
    if not isinstance(condition, dict):
        raise Untranslatable(f"conditions[{index}] is not a mapping")
    kind, operation = condition.get("type", "string"), condition.get("operation")

    def side(key: str) -> str:
        value = condition.get(key, "")
        if not isinstance(value, str):
            return json.dumps(value)
        return to_expression(html_to_text(value), DOUBLE_BRACE, resolve)

    if kind == "number":
        template = _NUMBER_OPS.get(str(operation))
        a, b = f"({side('value1')} | float)", f"({side('value2')} | float)"
        if operation in ("isEmpty", "notEmpty"):
            a = side("value1")
    elif kind == "boolean":
        template = {"equal": "{a} == {b}", "notEqual": "{a} != {b}"}.get(str(operation))
        a = f"(({side('value1')}) | string | lower == 'true')"
        b = f"(({side('value2')}) | string | lower == 'true')"
    elif kind == "string":
        template = _STRING_OPS.get(str(operation))
        a, b = f"(({side('value1')}) | string)", f"(({side('value2')}) | string)"
    else:
        raise Untranslatable(f"conditions[{index}] has type {kind!r} (string, number, boolean)")
    if template is None:
        raise Untranslatable(
            f"conditions[{index}]: the {kind} operation {operation!r} has no compat equivalent"
        )
    return template.format(a=a, b=b)


def map_condition(node: FNode, resolve: Resolve) -> Emitted:
    """Condition → `router`: route `condition_<i>` per condition in order, else → `default`."""
    conditions = conditions_of(node)
    if not conditions:
        raise Untranslatable("a Condition without conditions")
    routes = [
        {"name": f"condition_{i}", "when": _condition(i, c, resolve)}
        for i, c in enumerate(conditions)
    ]
    native = _base(node, "router") | {"params": {"routes": routes}}
    exits = {r["name"]: (node.id, r["name"]) for r in routes} | {"default": (node.id, "default")}
    return Emitted([native], f"router ({len(routes)} routes + default)", exits=exits)


def map_iteration(node: FNode, resolve: Resolve) -> Emitted:
    """Iteration → `loop` forEach over `iterationInput` (a JSON list, or one variable)."""
    raw = node.inputs.get("iterationInput")
    if isinstance(raw, list):
        items: Any = literal(raw)
    elif isinstance(raw, str):
        text = html_to_text(raw).strip()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            items = literal(parsed)
        elif DOUBLE_BRACE.fullmatch(text):
            items = to_template(text, DOUBLE_BRACE, resolve)
        else:
            raise Untranslatable("iterationInput is neither a JSON list nor one {{ variable }}")
    else:
        raise Untranslatable("iterationInput is missing")
    native = _base(node, "loop") | {"params": {"mode": "forEach", "items": items}}
    return Emitted([native], "loop (forEach)", exits={"out": (node.id, "out")})


def map_human(node: FNode, resolve: Resolve) -> Emitted:
    """Human Input → `input` (answer `{type: proceed|reject, feedback?}`) followed by a
    `router` on the answer, whose `proceed`/`reject` routes are Flowise's two outputs."""
    description = node.inputs.get("humanInputDescription")
    if node.inputs.get("humanInputDescriptionType") == "dynamic" or not description:
        prompt: Any = f"{node.label or node.id}: proceed or reject?"
    else:
        prompt = text_template(description, resolve)
    asked = _base(node, "input") | {"params": {"prompt": prompt, "schema": HUMAN_SCHEMA}}
    router_id = f"{node.id}.route"
    answer = node_ref(node.id) + "['type']"
    routes = [
        {"name": "proceed", "when": f"{answer} == 'proceed'"},
        {"name": "reject", "when": f"{answer} == 'reject'"},
    ]
    router = {"id": router_id, "type": "router", "params": {"routes": routes}}
    return Emitted(
        [asked, router],
        f"input + router {router_id!r} (proceed, reject)",
        edges=[{"source": node.id, "target": router_id}],
        exits={"proceed": (router_id, "proceed"), "reject": (router_id, "reject")},
    )


def _messages(value: Any, resolve: Resolve) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in value if isinstance(value, list) else []:
        if isinstance(message, dict):
            out.append(
                {
                    "role": literal(message.get("role", "user")),
                    "content": text_template(message.get("content", ""), resolve),
                }
            )
    return out


def default_prompt(start: FNode | None) -> str | None:
    """What Flowise sends a model whose user message is empty: the chat question, or the
    form's fields (`label: value` lines) for a form Start."""
    if start is None:
        return None
    if start.inputs.get("startInputType") == "formInput":
        fields = start.inputs.get("formInputTypes")
        lines = [
            f"{f.get('label') or f['name']}: {{{{ inputs[{quote(f['name'])}] }}}}"
            for f in (fields if isinstance(fields, list) else [])
            if isinstance(f, dict) and isinstance(f.get("name"), str)
        ]
        return "\n".join(lines) or None
    return "{{ inputs.question }}"


def map_model(
    node: FNode, resolve: Resolve, options: DialectOptions, fallback: str | None = None
) -> Emitted:
    """LLM and Agent → `tool` calling the tool bound to `LLM`/`Agent` (default: the
    stand-in) with the model, messages, prompt (the user message, else what Flowise sends
    instead: `fallback`), structured-output fields and agent tools."""
    prefix = "llm" if node.name == LLM else "agent"
    kind = "LLM" if node.name == LLM else "Agent"
    _no_state_update(node, f"{prefix}UpdateState")
    args: dict[str, Any] = {
        "kind": kind,
        "model": literal(node.inputs.get(f"{prefix}Model", "")),
        "messages": _messages(node.inputs.get(f"{prefix}Messages"), resolve),
    }
    prompt = node.inputs.get(f"{prefix}UserMessage")
    if prompt:
        args["prompt"] = text_template(prompt, resolve)
    elif fallback is not None:
        args["prompt"] = fallback
    structured = node.inputs.get("llmStructuredOutput")
    if node.name == LLM and isinstance(structured, list) and structured:
        args["fields"] = [literal(f.get("key")) for f in structured if isinstance(f, dict)]
    tools = node.inputs.get("agentTools")
    if node.name == AGENT and isinstance(tools, list):
        args["tools"] = [literal(t.get("agentSelectedTool")) for t in tools if isinstance(t, dict)]
    tool = options.tool_for(kind)
    native = _base(node, "tool") | {"params": {"tool": tool, "args": args}}
    return Emitted([native], f"tool {tool!r}", exits={"out": (node.id, "out")})


def map_tool(node: FNode, resolve: Resolve, options: DialectOptions) -> Emitted:
    """Tool → `tool` calling the tool bound to `Tool:<selected>` or `Tool` (default: the
    stand-in) with the selected tool's name and its input arguments."""
    _no_state_update(node, "toolUpdateState")
    selected = node.inputs.get("toolAgentflowSelectedTool")
    arguments: dict[str, Any] = {}
    raw = node.inputs.get("toolInputArgs")
    for entry in raw if isinstance(raw, list) else []:
        name = entry.get("inputArgName") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise Untranslatable("toolInputArgs holds an argument without a name")
        arguments[name] = text_template(entry.get("inputArgValue", ""), resolve)
    tool = options.tool_for(f"Tool:{selected}", "Tool")
    args = {"kind": "Tool", "tool": literal(selected), "args": arguments}
    native = _base(node, "tool") | {"params": {"tool": tool, "args": args}}
    return Emitted([native], f"tool {tool!r}", exits={"out": (node.id, "out")})


def map_node(
    node: FNode, resolve: Resolve, options: DialectOptions, start: FNode | None = None
) -> tuple[Emitted, dict[str, Any]]:
    """The compat form of one node (Loop nodes are planned apart: flowise_loop.py), and the
    workflow variables it declares."""
    if node.name == START:
        return map_start(node, resolve)
    if node.name == CONDITION:
        return map_condition(node, resolve), {}
    if node.name == ITERATION:
        return map_iteration(node, resolve), {}
    if node.name == HUMAN:
        return map_human(node, resolve), {}
    if node.name in (LLM, AGENT):
        return map_model(node, resolve, options, default_prompt(start)), {}
    if node.name == TOOL:
        return map_tool(node, resolve, options), {}
    raise Untranslatable(
        f"the AgentFlow v2 node {node.name or '(no data.name)'!r} has no compat equivalent in "
        "this dialect (mapped: Start, Condition, Iteration, Loop, Human Input, LLM, Agent, Tool)"
    )


def choice_expression(node: FNode) -> str:
    """What a choice node decided, as one value: a Human Input's answer type, or the first
    matched route of a Condition (`default` when none matched)."""
    if node.name == HUMAN:
        return node_ref(node.id) + "['type']"
    return f"({node_ref(node.id)}['matched'] + [{quote('default')}])[0]"
