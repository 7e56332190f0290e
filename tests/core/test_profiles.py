"""Instrumentation profiles: the packaged ones, the SLO file's ``metrics.profile`` and overrides."""

from __future__ import annotations

import re

import pytest

from hypersync_slo.alerting.rules import build_rules
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError
from hypersync_slo.profiles import PROFILES

OBJECTIVES = """
version: 1
service: shop
objectives:
  latency_p95: {objective: "< 500ms"}
  error_rate: {objective: "< 1%"}
alerts:
  warning: {error_rate: 2%, latency_p99: 1s}
"""


def config(metrics: str) -> SloConfig:
    """An SLO file with the given ``metrics:`` section."""
    return SloConfig.from_text(OBJECTIVES + metrics, source="test.yaml")


def test_default_profile_keeps_the_contract_names() -> None:
    """Without a metrics section the contract's histogram, labels and /v1 API routes apply."""
    http = SloConfig.default().http
    assert http.profile == "hypersync"
    assert http.histogram == "http_server_request_duration_seconds"
    assert http.labels == ("http_request_method", "http_route", "http_response_status_code")
    assert http.requests == "http_server_request_duration_seconds_count"
    assert http.api_routes == "/v1/.*"
    assert http.catalogue


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_packaged_profile_loads_from_an_slo_file(name: str) -> None:
    """`metrics: {profile: <name>}` selects the packaged profile and its histogram."""
    got = config(f"metrics: {{profile: {name}}}\n")
    assert got.http == PROFILES[name]
    assert got.metric("request_duration") == PROFILES[name].histogram


def test_instrumentator_profile_counts_errors_from_its_counter() -> None:
    """prometheus-fastapi-instrumentator: no status on the histogram; 5xx from http_requests_total."""
    http = config("metrics: {profile: prometheus-fastapi-instrumentator}\n").http
    assert http.status_label is None
    assert http.requests == "http_requests_total"
    assert http.status == "status"
    assert http.server_error == "5xx"
    assert http.labels == ("method", "handler")


def test_millisecond_profile_scales_thresholds_to_its_buckets() -> None:
    """opentelemetry-legacy: a 0.5 s threshold is the le="500" bucket; quantiles come back in s."""
    http = config("metrics: {profile: opentelemetry-legacy}\n").http
    assert http.le(0.5) == 500.0
    assert http.le(0.07) == 70.0  # 0.07 * 1000 is 70.00000000000001 in floating point
    assert http.seconds(250.0) == 0.25
    assert http.in_seconds("q") == "(q) / 1000"


def test_overrides_change_one_field_of_a_profile() -> None:
    """`metrics.http` overrides single fields (route label, API routes) of the chosen profile."""
    http = config(
        "metrics:\n  profile: micrometer\n  http: {api_routes: '/api/.*', route_label: route}\n"
    ).http
    assert http.histogram == "http_server_requests_seconds"
    assert http.route_label == "route"
    assert http.api_routes == "/api/.*"


def test_legacy_request_duration_role_names_the_histogram() -> None:
    """The older `metrics.request_duration` role still renames the histogram."""
    got = config("metrics: {request_duration: my_latency_seconds}\n")
    assert got.http.histogram == "my_latency_seconds"
    assert got.http.profile == "hypersync"


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ("metrics: {profile: nope}\n", "unknown profile 'nope'"),
        ("metrics: {http: {colour: red}}\n", "unknown key(s) colour"),
        ("metrics: {http: {unit: min}}\n", "http.unit must be 's' or 'ms'"),
        ("metrics: {http: {status_label: null}}\n", "name the counter that has one"),
        ("metrics: {http: {route_label: 'a-b'}}\n", "is not a valid label name"),
        ("metrics: {http: {api_routes: '('}}\n", "is not a valid regex"),
    ],
)
def test_impossible_mappings_are_refused(metrics: str, message: str) -> None:
    """A mapping that cannot be queried is refused with a sentence naming the key."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        config(metrics)


def test_rules_read_the_profile() -> None:
    """Rules of the instrumentator profile count 5xx on its counter; ms buckets for OTel legacy."""
    fastapi = build_rules(config("metrics: {profile: prometheus-fastapi-instrumentator}\n"))
    errors = fastapi.alert("HypersyncHighErrorRate", "warning").expr
    assert 'http_requests_total{job="hypersync",status=~"5xx"}' in errors
    latency = fastapi.alert("HypersyncHighLatencyP99", "warning").expr
    assert "http_request_duration_seconds_bucket{" in latency
    legacy = build_rules(config("metrics: {profile: opentelemetry-legacy}\n"))
    latency = legacy.alert("HypersyncHighLatencyP99", "warning").expr
    assert 'http_server_duration_milliseconds_bucket{job="hypersync",le=~"1000|1000\\\\.0"}' in (
        latency
    )
