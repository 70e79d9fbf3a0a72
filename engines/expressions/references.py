"""What a template reads, found statically from its syntax tree.

The validator needs this to enforce the determinism rules: a template may only name nodes
that are ancestors of its node, and two nodes that can run concurrently may not race on a
variable. Access that cannot be resolved statically (`nodes[name]`, `vars` as a whole) is
reported as such, so the validator can refuse or widen it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import nodes as jn

from engines.expressions.environment import SCOPE_NAMES


@dataclass(frozen=True, slots=True)
class References:
    """The scope a template touches."""

    roots: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()
    vars: frozenset[str] = frozenset()
    #: `vars` used other than as `vars.<name>` / `vars['name']`: reads every variable.
    all_vars: bool = False
    #: `nodes` used other than with a literal id: cannot be checked statically.
    dynamic_nodes: bool = False

    def __or__(self, other: References) -> References:
        if not other.roots:
            return self
        if not self.roots:
            return other
        return References(
            self.roots | other.roots,
            self.nodes | other.nodes,
            self.vars | other.vars,
            self.all_vars or other.all_vars,
            self.dynamic_nodes or other.dynamic_nodes,
        )


NO_REFERENCES = References()


@dataclass
class _Collector:
    roots: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    vars: set[str] = field(default_factory=set)
    all_vars: bool = False
    dynamic_nodes: bool = False

    def result(self) -> References:
        if not self.roots:
            return NO_REFERENCES
        return References(
            frozenset(self.roots),
            frozenset(self.nodes),
            frozenset(self.vars),
            self.all_vars,
            self.dynamic_nodes,
        )


def _literal_key(node: jn.Node) -> str | None:
    if isinstance(node, jn.Getattr):
        return node.attr
    if isinstance(node, jn.Getitem) and isinstance(node.arg, jn.Const):
        value = node.arg.value
        if isinstance(value, str):
            return value
    return None


def _bound(target: jn.Node) -> set[str]:
    """Names a `for`/`set` target binds (a single name or a tuple of names)."""
    if isinstance(target, jn.Name):
        return {target.name}
    return {n.name for n in target.find_all(jn.Name)}


def _visit(node: jn.Node, out: _Collector, local: frozenset[str], in_for: bool) -> None:
    if isinstance(node, (jn.Getattr, jn.Getitem)) and isinstance(node.node, jn.Name):
        name = node.node.name
        if name in SCOPE_NAMES and name not in local and not (name == "loop" and in_for):
            out.roots.add(name)
            key = _literal_key(node)
            if name == "nodes":
                if key is None:
                    out.dynamic_nodes = True
                else:
                    out.nodes.add(key)
            elif name == "vars":
                if key is None:
                    out.all_vars = True
                else:
                    out.vars.add(key)
            if isinstance(node, jn.Getitem):
                _visit(node.arg, out, local, in_for)
            return
    if isinstance(node, jn.Name):
        name = node.name
        if node.ctx == "load" and name in SCOPE_NAMES and name not in local:
            if name == "loop" and in_for:
                return
            out.roots.add(name)
            if name == "nodes":
                out.dynamic_nodes = True
            elif name == "vars":
                out.all_vars = True
        return
    if isinstance(node, jn.For):
        _visit(node.iter, out, local, in_for)
        bound = local | _bound(node.target)
        for child in (*node.body, *node.else_):
            _visit(child, out, bound, True)
        if node.test is not None:
            _visit(node.test, out, bound, True)
        return
    if isinstance(node, jn.Assign):
        _visit(node.node, out, local, in_for)
        return
    for child in node.iter_child_nodes():
        _visit(child, out, local, in_for)


def collect(tree: jn.Node) -> References:
    """The references of a parsed template or expression."""
    out = _Collector()
    local: frozenset[str] = frozenset()
    if isinstance(tree, jn.Template):
        # `{% set x = ... %}` at top level binds x for the rest of the template.
        local = frozenset(
            name for assign in tree.find_all(jn.Assign) for name in _bound(assign.target)
        )
    _visit(tree, out, local, False)
    return out.result()


def path_references(root: str, first_key: str | int | None) -> References:
    """The references of a plain path (`{{ root.key... }}`), without walking a tree."""
    nodes: frozenset[str] = frozenset()
    vars_: frozenset[str] = frozenset()
    dynamic = all_vars = False
    if root == "nodes":
        if isinstance(first_key, str):
            nodes = frozenset((first_key,))
        else:
            dynamic = True
    elif root == "vars":
        if isinstance(first_key, str):
            vars_ = frozenset((first_key,))
        else:
            all_vars = True
    return References(frozenset((root,)), nodes, vars_, all_vars, dynamic)
