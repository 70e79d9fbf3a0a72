"""libyaml's C loader and PyYAML's pure-Python one read YAML alike (engines/documents/read.py):
the same values, of the same types, and for text they refuse the same message, at the same
line and column — every bundled file, and malformed or hostile text of every kind.

The C loader is tested wherever PyYAML has libyaml (the manylinux wheels do); its tests are
skipped only where it is really absent, and under COMPAT_REQUIRE_SHARED=1 (CI) its absence
is a failure, never a skip.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.documents import read
from engines.documents.read import (
    HAS_LIBYAML,
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    parse_yaml,
)
from engines.errors import ConfigError, DocumentError

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_FILES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.is_file())
REQUIRED = os.environ.get("COMPAT_REQUIRE_SHARED", "") not in ("", "0")
NO_LIBYAML = "PyYAML is built without libyaml here: only the pure-Python loader is tested"

LOADERS = [
    pytest.param(False, id="python"),
    pytest.param(
        True,
        id="libyaml",
        marks=pytest.mark.skipif(not HAS_LIBYAML and not REQUIRED, reason=NO_LIBYAML),
    ),
]
needs_libyaml = pytest.mark.skipif(not HAS_LIBYAML and not REQUIRED, reason=NO_LIBYAML)


def test_libyaml_is_there_where_required() -> None:
    """CI (COMPAT_REQUIRE_SHARED=1) must test the C loader: its PyYAML has to have libyaml."""
    if not REQUIRED:
        pytest.skip("COMPAT_REQUIRE_SHARED is not set: the C loader's tests may be skipped")
    assert yaml.__with_libyaml__, (
        "COMPAT_REQUIRE_SHARED is set (by .ci/run) but PyYAML has no libyaml: install a PyYAML "
        "wheel built with it (the manylinux ones are), so the C loader is tested"
    )


def typed(value: Any) -> Any:
    """`value` with every leaf's type made part of it: `1`, `1.0` and `True` differ, and
    NaN equals NaN."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, tuple):
        return ("tuple", [typed(v) for v in value])
    if isinstance(value, set):
        return ("set", sorted(repr(typed(v)) for v in value))
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value.hex())
    return (type(value).__name__, value)


@functools.cache
def outcome(text: str, libyaml: bool) -> tuple[str, Any]:
    """What `parse_yaml` makes of `text`: ("value", its typed form) or ("error", message).
    Cached: each loader reads a text once however many tests compare it."""
    try:
        return "value", typed(parse_yaml(text, "doc.yaml", libyaml=libyaml))
    except DocumentError as exc:
        return "error", str(exc)


# --------------------------------------------------------------------------- bundled files


@pytest.mark.parametrize("libyaml", LOADERS)
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bundled_file_reads_the_same(path: Path, libyaml: bool) -> None:
    """Every file under fixtures/ (JSON and Markdown too: all are YAML, or refused alike)."""
    text = read.decode(path.read_bytes(), str(path))
    expected = outcome(text, False)
    assert outcome(text, libyaml) == expected
    if path.suffix == ".yaml":
        assert expected == ("value", typed(yaml.load(text, Loader=yaml.SafeLoader)))


# --------------------------------------------------------------------------- malformed text


