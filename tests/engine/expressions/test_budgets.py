"""Every sandbox budget (docs/semantics.md §5, "Budgets"), breached by a workflow's template
and run on both engines: the same EXPRESSION_ERROR on the same node, with the same message
naming the limit. Without the budgets most of these templates would allocate gigabytes or run
for hours, so that they finish at all is part of what is tested; with them each fails at once.
Next to each breach, the same construct just within its limit still works."""

from __future__ import annotations

from typing import Any

import pytest
from budget_support import one_node, run_both, same_failure, same_outputs

from engines.expressions.budgets import LIMITS

#: (limit, template): each template breaches that limit.
BREACHES: list[tuple[str, str]] = [
    # string width and padding
    ("MAX_STRING", "{{ '{:>999999999}'.format(1) }}"),
    ("MAX_STRING", "{{ '{:{w}}'.format('x', w=999999999) }}"),
    ("MAX_STRING", "{{ '{:.999999999f}'.format(1.5) }}"),
    ("MAX_STRING", "{{ '{0}{0}{0}'.format('y' * 400000) }}"),
    ("MAX_STRING", "{{ '{a}'.format_map({'a': 'x'}) ~ '{:>2000000}'.format('') }}"),
    ("MAX_STRING", "{{ '%999999999s' % 1 }}"),
    ("MAX_STRING", "{{ '%*s' % (999999999, 'x') }}"),
    ("MAX_STRING", "{{ '%.999999999d' % 7 }}"),
    ("MAX_STRING", "{{ '%(a)999999999s' % {'a': 1} }}"),
    ("MAX_STRING", "{{ '%999999999s' | format('x') }}"),
    ("MAX_STRING", "{{ 'x' | center(999999999) }}"),
    ("MAX_STRING", "{{ 'x'.center(999999999) }}"),
    ("MAX_STRING", "{{ 'x'.ljust(999999999) }}"),
    ("MAX_STRING", "{{ 'x'.rjust(999999999, '-') }}"),
    ("MAX_STRING", "{{ 'x'.zfill(999999999) }}"),
    ("MAX_STRING", "{{ ('\t' * 1000).expandtabs(1000000) }}"),
    ("MAX_STRING", "{{ ('a\nb' * 1000) | indent(999999999) }}"),
    ("MAX_STRING", "{{ ('a ' * 400000) | wordwrap(1, wrapstring='-' * 20) }}"),
    ("MAX_STRING", "{{ 'abc' | indent('x' * 999999, true) }}"),
    # repetition, joins, replace, translate
    ("MAX_STRING", "{{ 'ab' * 999999 }}"),
    ("MAX_STRING", "{{ range(100000) | join('x' * 100) }}"),
    ("MAX_STRING", "{{ ('x' * 100).join(['y'] * 100000) }}"),
    ("MAX_STRING", "{{ ('a' * 1000000).replace('a', 'a' * 1000) }}"),
    ("MAX_STRING", "{{ ('a' * 1000000) | replace('a', 'a' * 1000) }}"),
    ("MAX_STRING", "{{ ('a' * 1000000).translate({97: 'bb'}) }}"),
    ("MAX_STRING", "{{ (1).to_bytes(999999999, 'big') }}"),
    # concatenation in loops
    (
        "MAX_STRING",
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
    ),
    (
        "MAX_STRING",
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
    ),
    # a value that shares one big list a million times, printed
    ("MAX_STRING", "{{ ([[0] * 1000000] * 1000000) | string }}"),
    ("MAX_STRING", "{{ ([[0] * 1000000] * 1000000) | tojson }}"),
    ("MAX_STRING", "{{ ([[0] * 1000000] * 1000000) ~ '' }}"),
    ("MAX_STRING", "{{ '%s' % ([[0] * 1000000] * 1000000,) }}"),
    ("MAX_STRING", "{{ [[0] * 1000, [1]] | tojson(indent=1000) }}"),
    # lists
    ("MAX_ITEMS", "{{ [1, 2] * 999999 }}"),
    (
        "MAX_ITEMS",
        "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}"
        "{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}",
    ),
    ("MAX_ITEMS", "{{ ([[1] * 1000000] * 2) | sum(start=[]) | length }}"),
    ("MAX_ITEMS", "{{ [1] | batch(999999999, 0) | list }}"),
    ("MAX_ITEMS", "{{ [1] | slice(999999999) | list | length }}"),
    # ranges, loops, calls, output
    ("MAX_RANGE", "{{ range(100001) | length }}"),
    ("MAX_RANGE", "{{ range(10 ** 30) | length }}"),
    (
        "MAX_LOOP_STEPS",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    ),
    (
        "MAX_LOOP_STEPS",
        "{% for i in range(100000) %}{% for c in 'abc' * 1000 %}{% endfor %}{% endfor %}",
    ),
    (
        "MAX_LOOP_STEPS",
        "{% for i in range(100000) | map('string') %}{% for j in range(5000) %}{% endfor %}"
        "{% endfor %}",
    ),
    (
        "MAX_CALL_DEPTH",
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    ),
    ("MAX_CALL_DEPTH", "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}"),
    (
        "MAX_OUTPUT",
        "{% for i in range(100000) %}{% for j in range(100000) %}xxxx{% endfor %}{% endfor %}",
    ),
    ("MAX_OUTPUT", "x{{ 'y' * 999999 }}{{ 'z' * 999999 }}"),
    ("MAX_OUTPUT", "x{{ [[0] * 1000000] * 1000000 }}"),
    (
        "MAX_OUTPUT",
        "{% macro m() %}{{ 'x' * 999999 }}{% endmacro %}"
        "{% set x %}{% for i in range(1000) %}{{ m() }}{% endfor %}{% endset %}{{ x | length }}",
    ),
    # integers
    ("MAX_INT_DIGITS", "{{ 9 ** 4000 * 9 ** 4000 }}"),
    ("MAX_INT_DIGITS", "{{ 7 ** 100000 }}"),
    ("MAX_INT_DIGITS", "{{ 2 ** 99999999999 }}"),
    (
        "MAX_INT_DIGITS",
        "{% set ns = namespace(x=9) %}{% for i in range(40) %}"
        "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x > 0 }}",
    ),
    ("MAX_INT_DIGITS", "{{ 10 ** 3999 * 9 + 10 ** 3999 }}"),
    ("MAX_INT_DIGITS", "{{ -(10 ** 3999 * 9) - 10 ** 3999 }}"),
    ("MAX_INT_DIGITS", "x{{ ('f' * 5000) | int(base=16) }}"),
    ("MAX_INT_DIGITS", "{{ ([10 ** 3999 * 5] * 3) | sum }}"),
    # values
    ("MAX_VALUE_ITEMS", "{{ [[0] * 100000] * 101 }}"),
    (
        "MAX_DEPTH",
        "{% set ns = namespace(x=0) %}{% for i in range(101) %}"
        "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
    ),
    (
        "MAX_DEPTH",
        "x{% set ns = namespace(x=0) %}{% for i in range(101) %}"
        "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
    ),
]


