"""The KPI math: quantiles from buckets, exact threshold verdicts, ratios, counters."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypersync_slo.report import kpis

QS = (0.5, 0.95, 0.99, 0.999)


def buckets_of(counts: Mapping[float | str, float]) -> kpis.Buckets:
    """Buckets from ``{le: cumulative count}`` with float or text bounds (``"+Inf"``)."""
    return kpis.Buckets.from_mapping(counts)


@st.composite
def bucket_sets(draw: st.DrawFn) -> kpis.Buckets:
    """Any valid cumulative histogram: ascending bounds, non-decreasing counts, +Inf last."""
    bounds = draw(
        st.lists(
            st.floats(min_value=1e-4, max_value=100.0, allow_nan=False),
            min_size=1,
            max_size=15,
            unique=True,
        )
    )
    bounds.sort()
    increments = draw(
        st.lists(
            st.integers(min_value=0, max_value=10_000),
            min_size=len(bounds) + 1,
            max_size=len(bounds) + 1,
        )
    )
    counts, running = [], 0
    for inc in increments:
        running += inc
        counts.append(float(running))
    return kpis.Buckets.from_mapping(dict(zip([*bounds, math.inf], counts, strict=True)))


@settings(max_examples=300, deadline=None)
@given(bucket_sets())
def test_quantiles_are_ordered(buckets: kpis.Buckets) -> None:
    """p50 <= p95 <= p99 <= p99.9 for any valid bucket set."""
    estimates = [kpis.bucket_quantile(buckets, q) for q in QS]
    if buckets.total == 0:
        assert all(e is None for e in estimates)
        return
    values = [e.value for e in estimates if e is not None]
    assert len(values) == 4
    assert values == sorted(values)


@settings(max_examples=300, deadline=None)
@given(bucket_sets(), st.sampled_from(QS))
def test_estimate_lies_in_its_bucket(buckets: kpis.Buckets, q: float) -> None:
    """Each estimate lies between the bucket bounds it reports, and the bucket holds the rank."""
    estimate = kpis.bucket_quantile(buckets, q)
    if estimate is None:
        return
    assert estimate.lower <= estimate.value <= estimate.upper
    if not estimate.in_overflow:
        assert buckets.count_at(estimate.upper) >= q * buckets.total  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(bucket_sets(), st.sampled_from(QS), st.data())
def test_threshold_verdict_matches_histogram_quantile(
    buckets: kpis.Buckets, q: float, data: st.DataObject
) -> None:
    """At a bucket boundary the exact verdict agrees with histogram_quantile <= threshold."""
    if buckets.total == 0:
        return
    threshold = data.draw(st.sampled_from(buckets.finite_bounds))
    within = kpis.quantile_within(buckets, q, threshold)
    estimate = kpis.bucket_quantile(buckets, q)
    assert within is not None
    assert estimate is not None
    if within:
        assert estimate.value <= threshold * (1 + 1e-12)
    else:
        assert estimate.value > threshold * (1 - 1e-12)


def test_quantile_matches_prometheus_example() -> None:
    """The interpolation follows Prometheus's rule (prometheus docs: 220 ms bunch -> p95 295 ms)."""
    buckets = buckets_of({0.1: 0, 0.2: 0, 0.3: 1000, 0.45: 1000, "+Inf": 1000})
    estimate = kpis.bucket_quantile(buckets, 0.95)
    assert estimate is not None
    assert estimate.value == pytest.approx(0.295)
    assert (estimate.lower, estimate.upper) == (0.2, 0.3)


def test_quantile_in_overflow_bucket_is_highest_finite_bound() -> None:
    """A rank in +Inf returns the highest finite bound, flagged as a lower limit."""
    buckets = buckets_of({0.1: 10, 0.5: 20, "+Inf": 100})
    estimate = kpis.bucket_quantile(buckets, 0.99)
    assert estimate is not None
    assert estimate.value == 0.5
    assert estimate.in_overflow