def billion_laughs(levels: int) -> str:
    """The classic alias bomb: 9**(levels + 1) strings once expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnop"
    for previous, name in itertools.pairwise(names[: levels + 1]):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels + "\n"


#: name: (text, a fragment its outcome must contain: the message, or the value's repr).
CASES: dict[str, tuple[str, str]] = {
    # duplicate keys, at every depth and in every style
    "duplicate-top": ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (line 3, column 1)"),
    "duplicate-depth-2": ("a:\n  b: 1\n  b: 2\n", "duplicate key 'b' (line 3, column 3)"),
    "duplicate-in-list": ("- x: 1\n- {y: 1, y: 2}\n", "duplicate key 'y' (line 2, column 10)"),
    "duplicate-depth-5": (
        "a:\n  b:\n    c:\n      - d:\n          e: 1\n          e: 2\n",
        "duplicate key 'e' (line 6, column 11)",
    ),
    "duplicate-flow": ("{a: 1, b: {c: 1, c: 2}}\n", "duplicate key 'c' (line 1, column 18)"),
    "duplicate-int-keys": ("1: a\n0x1: b\n", "duplicate key 1 (line 2, column 1)"),
    "duplicate-quoted": ("'a': 1\n\"a\": 2\n", "duplicate key 'a' (line 2, column 1)"),
    "duplicate-after-merge": ("b: &b {x: 1}\nm: {<<: *b, x: 2}\n", "duplicate key 'x'"),
    "duplicate-non-ascii": ("ééé: {a: 1, a: 2}\n", "duplicate key 'a' (line 1, column 13)"),
    "duplicate-null": ("~: 1\nnull: 2\n", "a key not shown"),
    "unhashable-key": ("? [a, b]\n: 1\n", "found unhashable key (line 1, column 3)"),
    # indentation, tabs, characters
    "bad-indentation": ("a:\n  b: 1\n c: 2\n", "expected <block end>"),
    "bad-list-indentation": ("a:\n  - 1\n - 2\n", "(line 3, column 2)"),
    "tab-indentation": ("a:\n\tb: 1\n", "found character '\\t' that cannot start any token"),
    "tab-after-colon": ("a:\t1\n", "(line 1, column 3)"),
    "tab-in-flow": ("[1,\t2]\n", "(line 1, column 4)"),
    "tab-after-value": ("a: 1\nb: 2\t\n", "(line 2, column 5)"),
    "tab-in-block-scalar": ("a: |\n  x\n\ty\n", "(line 3, column 1)"),
    "control-character": (
        "a: \x01\n",
        "a character YAML does not allow (#x0001) (line 1, column 4)",
    ),
    "delete-character": ("a: b\x7f\n", "(#x007f) (line 1, column 5)"),
    "nul": ("a: \x00\n", "(#x0000)"),
    "bell-in-quotes": ('a: "\x07"\n', "(#x0007)"),
    "non-character": ("a: \ufffe\n", "(#xfffe)"),
    "lone-surrogate": ("a: \ud800\n", "(#xd800)"),
    "byte-order-mark-inside": ("a: 1\n\ufeffb: 2\n", "'\\ufeffb'"),
    "next-line-break": ("a: 1\x85b: 2\n", "'b'"),
    "at-sign": ("a: @b\n", "found character '@' that cannot start any token"),
    "backtick": ("a: `b\n", "found character '`'"),
    "bad-block-header": ("a: |x\n  y\n", "expected chomping or indentation indicators"),
    "block-header-comment": ("- >#\n", "expected chomping or indentation indicators"),
    # quotes, escapes, flow collections
    "unclosed-double-quote": ('a: "abc\n', "found unexpected end of stream (line 2, column 1)"),
    "unclosed-single-quote": ("a: 'abc\n", "found unexpected end of stream"),
    "unclosed-flow-sequence": ("a: [1, 2\n", "expected ',' or ']', but got '<stream end>'"),
    "unclosed-flow-mapping": ("{a: 1\n", "expected ',' or '}'"),
    "bad-escape": ('a: "\\q"\n', "found unknown escape character 'q' (line 1, column 6)"),
    "escapes": (
        'a: "\\x41\\u0042\\U00000043\\/\\N\\_\\e\\0\\t"\n',
        "'ABC/\\x85\\xa0\\x1b\\x00\\t'",
    ),
    "question-mark-in-flow": ("[a?b]\n", "expected ',' or ']', but got '?' (line 1, column 3)"),
    "question-mark-in-flow-value": ("{a: b?}\n", "but got '?'"),
    "empty-key-in-flow": ("[?,,a]\n", "expected the node content, but found ','"),
    "tag-into-flow-indicator": ("{!,x}\n", "expected ' ', but found '}'"),
    "tag-before-comma": ("[a, !, b]\n", "could not determine a constructor for the tag"),
    "empty-non-specific-tag": ("a: !\n", "('NoneType', None)"),
    "mapping-in-plain-value": (
        "a: b: c\n",
        "mapping values are not allowed here (line 1, column 5)",
    ),
    "long-simple-key": ("a" * 1100 + ": 1\n", "mapping values are not allowed here"),
    # documents and directives
    "two-documents": ("a: 1\n---\nb: 2\n", "but found another document (line 2, column 1)"),
    "yaml-2": ("%YAML 2.0\n---\na: 1\n", "found incompatible YAML document"),
    "yaml-directive-twice": ("%YAML 1.1\n%YAML 1.1\n---\na: 1\n", "duplicate YAML directive"),
    "empty": ("", "('NoneType', None)"),
    "document-end-only": ("...\n", "expected the node content, but found '<document end>'"),
    # tags and constructors
    "python-tag": ("a: !!python/object:os.system x\n", "could not determine a constructor"),
    "unknown-tag": (
        "a: !foo x\n",
        "could not determine a constructor for the tag (line 1, column 4)",
    ),
    "bad-int-tag": ("a: !!int 0b\n", "an invalid int (line 1, column 4)"),
    "bad-timestamp": ("a: 2001-13-45\n", "an invalid timestamp (line 1, column 4)"),
    "bad-float-tag": ("a: !!float x\n", "an invalid float"),
    "binary-set-omap": ("a: [!!binary aGk=, !!set {x}, !!omap [y: 1]]\n", "('bytes', b'hi')"),
    "scalars": (
        "[.inf, -.Inf, .nan, 1e3, 1.5, 1_000, 0b101, 017, 0o17, 0x_1F, 190:20:30, ~, yes, Off]\n",
        "('int', 685230)",
    ),
    "dates": ("[2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10]\n", "'date'"),
    # huge integers, in every base
    "huge-int": ("a: " + "9" * (MAX_INT_DIGITS + 1) + "\n", "an integer of 4301 digits"),
    "largest-int": ("a: " + "9" * MAX_INT_DIGITS + "\n", "('int', 999"),
    "huge-hex": (
        "a: 0x" + "f" * 4000 + "\n",
        "is over the limit of 4300 digits (line 1, column 4)",
    ),
    "huge-negative": ("a: -" + "9" * (MAX_INT_DIGITS + 1) + "\n", "an integer of 4301 digits"),
    "huge-underscored": ("a: 1_" + "0" * MAX_INT_DIGITS + "\n", "an integer of 4301 digits"),
    "huge-base-60": ("a: 1" + ":59" * 2000 + "\n", "an integer of 6001 digits"),
    # anchors, aliases, merge keys, nesting
    "anchors": ("d: &d {retry: 3}\nfirst: *d\nlist: &i [1, 2]\nagain: [*i, *i]\n", "'retry'"),
    "merge-keys": ("b: &b {x: 1, y: 2}\nm: {<<: *b, z: 3}\nn:\n  <<: [*b, {w: 4}]\n", "'w'"),
    "merge-of-a-scalar": ("m: {<<: 1}\n", "expected a mapping or list of mappings for merging"),
    "undefined-alias": ("a: *x\n", "found undefined alias 'x' (line 1, column 4)"),
    "anchor-twice": ("a: &x 1\nb: &x 2\nc: *x\n", "second occurrence (line 2, column 4)"),
    "alias-bomb": (billion_laughs(9), f"more than {MAX_ALIAS_NODES:,} nodes"),
    "small-alias-tree": (billion_laughs(3), "'lol'"),
    "merge-key-bomb": (
        "m0: &m0 {k0: 0, k1: 1}\n"
        + "".join(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}\n" for i in range(1, 40)),
        "the first at line 2",
    ),
    "recursive-alias": ("a: &a [*a]\n", "a YAML alias refers to a node that contains it"),
    "recursive-alias-in-mapping": ("a: &a {b: [1, *a]}\n", "(line 1, column 4)"),
    "deep-via-aliases": (
        "a: &d " + nested(60).strip() + "\nb: " + "[" * 50 + "*d" + "]" * 50 + "\n",
        "once its aliases are expanded, nested deeper than 100 levels",
    ),
    "deepest-allowed": (nested(MAX_DEPTH), "('list', [('list'"),
    "too-deep-flow": (
        nested(MAX_DEPTH + 1),
        "levels (the limit of a document) (line 1, column 101)",
    ),
    "too-deep-for-libyaml": (nested(1001), "(line 1, column 101)"),
    "too-deep-block": ("- " * (MAX_DEPTH + 1) + "a\n", "(line 1, column 201)"),
    "too-deep-unclosed": ("[" * 5000 + "\n", "nested deeper than 100 levels"),
}


@pytest.mark.parametrize("libyaml", LOADERS)
@pytest.mark.parametrize("name", CASES)
def test_malformed_and_hostile_text_reads_the_same(name: str, libyaml: bool) -> None:
    text, fragment = CASES[name]
    expected = outcome(text, False)
    got = outcome(text, libyaml)
    assert got == expected
    assert fragment in (got[1] if got[0] == "error" else repr(got[1]))


# --------------------------------------------------------------------------- random text

#: Pieces of YAML syntax, so random text hits the scanner's and parser's corners.
_PIECES = [
    *"ab1-?:,[]{}#&*!|>'\"%@`~\\= \n\t\r",
    *("- ", "? ", ": ", "&x ", "*x", "!!str ", "!t ", "! ", "|-", ">2", "<<: ", "---", "..."),
    *("\n  ", "\n- ", "'q'", '"\\u00e9"', "0x1F", "1:30", ".inf", "2001-01-01", "é", "\u2028"),
    *("\x85", "\ufeff", "\x07", "%YAML 1.1\n", "%TAG !e! tag:yaml.org,2002:\n", "!e!str "),
]


@needs_libyaml
@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_random_text_reads_the_same(text: str) -> None:
    assert outcome(text, True) == outcome(text, False)


# --------------------------------------------------------------------------- the switch


@needs_libyaml
def test_read_document_uses_libyaml_unless_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`LIBYAML` picks the parser `read_document` uses; a value is the same either way."""
    path = tmp_path / "doc.yaml"
    path.write_text("a: [1, 2.5, x]\n", encoding="utf-8")
    used: list[str] = []
    real_load = yaml.load

    def load(text: str, Loader: type) -> Any:
        used.append(Loader.__name__)
        return real_load(text, Loader=Loader)

    monkeypatch.setattr(yaml, "load", load)
    assert read.read_document(path) == {"a": [1, 2.5, "x"]}
    monkeypatch.setattr(read, "LIBYAML", False)
    assert read.read_document(path) == {"a": [1, 2.5, "x"]}
    assert used == ["_CUniqueKeyLoader", "_UniqueKeyLoader"]


def test_asking_for_libyaml_without_it_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml, `LIBYAML` is False (the pure-Python loader reads everything), and
    asking for libyaml by name is refused rather than quietly not done."""
    monkeypatch.setattr(read, "HAS_LIBYAML", False)
    monkeypatch.setattr(read, "LIBYAML", False)
    assert parse_yaml("a: 1\n", "doc.yaml") == {"a": 1}
    with pytest.raises(ConfigError, match="libyaml asked for, but this PyYAML is built without"):
        parse_yaml("a: 1\n", "doc.yaml", libyaml=True)


def test_values_keep_their_types() -> None:
    """The C loader builds the same Python types: dates, floats, ints, None, bools."""
    text = "d: 2001-12-14\nf: 1.0\ni: 1\nn: ~\nb: yes\ns: '1'\n"
    value = parse_yaml(text, "doc.yaml")
    assert value == {
        "d": datetime.date(2001, 12, 14),
        "f": 1.0,
        "i": 1,
        "n": None,
        "b": True,
        "s": "1",
    }
    assert [type(v) for v in value.values()] == [datetime.date, float, int, type(None), bool, str]
