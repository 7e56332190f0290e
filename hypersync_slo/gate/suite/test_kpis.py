"""docs/contracts.md §4: the KPIs over a window, judged from Prometheus (``-m kpi``).

The computation and the verdict model are the reporter's (``hypersync_slo.report``,
``hypersync_slo.verdicts``): one source of budgets for the gate, the load run and the report.
A KPI outside its objective is a *failure*; ``no_data`` (too few samples) fails closed as an
*error* (exit 3) unless the SLO file's ``no_data`` policy for that KPI says otherwise; a
Prometheus that cannot answer is an *error* (exit 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hypersync_slo.config import SloConfig, format_value
from hypersync_slo.errors import BudgetViolation, NoData, PrometheusUnavailable, explain
from hypersync_slo.gate.fixtures import Evidence
from hypersync_slo.timestamps import rfc3339_seconds
from hypersync_slo.verdicts import KpiResult, Verdict

if TYPE_CHECKING:
    from hypersync_slo.report import Report

KPIS = ("availability", "latency_p95", "latency_p99", "throughput_rps", "error_rate")


def _lines(result: KpiResult) -> dict[str, object]:
    start, end = result.window
    return {
        "observed": "n/a"
        if result.observed is None
        else format_value(result.observed, result.unit),
        "objective": result.objective,
        "source": f"{result.source}, {result.samples} samples",
        "window": f"{rfc3339_seconds(start)} to {rfc3339_seconds(end)}",
        "query": result.query,
    }


@pytest.mark.parametrize("kpi", [pytest.param(k, marks=pytest.mark.kpi(name=k)) for k in KPIS])
def test_kpi_meets_objective(
    kpi_report: Report, slo_config: SloConfig, kpi: str, evidence: Evidence
) -> None:
    """The KPI over --slo-window meets its objective in the SLO file (no_data fails closed)."""
    if slo_config.objective(kpi).report_only:
        pytest.skip(f"{kpi} is report-only in {slo_config.source}")
    try:
        result = kpi_report.kpi(kpi)
    except KeyError:
        raise NoData(
            explain(
                f"{kpi}: the reporter produced no verdict.", prometheus=kpi_report.prometheus_url
            )
        ) from None
    evidence.figure(f"{kpi}_observed", result.observed)
    evidence.figure(f"{kpi}_samples", result.samples)
    evidence.figure(f"{kpi}_verdict", result.verdict.value)
    if result.verdict is Verdict.PASS:
        return
    if result.verdict is Verdict.FAIL:
        raise BudgetViolation(explain(f"{kpi} outside its objective.", **_lines(result)))
    if result.verdict is Verdict.ERROR:
        raise PrometheusUnavailable(
            explain(f"{kpi}: Prometheus could not be read.", reason=result.reason, **_lines(result))
        )
    if not result.gating:
        pytest.skip(f"{kpi}: no_data ({result.reason}); the SLO file does not gate on it")
    raise NoData(
        explain(
            f"{kpi}: no_data, fails closed.",
            reason=result.reason or "too few samples",
            **_lines(result),
        )
    )
