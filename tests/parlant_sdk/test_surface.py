"""(a) The fake `parlant.sdk` (tests/fakes/parlant) against the installed SDK's API surface.

Compared: every public name of the fake exists in the SDK as the same kind of thing; the
signatures of what the export and the fake share (parameter names, kinds, positions and which
are required: the fake may leave out optional parameters the export does not pass, and may
require what the SDK makes optional, never the reverse); which journey states have `fork()`;
the attributes the fake's tests read; and, parsed from every bundled workflow's exported
script, every `p.NAME`, method and keyword the export actually uses.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.parlant_sdk.sdk_probes import Parameter, describe, make_tool
from tests.parlant_sdk.support import FAKES, ask_real_sdk, exported, forget_parlant

pytestmark = pytest.mark.needs_parlant

#: The SDK's journey state classes and the fake's state kinds they stand for.
STATE_CLASSES = {
    "InitialJourneyState": "initial",
    "ChatJourneyState": "chat",
    "ToolJourneyState": "tool",
    "ForkJourneyState": "fork",
}
#: (fake, real) callables whose signatures must agree.
SIGNATURES = [
    ("tool", "tool"),
    ("ToolContext", "ToolContext"),
    ("ToolResult", "ToolResult"),
    ("Agent.create_journey", "Agent.create_journey"),
    *[("JourneyState.transition_to", f"{cls}.transition_to") for cls in STATE_CLASSES],
    ("JourneyState.fork", "ChatJourneyState.fork"),
    ("JourneyState.fork", "ToolJourneyState.fork"),
]
#: Attributes the fake's tests (and a reader of a built journey) read, by the SDK's class.
ATTRIBUTES = {
    "Journey": ["title", "description", "conditions", "states", "initial_state"],
    "JourneyTransition": ["source", "target", "condition"],
    "ToolEntry": ["function"],
    "ToolResult": ["data"],
}
#: The methods and attributes an exported script may use on SDK objects, by the SDK's class
#: that has them (a use outside these tables fails: add it here, and to the fake).
METHODS = {
    "create_journey": ["Agent"],
    "transition_to": list(STATE_CLASSES),
    "fork": ["ChatJourneyState", "ToolJourneyState"],
}
READS = {"initial_state": ["Journey"], "target": ["JourneyTransition"]}


@pytest.fixture(scope="module")
def fake() -> Iterator[ModuleType]:
    """The fake `parlant.sdk`, importable as `parlant.sdk` for this module's tests only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FAKES))
        forget_parlant()
        import parlant.sdk as module

        yield module
    forget_parlant()


def fake_names(fake: ModuleType) -> list[str]:
    """The fake's public names that stand for the SDK's (not its own helpers, not imports)."""
    return sorted(
        name
        for name, value in vars(fake).items()
        if not name.startswith("_")
        and name not in fake.FAKE_ONLY
        and getattr(value, "__module__", None) == fake.__name__
    )


