"""OpenSLO v1 input and the live-target check that latency thresholds are histogram buckets."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError
from hypersync_slo.report import check_thresholds_are_buckets, load_slo_file, read_openslo

OPENSLO = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: api-errors}
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec: {query: 'sum(rate(http_server_request_duration_seconds_count{http_response_status_code=~"5.."}[5m]))'}
    total:
      metricSource:
        type: Prometheus
        spec: {query: 'sum(rate(http_server_request_duration_seconds_count[5m]))'}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-error-rate}
spec:
  service: hypersync
  indicatorRef: api-errors
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{displayName: errors, target: 0.999}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-p99}
spec:
  service: hypersync
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  indicator:
    metadata: {name: p99}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: 'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))'}
  objectives: [{op: lt, value: 0.5}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-fast}
spec:
  service: hypersync
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  indicator:
    metadata: {name: fast}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(http_server_request_duration_seconds_bucket{le="0.1"}[5m]))'}
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(http_server_request_duration_seconds_count[5m]))'}
  objectives: [{targetPercent: 95}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: up}
spec:
  service: hypersync
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  indicator:
    metadata: {name: up}
    spec:
      ratioMetric:
        counter: false
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(up{job="hypersync"})'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'count(up{job="hypersync"})'}}}
  objectives: [{target: 0.999}]
"""


def test_openslo_maps_onto_the_same_objectives() -> None:
    """Error ratio, p99 threshold, fraction-under-100 ms and up ratio become our KPI objectives."""
    config = read_openslo(OPENSLO, source="slo.openslo.yaml")
    assert config.objective("error_rate").describe() == "< 0.1 %"
    assert config.objective("latency_p99").describe() == "< 500 ms"
    assert config.objective("latency_p99").min_samples == 1000
    assert config.objective("latency_p95").describe() == "<= 100 ms"
    assert config.objective("availability").describe() == ">= 99.9 %"
    assert config.objective("throughput_rps").report_only
    assert config.source == "slo.openslo.yaml"
    assert config.latency_thresholds[:2] == (0.1, 0.5)


def test_openslo_file_is_detected_by_api_version(tmp_path: Path) -> None:
    """load_slo_file reads OpenSLO and our slo.yaml alike; no path is the packaged default."""
    path = tmp_path / "slo.yaml"
    path.write_text(OPENSLO)
    assert load_slo_file(path).objective("latency_p99").value == 0.5
    assert load_slo_file(None).source == "<default slo.yaml>"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("type: Prometheus", "type: Datadog"), "metricSource type 'Datadog' is not supported"),
        (("indicatorRef: api-errors", "indicatorRef: nope"), "indicatorRef 'nope' names no SLI"),
        (("histogram_quantile(0.99", "histogram_quantile(0.9"), "quantile 0.9 is not a KPI"),
        (
            (
                "target: 0.999}]\n---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: api-p99}",
                "target: 1.5}]\n---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: api-p99}",
            ),
            "target must lie in [0, 1)",
        ),
    ],
)
def test_openslo_refusals_say_what_to_fix(change: tuple[str, str], message: str) -> None:
    """Unsupported sources, dangling refs, odd quantiles and bad targets are refused clearly."""
    with pytest.raises(ConfigError) as caught:
        read_openslo(OPENSLO.replace(*change), source="x.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("x.yaml: SLO ")


def test_non_openslo_document_is_refused() -> None:
    """A document that is not openslo/v1 is named by its position."""
    with pytest.raises(ConfigError, match="document 1 is not an OpenSLO v1 document"):
        read_openslo("apiVersion: v1\nkind: Pod\n", source="x.yaml")


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
        "The histogram's buckets (le, seconds) are: 0.1, 0.25, 0.5, 1, 5. Use one of them as "
        "the threshold, or add a bucket at 0.12 to the service's histogram."
    )
