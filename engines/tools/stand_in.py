"""`stand_in`: the deterministic tool that imported model and tool nodes call in tests.

A flow from Flowise or Langflow calls language models and third-party tools compat cannot
(and must not) reach. Its dialect maps each such node to a `tool` node calling the tool the
user binds by name; unbound, it calls `stand_in`, which echoes what the node rendered, so
both engines and every golden answer see exactly the prompt the flow built:

* `content`: the rendered `prompt` when it is non-empty text; else the last message's
  `content`; else the rendered `args` (a Flowise Tool node's arguments) as JSON text with
  sorted keys; else "".
* one entry per name in `fields` (an LLM's structured output keys): `"<field>: <content>"`.
* `echo`: every argument, unchanged.

It is a built-in tool (docs/semantics.md §6), so an imported flow validates and runs as is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engines.errors import ToolError
from engines.tools.registry import ToolContext

NAME = "stand_in"


def _content(args: Mapping[str, Any]) -> str:
    prompt = args.get("prompt")
    if isinstance(prompt, str) and prompt:
        return prompt
    messages = args.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return str(messages[-1].get("content", ""))
    if isinstance(args.get("args"), dict) and args["args"]:
        return json.dumps(args["args"], sort_keys=True, ensure_ascii=False)
    return ""


def stand_in(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Echo the rendered inputs as a model's answer: {content, <fields>..., echo}."""
    fields = args.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ToolError("BAD_ARGS", "argument 'fields' must be a list of names", recoverable=False)
    content = _content(args)
    result: dict[str, Any] = {"content": content}
    for name in fields:
        if name not in ("content", "echo"):
            result[name] = f"{name}: {content}"
    result["echo"] = dict(args)
    return result
