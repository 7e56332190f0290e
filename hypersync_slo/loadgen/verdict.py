"""Budget checks of a load run on the client's own figures, against the SLO file.

Pure functions over the merged result dict. Each KPI the client can measure gets a verdict
``pass``/``fail``/``no_data`` with its observed value, objective, samples and source; a run
whose generator could not hold its rate is ``void`` whatever the figures say. Also the
abort-on-critical check used while the run is going (sliding window vs the critical alert).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from hypersync_slo.config import AlertLevel, Objective, SloConfig, format_value
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.loadgen.traffic import HEALTH_PROBE

Status = Literal["pass", "fail", "no_data", "void"]
#: KPIs the load generator measures itself (the others come from Prometheus or probes).
CLIENT_KPIS = (
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "latency_p999",
    "error_rate",
    "success_rate",
    "throughput_rps",
    "availability",
)
LATENCY_KEYS = {
    "latency_p50": "p50",
    "latency_p95": "p95",
    "latency_p99": "p99",
    "latency_p999": "p999",
}
#: Fewest completions in the sliding window before the abort check judges it.
ABORT_MIN_REQUESTS = 50


def _kpi(
    objective: Objective,
    observed: float | None,
    samples: int,
    *,
    source: str,
    window: dict[str, Any],
    how: str,
    note: str = "",
) -> dict[str, Any]:
    needed = max(1, objective.min_samples)
    if objective.report_only:
        status = "report_only"
    elif observed is None or math.isnan(observed) or samples < needed:
        status = "no_data"
    else:
        status = "pass" if objective.holds(observed) else "fail"
    shown = "n/a" if observed is None else format_value(observed, objective.unit)
    message = (
        f"{objective.kpi}: {shown} ({source}, {samples} samples); objective {objective.describe()}"
    )
    if status == "no_data":
        message += f"; no_data: needs >= {needed} samples" + (f" ({note})" if note else "")
    return {
        "kpi": objective.kpi,
        "status": status,
        "observed": observed,
        "unit": objective.unit,
        "objective": objective.describe(),
        "comparator": objective.comparator,
        "value": objective.value,
        "no_data_policy": objective.no_data,
        "samples": samples,
        "min_samples": needed,
        "source": source,
        "computation": how,
        "window": window,
        "message": message,
    }


def evaluate(result: dict[str, Any], config: SloConfig) -> dict[str, Any]:
    """The verdict block of ``load-result.json`` for ``result`` (already merged)."""
    window = result["window"]
    latency = result["latency"]["corrected"]
    samples = int(latency.get("samples") or 0)
    requests = int(result["requests"])
    dropped = int(result["dropped"])
    errors = int(result["errors"])
    attempts = requests + dropped
    kpis: list[dict[str, Any]] = []
    for kpi in CLIENT_KPIS:
        objective = config.objective(kpi)
        if kpi in LATENCY_KEYS:
            value = latency.get(LATENCY_KEYS[kpi])
            kpis.append(
                _kpi(
                    objective,
                    value,
                    samples,
                    source="client, corrected",
                    window=window,
                    how=f"nearest-rank {LATENCY_KEYS[kpi]} of every "
                    "request's latency from its intended send time (HDR, 0.1 %)",
                )
            )
        elif kpi in ("error_rate", "success_rate"):
            rate = (errors + dropped) / attempts if attempts else None
            value = rate if kpi == "error_rate" or rate is None else 1.0 - rate
            kpis.append(
                _kpi(
                    objective,
                    value,
                    attempts,
                    source="client",
                    window=window,
                    how="(failed + dropped) / (completed + dropped) requests"
                    if kpi == "error_rate"
                    else "1 - error rate",
                )
            )
        elif kpi == "throughput_rps":
            elapsed = float(result.get("elapsed") or 0.0)
            value = requests / elapsed if elapsed > 0 else None
            note = ""
            counted = requests
            if (
                objective.value is not None
                and objective.comparator in (">", ">=")
                and result["target_rps"] < objective.value
            ):
                counted, note = (
                    0,
                    (
                        f"offered load {result['target_rps']:g} req/s is below the "
                        f"objective; run at >= {objective.value:g} req/s to judge it"
                    ),
                )
            kpis.append(
                _kpi(
                    objective,
                    value,
                    counted,
                    source="client",
                    window=window,
                    how="completed requests / run time",
                    note=note,
                )
            )
        else:  # availability: the health probes of the traffic mix
            probe = result["by_request"].get(HEALTH_PROBE, {})
            n = int(probe.get("requests", 0))
            value = (n - int(probe.get("errors", 0))) / n if n else None
            kpis.append(
                _kpi(
                    objective,
                    value,
                    n,
                    source=f"client, {HEALTH_PROBE} probes",
                    window=window,
                    how="successful health probes / all health probes",
                )
            )
    judged = [k for k in kpis if k["status"] != "report_only"]
    failed = [k["kpi"] for k in judged if k["status"] == "fail"]
    missing = [
        k["kpi"] for k in judged if k["status"] == "no_data" and k["no_data_policy"] == "fail"
    ]
    if result.get("aborted"):
        # A critical breach (errors or p99 far over the page threshold) is the target's doing,
        # whatever the generator's own timing: the run failed.
        status: Status = "fail"
    elif result.get("saturated"):
        status = "void"
    elif failed:
        status = "fail"
    elif missing:
        status = "no_data"
    else:
        status = "pass"
    return {
        "status": status,
        "slo_file": config.source,
        "source": "client",
        "window": window,
        "failed": failed,
        "no_data": missing,
        "aborted": result.get("aborted"),
        "saturation_reasons": result.get("saturation_reasons", []),
        "kpis": kpis,
    }


def exit_code(verdict: dict[str, Any]) -> ExitCode:
    """The process exit code for a verdict block."""
    return {
        "pass": ExitCode.PASS,
        "fail": ExitCode.FAIL,
        "no_data": ExitCode.NO_DATA,
        "void": ExitCode.LOAD_SATURATED,
    }[verdict["status"]]


def critical_breach(window: dict[str, Any], critical: AlertLevel) -> str | None:
    """Why the sliding window breaches the critical alert level, or None.

    Judged only with at least ``ABORT_MIN_REQUESTS`` completions in the window.
    """
    requests = int(window.get("requests", 0))
    if requests < ABORT_MIN_REQUESTS:
        return None
    seconds = window.get("seconds", 10)
    errors = int(window.get("errors", 0))
    if critical.error_rate is not None and errors / requests > critical.error_rate:
        return (
            f"error rate {errors / requests:.2%} over the last {seconds} s "
            f"({errors} of {requests} requests, client) is above the critical "
            f"{critical.error_rate:.2%}"
        )
    if critical.latency_p99 is not None:
        p99 = LatencyHistogram.decode(window.get("corrected", "")).quantile(0.99)
        if p99 is not None and p99 > critical.latency_p99:
            return (
                f"p99 {format_value(p99, 's')} over the last {seconds} s (client, corrected, "
                f"{requests} samples) is above the critical {format_value(critical.latency_p99, 's')}"
            )
    return None
