"""PromQL text written one way: durations in both forms, quoted values, ``le`` matchers."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypersync_slo.errors import ConfigError
from hypersync_slo.prometheus.promql import (
    duration,
    le_matcher,
    le_regex,
    le_spellings,
    quote_label,
)

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds_of(text: str) -> float:
    """The seconds a single-unit Prometheus duration (``5m``, ``2500ms``) stands for."""
    found = re.fullmatch(r"(\d+)(ms|s|m|h|d)", text)
    assert found, f"not a Prometheus duration: {text!r}"
    return int(found.group(1)) * _UNITS[found.group(2)]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(300, "5m"), (86400, "1d"), (7200, "2h"), (20, "20s"), (2.5, "2500ms"), (0, "0s")],
)
def test_compact_duration_takes_the_largest_whole_unit(seconds: float, text: str) -> None:
    """Seconds become the largest whole Prometheus duration unit (rule files, grouping keys)."""
    assert duration(seconds, compact=True) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(300, "300000ms"), (61.5, "61500ms"), (2592000, "2592000000ms"), (0, "1ms"), (-3, "1ms")],
)
def test_range_duration_is_whole_milliseconds_never_zero(seconds: float, text: str) -> None:
    """The default (range) form is whole milliseconds, at least 1 ms: a range must be positive."""
    assert duration(seconds) == text


@given(st.floats(min_value=0.001, max_value=400 * 86400, allow_nan=False))
def test_both_duration_forms_mean_the_same_range(seconds: float) -> None:
    """Prometheus reads the compact and the range form of one duration as the same length."""
    assert seconds_of(duration(seconds, compact=True)) == pytest.approx(
        seconds_of(duration(seconds)), abs=1e-9
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_duration_must_be_finite(bad: float) -> None:
    """No form writes a non-finite duration: a ConfigError names the value."""
    for compact in (False, True):
        with pytest.raises(ConfigError, match="finite number of seconds"):
            duration(bad, compact=compact)


def test_a_compact_duration_refuses_negative_seconds() -> None:
    """A negative ``for:`` or window is refused, not written."""
    with pytest.raises(ConfigError, match=">= 0, got -1"):
        duration(-1, compact=True)


def test_le_matcher_matches_both_client_spellings() -> None:
    """1 s matches le="1" (Go) and le="1.0" (Python); 0.5 s has one spelling."""
    assert le_matcher(1.0) == 'le=~"1|1\\\\.0"'
    assert le_matcher(0.5) == 'le="0.5"'


def test_le_regex_is_the_unquoted_pattern_for_selector_builders() -> None:
    """The regex form escapes the dot once; quoting for PromQL doubles it in le_matcher."""
    assert le_regex(1.0) == "1|1\\.0"
    assert le_regex(0.1) == "0\\.1"
    assert le_regex(100.0) == "100|100\\.0"
    assert le_matcher(100.0) == f'le=~"{quote_label(le_regex(100.0))}"'


@given(st.floats(min_value=1e-4, max_value=1e5, allow_nan=False, allow_infinity=False))
def test_le_regex_matches_every_spelling_of_its_bound(bound: float) -> None:
    """Each spelling a client may write for ``bound`` is matched by the regex, fully anchored."""
    pattern = re.compile(le_regex(bound))
    for text in {repr(float(bound)), f"{bound:g}"}:
        assert pattern.fullmatch(text), (bound, text, pattern.pattern)
    assert le_spellings(bound) == tuple(sorted(le_spellings(bound), key=len))


def test_quote_label_escapes_backslashes_and_quotes() -> None:
    """A value with a quote or a backslash stays one PromQL string."""
    assert quote_label('a"b\\c') == 'a\\"b\\\\c'
