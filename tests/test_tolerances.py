"""Tolerances (compat/tolerances.py): defaults, layering, refusals that name their source and
field, configuration files, path patterns, number and string equality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compat.tolerances import DEFAULT_WEIGHTS, Tolerances, configured
from engines.config import load_config
from engines.errors import ConfigError


def refused(data: dict[str, Any], source: str = "fixtures/x.yaml") -> str:
    with pytest.raises(ConfigError) as info:
        Tolerances().override(data, source)
    return str(info.value)


# --------------------------------------------------------------------------- defaults


def test_defaults() -> None:
    tol = Tolerances()
    assert (tol.abs_tol, tol.rel_tol) == (0.0, 0.0)
    # JSON types and error messages are part of the result: compared unless relaxed.
    assert tol.strict_numeric_types is True and tol.compare_messages is True
    assert tol.ignore_paths == () and tol.unordered_paths == ()
    assert (tol.ignore_case, tol.normalize_whitespace) == (False, False)
    assert tol.policy == "equivalence"
    assert tol.error_codes == {}
    assert tol.weights == {
        "outcome": 0.30,
        "outputs": 0.25,
        "context": 0.15,
        "trace": 0.15,
        "errors": 0.15,
    }
    assert sum(tol.weights.values()) == pytest.approx(1.0)
    assert tol.threshold == 0.95
    assert tol.max_diffs >= 1 and tol.max_passes >= 1


def test_the_default_weights_are_not_shared_between_instances() -> None:
    first = Tolerances()
    first.weights["outputs"] = 99  # a dict is mutable even on a frozen model
    assert Tolerances().weights["outputs"] == 0.25
    assert DEFAULT_WEIGHTS["outputs"] == 0.25


def test_partial_weights_keep_the_other_defaults() -> None:
    assert Tolerances(weights={"trace": 0.5}).weights == {**DEFAULT_WEIGHTS, "trace": 0.5}
    # Zero for one dimension is fine while others still weigh.
    assert Tolerances(weights={"outputs": 0}).weights["outputs"] == 0
    assert Tolerances(weights={"replay": 0.2}).weights["replay"] == 0.2


def test_tolerances_are_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        Tolerances().abs_tol = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------- override


def test_override_lays_values_over_and_keeps_the_rest() -> None:
    base = Tolerances(abs_tol=0.1, ignore_case=True, threshold=0.9)
    tol = base.override({"abs_tol": 0.2, "compare_messages": True}, "a")
    assert (tol.abs_tol, tol.compare_messages) == (0.2, True)
    assert (tol.ignore_case, tol.threshold) == (True, 0.9)
    assert base.abs_tol == 0.1  # the original is untouched


def test_override_with_nothing_is_the_same_object() -> None:
    tol = Tolerances(abs_tol=0.5)
    assert tol.override(None, "a") is tol
    assert tol.override({}, "a") is tol


def test_weights_merge_key_by_key_across_layers() -> None:
    tol = (
        Tolerances()
        .override({"weights": {"trace": 0}}, "pyproject.toml")
        .override({"weights": {"outputs": 0.5}}, "compat.toml")
        .override({"weights": {"replay": 0.1}}, "fixture")
    )
    assert tol.weights == {**DEFAULT_WEIGHTS, "trace": 0, "outputs": 0.5, "replay": 0.1}


def test_lists_and_mappings_other_than_weights_replace() -> None:
    tol = Tolerances().override(
        {"ignore_paths": ["outputs.a", "outputs.b"], "error_codes": {"E1": "X"}}, "one"
    )
    tol = tol.override({"ignore_paths": ["outputs.c"], "error_codes": {"E2": "Y"}}, "two")
    assert tol.ignore_paths == ("outputs.c",)
    assert tol.error_codes == {"E2": "Y"}
    assert tol.ignored("outputs.c") and not tol.ignored("outputs.a")


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"abs_tolerance": 0.1}, "tolerances.abs_tolerance", ["unknown"]),
        ({"ignore_paths": ["re:(unclosed"]}, "tolerances.ignore_paths", ["re:(unclosed", "regex"]),
        ({"unordered_paths": ["re:[z-a]"]}, "tolerances.unordered_paths", ["regex"]),
        ({"weights": {"speed": 1}}, "tolerances.weights", ["unknown", "speed", "outcome"]),
        ({"weights": {"outputs": -0.1}}, "tolerances.weights", [">= 0"]),
        (
            {"weights": dict.fromkeys(("outcome", "outputs", "context", "trace", "errors"), 0)},
            "tolerances.weights",
            ["not all zero"],
        ),
        ({"weights": [1, 2]}, "tolerances.weights", []),
        ({"abs_tol": -1}, "tolerances.abs_tol", []),
        ({"rel_tol": "lots"}, "tolerances.rel_tol", []),
        ({"threshold": 1.5}, "tolerances.threshold", []),
        ({"max_diffs": 0}, "tolerances.max_diffs", []),
    ],
)
def test_bad_values_are_refused_naming_source_and_field(
    data: dict[str, Any], field: str, words: list[str]
) -> None:
    message = refused(data, "fixtures/bad.yaml")
    assert message.startswith("fixtures/bad.yaml: ")
    assert field in message
    for word in words:
        assert word in message


def test_every_bad_field_is_named_at_once() -> None:
    message = refused({"abs_tol": -1, "bogus": True})
    assert "tolerances.abs_tol" in message and "tolerances.bogus" in message


def test_all_zero_weights_are_refused_even_after_layering() -> None:
    tol = Tolerances().override(
        {"weights": {"outcome": 0, "outputs": 0, "context": 0, "trace": 0}}, "first"
    )
    assert tol.weights["errors"] == 0.15
    with pytest.raises(ConfigError, match=r"^second: tolerances\.weights: .*not all zero"):
        tol.override({"weights": {"errors": 0}}, "second")


# --------------------------------------------------------------------------- configuration files


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_configured_reads_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        "[project]\nname = 'x'\n\n"
        "[tool.compat.tolerances]\n"
        "abs_tol = 0.01\n"
        'ignore_paths = ["**.timestamp"]\n'
        "[tool.compat.tolerances.weights]\n"
        "trace = 0\n",
    )
    tol = configured(load_config(start=tmp_path))
    assert tol.abs_tol == 0.01
    assert tol.ignore_paths == ("**.timestamp",)
    assert tol.weights == {**DEFAULT_WEIGHTS, "trace": 0}


def test_compat_toml_wins_key_by_key(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        "[tool.compat.tolerances]\nabs_tol = 0.01\nthreshold = 0.9\nignore_case = true\n",
    )
    write(tmp_path / "compat.toml", "[tolerances]\nabs_tol = 0.5\nrel_tol = 0.1\n")
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    tol = configured(load_config(start=nested))  # found from a subdirectory
    assert tol.abs_tol == 0.5  # compat.toml wins
    assert tol.rel_tol == 0.1  # only in compat.toml
    assert (tol.threshold, tol.ignore_case) == (0.9, True)  # only in pyproject


def test_weights_merge_across_pyproject_and_compat_toml(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.compat.tolerances.weights]\ntrace = 0\n")
    write(tmp_path / "compat.toml", "[tolerances.weights]\noutputs = 0.5\n")
    tol = configured(load_config(start=tmp_path))
    assert tol.weights == {**DEFAULT_WEIGHTS, "trace": 0, "outputs": 0.5}


def test_no_tolerances_configured_gives_the_defaults(tmp_path: Path) -> None:
    write(tmp_path / "compat.toml", 'env = ["HOME"]\n')
    assert configured(load_config(start=tmp_path)) == Tolerances()


def test_a_bad_configured_tolerance_names_the_project_and_field(tmp_path: Path) -> None:
    write(tmp_path / "compat.toml", "[tolerances]\nweights = {latency = 1}\n")
    with pytest.raises(ConfigError) as info:
        configured(load_config(start=tmp_path))
    message = str(info.value)
    assert str(tmp_path) in message and "compat.toml" in message
    assert "tolerances.weights" in message and "latency" in message


def test_a_fixture_layer_over_the_configured_one(tmp_path: Path) -> None:
    write(
        tmp_path / "compat.toml", "[tolerances]\nabs_tol = 0.5\n[tolerances.weights]\ntrace = 0\n"
    )
    project = configured(load_config(start=tmp_path))
    tol = project.override({"weights": {"errors": 0.3}, "rel_tol": 0.2}, "fixtures/f.yaml")
    assert (tol.abs_tol, tol.rel_tol) == (0.5, 0.2)
    assert tol.weights == {**DEFAULT_WEIGHTS, "trace": 0, "errors": 0.3}


# --------------------------------------------------------------------------- path patterns


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("outputs.total", "outputs.total", True),
        ("outputs.total", "outputs.totals", False),
        ("outputs.total", "outputs.total.x", False),
        ("outputs.a.b", "outputsXaYb", False),  # dots are literal
        ("outputs.*", "outputs.a", True),
        ("outputs.*", "outputs.a.b", False),  # `*` does not cross dots
        ("outputs.*", "outputs[0]", False),  # nor match an index
        ("outputs.*.at", "outputs.a.at", True),
        ("outputs.*.at", "outputs.a.b.at", False),
        ("outputs.**", "outputs.a.b[3].c", True),  # `**` does
        ("outputs.**", "context.a", False),
        ("**.at", "at", True),
        ("**.at", "outputs.at", True),
        ("**.at", "context.nodes.fetch.items[0].at", True),
        ("**.at", "outputs.rows[1][2].at", True),
        ("**.at", 'outputs["a.b"].at', True),
        ("**.at", "outputs.flat", False),
        ("**.at", "outputs.at.x", False),
        ("outputs.**.id", "outputs.id", True),
        ("outputs.**.id", "outputs.items[0].meta.id", True),
        ("outputs.**.id", "context.vars.id", False),
        ("outputs.items[*].id", "outputs.items[12].id", True),
        ("outputs.items[*].id", "outputs.items.id", False),
        ("outputs[*]", 'outputs["odd key"]', True),
        ("re:^outputs\\.id_\\d+$", "outputs.id_12", True),
        ("re:^outputs\\.id_\\d+$", "outputs.id_x", False),
        ("re:_at$", "context.vars.created_at", True),  # a regex is searched, not prefixed
        ("re:^context\\.", "outputs.context.x", False),
    ],
)
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    tol = Tolerances(ignore_paths=[pattern], unordered_paths=[pattern])
    assert tol.ignored(path) is matches
    assert tol.unordered(path) is matches


def test_no_patterns_match_nothing() -> None:
    assert not Tolerances().ignored("outputs.x")
    assert not Tolerances().unordered("outputs.x")


def test_patterns_with_many_segments_stay_fast() -> None:
    tol = Tolerances(ignore_paths=["**.needle"])
    path = "outputs" + ".aaaaaaaaaaaaaaaaaaaa" * 200 + ".haystack"
    assert tol.ignored(path) is False  # no catastrophic backtracking
    assert tol.ignored(path[:-8] + "needle") is True


# --------------------------------------------------------------------------- equality


def test_numbers_equal_uses_the_larger_of_abs_and_rel() -> None:
    tol = Tolerances(abs_tol=0.5, rel_tol=0.1)
    assert tol.numbers_equal(1.0, 1.5)  # abs
    assert not tol.numbers_equal(1.0, 1.6)
    assert tol.numbers_equal(100.0, 110.0)  # rel: 10 <= 0.1 * 110
    assert not tol.numbers_equal(100.0, 111.2)
    assert Tolerances().numbers_equal(3, 3.0)
    assert not Tolerances().numbers_equal(0.1 + 0.2, 0.3)
    inf = float("inf")
    assert Tolerances(rel_tol=0.1).numbers_equal(inf, inf)


def test_normalise() -> None:
    assert Tolerances().normalise(" A  b ") == " A  b "
    assert Tolerances(normalize_whitespace=True).normalise(" A \n\t b ") == "A b"
    assert Tolerances(ignore_case=True).normalise(" A  B ") == " a  b "
    both = Tolerances(ignore_case=True, normalize_whitespace=True)
    assert both.normalise("  Hello\nWORLD ") == "hello world"
