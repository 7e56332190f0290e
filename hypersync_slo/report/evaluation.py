"""One window's evaluation: query Prometheus, compute every KPI, judge it, reconcile.

``evaluate_window`` never lets a failure mid-way lose what was already computed: a query that
fails turns the KPIs depending on it into ``error`` (with Prometheus's error text) and the rest
is still judged. The resulting ``Report`` holds the verdicts, the findings, the time series for
the plots and the query timings.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd

from hypersync_slo.config import KPIS, QUANTILES, SloConfig, format_value
from hypersync_slo.errors import PrometheusUnavailable, UsageError, explain
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.report import kpis
from hypersync_slo.report.prometheus import PrometheusClient, Sample, choose_step, points_in
from hypersync_slo.report.queries import Queries, buckets_in_seconds, duration
from hypersync_slo.report.reconcile import (
    Finding,
    LogCounts,
    ServerCounts,
    business_plan,
    reconcile,
    reconcile_log,
)
from hypersync_slo.report.scrapes import Coverage, read_coverage, wait_for_coverage
from hypersync_slo.verdicts import (
    KpiResult,
    Verdict,
    errored,
    exit_code_for,
    judge,
    offered_below,
    overall,
)

SUBWINDOW = 60.0
#: The KPIs counted from counters: no_data while the window's last scrape is missing.
COUNTED = (
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "latency_p999",
    "throughput_rps",
    "error_rate",
    "success_rate",
)
#: The reason of a KPI that Ctrl-C stopped before it was computed.
INTERRUPTED = "interrupted"
T = TypeVar("T")


@dataclass
class Report:
    """The outcome of one window: KPI verdicts, findings, plot series and provenance."""

    window: tuple[datetime, datetime]
    target: str
    prometheus_url: str
    job: str | None
    slo_file: str
    kpis: list[KpiResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    series: dict[str, pd.Series] = field(default_factory=dict)
    budgets: dict[str, float] = field(default_factory=dict)
    step: float = 0.0
    #: The scrapes bracketing the window (None before they were read).
    coverage: Coverage | None = None
    query_seconds: float = 0.0
    compute_seconds: float = 0.0
    queries: int = 0
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Ctrl-C stopped the evaluation: KPIs not yet computed read ``error`` (``interrupted``).
    interrupted: bool = False
    #: The ``log`` source (``report --logs``): its KPIs and what was read; gating only when
    #: there is no Prometheus (then they are also ``kpis``).
    log_kpis: list[KpiResult] = field(default_factory=list)
    log_summary: dict[str, Any] | None = None
    #: The load run's result (client figures: corrected latencies, per request), for the plots.
    load: Mapping[str, Any] | None = None

    @property
    def verdict(self) -> Verdict:
        """The overall verdict over the gating KPIs."""
        return overall(self.kpis)

    @property
    def exit_code(self) -> ExitCode:
        """The process exit code: 130 when Ctrl-C cut the evaluation short, else the verdict's."""
        return ExitCode.INTERRUPTED if self.interrupted else exit_code_for(self.verdict)

    def kpi(self, name: str) -> KpiResult:
        """The result of one KPI by name."""
        for result in self.kpis:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def seconds(self) -> float:
        """The window's length in seconds."""
        return (self.window[1] - self.window[0]).total_seconds()

    @property
    def counted_until(self) -> float:
        """Unix time up to which scrapes count the window's requests: the scrape after its end."""
        if self.coverage is None:
            return self.window[1].timestamp()
        return self.coverage.counted_until

    @property
    def settle(self) -> float:
        """Seconds of scrapes after the window's end that count it (to the first scrape after)."""
        return self.counted_until - self.window[1].timestamp()


def _guard(report: Report, what: str, call: Callable[[], T]) -> T | PrometheusUnavailable:
    """Run one query step; a Prometheus failure is recorded and returned instead of raised."""
    try:
        return call()
    except PrometheusUnavailable as exc:
        report.errors.append(f"{what}:\n{exc}")
        return exc


