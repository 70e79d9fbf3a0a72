"""Breaking documents as text, and random JSON and YAML, for `compat fuzz --invalid`.

Each text mutation takes the bytes of a document (and its suffix) and returns new bytes and
suffix: truncations, trailing garbage, byte-order marks, bytes that are not UTF-8, NUL and
control characters, tabs, YAML tags, anchors and aliases (bombs and self-reference
included), duplicate keys, nesting past the limit, numbers past the limit, and random
splices. `random_json` and `random_yaml` make documents from nothing.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

import yaml

TextMutation = Callable[[random.Random, bytes, str], tuple[bytes, str]]

_KEYS = (
    "id", "type", "nodes", "edges", "params", "source", "target", "handle", "parent",
    "workflow", "workflows", "cases", "name", "inputs", "expect", "data", "viewport",
    "position", "parentId", "sourceHandle", "variables", "outputs", "x", "", "0",
)  # fmt: skip
_SCALARS = (None, True, False, 0, -1, 3, 1.5, "", "start", "end", "{{", "x" * 40, "é", "$x")


def _insert(rng: random.Random, raw: bytes, piece: bytes) -> bytes:
    at = rng.randrange(len(raw) + 1)
    return raw[:at] + piece + raw[at:]


def _yaml_suffix(rng: random.Random, suffix: str) -> str:
    """YAML mutations mostly land in YAML files (sometimes in a `.json`: a parse error)."""
    return suffix if suffix != ".json" or rng.random() < 0.2 else rng.choice([".yaml", ".yml"])


def truncate(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    return raw[: rng.randrange(len(raw) + 1)], suffix


def trailing_garbage(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    tails = (b"}", b"]]", b"\n---\nsecond: doc\n", b" garbage", b"\x00", b'{"a":1}', b"\n...\n")
    return raw + rng.choice(
        (*tails, b",", b"\n%YAML 1.2\n", b"\n- item\n", b"\nkey: value\n")
    ), suffix


def bom(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    choice = rng.randrange(5)
    if choice == 0:
        return b"\xef\xbb\xbf" + raw, suffix
    if choice == 1:
        return b"\xef\xbb\xbf\xef\xbb\xbf" + raw, suffix
    if choice == 2:
        return b"\xff\xfe" + raw, suffix
    if choice == 3:
        return raw.decode("utf-8", "replace").encode("utf-16"), suffix
    return _insert(rng, raw, b"\xef\xbb\xbf"), suffix


def invalid_utf8(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    pieces = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80")
    return _insert(rng, raw, rng.choice(pieces)), suffix


def nul_byte(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    return _insert(rng, raw, rng.choice([b"\x00", b"\x00" * 3, b'"\x00"'])), suffix


def control(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    pieces = ("\x1b[2J", "\r", "\u2028", "\x85", "\x7f", "\x0b", "\x1b]0;title\x07", "\ud7ff")
    return _insert(rng, raw, rng.choice(pieces).encode("utf-8", "replace")), suffix


def tabs(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    lines = raw.split(b"\n")
    index = rng.randrange(len(lines))
    line = lines[index]
    stripped = line.lstrip(b" ")
    indent = len(line) - len(stripped)
    lines[index] = (b"\t" * max(1, indent // 2) if rng.random() < 0.7 else b" \t") + stripped
    return b"\n".join(lines), _yaml_suffix(rng, suffix)


TAGS = (
    "!!python/object/apply:os.system ['true']", "!!python/name:os.system",
    "!!python/object:builtins.object {}", "!!binary aGVsbG8=", "!!set {a, b}",
    "!!omap [a: 1, b: 2]", "!!pairs [a: 1]", "!!timestamp 2001-12-14", "2001-12-14",
    "2001-12-14t21:59:43.10-05:00", "!!float nan", "!!int 0x1F", "!!int 0b", "!!str 3",
    "!custom x", "!<tag:yaml.org,2002:str> x", "!!null", "!!bool yes", "yes", "no", "on",
    "~", ".inf", "-.inf", ".nan", "0o17", "0x_1F", "1_000", "190:20:30", "!!map [1]",
    "!!seq {a: 1}", "!!merge x", "!!value x", "*undefined", "&anchor x", "? complex",
    "[a, b]: c", "{? [a]: b}", "!!float x", "!!int 1.5", "!!binary ***", "!!timestamp x",
)  # fmt: skip
_VALUE = re.compile(rb"(:[ \t]+)([^\n,{}\[\]]+)")


def yaml_tag(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    tag = rng.choice(TAGS).encode()
    spots = list(_VALUE.finditer(raw))
    if not spots or rng.random() < 0.15:
        return raw + b"\nextra: " + tag + b"\n", _yaml_suffix(rng, suffix)
    spot = rng.choice(spots)
    return raw[: spot.start(2)] + tag + raw[spot.end(2) :], _yaml_suffix(rng, suffix)


def _bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [lol]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines)


ALIASES = (
    _bomb(9, 9), _bomb(6, 10), _bomb(4, 3), "loop: &r [*r]", "loop: &r {a: *r}",
    "base: &b {id: x}\nmerged: {<<: *b, id: y}", "base: &b {id: x}\nmerged: {<<: [*b, *b]}",
    "x: *nope", "x: &a 1\ny: &a 2\nz: *a", "nodes: &n []\nedges: *n", "x: &a\n  <<: *a",
    "x: !!merge [1]", "deep: &d [[[[[[[[[[1]]]]]]]]]]\nmore: [*d, *d, *d, *d, *d, *d]",
)  # fmt: skip


def yaml_alias(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    piece = rng.choice(ALIASES).encode()
    choice = rng.randrange(3)
    if choice == 0:
        out = piece + b"\n" + raw
    elif choice == 1:
        out = raw + b"\n" + piece + b"\n"
    else:  # an anchored node given twice (a duplicated node id, by alias)
        out = raw.replace(b"- {id:", b"- &n {id:", 1) + b"\nalias: *n\n"
    return out, _yaml_suffix(rng, suffix)


_KEY_LINE = re.compile(rb"^([ ]*)(- )?([A-Za-z_]\w*):", re.M)


def duplicate_key(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    if suffix == ".json" or raw.lstrip().startswith((b"{", b"[")):
        spots = [m.end() for m in re.finditer(rb"\{", raw)]
        if spots:
            at = rng.choice(spots)
            key = rng.choice(_KEYS).encode()
            return raw[:at] + b'"' + key + b'": 1, "' + key + b'": 2, ' + raw[at:], suffix
    lines = raw.split(b"\n")
    spots = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
    if not spots:
        return raw + b"\nid: a\nid: b\n", suffix
    index = rng.choice(spots)
    match = _KEY_LINE.match(lines[index])
    assert match is not None
    indent = match.group(1) + (b"  " if match.group(2) else b"")
    lines.insert(index + 1, indent + match.group(3) + b": again")
    return b"\n".join(lines), suffix


def deep_text(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    """Nesting past the limit. YAML files nest at most 300 deep: PyYAML's scanner costs
    ~1 s on 1,000 open brackets (refused at 101 all the same), JSON's is quick at 100,000."""
    depth = rng.choice([99, 100, 101, 150, 1000, 100_000])
    choice = rng.randrange(5)
    if choice == 3:
        depth = min(depth, 300)
        text = "".join("  " * i + "- \n" for i in range(depth)).encode() + b"  " * depth + b"x"
        return text, _yaml_suffix(rng, suffix)
    if choice == 4:
        suffix = _yaml_suffix(rng, suffix)
    if suffix != ".json":
        depth = min(depth, 300)
    if choice == 0:
        return b"[" * depth + b"]" * depth, suffix
    if choice == 1:
        return b"[" * depth, suffix
    if choice == 2:
        return b'{"a":' * depth + b"1" + b"}" * depth, suffix
    return raw + b"\ndeep: " + b"[" * depth + b"]" * depth + b"\n", suffix


