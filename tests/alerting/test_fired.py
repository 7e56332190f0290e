"""fired_alerts: reading back which alerts fired, and failing clearly when Prometheus cannot say."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hypersync_slo.alerting.fired import FiredAlert, fired_alerts
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.processes import free_port
from hypersync_slo.stack import PrometheusServer, ScrapeJob


def test_unreachable_prometheus_is_a_clear_fault() -> None:
    """No Prometheus on the port: PrometheusUnavailable naming the URL and the query."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusUnavailable) as info:
        fired_alerts(url, 0, 10)
    assert f"prometheus: {url}" in str(info.value)
    assert 'query: ALERTS{alertstate="firing"}' in str(info.value)


def test_bad_selector_is_reported_with_prometheus_error(
    start_prometheus: Callable[..., PrometheusServer],
) -> None:
    """A selector Prometheus rejects: PrometheusUnavailable carrying Prometheus's own error text."""
    prometheus = start_prometheus([ScrapeJob("none", ("127.0.0.1:1",))])
    with pytest.raises(PrometheusUnavailable, match="refused the ALERTS query"):
        fired_alerts(prometheus.url, 0, 10, selector="job=~")


def test_quiet_window_lists_nothing(start_prometheus: Callable[..., PrometheusServer]) -> None:
    """A Prometheus without rules reports no fired alerts."""
    prometheus = start_prometheus([ScrapeJob("none", ("127.0.0.1:1",))])
    assert fired_alerts(prometheus.url, 0, 10) == []


def test_describe_names_alert_severity_labels_and_samples() -> None:
    """describe() is one line: name, severity, identifying labels, sample count."""
    alert = FiredAlert(
        "HypersyncDown",
        "critical",
        {
            "alertname": "HypersyncDown",
            "severity": "critical",
            "job": "hypersync",
            "alertstate": "firing",
        },
        1.0,
        5.0,
        5,
    )
    assert alert.describe() == "HypersyncDown (critical) job=hypersync: 5 samples"
