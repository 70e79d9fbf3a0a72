"""Flowise variables (`{{ question }}`, `{{ $form.x }}`, `{{ llmAgentflow_0 }}` …) as compat
expressions.

| Flowise | compat |
|---|---|
| `question` | `inputs.question` |
| `$form.<field>` | `inputs['<field>']` |
| `$iteration`, `$iteration.<path>` | `loop.item`, `loop.item['<path>']` (inside an Iteration) |
| `$flow.state.<key>` | `vars['<key>']` |
| `$vars.<name>` | `env['<name>']` |
| `<node id>` | `nodes['<id>'].output.content` (Iteration: `.results`; Human Input: the answer) |
| `<node id>.output.<path>` | `nodes['<id>'].output['<path>']` |

Anything else raises `Untranslatable` naming the variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engines.documents.dialects.base import node_ref, quote
from engines.documents.dialects.flowise_graph import HUMAN, ITERATION, FlowiseGraph, FNode
from engines.documents.dialects.text import Untranslatable

_STEP = re.compile(r"^(?:[A-Za-z_$][\w$-]*|\d+)$")


def _path(steps: list[str], whole: str) -> str:
    out = ""
    for step in steps:
        if not _STEP.match(step):
            raise Untranslatable(f"variable {{{{ {whole} }}}}: cannot read the path step {step!r}")
        out += f"[{step}]" if step.isdigit() else f"[{quote(step)}]"
    return out


def resolver(
    node: FNode, graph: FlowiseGraph, reachable: Callable[[str], str | None]
) -> Callable[[str], str]:
    """The translation of one node's variables. `reachable(ref)` says why `node` may not
    read node `ref` (None: it may)."""
    in_iteration = node.parent is not None and any(
        n.id == node.parent and n.name == ITERATION for n in graph.nodes
    )

    def resolve(name: str) -> str:
        steps = name.split(".")
        head, rest = steps[0], steps[1:]
        if name == "question":
            return "inputs.question"
        if head == "$form" and rest:
            return "inputs" + _path(rest, name)
        if head == "$iteration":
            if not in_iteration:
                raise Untranslatable(f"{{{{ {name} }}}} is used outside an Iteration")
            return "loop.item" + _path(rest, name)
        if head == "$flow" and len(rest) >= 2 and rest[0] == "state":
            return "vars" + _path(rest[1:], name)
        if head == "$vars" and len(rest) == 1:
            return "env" + _path(rest, name)
        target = graph.node(head)
        if target is None:
            raise Untranslatable(f"unknown variable {{{{ {name} }}}}")
        why = reachable(head)
        if why is not None:
            raise Untranslatable(f"{{{{ {name} }}}}: {why}")
        if rest and rest[0] == "output":
            return node_ref(head) + _path(rest[1:], name)
        if rest:
            raise Untranslatable(f"variable {{{{ {name} }}}}: write {head}.output.<field>")
        if target.name == ITERATION:
            return node_ref(head) + "['results']"
        if target.name == HUMAN:
            return node_ref(head)
        return node_ref(head) + "['content']"

    return resolve