def evaluate_window(
    client: PrometheusClient,
    config: SloConfig,
    start: datetime,
    end: datetime,
    *,
    job: str | None = None,
    load_result: Mapping[str, Any] | None = None,
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
            got = _guard(
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


def new_report(
    prometheus_url: str,
    config: SloConfig,
    start: datetime,
    end: datetime,
    *,
    job: str | None = None,
    load_result: Mapping[str, Any] | None = None,
    coverage: Coverage | None = None,
) -> Report:
    """An empty report for the window (no KPI yet), with its target, source and budgets."""
    return Report(
        window=(start, end),
        target=str((load_result or {}).get("target_url") or (job and f"job={job}") or "all jobs"),
        prometheus_url=prometheus_url,
        job=job,
        slo_file=config.source,
        coverage=coverage,
        load=load_result,
        budgets={
            name: obj.value
            for name, obj in config.objectives.items()
            if obj.value is not None and not obj.report_only
        },
    )


def mark_interrupted(
    report: Report, config: SloConfig, computed: Mapping[str, KpiResult] | None = None
) -> None:
    """Stop ``report`` where Ctrl-C found it: every KPI not in ``computed`` is ``error``."""
    done = dict(computed or {})
    report.interrupted = True
    report.kpis = [
        done.get(name)
        or errored(
            config.objective(name),
            source="prometheus",
            window=report.window,
            query="(not run)",
            reason=INTERRUPTED,
        )
        for name in KPIS
    ]
    missing = [name for name in KPIS if name not in done]
    report.errors.append(
        f"interrupted (Ctrl-C) after {len(KPIS) - len(missing)} of {len(KPIS)} KPIs"
        + (
            f"; not computed: {', '.join(missing)}"
            if missing
            else "; plots or reconciliation cut short"
        )
    )


def _compute(
    report: Report,
    results: dict[str, KpiResult],
    client: PrometheusClient,
    config: SloConfig,
    q: Queries,
    *,
    load_result: Mapping[str, Any] | None,
    routes: str | None,
    plots: bool,
    log: LogCounts | None = None,
) -> None:
    """Fill ``results`` KPI by KPI (so an interrupt keeps what is done), then the report."""
    window = report.window
    start = window[0]
    coverage = report.coverage
    t_end = report.counted_until
    t_start = start.timestamp()
    counted = t_end - t_start
    growth = Growth(
        client,
        t_start,
        t_end,
        counted,
        exact=coverage is not None and coverage.counted_from is not None,
        interval=coverage.interval if coverage is not None else None,
        window_exact=coverage is not None and coverage.exact,
        process_starts=f"process_start_time_seconds{q.selector(routes=False)}",
    )

    # Latency from the histogram buckets.
    got = _guard(
        report,
        "latency buckets",
        lambda: growth.by("le", q.bucket_series(), q.buckets(counted)),
    )
    bucket_query = got.query if isinstance(got, Counted) else q.buckets(counted)
    estimates: dict[str, kpis.QuantileEstimate | None] = {}
    if isinstance(got, PrometheusUnavailable):
        for name in QUANTILES:
            results[name] = errored(
                config.objective(name),
                source="prometheus",
                window=window,
                query=bucket_query,
                reason=str(got).splitlines()[0],
            )
    else:
        buckets = kpis.Buckets.from_mapping(buckets_in_seconds(config.http, got.values))
        for name, quantile in QUANTILES.items():
            results[name], estimates[name] = _latency(
                config,
                name,
                quantile=quantile,
                buckets=buckets,
                query=bucket_query,
                window=window,
                counting=got.method,
            )

    # Error, success and throughput from the request counts per status code.
    by_status = _guard(
        report,
        "requests by status",
        lambda: growth.by(q.status_label, q.count_series(), q.requests_by_status(counted)),
    )
    status_query = (
        by_status.query if isinstance(by_status, Counted) else q.requests_by_status(counted)
    )
    errors_ratio: kpis.Ratio | None = None
    if isinstance(by_status, PrometheusUnavailable):
        for name in ("error_rate", "success_rate", "throughput_rps"):
            results[name] = errored(
                config.objective(name),
                source="prometheus",
                window=window,
                query=status_query,
                reason=str(by_status).splitlines()[0],
            )
    else:
        counts = dict(by_status.values)
        errors_ratio = kpis.error_share(counts, server_error=config.http.server_error)
        success = kpis.success_share(errors_ratio)
        total = round(errors_ratio.total)
        status_detail = {
            "requests": errors_ratio.total,
            "errors_5xx": errors_ratio.part,
            "by_status": counts,
            "dropped_non_finite": errors_ratio.dropped,
            "counting": by_status.method,
        }
        results["error_rate"] = judge(
            config.objective("error_rate"),
            errors_ratio.value,
            total,
            source="prometheus",
            window=window,
            query=status_query,
            detail=status_detail,
        )
        results["success_rate"] = judge(
            config.objective("success_rate"),
            success.value,
            total,
            source="prometheus",
            window=window,
            query=status_query,
            detail=status_detail,
        )
        results["throughput_rps"] = under_offered(
            _throughput(
                client,
                config,
                q,
                report,
                completed=errors_ratio.total,
                status_query=status_query,
                counting=by_status.method,
                histories=by_status.histories,
            ),
            config,
            load_result,
        )

    _apply_coverage(results, config, coverage)

    # Availability: probe results from the load run, else probe_success, else up.
    results["availability"] = _availability(client, config, q, report, load_result)
    report.kpis = [results[name] for name in KPIS]

    if plots:
        _plot_series(client, config, q, report)
    if load_result is not None or log is not None:
        server = ServerCounts(
            requests=errors_ratio.total if errors_ratio else None,
            errors=errors_ratio.part if errors_ratio else None,
            requests_method=by_status.method if isinstance(by_status, Counted) else "",
            quantiles={name.removeprefix("latency_"): est for name, est in estimates.items()},
        )
        by_route = _guard(
            report,
            "requests by route",
            lambda: growth.by(q.route_key, q.count_series(), q.requests_by_route(counted)),
        )
        if isinstance(by_route, Counted):
            server.by_route = by_route.values
        if report.errors:  # a figure missing because its query failed is unknown, not absent
            server.unreadable = report.errors[0].splitlines()[0]
        if load_result is not None:
            server.business = _business(growth, q, report, counted, config)
            report.findings = reconcile(load_result, server, routes=q.route_filter or None)
        if log is not None:
            report.findings += reconcile_log(
                log, server, load_result, routes=q.route_filter or None
            )


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


def _apply_coverage(
    results: dict[str, KpiResult], config: SloConfig, coverage: Coverage | None
) -> None:
    """State the scrapes behind every counted KPI; ``no_data`` while the window is unsettled."""
    for name in COUNTED:
        result = results.get(name)
        if result is None or result.verdict is Verdict.ERROR:
            continue
        detail = dict(result.detail)
        if coverage is None:
            detail["coverage"] = "the scrapes around the window could not be read"
        else:
            detail["coverage"] = coverage.describe()
            notes = coverage.edge_notes()
            if notes:
                detail["edges"] = notes
        result = dataclasses.replace(result, detail=detail)
        if coverage is not None and not coverage.settled:
            objective = config.objective(name)
            result = dataclasses.replace(
                result,
                verdict=Verdict.NO_DATA,
                gating=not objective.report_only and objective.no_data == "fail",
                reason=coverage.unsettled_reason(),
            )
        results[name] = result


def _latency(
    config: SloConfig,
    name: str,
    *,
    quantile: float,
    buckets: kpis.Buckets,
    query: str,
    window: tuple[datetime, datetime],
    counting: str,
) -> tuple[KpiResult, kpis.QuantileEstimate | None]:
    objective = config.objective(name)
    estimate = kpis.bucket_quantile(buckets, quantile)
    samples = round(buckets.total)
    detail: dict[str, Any] = {
        "quantile": quantile,
        "method": "histogram_quantile rule over the window's bucket counts",
        "counting": counting,
        "buckets": list(buckets.finite_bounds),
    }
    if buckets.dropped:
        detail["dropped_non_finite"] = buckets.dropped
    if estimate is not None:
        detail["bucket_lower"] = estimate.lower
        detail["bucket_upper"] = estimate.upper
        if estimate.in_overflow:
            detail["note"] = (
                "the quantile lies in the +Inf bucket: the value is the highest finite bound, "
                "a lower limit"
            )
    holds: bool | None = None
    if objective.value is not None and not objective.report_only and estimate is not None:
        within = kpis.quantile_within(buckets, quantile, objective.value)
        share = kpis.threshold_share(buckets, objective.value)
        detail["threshold"] = objective.value
        detail["required_share"] = quantile
        detail["exact"] = share.exact
        if share.fraction is not None:
            detail["share_at_or_below_threshold"] = share.fraction
        if within is None and samples >= max(1, objective.min_samples):
            # Bucket-exact or nothing: an interpolated guess is never a verdict.
            result = judge(
                objective,
                estimate.value,
                samples,
                source="prometheus",
                window=window,
                query=query,
                detail=detail,
                no_data_reason=(
                    f"the threshold {objective.value:g} s is not a bucket of the histogram "
                    f"{config.http.histogram} and lies between buckets {_bound(share.lower_bucket)} "
                    f"and {_bound(share.upper_bucket)} s: the verdict cannot be decided exactly; "
                    f"bucket bounds (s): {', '.join(f'{b:g}' for b in buckets.finite_bounds)}"
                ),
            )
            return result, estimate
        if within is not None:
            holds = within if objective.comparator in ("<", "<=") else not within
    result = judge(
        objective,
        None if estimate is None else estimate.value,
        samples,
        source="prometheus",
        window=window,
        query=query,
        holds=holds,
        detail=detail,
    )
    return result, estimate


def _bound(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _throughput(
    client: PrometheusClient,
    config: SloConfig,
    q: Queries,
    report: Report,
    *,
    completed: float,
    status_query: str,
    counting: str,
    histories: tuple[tuple[str, kpis.CounterHistory], ...] = (),
) -> KpiResult:
    objective = config.objective("throughput_rps")
    start, end = report.window
    seconds = report.seconds
    average = kpis.throughput(completed, seconds)
    detail: dict[str, Any] = {
        "requests": completed,
        "window_seconds": seconds,
        "counting": counting,
    }
    worst: float | None = None
    rate_query = q.throughput_rate(SUBWINDOW)
    if seconds >= 2 * SUBWINDOW and histories:
        parts = _scrape_subwindows(histories, report, completed)
        if parts:
            rates = [part.rate for part in parts]
            worst = min(rates)
            detail["worst_60s_method"] = (
                f"{len(parts)} consecutive sub-windows of about {seconds / len(parts):.3g} s "
                "tiling the window, each the counters' growth between scrapes; their counts add "
                "up to the window's"
            )
            detail["subwindow_rps"] = [round(r, 6) for r in rates]
        detail["worst_60s_rps"] = worst
    elif seconds >= 2 * SUBWINDOW:
        step = min(report.step, 15.0)
        step = max(step, choose_step(start.timestamp() + SUBWINDOW, end.timestamp()))
        got = _guard(
            report,
            "worst 60 s throughput",
            lambda: client.range(rate_query, start.timestamp() + SUBWINDOW, end.timestamp(), step),
        )
        if isinstance(got, PrometheusUnavailable):
            # "Sustained" cannot be judged without the sub-windows: never pass on the average.
            return errored(
                objective,
                source="prometheus",
                window=report.window,
                query=rate_query,
                reason=f"the worst 60 s sub-window could not be read: {got}".split("\n")[0],
            )
        if got:
            series = kpis.clean_series(got[0].points)
            worst = kpis.worst_subwindow(series, start.timestamp(), end.timestamp(), SUBWINDOW)
            detail["worst_60s_query"] = rate_query
            detail["worst_60s_step"] = step
            detail["worst_60s_method"] = "rate() over 60 s (extrapolated at the scrapes)"
            if worst is not None and average is not None and worst > average:
                # A minimum of parts cannot exceed their mean: rate()'s extrapolation did.
                detail["worst_60s_note"] = (
                    f"rate() gave {format_value(worst, 'rps')}, above the window average; "
                    "the average is the bound"
                )
                worst = average
        detail["worst_60s_rps"] = worst
        if worst is None:
            detail["note"] = "no 60 s sub-window had data: only the window average is judged"
    else:
        detail["worst_60s_rps"] = None
        detail["note"] = (
            "the window is shorter than 2 × 60 s: no sub-windows to judge, only the average"
        )
    holds = None
    if average is not None and objective.value is not None:
        holds = objective.holds(average) and (worst is None or objective.holds(worst))
        if worst is not None and not objective.holds(worst):
            detail["failed_on"] = "worst 60 s sub-window"
    result = judge(
        objective,
        average,
        round(completed),
        source="prometheus",
        window=report.window,
        query=status_query + f"  / {seconds:g} s",
        holds=holds,
        detail=detail,
    )
    if result.verdict is Verdict.FAIL and detail.get("failed_on") and worst is not None:
        result = dataclasses.replace(
            result,
            reason=(
                f"worst 60 s sub-window {format_value(worst, 'rps')} is outside objective "
                f"{objective.describe()} (window average {format_value(average or 0.0, 'rps')})"
            ),
        )
    return result


def under_offered(
    result: KpiResult, config: SloConfig, load_result: Mapping[str, Any] | None
) -> KpiResult:
    """A throughput floor cannot be judged from a load that offered less than the floor.

    A service only completes what it is sent: 300 req/s offered and completed says nothing
    about a 1000 req/s objective, so the verdict is ``no_data`` (as the load run's own is),
    not ``fail``. Without a load result (an audit of real traffic) the figure is judged as is.
    """
    objective = config.objective("throughput_rps")
    offered = (load_result or {}).get("target_rps")
    reason = offered_below(objective, float(offered)) if isinstance(offered, int | float) else None
    if reason is None or result.verdict is not Verdict.FAIL:
        return result
    return dataclasses.replace(
        result,
        verdict=Verdict.NO_DATA,
        gating=not objective.report_only and objective.no_data == "fail",
        reason=reason,
    )


def load_probes(load_result: Mapping[str, Any]) -> tuple[float, float, list[str]] | None:
    """(successful, all) health checks the load run sent (``by_request`` "GET /health/..."),
    or None when it sent none."""
    good = total = 0.0
    names: list[str] = []
    for name, entry in (load_result.get("by_request") or {}).items():
        route = str(name).partition(" ")[2] or str(name)
        if not route.startswith("/health/") or not isinstance(entry, Mapping):
            continue
        requests, errors = entry.get("requests"), entry.get("errors", 0)
        if isinstance(requests, int | float) and isinstance(errors, int | float) and requests > 0:
            total += float(requests)
            good += float(requests) - float(errors)
            names.append(str(name))
    return (good, total, names) if total > 0 else None


def _availability(
    client: PrometheusClient,
    config: SloConfig,
    q: Queries,
    report: Report,
    load_result: Mapping[str, Any] | None,
) -> KpiResult:
    objective = config.objective("availability")
    probes = load_probes(load_result or {})
    if probes is not None:
        good, total, names = probes
        ratio = kpis.Ratio(good, total)
        return judge(
            objective,
            ratio.value,
            round(total),
            source="probe",
            window=report.window,
            query="health checks sent by the load run: load-result.json by_request "
            + ", ".join(names),
            detail={"successful": good, "total": total, "checks": names},
        )
    present = _guard(
        report,
        "probe_success presence",
        lambda: client.instant(q.present("probe_success"), report.window[1]),
    )
    if isinstance(present, PrometheusUnavailable):
        # Which source to judge is unknown: falling back to `up` would swap the KPI silently.
        return errored(
            objective,
            source="prometheus",
            window=report.window,
            query=q.present("probe_success"),
            reason=str(present).splitlines()[0],
        )
    metric = "probe_success" if present else "up"
    good_query, total_query = q.availability(metric, report.seconds + report.settle)
    try:
        good_samples = client.instant(good_query, report.counted_until)
        total_samples = client.instant(total_query, report.counted_until)
    except PrometheusUnavailable as exc:
        report.errors.append(f"availability:\n{exc}")
        return errored(
            objective,
            source="prometheus",
            window=report.window,
            query=f"{good_query} / {total_query}",
            reason=str(exc).splitlines()[0],
        )
    good = sum(s.value for s in good_samples if math.isfinite(s.value))
    total = sum(s.value for s in total_samples if math.isfinite(s.value))
    ratio = kpis.Ratio(good, total)
    return judge(
        objective,
        ratio.value,
        round(total),
        source="prometheus",
        window=report.window,
        query=f"{good_query} / {total_query}",
        detail={"metric": metric, "successful_checks": good, "checks": total},
    )


def _plot_series(client: PrometheusClient, config: SloConfig, q: Queries, report: Report) -> None:
    start, end = report.window[0].timestamp(), report.counted_until
    step = report.step
    width = max(4 * step, 4.0)
    wanted: dict[str, str] = {
        name: q.quantile_series(quantile, width) for name, quantile in QUANTILES.items()
    }
    wanted["throughput_rps"] = q.throughput_rate(width)
    wanted["errors_rps"] = q.error_rate_series(width)
    for name, query in wanted.items():
        got = _guard(
            report,
            f"plot series {name}",
            lambda query=query: client.range(  # type: ignore[misc]
                query, start, end, step
            ),
        )
        if isinstance(got, PrometheusUnavailable):
            continue
        report.series[name] = kpis.clean_series(got[0].points) if got else pd.Series(dtype=float)
    if "throughput_rps" in report.series:
        requests = report.series["throughput_rps"]
        errors = report.series.get("errors_rps", pd.Series(dtype=float))
        errors = errors.reindex(requests.index).fillna(0.0)
        with_traffic = requests[requests > 0]
        report.series["error_rate"] = (errors[with_traffic.index] / with_traffic).clip(0.0, 1.0)
        allowed = config.objective("error_rate").value
        if allowed:
            report.series["error_budget_used"] = kpis.budget_used(errors, requests, allowed)


def _business(
    growth: Growth, q: Queries, report: Report, seconds: float, config: SloConfig
) -> dict[str, float | Mapping[str, float] | None]:
    """Growth of every counter the traffic declaration names, keyed like the load result's
    ``business_calls`` (``{metric: {"label=value,...": n}}``)."""
    out: dict[str, float | Mapping[str, float] | None] = {}
    for plan in business_plan(config):
        series = f"{plan.metric_name}{q.selector(routes=False)}"
        inner = f"increase({series}[{duration(seconds)}])"
        fallback = (
            f"sum by ({', '.join(plan.labels)}) ({inner})" if plan.labels else f"sum({inner})"
        )
        got = _guard(
            report,
            f"business counter {plan.metric}",
            lambda plan=plan, series=series, fallback=fallback: growth.by(  # type: ignore[misc]
                plan.labels or None, series, fallback
            ),
        )
        if isinstance(got, PrometheusUnavailable):
            continue
        values = out.setdefault(plan.metric, {})
        assert isinstance(values, dict)
        for key, value in got.values.items():
            if math.isfinite(value):
                values[plan.label_key(key)] = value
    return out


def _scrape_subwindows(
    histories: tuple[tuple[str, kpis.CounterHistory], ...], report: Report, total: float
) -> list[kpis.SubWindow]:
    """Consecutive sub-windows of at least 60 s whose edges are scrapes of one target.

    Each edge is the scrape (of the target scraped most often) nearest to an even split of the
    window; the count at an edge is every series' growth up to its last scrape at or before it.
    The first part starts at the window's start (the baseline scrape saw nothing of the window)
    and the last ends at its end with the window's total, so the parts add up to the whole.
    """
    start, end = report.window[0].timestamp(), report.window[1].timestamp()
    count = math.floor((end - start) / SUBWINDOW)
    by_target: dict[str, set[float]] = {}
    for key, history in histories:
        target = key.split("\x00", 1)[0]
        by_target.setdefault(target, set()).update(t for t, _ in history.samples)
    if count < 2 or not by_target:
        return []
    scrapes = sorted(by_target[max(by_target, key=lambda target: len(by_target[target]))])
    edges: list[float] = []
    for i in range(1, count):
        nominal = start + i * (end - start) / count
        inside = [t for t in scrapes if (edges[-1] if edges else start) < t < end]
        if not inside:
            return []
        edges.append(min(inside, key=lambda t: abs(t - nominal)))
    cumulative = [(start, 0.0)]
    for edge in edges:
        cumulative.append((edge, sum(h.growth_until(edge) for _, h in histories)))
    cumulative.append((end, total))
    parts = kpis.subwindows(cumulative)
    return parts if len(parts) == count else []


@dataclass(frozen=True)
class Counted:
    """Counter growth over the window per label value, with the query and the method used.

    ``histories`` (raw-sample counting only) keep every series' samples, keyed by its target
    and labels, for the sub-windows.
    """

    values: Mapping[str, float]
    query: str
    method: str
    histories: tuple[tuple[str, kpis.CounterHistory], ...] = ()


LOOKBACK = "5m"
LOOKBACK_SECONDS = 300.0


def _target(labels: Mapping[str, str]) -> str:
    """``job/instance`` of a series: which scrape target it came from."""
    return f"{labels.get('job', '')}/{labels.get('instance', '')}"


def _series_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


@dataclass(frozen=True)
class Growth:
    """How much counters grew from the scrapes before the window to the ones after it.

    ``start`` is the window's start (each series' baseline is its last sample at or before it:
    the target's last successful scrape, ``last_over_time(x[5m])``) and ``end`` the moment every
    target had its first successful scrape after the window (``scrapes.Coverage``). With a
    baseline for every target and at most ``max_points`` scrapes per series, every series' raw
    samples are read (``x[D]`` at ``end``) and their growth summed through resets
    (``kpis.counter_increase``): exact for any number of replicas, any of them restarted. A
    series absent at the start was created in the window and counted from 0. For longer windows:
    the difference of the summed counters at ``end`` and at ``start`` when no series reset, else
    ``increase()`` over the window, which extrapolates to the edges.
    """

    client: PrometheusClient
    start: float
    end: float
    seconds: float
    exact: bool
    interval: float | None = None
    #: Both window edges are covered by scrapes (``Coverage.exact``).
    window_exact: bool = False
    #: The job's ``process_start_time_seconds`` series: a change marks a restart.
    process_starts: str = ""
    max_points: int = 1500
    #: At most this many raw samples in all (series × scrapes) are pulled for one counter.
    max_samples: int = 300_000
    _restarts: dict[str, frozenset[float]] = field(default_factory=dict, compare=False)

    @property
    def _between(self) -> str:
        return (
            "between the scrapes bracketing the window"
            if self.window_exact
            else "between the scrapes bracketing the window (edges not covered: see coverage)"
        )

    def by(self, label: str | tuple[str, ...] | None, series: str, fallback: str) -> Counted:
        """Growth of ``series`` summed by ``label`` (None: one total under the key ``""``).

        With several labels the key is their values joined by a space (``"POST /v1/receipts"``).
        """
        labels = (label,) if isinstance(label, str) else tuple(label or ())
        last = f"last_over_time({series}[{LOOKBACK}])"
        total = f"sum by ({', '.join(labels)}) ({last})" if labels else f"sum({last})"
        if self.exact:
            if self._raw_fits(series):
                return self._raw(labels, series)
            resets = self.client.instant(
                f"sum(resets({series}[{duration(self.seconds + LOOKBACK_SECONDS)}]))", self.end
            )
            if not any(s.value != 0 for s in resets):
                at_end = self._values(self.client.instant(total, self.end), labels)
                at_start = self._values(self.client.instant(total, self.start), labels)
                diff = {k: v - at_start.get(k, 0.0) for k, v in at_end.items()}
                if set(at_start) <= set(at_end) and all(d >= 0 for d in diff.values()):
                    exact = "exact" if self.window_exact else "counter"
                    return Counted(
                        diff,
                        f"{total} at the scrape after the window minus at its start",
                        f"{exact} difference of the summed counters {self._between} "
                        "(no reset in the window)",
                    )
        got = self.client.instant(fallback, self.end)
        return Counted(
            self._values(got, labels), fallback, "increase() over the window (extrapolated)"
        )

    def _raw_fits(self, series: str) -> bool:
        """Whether reading every raw sample of ``series`` stays within the bounds."""
        if not self.interval:
            return False
        points = points_in(self.start, self.end, self.interval)
        if points > self.max_points:
            return False
        found = self.client.instant(
            f"count(count_over_time({series}[{duration(self.end - self.start)}]))", self.end
        )
        count = sum(s.value for s in found if math.isfinite(s.value))
        return count * points <= self.max_samples

    def _raw(self, labels: tuple[str, ...], series: str) -> Counted:
        baseline = {
            _series_key(sample.labels): sample.value
            for sample in self.client.instant(f"last_over_time({series}[{LOOKBACK}])", self.start)
            if math.isfinite(sample.value)
        }
        values: dict[str, float] = {}
        histories: list[tuple[str, kpis.CounterHistory]] = []
        restarts = self.restarts()
        for found in self.client.raw(series, self.end - self.start, self.end):
            samples = tuple((t, v) for t, v in found.points if t > self.start and math.isfinite(v))
            target = _target(found.labels)
            history = kpis.CounterHistory(
                baseline.get(_series_key(found.labels)),
                samples,
                restarts.get(target, frozenset()),
            )
            key = " ".join(found.labels.get(name, "") for name in labels)
            values[key] = values.get(key, 0.0) + history.growth_until(self.end)
            histories.append((f"{target}\x00{_series_key(found.labels)}", history))
        exact = "exact" if self.window_exact else "counter"
        return Counted(
            values,
            f"{series}[{duration(self.end - self.start)}] raw samples at the scrape after the "
            f"window, from last_over_time({series}[{LOOKBACK}]) at its start, summed through resets",
            f"{exact} growth of the raw counter samples {self._between}, resets counted",
            tuple(histories),
        )

    def restarts(self) -> dict[str, frozenset[float]]:
        """Per target, the scrapes at which ``process_start_time_seconds`` changed (read once).

        A restarted process is a reset even when its counters are already past the old ones at
        its first scrape; targets without the series rely on counters going down.
        """
        if self._restarts or not self.process_starts:
            return self._restarts
        before = {
            _target(sample.labels): sample.value
            for sample in self.client.instant(
                f"last_over_time({self.process_starts}[{LOOKBACK}])", self.start
            )
        }
        found: dict[str, frozenset[float]] = {}
        for series in self.client.raw(self.process_starts, self.end - self.start, self.end):
            target = _target(series.labels)
            previous = before.get(target)
            moments: set[float] = set()
            for t, value in series.points:
                if t <= self.start or not math.isfinite(value):
                    continue
                if previous is not None and value != previous:
                    moments.add(t)
                previous = value
            found[target] = frozenset(moments)
        self._restarts.update(found or {"": frozenset()})
        return self._restarts

    @staticmethod
    def _values(samples: list[Sample], labels: tuple[str, ...]) -> dict[str, float]:
        values: dict[str, float] = {}
        for sample in samples:
            key = " ".join(sample.labels.get(name, "") for name in labels)
            values[key] = values.get(key, 0.0) + sample.value
        return values
