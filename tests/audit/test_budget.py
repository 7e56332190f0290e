"""Error-budget math (pure): Hypothesis invariants and worked examples."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypersync_slo.audit.budget import (
    BURN_RATE_WINDOWS,
    BurnRate,
    Day,
    ErrorBudget,
    allowed_ratio,
    burn_rate,
    compliance_event_based,
    compliance_time_slice_based,
    coverage,
    time_to_exhaustion,
    worst_day,
)
from hypersync_slo.errors import ConfigError

objectives = st.floats(min_value=0.5, max_value=0.99999)
counts = st.integers(min_value=1, max_value=10**12)
PERIOD = 30 * 86400.0


@given(objectives, counts, st.data())
def test_consumed_plus_remaining_is_total(
    objective: float, units: int, data: st.DataObject
) -> None:
    """For any budget: consumed + remaining = total, and the fractions add up to 1."""
    bad = data.draw(st.integers(min_value=0, max_value=units))
    budget = ErrorBudget(objective, units, bad)
    scale = max(1.0, float(bad), budget.total)  # float rounding grows with the largest term
    assert budget.consumed + budget.remaining == pytest.approx(budget.total, abs=1e-12 * scale)
    assert budget.consumed_fraction + budget.remaining_fraction == pytest.approx(
        1.0, abs=1e-12 * scale / budget.total
    )
    assert budget.exhausted == (bad > (1 - objective) * units)


@given(objectives)
def test_burn_rate_is_one_at_the_allowed_rate(objective: float) -> None:
    """Consuming exactly at the allowed rate is burn rate 1.0."""
    assert burn_rate(1.0 - objective, objective) == pytest.approx(1.0, rel=1e-12)


@given(objectives, st.floats(min_value=0.0, max_value=100.0))
def test_burn_rate_scales_with_the_bad_ratio(objective: float, times: float) -> None:
    """k times the allowed bad ratio is burn rate k."""
    assert burn_rate(times * (1.0 - objective), objective) == pytest.approx(times, abs=1e-9)


@given(
    st.floats(min_value=1e-6, max_value=1.0),
    st.floats(min_value=1e-3, max_value=1000.0),
)
def test_time_to_exhaustion_spends_exactly_the_remaining(remaining: float, rate: float) -> None:
    """Burning at ``rate`` for the time to exhaustion consumes exactly the remaining fraction."""
    seconds = time_to_exhaustion(remaining, rate, PERIOD)
    # At burn rate r the budget (fraction 1) is spent at r / period per second.
    assert seconds * rate / PERIOD == pytest.approx(remaining, rel=1e-9)


def test_time_to_exhaustion_edges() -> None:
    """Exhausted: 0; not burning: infinity; unknown: NaN; rate 1 with all left: the period."""
    assert time_to_exhaustion(-0.2, 3.0, PERIOD) == 0.0
    assert time_to_exhaustion(0.5, 0.0, PERIOD) == math.inf
    assert math.isnan(time_to_exhaustion(math.nan, 1.0, PERIOD))
    assert time_to_exhaustion(1.0, 1.0, PERIOD) == PERIOD


def test_worked_example_one_budget_for_availability_and_error_rate() -> None:
    """99.9 % over 1 000 000 requests: 1000 bad allowed; 250 bad is 25 % consumed, 75 % left."""
    budget = ErrorBudget(0.999, 1_000_000, 250)
    assert budget.total == pytest.approx(1000)
    assert budget.consumed_fraction == pytest.approx(0.25)
    assert budget.remaining == pytest.approx(750)
    assert budget.compliance == pytest.approx(0.99975)
    assert not budget.exhausted
    assert ErrorBudget(0.999, 1_000_000, 1001).exhausted


def test_compliance_without_data_is_nan() -> None:
    """No events or no slices: compliance is NaN, never 100 %."""
    assert math.isnan(compliance_event_based(0, 0))
    assert math.isnan(compliance_time_slice_based(0, 0))
    assert math.isnan(ErrorBudget(0.999, 0, 0).consumed_fraction)
    assert not ErrorBudget(0.999, 0, 0).exhausted


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_coverage_in_unit_interval(with_data: int, expected: int) -> None:
    """Coverage lies in [0, 1]; zero expected slices is 0 coverage."""
    value = coverage(with_data, expected)
    assert 0.0 <= value <= 1.0
    if expected == 0:
        assert value == 0.0


def test_objective_must_leave_a_budget() -> None:
    """A 100 % (or out-of-range) objective is refused with a sentence."""
    with pytest.raises(ConfigError, match="no error budget"):
        allowed_ratio(1.0)
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        allowed_ratio(1.5)


def test_workbook_windows_and_factors() -> None:
    """The burn windows are the SRE workbook's 1h/6h/1d/3d with 14.4/6/3/1 (alerting constants)."""
    assert [(w, s, f) for w, s, f, _ in BURN_RATE_WINDOWS] == [
        ("1h", 3600, 14.4),
        ("6h", 21600, 6.0),
        ("1d", 86400, 3.0),
        ("3d", 259200, 1.0),
    ]
    fast = BurnRate("1h", 3600, 14.4, "critical", 1000, 15, 0.999)
    assert fast.rate == pytest.approx(15.0)
    assert fast.above_factor
    assert not BurnRate("1h", 3600, 14.4, "critical", 0, 0, 0.999).above_factor


def test_worst_day_skips_empty_days() -> None:
    """The worst day has the highest bad ratio; days without events are skipped."""
    days = [Day(0, 1, 100, 1), Day(1, 2, 0, 0), Day(2, 3, 100, 5), Day(3, 4, 100, 5)]
    assert worst_day(days) == days[2]
    assert worst_day([Day(0, 1, 0, 0)]) is None