@pytest.mark.parametrize(("limit", "template"), BREACHES, ids=[t[:48] for _, t in BREACHES])
def test_a_breach_is_one_expression_error_on_the_same_node_in_both_engines(
    limit: str, template: str
) -> None:
    message = same_failure(run_both(one_node(template)), "t", "EXPRESSION_ERROR")
    value, unit = LIMITS[limit]
    assert message.endswith(f"{value:,} {unit} (limit: {limit})"), message


def test_every_budget_has_a_breach_here() -> None:
    assert {limit for limit, _ in BREACHES} == set(LIMITS)


#: (template, expected value): each as close to its limit as it gets without passing it.
WITHIN: list[tuple[str, Any]] = [
    ("{{ '{:>1000000}'.format(1) | length }}", 1_000_000),
    ("{{ '{0}{0}'.format('y' * 500000) | length }}", 1_000_000),
    ("{{ ('%1000000s' % 1) | length }}", 1_000_000),
    ("{{ ('%.999998f' % 1.5) | length }}", 1_000_000),
    ("{{ '%1000000s' | format('x') | length }}", 1_000_000),
    ("{{ 'x' | center(1000000) | length }}", 1_000_000),
    ("{{ 'x'.zfill(1000000) | length }}", 1_000_000),
    ("{{ ('\t' * 1000).expandtabs(1000) | length }}", 1_000_000),
    ("{{ ('a\n' * 166667) | indent(4) | length }}", 999_998),
    ("{{ ('ab\n' * 250000) | wordwrap(2, wrapstring='--') | length }}", 999_998),
    ("{{ ('ab' * 500000) | length }}", 1_000_000),
    ("{{ (['x' * 99] * 10000) | join('-') | length }}", 1_000_000 - 1),
    ("{{ ('a' * 1000).replace('a', 'a' * 1000) | length }}", 1_000_000),
    ("{{ ('a' * 500000).translate({97: 'bb'}) | length }}", 1_000_000),
    ("{{ ([1] * 500000 + [2] * 500000) | length }}", 1_000_000),
    ("{{ ([[1] * 500000] * 2) | sum(start=[]) | length }}", 1_000_000),
    ("{{ range(100000) | length }}", 100_000),
    (
        "{% set ns = namespace(n=0) %}{% for i in range(1000) %}{% for j in range(999) %}"
        "{% endfor %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
        "1000",
    ),
    ("{% macro f(n) %}{{ f(n - 1) if n > 1 else n }}{% endmacro %}{{ f(50) }}", "1"),
    (
        "{% for i in range(1000) %}{% for j in range(250) %}abcd{% endfor %}{% endfor %}",
        "abcd" * 250_000,
    ),
    ("{{ (10 ** 3999 * 9 + (10 ** 3999 - 1)) | string | length }}", 4000),
    ("{{ (-(10 ** 3999 * 9) - (10 ** 3999 - 1)) | string | length }}", 4001),
    ("{{ 2 ** 13287 > 0 }}", True),
    (
        "{% set ns = namespace(x=0) %}{% for i in range(99) %}"
        "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x | tojson | length }}",
        str(2 * 99 + 1),
    ),
]


@pytest.mark.parametrize(("template", "expected"), WITHIN, ids=[t[:48] for t, _ in WITHIN])
def test_just_within_a_limit_both_engines_complete(template: str, expected: Any) -> None:
    assert same_outputs(run_both(one_node(template))) == {"v": expected}
