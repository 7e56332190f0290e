"""The audit fails closed: missing threshold buckets and zero events are no_data, never a pass.

These use a recorded-answer client (no Prometheus): each PromQL query the audit sends is
answered from its shape, the way Prometheus answers it for the planted situation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

from hypersync_slo.audit.model import AuditReport
from hypersync_slo.audit.period import audit_period
from hypersync_slo.audit.writers import audit_exit_code
from hypersync_slo.config import SloConfig
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.prometheus.client import InstantSample, PrometheusClient
from hypersync_slo.verdicts import Verdict

END = datetime(2026, 11, 1, tzinfo=UTC)
SLICES = 1440  # one day of 1-minute slices, every one scraped


class RecordedPrometheus:
    """Answers the audit's queries for a fully scraped day with ``events`` requests, none 5xx.

    ``threshold_buckets`` False: the histogram has no ``le`` bucket at any SLO threshold, so
    every ``_bucket{le=~...}`` selector (and ``total - fast``) is empty, as in Prometheus.
    """

    url = "http://recorded.invalid"

    def __init__(self, *, events: float, threshold_buckets: bool) -> None:
        self.events = events
        self.threshold_buckets = threshold_buckets
        self.stats = SimpleNamespace(queries=0, seconds=0.0)
        self.seen: list[str] = []

    def instant(self, query: str, at: float) -> list[InstantSample]:
        """One aggregated sample (or none) for the query's shape."""
        self.stats.queries += 1
        self.seen.append(query)
        if "histogram_quantile" in query:
            return []
        if "_bucket" in query and "le=~" in query:
            if not self.threshold_buckets:
                return []
            if query.startswith("count_over_time"):
                return [InstantSample({}, float(SLICES), at)]
            return [InstantSample({}, 0.0, at)]  # bad = total - fast: every request was fast
        if query.startswith("count_over_time") and "_count" in query:
            return [InstantSample({}, float(SLICES), at)]
        if query.startswith(("min_over_time", "max_over_time")):
            return [InstantSample({}, at, at)]
        if query.startswith("sum_over_time") or "5.." in query:
            return [InstantSample({}, 0.0, at)]
        if query.startswith("sum(increase(") and "_count" in query:
            return [InstantSample({}, self.events, at)]
        return []

    def range(self, query: str, start: float, end: float, step: float) -> list[object]:
        """No per-day series (the verdict does not depend on them)."""
        self.stats.queries += 1
        return []


def _audit(client: RecordedPrometheus) -> AuditReport:
    return audit_period(
        cast(PrometheusClient, client),
        SloConfig.load(None),
        END - timedelta(days=1),
        END,
        budgeting="both",
    )


def test_recorded_client_passes_a_day_of_fast_requests() -> None:
    """Control: buckets at the thresholds, 100 000 fast requests, no 5xx -> every SLO passes."""
    report = _audit(RecordedPrometheus(events=100_000.0, threshold_buckets=True))
    assert {slo.name: slo.verdict for slo in report.slos} == {
        "success_rate": Verdict.PASS,
        "latency_p95": Verdict.PASS,
        "latency_p99": Verdict.PASS,
    }
    assert audit_exit_code(report, None) == ExitCode.PASS


def test_latency_without_a_bucket_at_the_threshold_is_no_data() -> None:
    """No ``le`` bucket at the threshold: the latency SLOs read no_data (exit 3), not 100 %."""
    client = RecordedPrometheus(events=100_000.0, threshold_buckets=False)
    report = _audit(client)
    by_name = {slo.name: slo for slo in report.slos}
    assert any("_bucket" in q and "le=~" in q for q in client.seen)
    assert by_name["success_rate"].verdict is Verdict.PASS
    for kpi, threshold in (("latency_p95", "0.1"), ("latency_p99", "0.5")):
        slo = by_name[kpi]
        assert slo.verdict is Verdict.NO_DATA, (kpi, slo.reasons)
        assert slo.events.units == 100_000.0
        assert len(slo.reasons) == 1
        assert f"no histogram bucket at the threshold {threshold} s" in slo.reasons[0]
        assert "compliance is not claimed" in slo.reasons[0]
        # Burn rates and worst days would read the missing bad count as 0: none are shown.
        assert slo.burn_rates == []
        assert slo.days == []
    assert by_name["success_rate"].burn_rates
    assert report.verdict is Verdict.NO_DATA
    assert audit_exit_code(report, None) == ExitCode.NO_DATA


def test_scraped_but_idle_period_is_no_data() -> None:
    """Every slice scraped but 0 events: each SLO reads no_data saying so (exit 3), not pass."""
    report = _audit(RecordedPrometheus(events=0.0, threshold_buckets=True))
    for slo in report.slos:
        assert slo.slices_with_data == SLICES
        assert slo.events.units == 0.0
        assert slo.verdict is Verdict.NO_DATA, (slo.name, slo.reasons)
        assert any("no events counted over the period" in r for r in slo.reasons), slo.reasons
    assert report.verdict is Verdict.NO_DATA
    assert audit_exit_code(report, None) == ExitCode.NO_DATA
