"""The HDR latency histogram: nearest-rank percentiles within 0.1 %, merge is the union."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from hypersync_slo.loadgen.histogram import (
    HIGHEST_US,
    LOWEST_US,
    RELATIVE_RESOLUTION,
    SIGNIFICANT_FIGURES,
    LatencyHistogram,
    to_micros,
)

QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.999, 1.0)


def nearest_rank(sorted_us: np.ndarray, q: float) -> int:
    """The ceil(q * n)-th smallest sample (1-based nearest rank)."""
    rank = max(1, math.ceil(q * len(sorted_us) - 1e-9))
    return int(sorted_us[rank - 1])


def assert_within_resolution(hist: LatencyHistogram, samples: np.ndarray) -> None:
    """Each quantile is the true nearest-rank sample, at most one bucket (0.1 % + 1 µs) above."""
    micros = np.sort(np.array([to_micros(s) for s in samples]))
    for q, got in zip(QUANTILES, hist.quantiles(QUANTILES), strict=True):
        assert got is not None
        true = nearest_rank(micros, q)
        got_us = round(got * 1e6)
        assert true <= got_us <= true * (1 + RELATIVE_RESOLUTION) + 1, (q, true, got_us)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 3000),
    sigma=st.floats(min_value=0.1, max_value=3.0),
)
def test_percentiles_match_numpy_within_resolution(seed: int, n: int, sigma: float) -> None:
    """Percentiles of random log-normal samples match numpy's nearest rank within 0.1 %."""
    samples = np.random.default_rng(seed).lognormal(mean=-5.0, sigma=sigma, size=n)
    assert_within_resolution(LatencyHistogram.of(list(samples)), samples)


def test_large_sample_and_tail() -> None:
    """100 000 samples with a 2 % slow tail: p95 fast, p99 slow, exact to 0.1 %."""
    rng = np.random.default_rng(7)
    samples = np.concatenate(
        [rng.normal(0.002, 0.0003, 98_000).clip(1e-5), 0.6 + rng.random(2000) * 0.01]
    )
    rng.shuffle(samples)
    hist = LatencyHistogram.of(list(samples))
    assert_within_resolution(hist, samples)
    summary = hist.summary()
    assert summary["samples"] == 100_000
    assert summary["p95"] is not None
    assert summary["p95"] < 0.01
    assert summary["p99"] is not None
    assert summary["p99"] > 0.6


@settings(max_examples=25, deadline=None)
@given(
    a=st.lists(st.floats(min_value=1e-6, max_value=100.0), min_size=0, max_size=300),
    b=st.lists(st.floats(min_value=1e-6, max_value=100.0), min_size=0, max_size=300),
)
def test_merge_is_the_union(a: list[float], b: list[float]) -> None:
    """Merging two histograms equals the histogram of both sample lists."""
    merged = LatencyHistogram.of(a).merge(LatencyHistogram.of(b))
    union = LatencyHistogram.of(a + b)
    assert merged.count == union.count == len(a) + len(b)
    assert merged.summary() == union.summary()
    assert merged.min == union.min


@settings(max_examples=25, deadline=None)
@given(samples=st.lists(st.floats(min_value=1e-6, max_value=3000.0), min_size=1, max_size=200))
def test_percentiles_are_ordered_and_bounded_by_max(samples: list[float]) -> None:
    """p50 <= p95 <= p99 <= p99.9 <= max, whatever the samples."""
    s = LatencyHistogram.of(samples).summary()
    values = [s["p50"], s["p95"], s["p99"], s["p999"], s["max"]]
    assert all(isinstance(v, float) for v in values)
    assert values == sorted(values)  # type: ignore[type-var]


def test_encode_decode_round_trip() -> None:
    """encode/decode keep every count, the exact max and min; empty stays empty."""
    hist = LatencyHistogram.of([0.001, 0.002, 0.5, 3.25])
    back = LatencyHistogram.decode(hist.encode())
    assert back.summary() == hist.summary()
    assert back.max == 3.25
    assert back.min == 0.001
    assert LatencyHistogram.decode("").count == 0
    assert LatencyHistogram().summary()["p99"] is None


def test_decode_garbage_raises() -> None:
    """A string that is not an encoded histogram raises ValueError saying so."""
    with pytest.raises(ValueError, match="not an encoded latency histogram"):
        LatencyHistogram.decode("nonsense")


def test_out_of_range_values_are_clamped() -> None:
    """Values beyond 1 h are kept at the top of the range, zero at the bottom."""
    hist = LatencyHistogram.of([0.0, 7200.0])
    assert hist.count == 2
    assert hist.max == 3600.0
    with pytest.raises(ValueError, match="NaN"):
        hist.record(float("nan"))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(min_value=-5, max_value=4_000_000_000), min_size=1, max_size=200)
)
def test_fast_record_puts_each_value_where_hdrhistogram_does(values: list[int]) -> None:
    """The inlined bucket index equals HdrHistogram.record_value's, over the whole range."""
    ours = LatencyHistogram()
    theirs = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
    for value in values:
        ours.record_micros(value)
        theirs.record_value(max(LOWEST_US, min(HIGHEST_US, value)))
    hdr = ours._synced()  # the HdrHistogram as every reader sees it (total, min, max set)
    assert list(hdr.counts) == list(theirs.counts)
    assert (hdr.total_count, hdr.min_value, hdr.max_value) == (
        theirs.total_count,
        theirs.min_value,
        theirs.max_value,
    )
    assert ours.encode().split(":", 2)[2] == theirs.encode().decode("ascii")


def test_reset_forgets_everything_and_records_again() -> None:
    """After reset (one memset) the histogram is empty, encodes empty, and records afresh."""
    hist = LatencyHistogram.of([0.001, 0.5, 3.0])
    hist.reset()
    assert (hist.count, hist.max, hist.min, hist.encode()) == (0, None, None, "")
    assert not any(hist._hdr.counts)
    hist.record(0.002)
    assert hist.summary()["samples"] == 1
    assert hist.quantile(1.0) == pytest.approx(0.002, rel=RELATIVE_RESOLUTION)
