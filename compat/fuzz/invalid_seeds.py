"""Valid documents for `compat fuzz --invalid` to break, and the files its fixtures may name.

`seed_documents(rng)` is the one source of seeds: a handful of valid native workflows that
between them use every node type and option, fixtures around them (inline, by path, with
sub-workflows), and the same workflows as ReactFlow flows. `support_files` lays out the
folder a fuzzed fixture is read from: valid workflow files it may name, and files and
paths that must be refused (not a workflow, empty, a FIFO, a folder, a link out of it).
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

#: Every node type, option and mode between them; each is valid on its own.
_WORKFLOWS = """
- id: sequence
  name: A sequence
  description: plain nodes and every option
  version: 2
  variables: {greeting: Hello, count: 0}
  outputs: {message: "{{ nodes.shout.output }}"}
  nodes:
    - {id: start, type: start}
    - {id: remember, type: set, params: {values: {count: "{{ vars.count + 1 }}"}}}
    - id: shape
      type: transform
      params: {value: {text: "{{ vars.greeting }}", n: "{{ inputs.n }}", list: [1, "x"]}}
    - id: shout
      type: tool
      name: Shout it
      params: {tool: upper, args: {text: "{{ nodes.shape.output.text }}"}}
      retry:
        max_attempts: 3
        initial_interval: 0.5
        backoff_coefficient: 2
        max_interval: 4
        non_retryable_codes: [BAD_ARGS]
      timeout: 5
      compensate: {tool: echo, args: {value: "undo {{ nodes.shout.output }}"}}
      idempotency_key: "shout-{{ inputs.n }}"
    - {id: pause, type: wait, params: {seconds: 1.5}, retry: {max_attempts: 2}, timeout: 3}
    - {id: done, type: end, params: {outputs: {message: "{{ nodes.shout.output }}"}}}
  edges:
    - {source: start, target: remember}
    - {source: remember, target: shape}
    - {id: e3, source: shape, target: shout}
    - {source: shout, target: pause}
    - {source: pause, target: done, handle: out}
- id: branches
  nodes:
    - {id: start, type: start}
    - {id: check, type: condition, params: {expression: "inputs.n > 2"}}
    - id: pick
      type: router
      params:
        all_matching: false
        routes: [{name: small, when: "inputs.n < 5"}, {name: big, when: "inputs.n >= 5"}]
    - {id: small_end, type: end, params: {outputs: {size: small}}}
    - {id: big_end, type: end, params: {outputs: {size: big}}}
    - {id: other_end, type: end, params: {outputs: {size: "{{ nodes.pick.output.matched }}"}}}
    - id: stop
      type: fail
      params: {code: TOO_SMALL, message: "n is {{ inputs.n }}", recoverable: true}
      retry: {max_attempts: 2}
    - {id: handled, type: transform, params: {value: "{{ nodes.stop.error.code }}"}}
    - {id: handled_end, type: end}
  edges:
    - {source: start, target: check}
    - {source: check, target: pick, handle: "true"}
    - {source: check, target: stop, handle: "false"}
    - {source: pick, target: small_end, handle: small}
    - {source: pick, target: big_end, handle: big}
    - {source: pick, target: other_end, handle: default}
    - {source: stop, target: handled, handle: error}
    - {source: handled, target: handled_end}
- id: conversation
  nodes:
    - {id: start, type: start}
    - id: ask
      type: input
      params:
        prompt: "Your name, {{ inputs.title }}?"
        schema:
          type: object
          description: who is asking
          properties:
            name: {type: string}
            age: {type: [integer, "null"]}
            tier: {enum: [a, b]}
            tags: {type: array, items: {type: string}}
          required: [name]
    - {id: later, type: wait, params: {seconds: "{{ inputs.delay }}"}}
    - id: greet
      type: tool
      params: {tool: concat, args: {values: [hi, "{{ nodes.ask.output.name }}"], separator: " "}}
    - {id: done, type: end, params: {outputs: {greeting: "{{ nodes.greet.output }}"}}}
  edges:
    - {source: start, target: ask}
    - {source: ask, target: later}
    - {source: later, target: greet}
    - {source: greet, target: done}
