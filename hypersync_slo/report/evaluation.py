"""One window's evaluation: query Prometheus, compute every KPI family, judge it, reconcile.

``evaluate_window`` never lets a failure mid-way lose what was already computed: a query that
fails turns the KPIs depending on it into ``error`` (with Prometheus's error text) and the rest
is still judged. The resulting ``Report`` (``model``) holds the verdicts, the findings, the time
series for the plots and the query timings. This module orchestrates; the counting is in
``counting``, each KPI family in its own module (``latency``, ``error_rate``, ``throughput``,
``availability``), the business counters in ``business`` and the plot series in ``plot_series``.
"""

from __future__ import annotations

import time
from datetime import datetime

from hypersync_slo.config import KPIS, SloConfig
from hypersync_slo.errors import PrometheusUnavailable, UsageError, explain
from hypersync_slo.prometheus.client import PrometheusClient, choose_step
from hypersync_slo.prometheus.queries import Queries
from hypersync_slo.report import kpis
from hypersync_slo.report.availability import availability_kpi
from hypersync_slo.report.business import business_growth
from hypersync_slo.report.counting import Counted, Growth, apply_coverage, window_growth
from hypersync_slo.report.error_rate import error_and_success_kpis
from hypersync_slo.report.latency import latency_kpis
from hypersync_slo.report.model import Report, guard, mark_interrupted, new_report, unreadable
from hypersync_slo.report.plot_series import read_plot_series
from hypersync_slo.report.reconcile import LogCounts, ServerCounts, reconcile, reconcile_log
from hypersync_slo.report.scrapes import Coverage, read_coverage, wait_for_coverage
from hypersync_slo.report.throughput import throughput_kpi, under_offered
from hypersync_slo.results import LoadResult
from hypersync_slo.verdicts import KpiResult


