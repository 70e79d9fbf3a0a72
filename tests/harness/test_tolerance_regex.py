"""Tolerance path patterns are compiled with RE2 (compat/tolerances.py): a catastrophic
pattern cannot stall a comparison, and one RE2 refuses is a ConfigError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_words, write

from compat.tolerances import Tolerances, configured
from engines.config import load_config
from engines.errors import ConfigError

CATASTROPHIC = ["re:(a+)+$", "re:^(a|a)*$", "re:(a|aa)+b", "re:^(\\w+\\s?)*$"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_a_catastrophic_pattern_matches_a_long_path_in_linear_time(pattern: str) -> None:
    tol = Tolerances(ignore_paths=[pattern], unordered_paths=[pattern])
    hostile = "outputs." + "a" * 200_000 + "!"  # exponential for a backtracking engine
    assert tol.ignored(hostile) is False
    assert tol.unordered(hostile) is False


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("re:(a)\\1", "escape"),  # a backreference
        ("re:(?=outputs)", "perl operator"),  # lookahead
        ("re:a{1000}{1000}", "repetition"),
        ("re:(unclosed", "missing )"),
    ],
)
def test_a_pattern_re2_refuses_is_a_config_error_naming_it(
    tmp_path: Path, pattern: str, why: str
) -> None:
    write(tmp_path / "compat.toml", f"[tolerances]\nignore_paths = ['{pattern}']\n")
    with pytest.raises(ConfigError) as info:
        configured(load_config(start=tmp_path))
    message = str(info.value)
    assert_words(message, "compat.toml", "tolerances.ignore_paths", repr(pattern), why, "RE2")


def test_globs_and_ordinary_regexes_still_match() -> None:
    tol = Tolerances(ignore_paths=["**.at", "outputs.items[*].id", "re:^context\\.vars\\.n_\\d+$"])
    assert tol.ignored("context.nodes.fetch.items[0].at")
    assert tol.ignored("outputs.items[12].id")
    assert tol.ignored("context.vars.n_42")
    assert not tol.ignored("context.vars.n_x")
    assert not tol.ignored("outputs.at.x")


def test_literal_characters_of_a_glob_are_literal() -> None:
    tol = Tolerances(ignore_paths=['outputs["a b-c&#~"].x'])
    assert tol.ignored('outputs["a b-c&#~"].x')
    assert not tol.ignored('outputs["a b-c&#"].x')