- id: loops
  variables: {total: 0}
  nodes:
    - {id: start, type: start}
    - {id: repeat, type: loop, params: {mode: for, count: "{{ inputs.times }}", max_iterations: 50}}
    - {id: r_start, type: start, parent: repeat}
    - id: r_add
      type: set
      parent: repeat
      params: {values: {total: "{{ vars.total + loop.index }}"}}
    - {id: each, type: loop, params: {mode: forEach, items: "{{ inputs.words }}"}}
    - {id: e_start, type: start, parent: each}
    - id: e_up
      type: tool
      parent: each
      params: {tool: upper, args: {text: "{{ loop.item }}"}}
    - {id: until, type: loop, params: {mode: while, condition: "loop.index < 3"}}
    - {id: u_start, type: start, parent: until}
    - {id: u_val, type: transform, parent: until, params: {value: "{{ loop.index }}"}}
    - {id: once, type: loop, params: {mode: doWhile, condition: "false"}}
    - {id: o_start, type: start, parent: once}
    - {id: o_val, type: transform, parent: once, params: {value: 1}}
    - id: done
      type: end
      params: {outputs: {total: "{{ vars.total }}", words: "{{ nodes.each.output.results }}"}}
  edges:
    - {source: start, target: repeat}
    - {source: repeat, target: each}
    - {source: each, target: until}
    - {source: until, target: once}
    - {source: once, target: done}
    - {source: r_start, target: r_add}
    - {source: e_start, target: e_up}
    - {source: u_start, target: u_val}
    - {source: o_start, target: o_val}
- id: fanout
  nodes:
    - {id: start, type: start}
    - {id: fan, type: parallel, params: {mode: count, count: 3, max_concurrency: 2}}
    - {id: f_start, type: start, parent: fan}
    - id: f_double
      type: tool
      parent: fan
      params: {tool: multiply, args: {a: "{{ parallel.index }}", b: 2}}
    - {id: many, type: parallel, params: {mode: collection, items: [1, 2]}}
    - {id: m_start, type: start, parent: many}
    - {id: m_inner, type: loop, parent: many, params: {mode: for, count: 2}}
    - {id: mi_start, type: start, parent: m_inner}
    - id: mi_val
      type: transform
      parent: m_inner
      params: {value: "{{ parallel.item }}-{{ loop.index }}"}
    - id: call
      type: subworkflow
      params: {workflow: child, inputs: {x: "{{ inputs.n }}"}}
      compensate: {tool: echo, args: {value: undo}}
    - id: done
      type: end
      params: {outputs: {fan: "{{ nodes.fan.output }}", child: "{{ nodes.call.output }}"}}
  edges:
    - {source: start, target: fan}
    - {source: fan, target: many}
    - {source: many, target: call}
    - {source: call, target: done}
    - {source: f_start, target: f_double}
    - {source: m_start, target: m_inner}
    - {source: mi_start, target: mi_val}
- id: child
  outputs: {y: "{{ nodes.twice.output }}"}
  nodes:
    - {id: start, type: start}
    - {id: twice, type: tool, params: {tool: add, args: {a: "{{ inputs.x }}", b: 1}}}
  edges:
    - {source: start, target: twice}
