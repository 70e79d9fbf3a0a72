"""The numbered rules of docs/semantics.md, which fixture cases name in `covers:`.

Sections 1–3, 5, 6, 8–10, the numbered static rules of §4 (`4.1` … `4.8`) and the
subsections of §7 (`7.1` … `7.12`). `tests/test_fixture_coverage.py` keeps this list equal
to the document's numbering and fails when a rule is named by no bundled case.
"""

from __future__ import annotations

RULES: tuple[str, ...] = (
    "1",
    "2",
    "3",
    *(f"4.{n}" for n in range(1, 9)),
    "5",
    "6",
    *(f"7.{n}" for n in range(1, 13)),
    "8",
    "9",
    "10",
)
