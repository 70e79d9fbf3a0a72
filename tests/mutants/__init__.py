"""The mutant suite: realistic engine bugs, each a source patch of one engine module
(`catalog.yaml`), run one per fresh process through the real harness to measure what it
catches (`python -m tests.mutants`, `make mutants`; docs in `__main__`, `runner`, `worker`).

`router_last` is not part of the suite: it is the README's example of a user engine named
`module:attr` (`--shadow tests.mutants.router_last:engine`), a subclass of the graph engine.
"""