"""

#: Cases for each workflow's fixture (the `cancel` ones are valid for that workflow).
_CASES: dict[str, list[dict[str, Any]]] = {
    "sequence": [
        {"name": "one", "inputs": {"n": 1}, "covers": ["7.7", "7.8", "7.9"]},
        {"name": "cancel", "inputs": {"n": 2}, "cancel": {"at": 0.5}},
    ],
    "branches": [
        {
            "name": "small",
            "inputs": {"n": 1},
            "expect": {"status": "completed", "errors": [{"node": "stop", "code": "TOO_SMALL"}]},
        },
        {"name": "big", "inputs": {"n": 9}, "expect": {"outputs": {"size": "big"}, "vars": {}}},
    ],
    "conversation": [
        {
            "name": "ada",
            "description": "answers once",
            "inputs": {"title": "Dr", "delay": 2},
            "conversation": [{"name": "ada"}],
            "expect": {"status": "completed", "outputs": {"greeting": "hi ada"}},
        },
        {"name": "silent", "inputs": {"title": "Ms", "delay": 0}, "cancel": {"when": "paused"}},
    ],
    "loops": [{"name": "words", "inputs": {"times": 3, "words": ["a", "b"]}, "covers": ["7.4"]}],
    "fanout": [{"name": "fan", "inputs": {"n": 2}, "covers": ["7.5", "7.6"]}],
}

#: Files `support_files` writes: names a fuzzed fixture's `workflow:` may give.
FLOW_FILE, REACTFLOW_FILE, CHILD_FILE = "flow.yaml", "flow_rf.json", "child.yaml"
#: Paths a fixture may name, valid or not (`support_files` makes the local ones exist).
WORKFLOW_PATHS = (
    FLOW_FILE,
    REACTFLOW_FILE,
    CHILD_FILE,
    "./flow.yaml",
    "sub/flow.yaml",
    "sub/../flow.yaml",
    "../outside/secret.yaml",
    "outside.yaml",
    "/etc/hostname",
    "/dev/zero",
    "/dev/stdin",
    "/proc/self/environ",
    "pipe.yaml",
    "folder.yaml",
    "missing.yaml",
    "not_a_workflow.yaml",
    "secret.yaml",
    "bad.json",
    "empty.yaml",
    "input.yaml",
    "input.json",
    "",
    " ",
    ".",
    "..",
    "~/flow.yaml",
    "flow.yaml\x00",
    "flow.yaml\n",
    "a" * 300 + ".yaml",
    "x/" * 2100 + "flow.yaml",
    "C:\\flow.yaml",
    "file:///etc/passwd",
    "%2e%2e/flow.yaml",
    "flow.yaml/",
    "sub",
)


@dataclass(frozen=True)
class Seed:
    """A valid document to mutate: `kind` is workflow, fixture or reactflow."""

    name: str
    kind: str
    document: Any


@cache
def _workflows() -> dict[str, dict[str, Any]]:
    return {doc["id"]: doc for doc in yaml.safe_load(_WORKFLOWS)}


def to_reactflow(workflow: dict[str, Any], *, canvas: bool = True) -> dict[str, Any]:
    """A native workflow as a ReactFlow `toObject()` flow (canvas types in `data.type`)."""
    nodes = []
    for index, node in enumerate(workflow["nodes"]):
        data: dict[str, Any] = {"type": node["type"]} if canvas else {}
        if "name" in node:
            data["label"] = node["name"]
        data.update(node.get("params", {}))
        for option in ("retry", "timeout", "compensate", "idempotency_key"):
            if option in node:
                data[option] = node[option]
        rf: dict[str, Any] = {
            "id": node["id"],
            "type": "custom" if canvas else node["type"],
            "position": {"x": 120 * index, "y": 40 * (index % 3)},
            "data": data,
        }
        if "parent" in node:
            rf["parentId" if index % 2 else "parentNode"] = node["parent"]
            rf["extent"] = "parent"
        nodes.append(rf)
    edges = [
        {
            "id": f"e{index}",
            "source": edge["source"],
            "target": edge["target"],
            "sourceHandle": edge.get("handle"),
            "targetHandle": None,
            "type": "smoothstep",
        }
        for index, edge in enumerate(workflow["edges"])
    ]
    flow: dict[str, Any] = {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}}
    for key in ("variables", "outputs"):
        if key in workflow:
            flow[key] = workflow[key]
    return flow


@cache
def _seeds() -> tuple[Seed, ...]:
    flows = _workflows()
    seeds = [Seed(name, "workflow", doc) for name, doc in flows.items()]
    seeds += [
        Seed(name, "reactflow", to_reactflow(doc, canvas=index % 2 == 0))
        for index, (name, doc) in enumerate(flows.items())
    ]
    for name, cases in _CASES.items():
        fixture: dict[str, Any] = {"description": f"the {name} seed", "workflow": flows[name]}
        if name == "fanout":
            fixture["workflows"] = [flows["child"]]
        fixture["tolerances"] = {"ignore_paths": []}
        fixture["cases"] = cases
        seeds.append(Seed(name, "fixture", fixture))
    seeds.append(
        Seed(
            "by-path",
            "fixture",
            {"workflow": FLOW_FILE, "cases": _CASES["conversation"]},
        )
    )
    seeds.append(
        Seed(
            "reactflow-path",
            "fixture",
            {"workflow": REACTFLOW_FILE, "workflows": [CHILD_FILE], "cases": _CASES["fanout"]},
        )
    )
    return tuple(seeds)


def seed_documents(rng: random.Random) -> list[Seed]:
    """The valid documents one input may start from (shared: copy one before changing it).

    The single source of seeds: point it at `compat.fuzz.strategies` (workflows drawn with
    `rng`) to mutate generated documents instead of these built-in ones."""
    del rng  # the built-in pool does not depend on it
    return list(_seeds())


def support_files(folder: Path) -> None:
    """Lay out `folder` (created) as the place fuzzed fixtures are read from, with an
    `outside` folder beside it holding what they must not reach."""
    folder.mkdir(parents=True, exist_ok=True)
    outside = folder.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.yaml").write_text("password: hunter2\n")
    flows = _workflows()
    (folder / FLOW_FILE).write_text(yaml.safe_dump(flows["conversation"], sort_keys=False))
    (folder / REACTFLOW_FILE).write_text(json.dumps(to_reactflow(flows["fanout"]), indent=1))
    (folder / CHILD_FILE).write_text(yaml.safe_dump(flows["child"]))
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / FLOW_FILE).write_text(json.dumps(flows["sequence"]))
    (folder / "not_a_workflow.yaml").write_text("- just\n- a list\n")
    (folder / "secret.yaml").write_text("password: hunter2\nuser: root\n")
    (folder / "bad.json").write_text('{"nodes": [')
    (folder / "empty.yaml").write_text("")
    (folder / "folder.yaml").mkdir(exist_ok=True)
    if not (folder / "pipe.yaml").exists():
        os.mkfifo(folder / "pipe.yaml")
    link = folder / "outside.yaml"
    if not link.is_symlink():
        link.symlink_to(outside / "secret.yaml")
