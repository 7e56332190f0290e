"""Budget checks of a load run on the client's own figures, against the SLO file.

Pure functions over the merged ``LoadResult``. Each KPI the client can measure is judged by the
shared verdict model (``hypersync_slo.verdicts.judge``: the minimum-samples rule, the no-data
policy, report-only KPIs and the overall ranking are decided there, as for the reporter and
the gate), with source ``client``, the run's window, its sample count and the computation as
its query. What is the load run's own:

* a throughput floor above the offered rate cannot be judged: ``no_data``, "offer more than the
  objective" (``verdicts.offered_below``, the reporter's rule too);
* a run stopped on a critical breach (``aborted``) has failed, whatever its figures;
* a run whose generator could not hold its rate (``saturated``) is ``void`` (exit 9);
* the abort-on-critical check used while the run is going (sliding window vs the critical
  alert level).

The verdict block keeps ``status`` (``pass``/``fail``/``no_data``/``void``); each KPI entry has
the keys of a ``verdict.json`` KPI item (``KpiResult.to_dict``) plus ``message``,
``min_samples`` and ``no_data_policy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hypersync_slo.config import AlertLevel, Objective, SloConfig, format_value
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.results import KpiItem, LoadResult, LoadVerdict, RunWindow
from hypersync_slo.verdicts import KpiResult, Verdict, exit_code_for, judge, offered_below, overall

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
#: The window of a run that completed nothing (its JSON window stays null).
_NO_TIME = datetime.fromtimestamp(0, UTC)


def run_window(result: LoadResult) -> tuple[datetime, datetime]:
    """The run's arrival window as aware datetimes (the epoch when the run has none)."""
    start, end = result.window.get("start_unix"), result.window.get("end_unix")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return _NO_TIME, _NO_TIME
    return datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)


def client_kpis(result: LoadResult, config: SloConfig) -> list[KpiResult]:
    """Every client KPI of ``result`` (already merged), judged by the shared model."""
    window = run_window(result)
    latency: Mapping[str, Any] = result.latency.get("corrected") or {}
    samples = int(latency.get("samples") or 0)
    requests = int(result.requests or 0)
    dropped = int(result.dropped or 0)
    errors = int(result.errors or 0)
    attempts = requests + dropped
    error_share = (errors + dropped) / attempts if attempts else None
    judged: list[KpiResult] = []

    def add(kpi: str, observed: float | None, count: int, query: str, **extra: Any) -> None:
        judged.append(
            judge(
                config.objective(kpi),
                observed,
                count,
                source="client",
                window=window,
                query=query,
                **extra,
            )
        )

    for kpi in CLIENT_KPIS:
        if kpi in LATENCY_KEYS:
            key = LATENCY_KEYS[kpi]
            add(
                kpi,
                latency.get(key),
                samples,
                f"nearest-rank {key} of every completed request's latency from its intended "
                "send time (corrected for coordinated omission; HDR histogram, <= 0.1 % high)",
                detail={"latency": "corrected", "quantile": key},
            )
        elif kpi == "error_rate":
            add(
                kpi,
                error_share,
                attempts,
                "(failed + dropped) / (completed + dropped) requests",
                detail={"completed": requests, "failed": errors, "dropped": dropped},
            )
        elif kpi == "success_rate":
            add(
                kpi,
                None if error_share is None else 1.0 - error_share,
                attempts,
                "1 - (failed + dropped) / (completed + dropped) requests",
                detail={"completed": requests, "failed": errors, "dropped": dropped},
            )
        elif kpi == "throughput_rps":
            elapsed = float(result.elapsed or 0.0)
            offered = float(result.target_rps or 0.0)
            add(
                kpi,
                requests / elapsed if elapsed > 0 else None,
                requests,
                "completed requests / run time",
                detail={"requests": requests, "elapsed_seconds": elapsed, "offered_rps": offered},
                no_data_reason=offered_below(config.objective(kpi), offered),
            )
        else:  # availability: the health probes of the traffic mix
            health = config.traffic.health_name
            probe = result.by_request.get(health) or {}
            sent = int(probe.get("requests", 0))
            failed = int(probe.get("errors", 0))
            add(
                kpi,
                (sent - failed) / sent if sent else None,
                sent,
                f"successful / all {health} probes sent by the load",
                detail={"probes": sent, "failed": failed},
            )
    return judged


def _entry(kpi: KpiResult, objective: Objective, window: RunWindow) -> KpiItem:
    """One ``kpis`` item: the verdict.json keys, the run's own window strings, a message."""
    entry = kpi.to_dict()
    entry["window"] = {"start": window.get("start"), "end": window.get("end")}
    entry["min_samples"] = max(1, objective.min_samples)
    entry["no_data_policy"] = objective.no_data
    entry["message"] = kpi.describe()
    return entry


def evaluate(result: LoadResult, config: SloConfig) -> LoadVerdict:
    """The verdict block of ``load-result.json`` for ``result`` (already merged)."""
    judged = client_kpis(result, config)
    figures = overall(judged)
    status: str
    if result.aborted:
        # A critical breach (errors or p99 far over the page threshold) is the target's doing,
        # whatever the generator's own timing: the run failed.
        status = "fail"
    elif result.saturated:
        status = "void"
    elif result.interrupted:
        # The run ended before its schedule did (Ctrl-C, or a load process that stopped or
        # timed out): its figures cover part of the plan, so they cannot pass it.
        status = Verdict.NO_DATA.value
    else:
        status = figures.value
    window = result.window
    return {
        "status": status,
        "kpi_verdict": figures.value,
        "slo_file": config.source,
        "source": "client",
        "window": window,
        "failed": [k.name for k in judged if k.gating and k.verdict is Verdict.FAIL],
        "no_data": [k.name for k in judged if k.gating and k.verdict is Verdict.NO_DATA],
        "aborted": result.aborted,
        "saturation_reasons": result.saturation_reasons,
        "kpis": [_entry(k, config.objective(k.name), window) for k in judged],
    }


def exit_code(verdict: LoadVerdict) -> ExitCode:
    """The process exit code for a verdict block (``void``: 9, else the shared mapping)."""
    if verdict["status"] == "void":
        return ExitCode.LOAD_SATURATED
    return exit_code_for(Verdict(verdict["status"]))


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
