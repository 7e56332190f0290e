"""The time series behind the plots, read from Prometheus over the window.

Quantiles (``histogram_quantile`` over ``rate()``), throughput and errors per second, and from
them the error rate and the share of the error budget used so far (``kpis.budget_used``).
"""

from __future__ import annotations

import pandas as pd

from hypersync_slo.config import QUANTILES, SloConfig
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.prometheus.queries import Queries
from hypersync_slo.report import kpis
from hypersync_slo.report.model import Report, guard


def read_plot_series(
    client: PrometheusClient, config: SloConfig, q: Queries, report: Report
) -> None:
    """Fill ``report.series``: the quantiles, throughput and errors over time, and from them
    the error rate and the error budget used; a series whose query fails is left out."""
    start, end = report.window[0].timestamp(), report.counted_until
    step = report.step
    width = max(4 * step, 4.0)
    wanted: dict[str, str] = {
        name: q.quantile_series(quantile, width) for name, quantile in QUANTILES.items()
    }
    wanted["throughput_rps"] = q.throughput_rate(width)
    wanted["errors_rps"] = q.error_rate_series(width)
    for name, query in wanted.items():
        got = guard(
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