def evaluate_window(
    client: PrometheusClient,
    config: SloConfig,
    start: datetime,
    end: datetime,
    *,
    job: str | None = None,
    load_result: LoadResult | None = None,
    routes: str | None = None,
    step: float | None = None,
    plots: bool = True,
    coverage: Coverage | None = None,
    keep_partial: bool = False,
    log: LogCounts | None = None,
) -> Report:
    """Compute and judge every KPI for ``[start, end]`` from ``client``.

    ``coverage`` names the scrapes that bracket the window (``scrapes.wait_for_coverage``, which
    waits for the scrape after the end); without it they are read as they are now, without
    waiting. The counts run from each target's last scrape at or before ``start`` to the first
    after ``end``; without a scrape after the end the counted KPIs are ``no_data``.

    With ``keep_partial`` a ``KeyboardInterrupt`` (Ctrl-C) stops the evaluation without losing
    it: the report returned has what was computed, every other KPI ``error`` with the reason
    ``interrupted``, and ``interrupted`` set. Without it the interrupt propagates.

    ``log`` is the log source's side of the same window: its disagreements with Prometheus
    (and with the load result) are added to the findings.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise UsageError("the window's start and end must carry a time zone (use UTC).")
    seconds = (end - start).total_seconds()
    if seconds <= 0:
        raise UsageError(
            explain(
                "The report window is empty or reversed.",
                start=start.isoformat(),
                end=end.isoformat(),
                what_to_do="give --start before --end, or --last 30m",
            )
        )
    began = time.perf_counter()
    queries_before = client.stats.queries
    seconds_before = client.stats.seconds
    report = new_report(
        client.url, config, start, end, job=job, load_result=load_result, coverage=coverage
    )
    report.step = step or choose_step(start.timestamp(), end.timestamp(), floor=1.0, points=5761)
    results: dict[str, KpiResult] = {}
    q = Queries(config, job=job, routes=routes)
    try:
        if report.coverage is None:
            got = guard(
                report,
                "scrapes around the window",
                lambda: read_coverage(
                    client,
                    up_selector(q),
                    start.timestamp(),
                    end.timestamp(),
                    quiet_after_end=load_result is not None,
                ),
            )
            report.coverage = got if isinstance(got, Coverage) else None
        _compute(
            report,
            results,
            client,
            config,
            q,
            load_result=load_result,
            routes=routes,
            plots=plots,
            log=log,
        )
    except KeyboardInterrupt:
        if not keep_partial:
            raise
        mark_interrupted(report, config, results)
    report.queries = client.stats.queries - queries_before
    report.query_seconds = client.stats.seconds - seconds_before
    report.compute_seconds = max(0.0, time.perf_counter() - began - report.query_seconds)
    return report


def _compute(
    report: Report,
    results: dict[str, KpiResult],
    client: PrometheusClient,
    config: SloConfig,
    q: Queries,
    *,
    load_result: LoadResult | None,
    routes: str | None,
    plots: bool,
    log: LogCounts | None = None,
) -> None:
    """Fill ``results`` KPI family by family (so an interrupt keeps what is done), then the report."""
    growth = window_growth(
        client,
        report.coverage,
        report.window[0].timestamp(),
        report.counted_until,
        process_starts=f"process_start_time_seconds{q.selector(routes=False)}",
    )
    estimates = latency_kpis(report, results, growth, config, q)

    # Error, success and throughput from the request counts per status code.
    by_status = guard(
        report,
        "requests by status",
        lambda: growth.by(q.status_label, q.count_series(), q.requests_by_status(growth.seconds)),
    )
    errors_ratio: kpis.Ratio | None = None
    if isinstance(by_status, PrometheusUnavailable):
        query = q.requests_by_status(growth.seconds)
        names = ("error_rate", "success_rate", "throughput_rps")
        results.update(unreadable(config, names, report.window, query, by_status))
    else:
        errors_ratio = error_and_success_kpis(results, config, by_status, report.window)
        throughput = throughput_kpi(
            client,
            config,
            q,
            report,
            completed=errors_ratio.total,
            status_query=by_status.query,
            counting=by_status.method,
            histories=by_status.histories,
        )
        results["throughput_rps"] = under_offered(throughput, config, load_result)

    apply_coverage(results, config, report.coverage)
    results["availability"] = availability_kpi(client, config, q, report, load_result)
    report.kpis = [results[name] for name in KPIS]

    if plots:
        read_plot_series(client, config, q, report)
    if load_result is not None or log is not None:
        server = ServerCounts(
            requests=errors_ratio.total if errors_ratio else None,
            errors=errors_ratio.part if errors_ratio else None,
            requests_method=by_status.method if isinstance(by_status, Counted) else "",
            quantiles={name.removeprefix("latency_"): est for name, est in estimates.items()},
        )
        _reconcile(report, server, growth, config, q, load_result=load_result, log=log)


def _reconcile(
    report: Report,
    server: ServerCounts,
    growth: Growth,
    config: SloConfig,
    q: Queries,
    *,
    load_result: LoadResult | None,
    log: LogCounts | None,
) -> None:
    """Add the server's counts per route (and business counters) and reconcile them with the
    load result and the log source into ``report.findings``."""
    by_route = guard(
        report,
        "requests by route",
        lambda: growth.by(q.route_key, q.count_series(), q.requests_by_route(growth.seconds)),
    )
    if isinstance(by_route, Counted):
        server.by_route = by_route.values
    if report.errors:  # a figure missing because its query failed is unknown, not absent
        server.unreadable = report.errors[0].splitlines()[0]
    if load_result is not None:
        server.business = business_growth(growth, q, report, growth.seconds, config)
        report.findings = reconcile(load_result, server, routes=q.route_filter or None)
    if log is not None:
        report.findings += reconcile_log(log, server, load_result, routes=q.route_filter or None)


def up_selector(q: Queries) -> str:
    """The ``up`` series of the job's targets (every instance: replicas are all counted)."""
    return f"up{q.selector(routes=False)}"


def settle_window(
    client: PrometheusClient,
    config: SloConfig,
    start: datetime,
    end: datetime,
    *,
    job: str | None = None,
    quiet_since: float | None = None,
    quiet_after_end: bool = False,
    bound: float | None = None,
) -> Coverage:
    """Wait (bounded) for every target of the job to be scraped after ``end``; the coverage
    to hand to ``evaluate_window``."""
    return wait_for_coverage(
        client,
        up_selector(Queries(config, job=job)),
        start.timestamp(),
        end.timestamp(),
        quiet_since=quiet_since,
        quiet_after_end=quiet_after_end,
        bound=bound,
    )
