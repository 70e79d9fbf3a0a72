"""The statistics behind performance verdicts (compat/perf/stats.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compat.perf.stats import Summary, Verdict, bootstrap_interval, compare, loglog_slope


def test_summary_matches_numpy() -> None:
    data = [5.0, 1.0, 3.0, 2.0, 4.0, 100.0]
    summary = Summary.of(data)
    assert summary.n == 6
    assert summary.median == 3.5
    assert summary.p95 == pytest.approx(float(np.percentile(data, 95)))
    assert (summary.min, summary.max) == (1.0, 100.0)
    assert math.isnan(Summary.of([]).median)


def test_identical_values_are_parity_at_exactly_one() -> None:
    ratio = compare([2.0] * 10, [2.0] * 10)
    assert (ratio.median, ratio.low, ratio.high) == (1.0, 1.0, 1.0)
    assert ratio.verdict is Verdict.PARITY


@pytest.mark.parametrize(
    ("factor", "verdict"), [(2.0, Verdict.SLOWER), (0.5, Verdict.FASTER), (1.05, Verdict.PARITY)]
)
def test_a_clear_ratio_gets_its_verdict(factor: float, verdict: Verdict) -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(1.0, 0.01, 40)
    b = a * factor * rng.normal(1.0, 0.01, 40)
    ratio = compare(a, b)
    assert ratio.verdict is verdict
    assert ratio.low <= factor * 1.02 and ratio.high >= factor * 0.98


def test_a_ratio_straddling_the_band_is_inconclusive_and_says_how_many_runs() -> None:
    rng = np.random.default_rng(2)
    a = np.ones(12)
    b = rng.normal(1.12, 0.08, 12)  # around the upper band edge, noisy
    ratio = compare(a, b)
    assert ratio.verdict is Verdict.INCONCLUSIVE
    assert ratio.low < 1.10 < ratio.high
    assert ratio.runs_needed is not None and ratio.runs_needed > 12
    assert f"about {ratio.runs_needed} pairs" in ratio.note


def test_more_pairs_from_the_same_noise_narrow_the_interval() -> None:
    rng = np.random.default_rng(3)
    few = compare(np.ones(10), rng.normal(1.2, 0.1, 10))
    many = compare(np.ones(400), rng.normal(1.2, 0.1, 400))
    assert (many.high - many.low) < (few.high - few.low) / 3
    assert many.verdict is Verdict.SLOWER


def test_a_ratio_on_the_band_edge_cannot_be_decided() -> None:
    ratio = compare(np.ones(9), np.array([1.0, 1.05, 1.1, 1.1, 1.1, 1.1, 1.1, 1.15, 1.2]))
    assert ratio.verdict is Verdict.INCONCLUSIVE
    assert ratio.median == pytest.approx(1.1)
    assert ratio.runs_needed is None and "edge" in ratio.note


def test_nothing_on_both_sides_is_parity_and_nothing_on_one_is_undefined() -> None:
    assert compare([0.0] * 5, [0.0] * 5).verdict is Verdict.PARITY
    assert compare([0.0] * 5, [1.0] * 5).verdict is Verdict.UNDEFINED


def test_the_band_is_configurable() -> None:
    a, b = np.ones(30), np.full(30, 1.15)
    assert compare(a, b).verdict is Verdict.SLOWER
    assert compare(a, b, band=0.2).verdict is Verdict.PARITY


def test_the_bootstrap_is_reproducible() -> None:
    ratios = np.random.default_rng(4).normal(1.0, 0.1, 50)
    assert bootstrap_interval(ratios) == bootstrap_interval(ratios)


@pytest.mark.parametrize("exponent", [0.5, 1.0, 2.0])
def test_loglog_slope_recovers_the_exponent(exponent: float) -> None:
    sizes = [100, 200, 400, 800]
    assert loglog_slope(sizes, [3e-6 * n**exponent for n in sizes]) == pytest.approx(exponent)
