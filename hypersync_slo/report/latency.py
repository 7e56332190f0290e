"""The latency KPIs (p50, p95, p99, p99.9) from the window's histogram bucket counts.

Each quantile is estimated by the ``histogram_quantile`` rule and reported with its bucket;
the verdict against a threshold is exact from the bucket at the threshold, and ``no_data`` when
the threshold is not a bucket (an interpolated guess is never a verdict).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypersync_slo.config import QUANTILES, SloConfig
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.prometheus.queries import Queries, buckets_in_seconds
from hypersync_slo.report import kpis
from hypersync_slo.report.counting import Counted, Growth
from hypersync_slo.report.model import Report, guard, unreadable
from hypersync_slo.verdicts import KpiResult, judge


def latency_kpis(
    report: Report,
    results: dict[str, KpiResult],
    growth: Growth,
    config: SloConfig,
    q: Queries,
) -> dict[str, kpis.QuantileEstimate | None]:
    """Judge every latency KPI into ``results``; the estimates (none when the buckets failed).

    A failed bucket query makes every latency KPI ``error`` with Prometheus's error text.
    """
    counted = growth.seconds
    got = guard(
        report,
        "latency buckets",
        lambda: growth.by("le", q.bucket_series(), q.buckets(counted)),
    )
    query = got.query if isinstance(got, Counted) else q.buckets(counted)
    if isinstance(got, PrometheusUnavailable):
        results.update(unreadable(config, QUANTILES, report.window, query, got))
        return {}
    buckets = kpis.Buckets.from_mapping(buckets_in_seconds(config.http, got.values))
    estimates: dict[str, kpis.QuantileEstimate | None] = {}
    for name, quantile in QUANTILES.items():
        results[name], estimates[name] = latency_kpi(
            config,
            name,
            quantile=quantile,
            buckets=buckets,
            query=query,
            window=report.window,
            counting=got.method,
        )
    return estimates


def latency_kpi(
    config: SloConfig,
    name: str,
    *,
    quantile: float,
    buckets: kpis.Buckets,
    query: str,
    window: tuple[datetime, datetime],
    counting: str,
) -> tuple[KpiResult, kpis.QuantileEstimate | None]:
    """One latency KPI judged from ``buckets``, and its estimate (None without observations)."""
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
    """A bucket bound as shown in a reason: ``none`` when there is no such bucket."""
    return "none" if value is None else f"{value:g}"
