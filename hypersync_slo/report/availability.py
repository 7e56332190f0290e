"""The availability KPI: successful health checks over all, from the best source there is.

The load run's own health checks (``by_request`` "GET /health/..." in load-result.json) come
first, then a blackbox exporter's ``probe_success``, then Prometheus's ``up``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.prometheus.queries import Queries
from hypersync_slo.report import kpis
from hypersync_slo.report.model import Report, guard
from hypersync_slo.results import LOAD_RESULT_FILE, LoadResult
from hypersync_slo.verdicts import KpiResult, errored, judge


def load_probes(load_result: LoadResult) -> tuple[float, float, list[str]] | None:
    """(successful, all) health checks the load run sent (``by_request`` "GET /health/..."),
    or None when it sent none."""
    good = total = 0.0
    names: list[str] = []
    for name, entry in load_result.by_request.items():
        route = str(name).partition(" ")[2] or str(name)
        if not route.startswith("/health/") or not isinstance(entry, Mapping):
            continue
        requests, errors = entry.get("requests"), entry.get("errors", 0)
        if isinstance(requests, int | float) and isinstance(errors, int | float) and requests > 0:
            total += float(requests)
            good += float(requests) - float(errors)
            names.append(str(name))
    return (good, total, names) if total > 0 else None


def availability_kpi(
    client: PrometheusClient,
    config: SloConfig,
    q: Queries,
    report: Report,
    load_result: LoadResult | None,
) -> KpiResult:
    """Availability from the load run's health checks, else ``probe_success``, else ``up``.

    When whether ``probe_success`` exists cannot be read the KPI is an ``error``: falling back
    to ``up`` would swap its source silently.
    """
    objective = config.objective("availability")
    probes = load_probes(load_result) if load_result is not None else None
    if probes is not None:
        good, total, names = probes
        ratio = kpis.Ratio(good, total)
        return judge(
            objective,
            ratio.value,
            round(total),
            source="probe",
            window=report.window,
            query=f"health checks sent by the load run: {LOAD_RESULT_FILE} by_request "
            + ", ".join(names),
            detail={"successful": good, "total": total, "checks": names},
        )
    present = guard(
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
