"""Tests of values read from an exposition: histogram bounds and counter readings."""

from __future__ import annotations

import math

import pytest

from hypersync_slo.errors import ContractViolation
from hypersync_slo.exposition import counter_values, histogram_buckets, parse_exposition
from tests.exposition.conftest import CORPUS


def test_histogram_buckets_are_sorted_distinct_bounds_including_inf(
    python_client_openmetrics: tuple[str, str], python_client_text: tuple[str, str]
) -> None:
    """histogram_buckets gives the sorted distinct le bounds, +Inf as inf, in both formats."""
    for body, content_type in (python_client_openmetrics, python_client_text):
        expo = parse_exposition(body, content_type)
        assert histogram_buckets(expo, "http_server_request_duration_seconds") == (
            0.1,
            0.5,
            1.0,
            5.0,
            math.inf,
        )


def test_histogram_buckets_of_a_real_capture_merge_label_sets() -> None:
    """Bounds are merged over every series of the family (the granian capture has several routes)."""
    expo = parse_exposition((CORPUS / "granian-prometheus-client-0.26.text.txt").read_text())
    bounds = histogram_buckets(expo, "http_server_request_duration_seconds")
    assert bounds == (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)


def test_histogram_buckets_of_a_missing_or_wrong_family_is_a_contract_violation() -> None:
    """Asking for a histogram that is absent, or is a gauge, raises ContractViolation saying so."""
    expo = parse_exposition("# TYPE lat gauge\nlat 1\n")
    with pytest.raises(ContractViolation) as absent:
        histogram_buckets(expo, "http_server_request_duration_seconds")
    assert "observed: absent" in str(absent.value)
    with pytest.raises(ContractViolation) as wrong:
        histogram_buckets(expo, "lat")
    assert "observed: # TYPE lat gauge" in str(wrong.value)
    assert "expected: # TYPE lat histogram" in str(wrong.value)


def test_counter_values_key_by_sample_name_and_labels_in_both_formats(
    python_client_openmetrics: tuple[str, str], python_client_text: tuple[str, str]
) -> None:
    """counter_values keys readings by (name, label set), identically for text and OpenMetrics."""
    om = counter_values(parse_exposition(*python_client_openmetrics))
    text = counter_values(parse_exposition(*python_client_text))
    key = (
        "hypersync_operator_executions_total",
        frozenset({("operator", "transform"), ("outcome", "success")}),
    )
    assert om[key] == 3.0
    assert om == text
    assert all(not name.endswith("_created") for name, _ in om)


def test_counter_values_of_node_exporter_cover_its_counters() -> None:
    """Every counter sample of a real node_exporter capture is a reading; gauges are not."""
    expo = parse_exposition((CORPUS / "node-exporter-1.5.text.txt").read_text())
    values = counter_values(expo)
    assert ("node_cpu_seconds_total", frozenset({("cpu", "0"), ("mode", "idle")})) in values
    assert not any(name == "node_memory_MemAvailable_bytes" for name, _ in values)
