"""The generic dialect: a mapping file (mapping_file.py) applied to any ReactFlow-shaped
flow. Data, not code: every foreign kind must have a rule (or be listed as ignored), every
value a rule reads must exist, and each placeholder must be wired, or the node is refused.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from engines.documents.dialects.base import (
    STAND_IN_TOOL,
    DialectImport,
    DialectOptions,
    Mapped,
    Refusal,
    dotted,
    literal,
    node_ref,
    refuse_all,
    unique_id,
)
from engines.documents.dialects.mapping_file import MappingFile, NodeRule
from engines.documents.dialects.text import (
    DOUBLE_BRACE,
    SINGLE_BRACE,
    Untranslatable,
    to_template,
)
from engines.documents.reactflow import locate_graph
from engines.errors import Problem, WorkflowInvalid

_PATTERNS = {"single-brace": SINGLE_BRACE, "double-brace": DOUBLE_BRACE}


class GenericDialect:
    """A dialect defined by a mapping file."""

    def __init__(self, mapping: MappingFile, source: str) -> None:
        self.mapping = mapping
        self.source = source
        self.name = mapping.dialect
        self.description = mapping.description or f"mapping file {source}"

    def detect(self, doc: Any) -> bool:
        return False  # a mapping file is named explicitly (--dialect FILE, fixture mapping:)

    def _graph(self, doc: Any) -> tuple[dict[str, Any], str]:
        if self.mapping.graph is not None:
            graph = dotted(doc, self.mapping.graph, None)
            if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
                return graph, self.mapping.graph
            problem = f"no graph (nodes and edges) at {self.mapping.graph!r} ({self.source})"
            raise WorkflowInvalid([Problem("", problem)])
        found = locate_graph(doc)
        if found is None:
            raise WorkflowInvalid([Problem("", "no ReactFlow graph found")])
        return found

    def convert(self, doc: Any, *, default_id: str, options: DialectOptions) -> DialectImport:
        graph, found_at = self._graph(doc)
        where = f"{found_at}." if found_at else ""
        return _Conversion(self, graph, where, options).run(doc, default_id, found_at)


class _Conversion:
    def __init__(
        self, dialect: GenericDialect, graph: dict[str, Any], where: str, options: DialectOptions
    ) -> None:
        self.dialect = dialect
        self.mapping = dialect.mapping
        self.graph = graph
        self.where = where
        self.options = options
        self.refusals: list[Refusal] = []
        self.mapped: list[Mapped] = []
        self.ignored: list[Mapped] = []
        self.kinds: dict[str, str] = {}
        #: target id → input name → source ids, in edge order.
        self.wired: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def _kind(self, node: dict[str, Any]) -> str | None:
        for path in self.mapping.kind:
            value = dotted(node, path, None)
            if isinstance(value, str) and value:
                return value
        return None

    def run(self, doc: Any, default_id: str, found_at: str) -> DialectImport:
        raw_nodes = [n for n in self.graph["nodes"] if isinstance(n, dict)]
        raw_edges = self.graph.get("edges") if isinstance(self.graph.get("edges"), list) else []
        edges = [e for e in raw_edges if isinstance(e, dict)]
        for node in raw_nodes:
            self.kinds[str(node.get("id"))] = self._kind(node) or "(no kind)"
        for edge in edges:
            if self.mapping.edges.target_input is not None:
                name = dotted(edge, self.mapping.edges.target_input, None)
                if isinstance(name, str):
                    self.wired[str(edge.get("target"))][name].append(str(edge.get("source")))
        nodes: list[dict[str, Any]] = []
        ignored_ids: set[str] = set()
        for index, node in enumerate(self.graph["nodes"]):
            native = self._node(index, node, ignored_ids)
            if native is not None:
                nodes.append(native)
        native_edges = self._edges(edges, ignored_ids, {n["id"] for n in nodes})
        refuse_all(self.refusals, self.dialect.name)
        if self.mapping.start:
            self._add_starts(nodes, native_edges)
        document: dict[str, Any] = {"id": default_id}
        if isinstance(doc, dict) and isinstance(doc.get("description"), str):
            document["description"] = doc["description"]
        document["nodes"] = nodes
        document["edges"] = native_edges
        return DialectImport(
            self.dialect.name, document, tuple(self.mapped), tuple(self.ignored), found_at
        )

    def _refuse(self, index: int, node_id: str, kind: str, reason: str) -> None:
        location = f"{self.where}nodes[{index}] (id {node_id!r})"
        self.refusals.append(Refusal(location, node_id, kind, reason))

    def _node(self, index: int, node: Any, ignored: set[str]) -> dict[str, Any] | None:
        if not isinstance(node, dict):
            self._refuse(index, f"#{index}", "?", f"a node is a mapping, not {type(node).__name__}")
            return None
        node_id = str(node.get("id", f"#{index}"))
        kind = self.kinds[node_id]
        if kind in self.mapping.ignore:
            ignored.add(node_id)
            self.ignored.append(Mapped(node_id, kind, f"listed in ignore ({self.dialect.source})"))
            return None
        rule = self.mapping.nodes.get(kind)
        if rule is None:
            self._refuse(index, node_id, kind, f"no rule for this kind in {self.dialect.source}")
            return None
        try:
            params = self._value(rule.params, node_id, node)
        except Untranslatable as exc:
            self._refuse(index, node_id, kind, str(exc))
            return None
        native: dict[str, Any] = {"id": node_id, "type": rule.type}
        if rule.name is not None and isinstance(dotted(node, rule.name, None), str):
            native["name"] = dotted(node, rule.name)
        if params:
            native["params"] = params
        parent = node.get("parentId", node.get("parentNode"))
        if parent is not None:
            native["parent"] = str(parent)
        became = rule.type
        if rule.type == "tool" and isinstance(params.get("tool"), str):
            became = f"tool {params['tool']!r}"
        self.mapped.append(Mapped(node_id, kind, became))
        return native

    def _value(self, value: Any, node_id: str, node: dict[str, Any]) -> Any:
        if isinstance(value, list):
            return [self._value(item, node_id, node) for item in value]
        if not isinstance(value, dict):
            return value
        if "$field" in value:
            found = dotted(node, value["$field"], value.get("default", KeyError))
            if found is KeyError:
                raise Untranslatable(f"has no {value['$field']} (read by $field)")
            return literal(found)
        if "$text" in value:
            return self._text(value, node_id, node)
        if "$wired" in value:
            return self._wired(value, node_id)
        if "$bind" in value:
            name = value["$bind"]
            return self.options.bindings.get(name, self.mapping.bindings.get(name, STAND_IN_TOOL))
        return {key: self._value(item, node_id, node) for key, item in value.items()}

    def _text(self, value: dict[str, Any], node_id: str, node: dict[str, Any]) -> Any:
        text = dotted(node, value["$text"], None)
        if not isinstance(text, str):
            raise Untranslatable(f"{value['$text']} is not text (read by $text)")
        pattern = _PATTERNS.get(value.get("placeholders", "single-brace"))
        if pattern is None:
            return literal(text)

        def resolve(name: str) -> str:
            sources = self.wired[node_id].get(name, [])
            if len(sources) == 1:
                return node_ref(sources[0])
            if len(sources) > 1:
                raise Untranslatable(f"placeholder {{{name}}} is wired from {sources}")
            if value.get("unwired", "refuse") == "inputs":
                return f"inputs['{name}']"
            raise Untranslatable(f"placeholder {{{name}}} in {value['$text']} is not wired")

        return to_template(text, pattern, resolve)

    def _wired(self, value: dict[str, Any], node_id: str) -> Any:
        name = value["$wired"]
        sources = self.wired[node_id].get(name, [])
        if not sources:
            if "default" in value:
                return value["default"]
            raise Untranslatable(f"nothing is wired to its input {name!r}")
        if len(sources) > 1:
            raise Untranslatable(f"input {name!r} is wired from several nodes: {sources}")
        path = "".join(f"[{_key(step)}]" for step in (value.get("path") or "").split(".") if step)
        return "{{ " + node_ref(sources[0]) + path + " }}"

    def _edges(
        self, edges: list[dict[str, Any]], ignored: set[str], mapped: set[str]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for edge in edges:
            source, target = str(edge.get("source")), str(edge.get("target"))
            if source in ignored or target in ignored:
                node = source if source in ignored else target
                index = self._index(node)
                self._refuse(index, node, self.kinds.get(node, "?"), "an ignored node is wired")
                continue
            if source not in mapped or target not in mapped:
                continue  # refused already
            handle = self._handle(edge, source)
            if handle is None:
                continue
            native: dict[str, Any] = {"source": source, "target": target}
            if handle != "out":
                native["handle"] = handle
            out.append(native)
        return out

    def _handle(self, edge: dict[str, Any], source: str) -> str | None:
        rule: NodeRule = self.mapping.nodes[self.kinds[source]]
        if rule.handles is None:
            return "out"
        foreign = dotted(edge, self.mapping.edges.source_handle, None)
        if isinstance(foreign, str) and foreign in rule.handles:
            return rule.handles[foreign]
        self._refuse(
            self._index(source),
            source,
            self.kinds[source],
            f"its output {foreign!r} (edge to {edge.get('target')!r}) is not in the rule's "
            f"handles ({', '.join(rule.handles)})",
        )
        return None

    def _index(self, node_id: str) -> int:
        for index, node in enumerate(self.graph["nodes"]):
            if isinstance(node, dict) and str(node.get("id")) == node_id:
                return index
        return -1

    def _add_starts(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        """A start node on every level that has none, leading to the nodes nothing leads to."""
        taken = {n["id"] for n in nodes}
        levels: dict[str | None, list[str]] = defaultdict(list)
        for node in nodes:
            levels[node.get("parent")].append(node["id"])
        targets = {e["target"] for e in edges}
        for parent, members in levels.items():
            if any(n["type"] == "start" and n.get("parent") == parent for n in nodes):
                continue
            start_id = unique_id(f"{parent}.start" if parent else "start", taken)
            start: dict[str, Any] = {"id": start_id, "type": "start"}
            if parent is not None:
                start["parent"] = parent
            nodes.insert(0, start)
            for member in members:
                if member not in targets:
                    edges.append({"source": start_id, "target": member})


def _key(step: str) -> str:
    return step if step.isdigit() else "'" + step.replace("\\", "\\\\").replace("'", "\\'") + "'"
