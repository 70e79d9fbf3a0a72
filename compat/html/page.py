"""The page itself: Jinja templates with autoescaping on, the stylesheet and script inlined,
and a Content-Security-Policy that lets the page load nothing and run only its own script.

The policy names the script and stylesheet by their SHA-256, so even text that somehow
escaped escaping could not run as script. Colours in the SVGs are presentation attributes,
not `style` attributes, which the policy would refuse.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from compat.html.cases import short
from compat.html.graph import COLOURS

try:
    from importlib.metadata import version as _version

    VERSION = _version("compat")
except Exception:
    VERSION = "dev"


def _asset(name: str) -> str:
    return resources.files("compat.html").joinpath("assets", name).read_text(encoding="utf-8")


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def where(path: Any) -> str:
    """An iteration path as text: `[loop=2][par=0]` (empty at top level)."""
    return "".join(f"[{container}={index}]" for container, index in path or ())


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("compat.html", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from compat.html.perf import perf_summary

    env.globals.update(
        short=short,
        where=where,
        colours=(*COLOURS.items(), ("mixed", "#6a1b9a")),
        perf_summary=perf_summary,
    )
    return env


def render(template: str, title: str, **context: Any) -> str:
    """The whole page: `template` with the shared head (policy, style, script)."""
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        "default-src 'none'; "
        f"style-src 'sha256-{_digest(css)}'; "
        f"script-src 'sha256-{_digest(js)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    page = environment().get_template(template)
    return page.render(
        title=title,
        csp=csp,
        css=Markup(css),
        js=Markup(js),
        version=VERSION,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **context,
    )