@pytest.fixture(scope="module")
def real(fake: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The installed SDK's description of every name compared here."""
    names = set(fake_names(fake)) | {real for _, real in SIGNATURES} | set(STATE_CLASSES)
    names |= set(ATTRIBUTES) | {
        c for owners in [*METHODS.values(), *READS.values()] for c in owners
    }
    names |= {f"{c}.fork" for c in STATE_CLASSES} | {"JourneyState.transition_to"}
    answer = ask_real_sdk("surface", {"names": sorted(names)}, tmp_path_factory.mktemp("surface"))
    return answer


def signature_differences(fake: list[Parameter], real: list[Parameter]) -> list[str]:
    """What makes a call the fake accepts differ from what the SDK accepts."""
    out: list[str] = []
    real_by_name = {p[0]: (i, p) for i, p in enumerate(real)}
    fake_names_ = {p[0] for p in fake}
    for position, (name, kind, required) in enumerate(fake):
        if name not in real_by_name:
            out.append(f"parameter {name!r}: the SDK has none (it has {[p[0] for p in real]})")
            continue
        real_position, (_, real_kind, real_required) = real_by_name[name]
        if kind != real_kind:
            out.append(f"parameter {name!r}: {kind} in the fake, {real_kind} in the SDK")
        elif kind.startswith("POSITIONAL") and position != real_position:
            out.append(f"parameter {name!r}: position {position} in the fake, {real_position}")
        if real_required and not required:
            out.append(f"parameter {name!r}: required by the SDK, optional in the fake")
    for name, _, required in real:
        if required and name not in fake_names_:
            out.append(f"parameter {name!r}: required by the SDK, missing from the fake")
    return out


# ---------------------------------------------------------------- names and signatures


def test_the_installed_sdk_is_3x(real: dict[str, Any]) -> None:
    assert real["version"].split(".")[0] == "3", real["version"]


def test_every_name_of_the_fake_is_the_sdks(fake: ModuleType, real: dict[str, Any]) -> None:
    names = fake_names(fake)
    assert {"Agent", "END_JOURNEY", "ToolContext", "ToolResult", "tool"} <= set(names)
    differences = []
    for name in names:
        theirs = real["names"][name]
        ours = describe(fake, name)
        if not theirs["exists"]:
            differences.append(f"{name}: the SDK has no such name")
        elif ours["what"] != theirs["what"]:
            differences.append(f"{name}: {ours['what']} in the fake, {theirs['what']} in the SDK")
    assert not differences, "the fake differs from the installed SDK:\n" + "\n".join(differences)


@pytest.mark.parametrize(("ours", "theirs"), SIGNATURES, ids=[f"{a}~{b}" for a, b in SIGNATURES])
def test_signatures_agree(fake: ModuleType, real: dict[str, Any], ours: str, theirs: str) -> None:
    described = real["names"][theirs]
    assert described["exists"], f"the SDK has no {theirs}"
    fake_parameters = describe(fake, ours).get("parameters")
    assert fake_parameters is not None, f"the fake has no callable {ours}"
    real_parameters = [tuple(p) for p in described["parameters"]]
    differences = signature_differences(fake_parameters, real_parameters)  # type: ignore[arg-type]
    assert not differences, f"fake {ours} vs SDK {theirs}:\n" + "\n".join(differences)


def test_the_signature_comparison_catches_drift() -> None:
    """The rules above, on made-up signatures (so that they can fail)."""
    real = [("self", "POSITIONAL_OR_KEYWORD", True), ("title", "POSITIONAL_OR_KEYWORD", True)]
    real += [("labels", "KEYWORD_ONLY", False)]
    assert signature_differences(real[:2], real) == []
    renamed = [real[0], ("name", "POSITIONAL_OR_KEYWORD", True)]
    assert len(signature_differences(renamed, real)) == 2  # unknown 'name', missing 'title'
    optional = [real[0], ("title", "POSITIONAL_OR_KEYWORD", False)]
    assert signature_differences(optional, real) == [
        "parameter 'title': required by the SDK, optional in the fake"
    ]
    keyword = [real[0], real[1], ("labels", "POSITIONAL_OR_KEYWORD", False)]
    assert signature_differences(keyword, real) == [
        "parameter 'labels': POSITIONAL_OR_KEYWORD in the fake, KEYWORD_ONLY in the SDK"
    ]


def test_fork_is_on_exactly_the_states_the_fake_forks_from(
    fake: ModuleType, real: dict[str, Any]
) -> None:
    forkable = {
        kind for cls, kind in STATE_CLASSES.items() if real["names"][f"{cls}.fork"]["exists"]
    }
    assert forkable == set(fake.FORKABLE), (
        f"the SDK's states with fork(): {sorted(forkable)}; the fake's: {sorted(fake.FORKABLE)}"
    )
    for cls in STATE_CLASSES:
        assert real["names"][f"{cls}.transition_to"]["exists"], cls
    # END_JOURNEY is a plain JourneyState: no transitions from it (the fake refuses them).
    assert real["names"]["END_JOURNEY"]["what"] == "instance of JourneyState"
    assert not real["names"]["JourneyState.transition_to"]["exists"]


def test_what_the_fake_is_read_for_exists_on_the_sdk(
    fake: ModuleType, real: dict[str, Any]
) -> None:
    async def built() -> dict[str, Any]:
        journey = await fake.Agent().create_journey("T", "d", ["the customer says hi"])
        transition = await journey.initial_state.transition_to(chat_state="hello")

        entry = await make_tool(fake)
        result = fake.ToolResult(data=1)
        return {
            "Journey": journey,
            "JourneyTransition": transition,
            "ToolEntry": entry,
            "ToolResult": result,
        }

    instances = asyncio.run(built())
    missing = []
    for cls, attributes in ATTRIBUTES.items():
        for attribute in attributes:
            if attribute not in real["names"][cls]["attributes"]:
                missing.append(f"the SDK's {cls} has no {attribute}")
            if not hasattr(instances[cls], attribute):
                missing.append(f"the fake's {cls} has no {attribute}")
    assert not missing, "\n".join(missing)


# ---------------------------------------------------------------- what the export uses


class _Uses(ast.NodeVisitor):
    """`p.NAME`s, method calls (name, keywords, positional count) and attribute reads of a
    script."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.calls: list[tuple[str, frozenset[str], int]] = []
        self.reads: set[str] = set()
        self._called: set[int] = set()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and not (
            isinstance(func.value, ast.Name) and func.value.id == "p"
        ):
            self._called.add(id(func))
            self.calls.append(
                (func.attr, frozenset(k.arg or "**" for k in node.keywords), len(node.args))
            )
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id == "p":
            self.names.add(node.attr)
        elif id(node) not in self._called:
            self.reads.add(node.attr)
        self.generic_visit(node)


def export_uses() -> _Uses:
    uses = _Uses()
    for code in exported().values():
        uses.visit(ast.parse(code))
    return uses


def test_every_name_the_export_uses_is_the_sdks_and_the_fakes(
    fake: ModuleType, real: dict[str, Any]
) -> None:
    uses = export_uses()
    assert {"tool", "ToolContext", "ToolResult", "Agent", "Journey", "END_JOURNEY"} <= uses.names
    unknown = [
        n for n in sorted(uses.names) if n not in real["names"] or not real["names"][n]["exists"]
    ]
    assert not unknown, (
        f"the export uses p.{unknown}, which the installed SDK lacks (or add them here)"
    )
    assert not [n for n in uses.names if not hasattr(fake, n)], (
        "the fake lacks a name the export uses"
    )


def test_every_method_and_keyword_the_export_uses_is_accepted(
    fake: ModuleType, real: dict[str, Any]
) -> None:
    uses = export_uses()
    assert {c[0] for c in uses.calls} == {"create_journey", "transition_to", "fork"}
    assert uses.reads == set(READS), f"attribute reads outside the surface: {uses.reads}"
    problems: set[str] = set()
    for method, keywords, positional in uses.calls:
        if method not in METHODS:
            problems.add(f".{method}(): not in METHODS; add it (and to the fake)")
            continue
        fake_method = (
            "Agent.create_journey" if method == "create_journey" else f"JourneyState.{method}"
        )
        fake_params = {p[0] for p in describe(fake, fake_method)["parameters"] or []}
        for owner in METHODS[method]:
            real_params = real["names"][f"{owner}.{method}"]["parameters"]
            names = {p[0] for p in real_params}
            for keyword in sorted(keywords - names):
                problems.add(f"{owner}.{method}(): the SDK takes no {keyword!r}")
            positional_slots = [p for p in real_params[1:] if p[1] == "POSITIONAL_OR_KEYWORD"]
            if positional > len(positional_slots):
                problems.add(f"{owner}.{method}(): {positional} positional arguments")
        for keyword in sorted(keywords - fake_params):
            problems.add(f"fake {fake_method}(): takes no {keyword!r}")
    for attribute, owners in READS.items():
        for owner in owners:
            if attribute not in real["names"][owner]["attributes"]:
                problems.add(f"the SDK's {owner} has no {attribute}")
    assert not problems, "\n".join(sorted(problems))
