"""A strict fake of the Parlant package, for testing compat's journey export.

Only `parlant.sdk` exists, and only with what `engines.journey.export.to_parlant` uses. The
tests put `tests/fakes` at the front of `sys.path` while a test runs and drop every
`parlant*` module afterwards, so the fake never leaks into other tests.
"""
