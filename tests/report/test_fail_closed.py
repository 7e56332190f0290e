"""A query that fails never lets a KPI pass on what was left over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.prometheus.queries import Queries
from hypersync_slo.report.availability import availability_kpi
from hypersync_slo.report.model import new_report
from hypersync_slo.report.throughput import throughput_kpi
from hypersync_slo.verdicts import Verdict

CONFIG = SloConfig.default()
END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(minutes=10)


class FailingClient:
    """A Prometheus client whose every query fails, as a timed-out Prometheus does."""

    url = "http://127.0.0.1:9"

    def range(self, *args: Any) -> Any:
        """Fail a range query."""
        raise PrometheusUnavailable("range query timed out")

    def instant(self, *args: Any) -> Any:
        """Fail an instant query."""
        raise PrometheusUnavailable("instant query timed out")


def test_throughput_is_an_error_when_the_sub_windows_cannot_be_read() -> None:
    """A good window average is not 'sustained' when the worst 60 s could not be read."""
    report = new_report("http://127.0.0.1:9", CONFIG, START, END)
    report.step = 15.0
    result = throughput_kpi(
        FailingClient(),  # type: ignore[arg-type]
        CONFIG,
        Queries(CONFIG),
        report,
        completed=1200 * 600,
        status_query="q",
        counting="exact",
    )
    assert result.verdict is Verdict.ERROR
    assert "worst 60 s sub-window could not be read" in result.reason


def test_availability_is_an_error_when_its_source_cannot_be_chosen() -> None:
    """If probe_success cannot be looked up, availability does not fall back to `up` silently."""
    report = new_report("http://127.0.0.1:9", CONFIG, START, END)
    result = availability_kpi(FailingClient(), CONFIG, Queries(CONFIG), report, None)  # type: ignore[arg-type]
    assert result.verdict is Verdict.ERROR
    assert "instant query timed out" in result.reason
