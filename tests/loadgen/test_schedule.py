"""Arrival schedules: counts, mean rate, seeded determinism, stream interleaving."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypersync_slo.loadgen.schedule import Schedule

rates = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False)
durations = st.floats(min_value=0.5, max_value=20.0, allow_nan=False)


@given(rate=rates, duration=durations)
def test_uniform_count_is_rate_times_duration(rate: float, duration: float) -> None:
    """Evenly spaced arrivals number ceil(rate * duration), strictly inside [0, duration)."""
    offsets = list(Schedule(rate=rate, duration=duration).offsets())
    assert abs(len(offsets) - rate * duration) <= 1
    assert offsets[0] == 0.0
    assert all(0 <= o < duration for o in offsets)
    assert all(b > a for a, b in itertools.pairwise(offsets))


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(min_value=50.0, max_value=3000.0), seed=st.integers(0, 2**31))
def test_poisson_mean_rate_within_five_sigma(rate: float, seed: int) -> None:
    """A seeded Poisson plan's count lies within 5 standard deviations of rate * duration."""
    duration = 10.0
    n = sum(1 for _ in Schedule(rate=rate, duration=duration, kind="poisson", seed=seed).offsets())
    mean = rate * duration
    assert abs(n - mean) <= 5 * math.sqrt(mean)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), stream=st.integers(0, 3))
def test_poisson_is_deterministic_per_seed(seed: int, stream: int) -> None:
    """The same seed and stream give the same plan; another seed gives another plan."""
    plan = Schedule(rate=300, duration=2, kind="poisson", seed=seed, stream=stream, streams=4)
    again = Schedule(rate=300, duration=2, kind="poisson", seed=seed, stream=stream, streams=4)
    other = Schedule(rate=300, duration=2, kind="poisson", seed=seed + 1, stream=stream, streams=4)
    assert list(plan.offsets()) == list(again.offsets())
    assert list(plan.offsets()) != list(other.offsets())


@given(rate=st.floats(min_value=10.0, max_value=2000.0), streams=st.integers(1, 6))
def test_uniform_streams_interleave_into_the_whole_plan(rate: float, streams: int) -> None:
    """The union of N uniform streams is exactly the single-stream plan."""
    whole = list(Schedule(rate=rate, duration=3).offsets())
    union = sorted(
        o
        for i in range(streams)
        for o in Schedule(rate=rate, duration=3, stream=i, streams=streams).offsets()
    )
    assert union == pytest.approx(whole)


def test_count_until_walks_the_plan() -> None:
    """count_until gives the number of arrivals due before an elapsed time."""
    plan = Schedule(rate=100, duration=5)
    assert plan.count_until(1.0) == 100
    assert plan.count_until(99.0) == 500


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0, "duration": 1}, "rate must be a positive"),
        ({"rate": 1, "duration": -1}, "duration must be a positive"),
        ({"rate": 1, "duration": 1, "kind": "bursty"}, "arrival kind must be one of"),
        ({"rate": 1, "duration": 1, "stream": 2, "streams": 2}, "not a valid stream index"),
    ],
)
def test_bad_schedules_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Impossible schedules raise with a message naming the bad field."""
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)  # type: ignore[arg-type]
