"""The error-rate KPI and its complement, the success rate, from requests per status code.

An error is a server error (5xx, or the profile's ``server_error`` pattern); the success rate is
every other request over all of them. Both come from one count (``counting.Growth``) and carry
the same detail: requests, errors, the count per status and how it was counted.
"""

from __future__ import annotations

from datetime import datetime

from hypersync_slo.config import SloConfig
from hypersync_slo.report import kpis
from hypersync_slo.report.counting import Counted
from hypersync_slo.verdicts import KpiResult, judge


def error_and_success_kpis(
    results: dict[str, KpiResult],
    config: SloConfig,
    by_status: Counted,
    window: tuple[datetime, datetime],
) -> kpis.Ratio:
    """Judge ``error_rate`` and ``success_rate`` into ``results``; the error ratio they read."""
    counts = dict(by_status.values)
    errors_ratio = kpis.error_share(counts, server_error=config.http.server_error)
    success = kpis.success_share(errors_ratio)
    total = round(errors_ratio.total)
    detail = {
        "requests": errors_ratio.total,
        "errors_5xx": errors_ratio.part,
        "by_status": counts,
        "dropped_non_finite": errors_ratio.dropped,
        "counting": by_status.method,
    }
    for name, value in (("error_rate", errors_ratio.value), ("success_rate", success.value)):
        results[name] = judge(
            config.objective(name),
            value,
            total,
            source="prometheus",
            window=window,
            query=by_status.query,
            detail=detail,
        )
    return errors_ratio
