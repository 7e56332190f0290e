"""The live-target check that the SLO file's latency thresholds are histogram buckets."""

from __future__ import annotations

from hypersync_slo.config import SloConfig
from hypersync_slo.report import check_thresholds_are_buckets


def test_thresholds_that_are_buckets_pass() -> None:
    """The default thresholds (0.1, 0.5, 1, 5 s) are all default prometheus_client buckets."""
    bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
    assert check_thresholds_are_buckets(SloConfig.default(), bounds) == []


def test_threshold_not_a_bucket_is_refused_naming_the_buckets() -> None:
    """A 120 ms p95 budget on a histogram without 0.12 says which buckets exist."""
    config = SloConfig.from_mapping(
        {"objectives": {"latency_p95": "< 120ms", "latency_p99": "< 500ms"}}, source="s.yaml"
    )
    (problem,) = check_thresholds_are_buckets(config, [0.1, 0.25, 0.5, 1.0, 5.0, float("inf")])
    assert problem == (
        "latency_p95: the threshold 120 ms (0.12 s) is not a bucket of "
        "http_server_request_duration_seconds, so its verdict could only be interpolated. "
        "The histogram's buckets (le, in seconds) are: 0.1, 0.25, 0.5, 1, 5. Use one of them as "
        "the threshold, or add a bucket at 0.12 to the service's histogram."
    )
