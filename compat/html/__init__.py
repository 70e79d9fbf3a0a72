"""HTML compatibility reports: one self-contained page per report (`check_page`,
`perf_page`, `fuzz_page`), readable without JavaScript, loading nothing from anywhere."""

from __future__ import annotations

import json
from typing import Any

from compat.html.check_page import check_page
from compat.html.perf import perf_page


def fuzz_page(data: dict[str, Any], *, title: str | None = None) -> str:
    """The page for a `compat fuzz --json` report (its JSON data)."""
    from compat.html.page import render

    findings = [f for f in data.get("findings") or () if isinstance(f, dict)]
    counts = [
        (name.replace("_", " "), data[name])
        for name in ("examples", "shrinking_examples", "rounds", "repeats", "seconds")
        if name in data
    ]
    shown = {k: v for k, v in data.items() if k != "findings"}
    return render(
        "fuzz.html.j2",
        title or "compat fuzz",
        findings=findings,
        counts=counts,
        raw=json.dumps(shown, indent=1, sort_keys=True, ensure_ascii=False, default=str),
    )


__all__ = ["check_page", "fuzz_page", "perf_page"]
