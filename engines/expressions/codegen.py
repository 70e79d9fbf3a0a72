"""Jinja's code generator with the budget hooks the sandbox has no other place for.

Jinja compiles a template to Python; three constructs run there without passing through
anything the sandbox can intercept, so the generated code is changed to call the guards
(`engines.expressions.guards`) instead:

* `{% for x in items %}` iterates `environment.loop_budget(context, items)`, which charges
  the loop's iterations to the evaluation's MAX_LOOP_STEPS;
* `a ~ b` calls `environment.concat_values(...)`, which measures before it joins;
* the buffer of a macro or block is an `OutputBuffer`, which counts what is written to it.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes as jn
from jinja2.compiler import CodeGenerator, Frame


def _budgeted(iterable: jn.Expr) -> jn.Expr:
    """`environment.loop_budget(context, iterable)` as a node (Jinja allows no new node
    types, so the call is built from existing ones)."""
    return jn.Call(
        jn.EnvironmentAttribute("loop_budget"),
        [jn.ContextReference(), iterable],
        [],
        None,
        None,
        lineno=iterable.lineno,
    )


class BudgetCodeGenerator(CodeGenerator):
    """Generates the code of a workflow template, with its budgets."""

    def visit_For(self, node: jn.For, frame: Frame) -> None:
        original = node.iter
        node.iter = _budgeted(original)
        try:
            super().visit_For(node, frame)
        finally:
            node.iter = original

    def visit_Call(self, node: jn.Call, frame: Frame, **kwargs: Any) -> None:
        callee = node.node
        if isinstance(callee, jn.EnvironmentAttribute) and callee.name == "loop_budget":
            # Ours, and safe: called directly rather than through the sandbox's `call`.
            self.write("environment.loop_budget(context, ")
            self.visit(node.args[1], frame)
            self.write(")")
            return
        super().visit_Call(node, frame, **kwargs)

    def visit_Concat(self, node: jn.Concat, frame: Frame) -> None:
        self.write("environment.concat_values(context.eval_ctx.autoescape, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")
