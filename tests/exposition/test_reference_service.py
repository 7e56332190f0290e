"""The linter against the real reference service: clean in both formats, and each /metrics break caught."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.exposition import (
    ACCEPT_OPENMETRICS,
    ACCEPT_TEXT,
    PROMETHEUS3_ACCEPT,
    fetch_exposition,
    histogram_buckets,
    lint_exposition,
    parse_exposition,
)
from hypersync_slo.stack import ReferenceService


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceService]:
    """This module's own reference service with the fault admin on (breaks are flipped at run time)."""
    started = ReferenceService(tmp_path_factory.mktemp("lint-service"), ["--enable-fault-admin"])
    started.start()
    yield started
    started.stop()


def set_breaks(service: ReferenceService, *breaks: str) -> None:
    """Replace the service's fault state with exactly these contract breaks."""
    response = httpx.put(f"{service.url}/admin/faults", json={"breaks": list(breaks)}, timeout=5)
    assert response.status_code == 200, response.text


def lint_url(service: ReferenceService, accept: str) -> tuple[str, list[tuple[str, str]]]:
    """(format, [(rule, severity)]) of linting the service's /metrics fetched with ``accept``."""
    fetched = fetch_exposition(f"{service.url}/metrics", accept=accept, timeout=5)
    assert fetched.status_code == 200
    expo = parse_exposition(fetched.text, fetched.content_type)
    return expo.format, [(f.rule, f.severity) for f in lint_exposition(expo, fetched.text)]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (PROMETHEUS3_ACCEPT, "openmetrics-1.0.0"),
        (ACCEPT_OPENMETRICS, "openmetrics-1.0.0"),
        (ACCEPT_TEXT, "text-0.0.4"),
        ("*/*", "text-0.0.4"),
    ],
)
def test_the_clean_reference_service_lints_clean(
    service: ReferenceService, accept: str, fmt: str
) -> None:
    """Without breaks, /metrics has no finding at all, in the format the Accept header asks for."""
    set_breaks(service)
    assert lint_url(service, accept) == (fmt, [])


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("metrics-no-content-type", "content-type"),
        ("metrics-duplicate-series", "duplicate-metric"),
        ("metrics-counter-no-total", "counter-total"),
    ],
)
@pytest.mark.parametrize("accept", [ACCEPT_TEXT, ACCEPT_OPENMETRICS])
def test_each_metrics_break_is_an_error(
    service: ReferenceService, name: str, rule: str, accept: str
) -> None:
    """Each /metrics contract break the linter owns gives its rule as an error, in both formats."""
    set_breaks(service, name)
    try:
        _, findings = lint_url(service, accept)
    finally:
        set_breaks(service)
    assert (rule, "error") in findings


def test_bad_buckets_break_shows_in_histogram_buckets(service: ReferenceService) -> None:
    """With metrics-bad-buckets, histogram_buckets lacks SLO thresholds that the clean service has."""
    thresholds = set(SloConfig.load(None).latency_thresholds)
    family = "http_server_request_duration_seconds"
    httpx.get(f"{service.url}/health/live", timeout=5)  # at least one observation
    clean = parse_exposition(*_body(service))
    assert thresholds <= set(histogram_buckets(clean, family))
    assert histogram_buckets(clean, family)[-1] == math.inf
    set_breaks(service, "metrics-bad-buckets")
    try:
        broken = parse_exposition(*_body(service))
    finally:
        set_breaks(service)
    assert not thresholds <= set(histogram_buckets(broken, family))


def _body(service: ReferenceService) -> tuple[str, str | None]:
    fetched = fetch_exposition(f"{service.url}/metrics", accept=ACCEPT_TEXT, timeout=5)
    return fetched.text, fetched.content_type