def test_exact_threshold_counts_the_boundary_as_within() -> None:
    """Exactly 95 % at or below le=0.1 passes p95 <= 100 ms (le is inclusive)."""
    buckets = buckets_of({0.05: 50, 0.1: 95, 0.5: 100, "+Inf": 100})
    assert kpis.quantile_within(buckets, 0.95, 0.1) is True
    assert kpis.quantile_within(buckets, 0.96, 0.1) is False


def test_threshold_off_bucket_decided_only_when_neighbours_agree() -> None:
    """Off a bucket boundary the verdict is given only when both neighbours agree, else None."""
    buckets = buckets_of({0.05: 96, 0.25: 97, "+Inf": 100})
    assert kpis.quantile_within(buckets, 0.95, 0.1) is True  # 96 % already below 0.05
    assert kpis.quantile_within(buckets, 0.99, 0.1) is False  # only 97 % even below 0.25
    assert kpis.quantile_within(buckets, 0.965, 0.1) is None


def test_invalid_or_empty_histograms_give_no_estimate() -> None:
    """No +Inf bucket, a single bucket or zero observations: nothing to estimate."""
    assert kpis.bucket_quantile(buckets_of({0.1: 5, 0.5: 9}), 0.5) is None
    assert kpis.bucket_quantile(buckets_of({"+Inf": 9}), 0.5) is None
    assert kpis.bucket_quantile(buckets_of({0.1: 0, "+Inf": 0}), 0.5) is None


def test_non_finite_bucket_counts_are_dropped_and_counted() -> None:
    """NaN and ±Inf bucket counts are dropped, counted, and the rest stays monotonic."""
    buckets = buckets_of({0.1: math.nan, 0.25: 40.0, 0.5: math.inf, 1.0: 30.0, "+Inf": 50.0})
    assert buckets.dropped == 2
    assert buckets.bounds == (0.25, 1.0, math.inf)
    assert buckets.counts == (40.0, 40.0, 50.0)


@given(
    st.dictionaries(
        st.sampled_from(["200", "201", "404", "500", "503", "502", ""]),
        st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_error_and_success_ratios_are_in_unit_interval(counts: dict[str, float]) -> None:
    """Error and success rates lie in [0, 1] and add up to 1, whatever the counts."""
    errors = kpis.error_share(counts)
    success = kpis.success_share(errors)
    if errors.value is None:
        assert success.value is None
        return
    assert 0.0 <= errors.value <= 1.0
    assert success.value is not None
    assert 0.0 <= success.value <= 1.0
    assert errors.value + success.value == pytest.approx(1.0)


def test_error_share_counts_only_5xx() -> None:
    """4xx are not errors; 5xx are."""
    ratio = kpis.error_share({"200": 900, "404": 50, "500": 30, "503": 20})
    assert (ratio.part, ratio.total, ratio.value) == (50, 1000, 0.05)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True)))
def test_availability_share_in_unit_interval(samples: list[float]) -> None:
    """Availability from 0/1 samples is in [0, 1]; non-finite samples are dropped."""
    ratio = kpis.availability_share(samples)
    assert ratio.value is None or 0.0 <= ratio.value <= 1.0
    assert ratio.total + ratio.dropped == len(samples)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=50),
            st.lists(st.integers(min_value=0, max_value=1000), max_size=20),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_counter_increase_counts_through_resets(processes: list[tuple[int, list[int]]]) -> None:
    """Growth across restarts equals what each process counted, resets included."""
    values: list[float] = []
    expected = 0.0
    for index, (first, increments) in enumerate(processes):
        if index > 0:
            if not values or first >= values[-1]:
                continue  # not detectable as a reset: skip this restart in the scenario
            expected += first  # the new process counted `first` since it started at 0
        value = float(first)
        values.append(value)
        for inc in increments:
            value += inc
            values.append(value)
            expected += inc
    assert kpis.counter_increase(values) == expected


