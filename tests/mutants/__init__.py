"""Deliberately broken copies of the engines ("mutants") for mutation-testing the harness.

Each module exposes a module-level `engine` (loadable as `tests.mutants.<module>:engine`):
one engine with one small, commented deviation from docs/semantics.md. A mutant never
changes the real engines: it subclasses them and alters only its own plan, session or
policy objects, so the real engine running beside it (even in another thread) is untouched.
`tests/test_mutants.py` proves the harness reports every mutant as incompatible.
"""