NUMBERS = (
    "1" * 5000, "-" + "9" * 4301, "9" * 4300, "0x" + "f" * 5000, "0x" + "f" * 3600, "1e999999",
    "-1e999999", "1" + "0" * 4300, "0b" + "1" * 20000, "1_" * 3000 + "1", "59:" * 1500 + "1",
    "59:" * 1300 + "1", "1" * 5000 + ".0", "-0", "0" * 5000, "1.5e-999999", "+1", "0o" + "7" * 5000,
)  # fmt: skip
_NUMBER = re.compile(rb"(?<![\w.\"'])-?\d+(?:\.\d+)?(?![\w.\"'])")


def huge_number(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    number = rng.choice(NUMBERS).encode()
    spots = list(_NUMBER.finditer(raw))
    if not spots:
        return raw + b"\nbig: " + number + b"\n", suffix
    spot = rng.choice(spots)
    return raw[: spot.start()] + number + raw[spot.end() :], suffix


def number_constants(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    constant = rng.choice([b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf", b".NaN"])
    spots = list(_NUMBER.finditer(raw))
    if not spots:
        return _insert(rng, raw, constant), suffix
    spot = rng.choice(spots)
    return raw[: spot.start()] + constant + raw[spot.end() :], suffix


_SPLICE = b"{}[],:\"'-?&*!|>%@`#\n\t \\" + bytes(range(0x20, 0x7F)) + b"\xc3\xa9\xff\x00"


def splice(rng: random.Random, raw: bytes, suffix: str) -> tuple[bytes, str]:
    start = rng.randrange(len(raw) + 1)
    end = min(len(raw), start + rng.randrange(20))
    piece = bytes(rng.choice(_SPLICE) for _ in range(rng.randrange(1, 12)))
    return raw[:start] + piece + raw[end:], suffix


TEXT_MUTATIONS: dict[str, TextMutation] = {
    f.__name__: f
    for f in (
        truncate, trailing_garbage, bom, invalid_utf8, nul_byte, control, tabs, yaml_tag,
        yaml_alias, duplicate_key, deep_text, huge_number, number_constants, splice,
    )
}  # fmt: skip


# --------------------------------------------------------------------------- from nothing


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, shaped now and then like our documents."""
    roll = rng.random()
    if depth > 5 or roll < 0.35:
        return rng.choice(_SCALARS) if rng.random() < 0.7 else rng.randint(-(10**20), 10**20)
    if roll < 0.6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    keys = rng.sample(_KEYS, rng.randrange(1, 6))
    return {key: random_value(rng, depth + 1) for key in keys}


def random_json(rng: random.Random) -> tuple[bytes, str]:
    if rng.random() < 0.25:  # token soup
        tokens = ["{", "}", "[", "]", ",", ":", '"id"', '"nodes"', "1", "-", "true", "null", '"']
        text = "".join(rng.choice(tokens) for _ in range(rng.randrange(1, 60)))
    else:
        text = json.dumps(random_value(rng), indent=rng.choice([None, 1, 2]))
    return text.encode(), rng.choice([".json", ".json", ".yaml"])


_YAML_PIECES = (
    "- ", ": ", "? ", "&a ", "*a ", "!x ", "|\n", ">\n", "%YAML 1.1\n", "---\n", "...\n",
    "{", "}", "[", "]", ",", "#", "'", '"', "\n", "  ", "nodes", "id",
)  # fmt: skip


def random_yaml(rng: random.Random) -> tuple[bytes, str]:
    if rng.random() < 0.3:  # indicator soup
        pieces = _YAML_PIECES
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 50)))
    else:
        text = yaml.safe_dump(
            random_value(rng),
            default_flow_style=rng.choice([None, True, False]),
            allow_unicode=rng.random() < 0.5,
            width=rng.choice([20, 80, 1000]),
        )
    return text.encode("utf-8", "surrogatepass"), rng.choice([".yaml", ".yml", ".yaml", ".json"])
