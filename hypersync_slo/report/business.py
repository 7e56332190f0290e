"""The server's side of the business calls: how much every declared business counter grew.

The traffic declaration names the counters (``reconcile.business_plan``); each one's growth over
the window is counted like the request counters (``counting.Growth``) and keyed the way the load
result's ``business_calls`` are, for the reconciliation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.prometheus.promql import duration
from hypersync_slo.prometheus.queries import Queries
from hypersync_slo.report.counting import Growth
from hypersync_slo.report.model import Report, guard
from hypersync_slo.report.reconcile import business_plan


def business_growth(
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
        got = guard(
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