def test_counter_increase_skips_nan_and_inf() -> None:
    """NaN and Inf samples (a gap, a bad scrape) are skipped, not added."""
    assert kpis.counter_increase([1.0, math.nan, 5.0, math.inf, 7.0, 2.0]) == 8.0


def test_throughput_and_worst_subwindow() -> None:
    """Throughput over the window, and the worst 60 s sub-window only from points inside it."""
    assert kpis.throughput(60_000, 60) == 1000
    assert kpis.throughput(0, 60) is None
    rates = pd.Series(
        [5.0, 900.0, 1100.0, 800.0, math.nan, 1000.0], index=[50, 60, 70, 80, 90, 120]
    )
    assert kpis.worst_subwindow(rates, 0.0, 120.0) == 800.0
    assert kpis.worst_subwindow(rates, 0.0, 59.0) is None
    assert kpis.worst_subwindow(rates, 0.0, 75.0) == 900.0


def test_budget_used_is_cumulative_share_of_allowed_errors() -> None:
    """Budget use is cumulative errors over allowed errors at each point."""
    requests = pd.Series([1000.0, 1000.0], index=[1.0, 2.0])
    errors = pd.Series([0.0, 2.0], index=[1.0, 2.0])
    used = kpis.budget_used(errors, requests, 0.001)
    assert list(used) == [0.0, 1.0]


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=1.0, max_value=120.0, allow_nan=False),
            st.floats(min_value=0.0, max_value=1e5, allow_nan=False),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_subwindows_tile_the_window_and_bracket_its_average(
    parts: list[tuple[float, float]],
) -> None:
    """Parts add up to the whole: the worst part's rate <= the window's average <= the best's."""
    cumulative = [(0.0, 0.0)]
    for length, requests in parts:
        cumulative.append((cumulative[-1][0] + length, cumulative[-1][1] + requests))
    found = kpis.subwindows(cumulative)
    total, seconds = cumulative[-1][1], cumulative[-1][0]
    assert sum(p.requests for p in found) == pytest.approx(total)
    average = total / seconds
    assert min(p.rate for p in found) <= average * (1 + 1e-9) + 1e-9
    assert max(p.rate for p in found) >= average * (1 - 1e-9) - 1e-9


def test_counter_history_counts_from_its_baseline_through_a_reset() -> None:
    """Baseline 100, then 400, a restart (50), 350: 300 + 50 + 300 by the end, 300 by t=2."""
    history = kpis.CounterHistory(100.0, ((1.0, 400.0), (2.0, 50.0), (3.0, 350.0)))
    assert history.growth_until(3.0) == 650.0
    assert history.growth_until(1.5) == 300.0
    assert kpis.CounterHistory(None, ((2.0, 7.0),)).growth_until(3.0) == 7.0  # created: from 0


def test_a_restart_known_from_the_process_start_counts_all_of_the_new_value() -> None:
    """A new process already past the old count at its first scrape: still all growth."""
    samples = ((1.0, 5.0), (2.0, 40.0), (3.0, 45.0))
    assert kpis.CounterHistory(2.0, samples).growth_until(3.0) == 43.0  # seen as plain growth
    restarted = kpis.CounterHistory(2.0, samples, frozenset({2.0}))
    assert restarted.growth_until(3.0) == 3.0 + 40.0 + 5.0
    # Restarted at 1.5, the series reappearing only at its next sample: the same.
    assert kpis.CounterHistory(2.0, samples, frozenset({1.5})).growth_until(3.0) == 48.0


def test_count_at_prefers_the_exact_bound_over_a_near_twin() -> None:
    """Two bounds a rounding step apart: count_at returns the bucket asked for, not its twin."""
    buckets = buckets_of({99.99999999999999: 3.0, 100.0: 7.0, "+Inf": 7.0})
    assert buckets.count_at(100.0) == 7.0
    assert buckets.count_at(99.99999999999999) == 3.0
    estimate = kpis.bucket_quantile(buckets, 0.99)
    assert estimate is not None
    assert buckets.count_at(estimate.upper) >= 0.99 * buckets.total  # type: ignore[operator]
