"""Publish an audit to a Prometheus Pushgateway, so dashboards can chart audit history.

Each push replaces the group ``job=<push job>, audited_job=<job>, period=<30d>`` (HTTP PUT),
so pushing the same audit twice leaves the same series, and every push carries the window's
start and end. Series (all gauges, one registry per push):

* ``hypersync_slo_audit_verdict{slo, verdict}`` 1 for the SLO's verdict (and 0 for the others);
* ``hypersync_slo_audit_compliance_ratio{slo, method="event_based"|"time_slice_based"}``;
* ``hypersync_slo_audit_error_budget_remaining_ratio{slo, method}``;
* ``hypersync_slo_audit_burn_rate{slo, window}`` and ``hypersync_slo_audit_burn_rate_factor``;
* ``hypersync_slo_audit_time_to_exhaustion_seconds{slo}`` (+Inf when not burning);
* ``hypersync_slo_audit_sli{sli}`` for every period SLI (p95, p99, error rate, coverage, ...);
* ``hypersync_slo_audit_criteria_score{score}`` and ``..._criteria_total_score_percent``;
* ``hypersync_slo_audit_coverage_ratio``, ``hypersync_slo_audit_window_start_seconds``,
  ``hypersync_slo_audit_window_end_seconds``, ``hypersync_slo_audit_last_push_timestamp_seconds``.
"""

from __future__ import annotations

import math
import time
import urllib.error

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from hypersync_slo.audit.criteria import Evaluation
from hypersync_slo.audit.model import AuditReport
from hypersync_slo.errors import SuiteFault, explain
from hypersync_slo.prometheus.promql import duration
from hypersync_slo.verdicts import Verdict

PUSH_JOB = "hypersync_slo_audit"


def registry_for(report: AuditReport, criteria: Evaluation | None = None) -> CollectorRegistry:
    """A fresh registry holding every series of ``report`` (and the criteria's score)."""
    registry = CollectorRegistry()
    if criteria is not None:
        score = Gauge(
            "hypersync_slo_audit_criteria_score",
            "1 for the criteria evaluation's result (pass, warning, fail, no_data), 0 otherwise.",
            ["score"],
            registry=registry,
        )
        for state in ("pass", "warning", "fail", "no_data"):
            score.labels(state).set(1 if criteria.score == state else 0)
        if criteria.total_percent is not None:
            Gauge(
                "hypersync_slo_audit_criteria_total_score_percent",
                "The criteria's weighted total score in percent (Keptn-style).",
                registry=registry,
            ).set(criteria.total_percent)
    verdict = Gauge(
        "hypersync_slo_audit_verdict",
        "1 for the SLO's audit verdict, 0 for the other verdicts.",
        ["slo", "verdict"],
        registry=registry,
    )
    compliance = Gauge(
        "hypersync_slo_audit_compliance_ratio",
        "Compliance over the audit period (good / all), event-based or time-slice-based.",
        ["slo", "method"],
        registry=registry,
    )
    remaining = Gauge(
        "hypersync_slo_audit_error_budget_remaining_ratio",
        "Error budget remaining at the end of the period (1 = untouched, < 0 = overspent).",
        ["slo", "method"],
        registry=registry,
    )
    burn = Gauge(
        "hypersync_slo_audit_burn_rate",
        "Burn rate over the window ending at the period's end (1 = exactly on budget).",
        ["slo", "window"],
        registry=registry,
    )
    factor = Gauge(
        "hypersync_slo_audit_burn_rate_factor",
        "The SRE workbook's page/ticket burn-rate factor for the window.",
        ["window", "severity"],
        registry=registry,
    )
    exhaustion = Gauge(
        "hypersync_slo_audit_time_to_exhaustion_seconds",
        "Seconds until the event budget is gone at the current (1 h) burn rate.",
        ["slo"],
        registry=registry,
    )
    sli = Gauge(
        "hypersync_slo_audit_sli",
        "An SLI measured over the whole audit period (base units: seconds, ratios).",
        ["sli"],
        registry=registry,
    )
    for slo in report.slos:
        for state in Verdict:
            verdict.labels(slo.name, state.value).set(1 if slo.verdict is state else 0)
        compliance.labels(slo.name, "event_based").set(slo.events.compliance)
        compliance.labels(slo.name, "time_slice_based").set(slo.slices.compliance)
        remaining.labels(slo.name, "event_based").set(slo.events.remaining_fraction)
        remaining.labels(slo.name, "time_slice_based").set(slo.slices.remaining_fraction)
        for rate in slo.burn_rates:
            burn.labels(slo.name, rate.window).set(rate.rate)
            factor.labels(rate.window, rate.severity).set(rate.factor)
        exhaustion.labels(slo.name).set(slo.time_to_exhaustion)
    for name, value in sorted(report.slis.items()):
        if not math.isnan(value):
            sli.labels(name).set(value)
    for name, help_text, value in (
        (
            "hypersync_slo_audit_coverage_ratio",
            "Share of the period with data.",
            report.coverage.ratio,
        ),
        (
            "hypersync_slo_audit_window_start_seconds",
            "Start of the audited period (Unix seconds).",
            report.window[0].timestamp(),
        ),
        (
            "hypersync_slo_audit_window_end_seconds",
            "End of the audited period (Unix seconds).",
            report.window[1].timestamp(),
        ),
        (
            "hypersync_slo_audit_last_push_timestamp_seconds",
            "When this audit was pushed (Unix seconds).",
            time.time(),
        ),
    ):
        Gauge(name, help_text, registry=registry).set(value)
    return registry


def grouping_key(report: AuditReport) -> dict[str, str]:
    """The Pushgateway group of an audit: the audited job and the period's length."""
    return {"audited_job": report.job or "all", "period": duration(report.period, compact=True)}


def publish(
    report: AuditReport,
    gateway: str,
    *,
    job: str = PUSH_JOB,
    timeout: float = 10.0,
    criteria: Evaluation | None = None,
) -> None:
    """Push ``report`` to the Pushgateway at ``gateway`` (replacing the group's last push)."""
    try:
        push_to_gateway(
            gateway,
            job=job,
            registry=registry_for(report, criteria),
            grouping_key=grouping_key(report),
            timeout=timeout,
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SuiteFault(
            explain(
                "Could not push the audit to the Pushgateway.",
                pushgateway=gateway,
                error=f"{type(exc).__name__}: {exc}",
                note="the audit itself was written and recorded; only publishing failed",
                what_to_do="check that the Pushgateway runs at this URL (default port 9091)",
            )
        ) from exc
