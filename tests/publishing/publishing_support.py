"""Shared by the publishing tests: the fixtures they run, a small DOM built with the
standard library's `html.parser` (so the pages are read as a browser would read their tags,
not matched with regular expressions), and JUnit documents validated against the schema."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import xmlschema
from cli_support import Run

REPO = Path(__file__).resolve().parents[2]
XSD = REPO / "tests" / "data" / "junit-10.xsd"

#: Relative to the repository (the runs' working directory), as a user would name them.
ROUTER = "fixtures/router_first_match.yaml"
SEQUENCE = "fixtures/sequence_basics.yaml"
#: A user engine taking the LAST matching route (tests/mutants/router_last.py).
ROUTER_LAST = "tests.mutants.router_last:engine"
#: The router_first_match cases the router_last engine gets wrong.
DIVERGING = {"first-match-wins", "every-route-matches", "second-route"}

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self, tag: str | None = None, cls: str | None = None) -> Iterator[Element]:
        """This element and every element below it, in document order, filtered."""
        if (tag is None or self.tag == tag) and (cls is None or cls in self.classes):
            yield self
        for child in self.children:
            yield from child.iter(tag, cls)

    def all_text(self) -> str:
        return "".join([*self.text, *(child.all_text() for child in self.children)])


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in _VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is None or node.parent is None:  # a stray end tag: ignored, as browsers do
            return
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.text.append(data)


def parse_html(text: str) -> Element:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def case_rows(page: Element) -> list[dict[str, str]]:
    """The attributes of each `tr.case-row`, in the page's order."""
    return [row.attrs for row in page.iter("tr", "case-row")]


def csp(page: Element) -> list[str]:
    """The content of every Content-Security-Policy meta element."""
    return [
        meta.attrs.get("content", "")
        for meta in page.iter("meta")
        if meta.attrs.get("http-equiv", "").lower() == "content-security-policy"
    ]


@cache
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def valid_junit(path: Path) -> ET.Element:
    """The JUnit file at `path`, checked well-formed and valid against junit-10.xsd."""
    data = path.read_bytes()
    root = ET.fromstring(data)
    _schema().validate(data.decode("utf-8"))
    return root


def junit_shape(root: ET.Element) -> list[tuple[str | None, list[tuple[Any, ...]]]]:
    """What two JUnit documents of the same report must share: each suite's name and, per
    testcase, its class name, name and whether it has a failure / an error."""
    return [
        (
            suite.get("name"),
            [
                (
                    case.get("classname"),
                    case.get("name"),
                    case.find("failure") is not None,
                    case.find("error") is not None,
                )
                for case in suite.findall("testcase")
            ],
        )
        for suite in root.iter("testsuite")
    ]


def load_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def cli(*args: str | Path, cwd: Path) -> Run:
    """`compat ARGS` run in this process through `compat.cli.main` (the console script's
    own entry point, without the supervising parent process): for the refusals, which
    are many and each would otherwise cost an interpreter's start-up."""
    from compat.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_argv, debug = sys.argv, os.environ.pop("COMPAT_DEBUG", None)
    sys.argv = ["compat", *map(str, args)]
    code: int | str | None = 0
    try:
        with (
            contextlib.chdir(cwd),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = saved_argv
        if debug is not None:
            os.environ["COMPAT_DEBUG"] = debug
    assert isinstance(code, int), code
    assert "Traceback" not in out.getvalue() + err.getvalue(), err.getvalue()
    return Run(code, out.getvalue(), err.getvalue())


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder under `root`."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }
