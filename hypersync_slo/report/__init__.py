"""The reporter: KPIs for a window from Prometheus (``hypersync_slo.prometheus``), and report writers.

Public API (used by the ``report`` and ``run`` commands and the contract gate's KPI tests)::

    client = PrometheusClient("http://127.0.0.1:9090", timeout=10.0)  # hypersync_slo.prometheus
    report = evaluate_window(client, SloConfig.load(None), start, end, job="hypersync")
    paths = write_report(report, Path("reports/now"))   # verdict.json, report.md, ...

``evaluate_window(..., keep_partial=True)`` turns Ctrl-C into a partial report (``interrupted``
set, KPIs not yet computed ``error`` with reason ``INTERRUPTED``); ``new_report`` and
``mark_interrupted`` build one when Ctrl-C came before the evaluation started.
"""

from __future__ import annotations

from hypersync_slo.report.evaluation import evaluate_window, settle_window
from hypersync_slo.report.model import INTERRUPTED, Report, mark_interrupted, new_report
from hypersync_slo.report.preflight import bucket_bounds_in_prometheus, check_thresholds_are_buckets
from hypersync_slo.report.reconcile import Discrepancy
from hypersync_slo.report.writers import write_report

__all__ = [
    "INTERRUPTED",
    "Discrepancy",
    "Report",
    "bucket_bounds_in_prometheus",
    "check_thresholds_are_buckets",
    "evaluate_window",
    "mark_interrupted",
    "new_report",
    "settle_window",
    "write_report",
]
