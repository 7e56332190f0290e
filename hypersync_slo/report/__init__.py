"""The reporter: KPIs for a window from Prometheus (``hypersync_slo.prometheus``), and report writers.

Public API (used by the ``report`` and ``run`` commands and the contract gate's KPI tests)::

    client = PrometheusClient("http://127.0.0.1:9090", timeout=10.0)  # hypersync_slo.prometheus
    report = evaluate_window(client, SloConfig.load(None), start, end, job="hypersync")
    paths = write_report(report, Path("reports/now"))   # verdict.json, report.md, ...

``evaluate_window(..., keep_partial=True)`` turns Ctrl-C into a partial report (``interrupted``
set, KPIs not yet computed ``error`` with reason ``INTERRUPTED``); ``new_report`` and
``mark_interrupted`` build one when Ctrl-C came before the evaluation started.
``wait_for_scrape_after`` and ``Coverage`` are the scrapes bracketing a window (scrapes.py);
the log source (``read_request_logs``, ``log_counts``, ``log_kpis``, ``LogSummary``; logs.py)
serves ``report --logs``, and ``reconcile_log`` holds the log's figures against Prometheus's.
"""

from __future__ import annotations

from hypersync_slo.report.evaluation import evaluate_window, settle_window
from hypersync_slo.report.logs import LogSummary, log_counts, log_kpis, read_request_logs
from hypersync_slo.report.model import INTERRUPTED, Report, mark_interrupted, new_report
from hypersync_slo.report.preflight import bucket_bounds_in_prometheus, check_thresholds_are_buckets
from hypersync_slo.report.reconcile import Discrepancy, reconcile_log
from hypersync_slo.report.scrapes import Coverage, wait_for_scrape_after
from hypersync_slo.report.writers import write_report

__all__ = [
    "INTERRUPTED",
    "Coverage",
    "Discrepancy",
    "LogSummary",
    "Report",
    "bucket_bounds_in_prometheus",
    "check_thresholds_are_buckets",
    "evaluate_window",
    "log_counts",
    "log_kpis",
    "mark_interrupted",
    "new_report",
    "read_request_logs",
    "reconcile_log",
    "settle_window",
    "wait_for_scrape_after",
    "write_report",
]
